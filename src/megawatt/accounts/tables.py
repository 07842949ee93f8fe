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
    allocation, curtailment (:mod:`megawatt.accounts.events`), the balance sheet's
    totals (:func:`megawatt.accounts.balance.sheet_figures`), national demand shed
    without and with the program [GWh], and ``notes``: plain sentences on what a reader
    would otherwise miss (:func:`headline_notes`)."""
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
        "shed_gwh_baseline": float(tables["system"].loc["shed_gwh", "baseline"]),
        "shed_gwh_program": float(tables["system"].loc["shed_gwh", "program"]),
        "notes": headline_notes(tables),
    }


#: Below this a total counts as nothing: shed energy [GWh] (1 MWh), allocation [MW].
NOTHING_GWH = 1e-3
NOTHING_MW = 1e-3


def headline_notes(tables: dict[str, pd.DataFrame]) -> list[str]:
    """Sentences for the headline, from the tables: national demand shed (before and
    with the program, and why) and, when no applicant is allocated, why not."""
    notes = []
    system = tables["system"]
    shed_base = float(system.loc["shed_gwh", "baseline"])
    shed_prog = float(system.loc["shed_gwh", "program"])
    if shed_base > NOTHING_GWH:
        shed = tables["shed_baseline_mw"].sum(axis=1)
        hours = int((shed > NOTHING_MW).sum())
        added = (
            "the program adds none (shedding capped at the baseline's)"
            if shed_prog - shed_base <= NOTHING_GWH
            else f"the program case sheds {_gwh(shed_prog - shed_base)} GWh more"
        )
        notes.append(
            f"The grid sheds {_gwh(shed_base)} GWh of national demand before the program "
            f"(baseline), in {hours:,} hour{'s' if hours != 1 else ''}, up to "
            f"{shed.max():,.0f} MW: the scenario's supply cannot meet its demand; {added}."
        )
    elif shed_prog > NOTHING_GWH:
        notes.append(
            f"The program case sheds {_gwh(shed_prog)} GWh of national demand that the "
            "baseline serves."
        )
    why = _why_nothing_allocated(tables)
    if why:
        notes.append(why)
    return notes


def _gwh(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 10 else f"{value:,.1f}"


def _why_nothing_allocated(tables: dict[str, pd.DataFrame]) -> str | None:
    """Why no applicant got any MW (None if some did), found in the values, the
    tariff, the caps and the surplus below the tariff."""
    alloc = tables["allocations"]
    if float(alloc.allocated_mw.sum()) > NOTHING_MW:
        return None
    head = "No applicant is allocated"
    if alloc.empty:
        return f"{head}: the scenario has no applicants."
    tariff = tables["tariff_usd_per_mwh"].iloc[:, 0].to_numpy()
    low, high = float(tariff.min()), float(tariff.max())
    tariff_text = (
        f"tariff {low:,.1f} USD/MWh"
        if np.isclose(low, high)
        else f"tariff {low:,.1f}-{high:,.1f} USD/MWh"
    )
    caps = tables["caps"]
    if "program" in caps.index and float(caps.loc["program", "limit_mw"]) <= NOTHING_MW:
        return f"{head}: the program cap is 0 MW."
    values = tables["values"].value_usd_per_mwh.reindex(alloc.index)
    best = values.idxmax()
    if float(values.max()) < low:
        return (
            f"{head}: every applicant's value per MWh is below the tariff in every hour "
            f"(highest value {values.max():,.1f} USD/MWh, {best}; lowest {tariff_text}), "
            "so none would buy: lower the tariff."
        )
    if high <= 0.0:
        return (
            f"{head}: the tariff is {high:,.1f} USD/MWh, so a sale earns the state "
            "nothing and cannot pay for any fuel; the plan sells nothing (raise the tariff)."
        )
    drawing = values.to_numpy()[:, None] >= tariff[None, :]  # [A, T]: hours each would buy
    surplus = tables["surplus_mw"].sum(axis=1).to_numpy()
    useful = surplus[drawing.any(axis=0)]
    if not useful.size or float(useful.max()) <= NOTHING_MW:
        return (
            f"{head}: in the hours the applicants would buy ({tariff_text}), no spare "
            "generation costs at or below the tariff (surplus_mw is 0: plants that cheap are "
            "fully used by national demand, or there are none), so every sale would lose "
            "money."
        )
    requested = alloc.requested_mw
    return (
        f"{head} although {int((values.to_numpy() >= low).sum())} of {len(alloc)} "
        f"applicants value power at or above the {tariff_text} and up to "
        f"{useful.max():,.0f} MW of surplus costs no more: the surplus cannot reach them "
        f"(transmission), or their committed, firm or uptime terms ({requested.sum():,.0f} "
        "MW requested) cannot be met from it."
    )
