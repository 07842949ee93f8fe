"""Every result of a plan as named tables, and the headline computed from them.

The tables, their columns and units are listed in ``report/results.csv`` (the
results schema; ``docs/results.md`` is generated from it).

``result_tables(outcome)`` flattens a :class:`~megawatt.planning.PlanOutcome` into
plain DataFrames (hourly tables wide, one column per generator, zone or applicant,
UTC timestamps as index; summaries with their natural index). Everything the report
and ``summary.json`` show is computed from these tables by ``headline``, so a reader
can recompute every figure from the exported files (a test does).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from megawatt.accounts.balance import sheet_figures
from megawatt.accounts.events import curtailment_events
from megawatt.metrics import curtailed_mask, curtailment_hours


def result_tables(outcome) -> dict[str, pd.DataFrame]:
    """All result tables of a plan outcome, by name (units in column names or docs)."""
    res = outcome.result
    base, prog = res.baseline, res.program
    sc = res.scenario
    inp = prog.inputs
    t: dict[str, pd.DataFrame] = {}
    for case, r in (("baseline", base), ("program", prog)):
        t[f"dispatch_{case}_mw"] = r.dispatch_mw
        t[f"flow_{case}_mw"] = r.flow_mw
        t[f"price_{case}_usd_per_mwh"] = r.price_usd_per_mwh
        t[f"shed_{case}_mw"] = r.shed_mw
    t["demand_mw"] = pd.DataFrame(inp.demand_mw.T, index=prog.dispatch_mw.index, columns=inp.zones)
    t["served_mw"] = prog.served_mw
    t["backup_mw"] = prog.backup_mw
    t["curtailed_mw"] = prog.curtailed_mw
    t["tariff_usd_per_mwh"] = pd.DataFrame(
        {"tariff_usd_per_mwh": inp.tariff_usd_per_mwh}, index=prog.dispatch_mw.index
    )
    t["surplus_mw"] = surplus_below_tariff(base, inp.tariff_usd_per_mwh)

    gb, gp = base.generator_summary(), prog.generator_summary()
    gens = gb[["zone", "technology", "p_nom_mw"]].copy()
    for case, g in (("baseline", gb), ("program", gp)):
        for col in ("energy_mwh", "capacity_factor", "cost_usd", "co2_t"):
            gens[f"{col}_{case}"] = g[col]
    t["generators"] = gens
    t["monthly_energy_gwh"] = _monthly_energy(sc, base, prog, gb.technology)
    t["allocations"] = outcome.changes.allocations
    t["plants"] = outcome.changes.plants
    t["prices"] = outcome.changes.prices
    t["system"] = outcome.changes.system
    t["caps"] = outcome.changes.caps
    t["links"] = _links(outcome.changes.links, base, prog)
    t["reserve"] = outcome.changes.reserve
    t["values"] = outcome.values
    t["balance"] = outcome.balance.plants
    monthly = outcome.balance.monthly.copy()
    monthly.index = monthly.index.astype(str)
    t["balance_monthly"] = monthly
    t["applicant_accounts"] = outcome.balance.applicants
    t["curtailment_events"] = curtailment_events(
        prog.curtailed_mw,
        prog.allocation_mw,
        notice_minutes=sc.program.contract.notice_minutes,
        timezone=sc.timezone,
    )
    if outcome.horizon is not None:
        t["horizon_periods"] = outcome.horizon.periods
        t["horizon_years"] = outcome.horizon.years
        t["horizon_values_usd_per_mwh"] = outcome.horizon.values
        t["horizon_viable"] = outcome.horizon.viable.astype(bool)
        t["horizon_meta"] = pd.DataFrame(
            {
                "tariff_usd_per_mwh": [float(np.min(inp.tariff_usd_per_mwh))],
                "halving_date": [outcome.horizon.halving_date.isoformat()],
            }
        )
    return t


def surplus_below_tariff(baseline, tariff_usd_per_mwh: np.ndarray) -> pd.DataFrame:
    """Spare capacity per zone and hour [MW] of generators whose cost is at or below the
    tariff: what the state could sell without losing money, before transmission.
    Energy-limited generators (monthly water caps) are left out: their spare MW has no
    spare water behind it."""
    # The baseline's own inputs carry no tariff (no program): the caller passes it.
    inp = baseline.inputs
    spare = inp.p_max_mw - baseline.dispatch_mw.to_numpy().T  # [G, T]
    cheap = inp.marginal_cost_usd_per_mwh[:, None] <= np.asarray(tariff_usd_per_mwh)[None, :]
    limited = np.zeros(len(inp.generators), dtype=bool)
    limited[[g for g, _, _ in inp.monthly_energy_cap_mwh]] = True
    cheap &= ~limited[:, None]
    spare = np.where(cheap, np.clip(spare, 0.0, None), 0.0)
    out = np.zeros((len(inp.zones), inp.hours))
    np.add.at(out, inp.generator_zone, spare)
    return pd.DataFrame(out.T, index=baseline.dispatch_mw.index, columns=inp.zones)


def _links(links: pd.DataFrame, baseline, program) -> pd.DataFrame:
    """The plan's link table (index case, link) with each link's transfer limits [MW]
    each way, so the report can draw them from the saved results."""
    limits = pd.concat(
        {
            case: r.link_summary()[["forward_limit_mw", "reverse_limit_mw"]]
            for case, r in (("baseline", baseline), ("program", program))
        },
        names=["case", "link"],
    )
    return links.join(limits)


def _monthly_energy(sc, base, prog, technology: pd.Series) -> pd.DataFrame:
    rows = []
    for case, r in (("baseline", base), ("program", prog)):
        local = r.dispatch_mw.index.tz_convert(sc.timezone).tz_localize(None)
        month = pd.PeriodIndex(local, freq="M").astype(str)
        by_tech = r.dispatch_mw.T.groupby(technology).sum().T
        monthly = by_tech.groupby(month).sum() / 1e3
        long = monthly.reset_index(names="month").melt(
            id_vars="month", var_name="technology", value_name="energy_gwh"
        )
        long["case"] = case
        rows.append(long)
    return pd.concat(rows, ignore_index=True)


def headline(tables: dict[str, pd.DataFrame]) -> dict[str, object]:
    """Headline figures, computed from the tables only (so they can be checked): the
    allocation, curtailment (:mod:`megawatt.accounts.events`) and the balance sheet's
    totals (:func:`megawatt.accounts.balance.sheet_figures`)."""
    alloc = tables["allocations"]
    curtailed = tables["curtailed_mw"]
    events = tables["curtailment_events"]
    mask = curtailed_mask(curtailed[alloc.index].to_numpy(), alloc.allocated_mw.to_numpy())
    by_kind = alloc.groupby("kind").allocated_mw.sum()
    by_plant = (
        alloc.assign(plant=alloc.plant.replace("", "(none)")).groupby("plant").allocated_mw.sum()
    )
    sheet = sheet_figures(tables["balance"], tables["applicant_accounts"])
    return {
        "allocated_mw": sheet.pop("allocated_mw"),
        "allocated_mw_by_kind": {str(k): float(v) for k, v in by_kind.items()},
        "allocated_mw_by_plant": {str(k): float(v) for k, v in by_plant.items()},
        "served_gwh": sheet.pop("served_gwh"),
        "curtailed_gwh": float(alloc.curtailed_gwh.sum()),
        "curtailment_hours": curtailment_hours(mask),
        "curtailment_events": len(events),
        "events_longest_h": int(events.length_h.max()) if len(events) else 0,
        **sheet,
    }
