"""Every result of a plan as named tables, and the headline computed from them.

``result_tables(outcome)`` flattens a :class:`~megawatt.planning.PlanOutcome` into
plain DataFrames (hourly tables wide, one column per generator, zone or applicant,
UTC timestamps as index; summaries with their natural index). Everything the report
and ``summary.json`` show is computed from these tables by ``headline``, so a reader
can recompute every figure from the exported files (a test does).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from megawatt.optimize.solve import CURTAIL_TOL_MW


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


def curtailment_events(
    curtailed_mw: pd.DataFrame,
    allocation_mw: pd.Series,
    notice_minutes: int = 0,
    timezone: str = "UTC",
) -> pd.DataFrame:
    """One row per curtailment event: applicant, start (UTC), length [h], energy [MWh],
    and notify_utc: when the site is told, at the latest. The day-ahead schedule of a
    local day is due ``notice_minutes`` before the day starts (``program.contract``), so
    an event is notified with at least its notice, more the later in the day it starts.
    """
    rows = []
    for name in curtailed_mw.columns:
        if allocation_mw[name] <= CURTAIL_TOL_MW:
            continue
        values = curtailed_mw[name].to_numpy()
        mask = values > CURTAIL_TOL_MW
        if not mask.any():
            continue
        padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
        edges = np.flatnonzero(np.diff(padded))
        for start, stop in zip(edges[::2], edges[1::2], strict=True):
            rows.append(
                {
                    "applicant": name,
                    "start": curtailed_mw.index[start],
                    "length_h": int(stop - start),
                    "curtailed_mwh": float(values[start:stop].sum()),
                }
            )
    events = pd.DataFrame(rows, columns=["applicant", "start", "length_h", "curtailed_mwh"])
    start = pd.DatetimeIndex(events.start)
    if start.tz is None:
        start = start.tz_localize("UTC")
    day = start.tz_convert(timezone).normalize()
    notify = (day - pd.Timedelta(minutes=notice_minutes)).tz_convert("UTC")
    events["notify_utc"] = notify
    events["notice_h"] = np.asarray((start - notify).total_seconds()) / 3600.0
    return events


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
    """Headline figures, computed from the tables only (so they can be checked)."""
    alloc = tables["allocations"]
    balance = tables["balance"]
    accounts = tables["applicant_accounts"]
    curtailed = tables["curtailed_mw"]
    drawing = alloc.index[alloc.allocated_mw > CURTAIL_TOL_MW]
    any_curtailed = (
        (curtailed[drawing] > CURTAIL_TOL_MW).any(axis=1).to_numpy()
        if len(drawing)
        else np.zeros(len(curtailed), bool)
    )
    by_kind = alloc.groupby("kind").allocated_mw.sum()
    by_plant = (
        alloc.assign(plant=alloc.plant.replace("", "(none)")).groupby("plant").allocated_mw.sum()
    )
    total = balance.loc["total"]
    return {
        "allocated_mw": float(alloc.allocated_mw.sum()),
        "allocated_mw_by_kind": {str(k): float(v) for k, v in by_kind.items()},
        "allocated_mw_by_plant": {str(k): float(v) for k, v in by_plant.items()},
        "served_gwh": float(alloc.served_gwh.sum()),
        "curtailed_gwh": float(alloc.curtailed_gwh.sum()),
        "curtailment_hours": int(any_curtailed.sum()),
        "curtailment_events": len(tables["curtailment_events"]),
        "revenue_musd": float(total.revenue_usd / 1e6),
        "revenue_local_bn": float(total.revenue_local / 1e9),
        "incremental_fuel_musd": float(total.incremental_fuel_usd / 1e6),
        "margin_musd": float(total.margin_usd / 1e6),
        "capacity_charges_musd": float(total.capacity_charge_usd / 1e6),
        "capacity_charges_recovered_share": float(total.charge_recovered_share),
        "fx_net_musd": float(total.fx_net_usd / 1e6),
        "co2_kt": float(total.incremental_co2_t / 1e3),
        "jobs": float(accounts.jobs.sum()),
        "investment_musd": float(accounts.capex_usd.sum() / 1e6),
        "events_longest_h": int(tables["curtailment_events"].length_h.max())
        if len(tables["curtailment_events"])
        else 0,
    }
