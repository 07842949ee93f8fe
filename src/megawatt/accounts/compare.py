"""What the program changes: baseline vs program case, as tables.

Everything here is computed from the two solved cases' tables (dispatch, served,
prices, shedding), so a reader can recompute any figure from the exported data.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from megawatt.metrics import capacity_factor
from megawatt.optimize.solve import SHADOW_TOL_USD, DispatchResult, PlanResult


@dataclass(frozen=True)
class PlanChanges:
    """Baseline vs program tables.

    Attributes
    ----------
    plants
        Program plants and imported coal as a whole: capacity [MW], capacity factor
        in the baseline and the program case [-], energy in each [GWh].
    allocations
        Per applicant: allocation [MW], served, curtailed and backup energy [GWh],
        curtailed hours, events, mean event length [h].
    by_kind_plant
        Program energy by kind and plant: allocated MW, served GWh.
    prices
        Per zone: mean and demand-weighted price before and after [USD/MWh].
    system
        System totals before and after: generation, shedding [GWh], cost [MUSD], CO2 [kt].
    caps
        Program, zone and plant caps of the program case: limit and allocated [MW], value
        of one more MW of cap over the span [USD/MW] (the LP dual), binding or not.
    links
        Per link and case: energy sent each way [GWh], congested hours, value of one
        more MW of transfer limit over the span [USD/MW].
    reserve
        Per case and zone with a requirement: requirement [MW], hours the reserve has a
        price, mean price [USD/MW-h], reserve held by generators and by program loads
        [MW-h over the span], and what the program loads' reserve is worth at the
        hour's price [USD] (the duals of the reserve rows: the system cost one MW of
        reserve adds in that hour).
    """

    plants: pd.DataFrame
    allocations: pd.DataFrame
    by_kind_plant: pd.DataFrame
    prices: pd.DataFrame
    system: pd.DataFrame
    caps: pd.DataFrame
    links: pd.DataFrame
    reserve: pd.DataFrame


def compare(result: PlanResult) -> PlanChanges:
    """Tables of what the program changes relative to the baseline."""
    base, prog = result.baseline, result.program
    plants_cfg = result.scenario.program.plant_caps_mw
    gb, gp = base.generator_summary(), prog.generator_summary()
    hours = base.inputs.hours
    rows = []
    for plant in plants_cfg:
        rows.append(_plant_row(plant, gb.loc[[plant]], gp.loc[[plant]], hours))
    coal = gb.technology == "imported_coal"
    if coal.any():
        rows.append(_plant_row("imported coal (all)", gb[coal], gp[coal], hours))
    columns = [
        "plant",
        "p_nom_mw",
        "capacity_factor_baseline",
        "capacity_factor_program",
        "energy_gwh_baseline",
        "energy_gwh_program",
    ]
    plants = pd.DataFrame(rows, columns=columns).set_index("plant")

    apps = prog.applicant_summary()
    allocations = pd.DataFrame(
        {
            "kind": apps.kind,
            "plant": apps.plant,
            "requested_mw": apps.requested_mw,
            "allocated_mw": apps.allocated_mw,
            "served_gwh": apps.served_mwh / 1e3,
            "curtailed_gwh": apps.curtailed_mwh / 1e3,
            "backup_gwh": apps.backup_mwh / 1e3,
            "curtailed_hours": apps.curtailed_hours,
            "events": apps.events,
            "mean_event_h": apps.mean_event_h,
        }
    )
    by_kind_plant = (
        allocations.assign(plant=allocations.plant.replace("", "(no plant)"))
        .groupby(["kind", "plant"])[["allocated_mw", "served_gwh", "curtailed_gwh"]]
        .sum()
    )

    prices = pd.DataFrame(
        {
            "mean_price_usd_per_mwh_baseline": base.price_usd_per_mwh.mean(),
            "mean_price_usd_per_mwh_program": prog.price_usd_per_mwh.mean(),
            "weighted_price_usd_per_mwh_baseline": _weighted(base),
            "weighted_price_usd_per_mwh_program": _weighted(prog),
        }
    )
    prices.index.name = "zone"

    system = pd.DataFrame(
        {
            "baseline": _system(base),
            "program": _system(prog),
        }
    )
    system["change"] = system.program - system.baseline
    system.index.name = "item"
    links = pd.concat(
        {case: r.link_summary() for case, r in (("baseline", base), ("program", prog))},
        names=["case", "link"],
    )
    links = pd.DataFrame(
        {
            "forward_gwh": links.forward_mwh / 1e3,
            "reverse_gwh": links.reverse_mwh / 1e3,
            "congested_hours": links.congested_hours,
            "value_usd_per_mw": links.value_usd_per_mw,
        }
    )
    reserve = pd.concat(
        {case: _reserve(r) for case, r in (("baseline", base), ("program", prog))},
        names=["case", "zone"],
    )
    return PlanChanges(
        plants, allocations, by_kind_plant, prices, system, prog.cap_shadow, links, reserve
    )


def _reserve(res: DispatchResult) -> pd.DataFrame:
    inp = res.inputs
    price = res.reserve_price_usd_per_mw_h
    rows = {}
    for zone in price.columns:
        z = inp.zones.index(zone)
        gens = [g for g in res.reserve_mw.columns if g in inp.generators]
        gens = [g for g in gens if inp.generator_zone[inp.generators.index(g)] == z]
        loads = [a for a in res.reserve_mw.columns if a in inp.applicants]
        loads = [a for a in loads if inp.applicant_zone[inp.applicants.index(a)] == z]
        from_loads = res.reserve_mw[loads].sum(axis=1)
        rows[zone] = {
            "requirement_mw": float(inp.reserve_mw[z]),
            "priced_hours": int((price[zone] > SHADOW_TOL_USD).sum()),
            "mean_price_usd_per_mw_h": float(price[zone].mean()),
            "from_generators_mwh": float(res.reserve_mw[gens].to_numpy().sum()),
            "from_program_mwh": float(from_loads.sum()),
            "program_value_usd": float((from_loads * price[zone]).sum()),
        }
    columns = [
        "requirement_mw",
        "priced_hours",
        "mean_price_usd_per_mw_h",
        "from_generators_mwh",
        "from_program_mwh",
        "program_value_usd",
    ]
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns)


def _plant_row(
    name: str, before: pd.DataFrame, after: pd.DataFrame, hours: int
) -> dict[str, float | str]:
    p_nom = float(before.p_nom_mw.sum())
    return {
        "plant": name,
        "p_nom_mw": p_nom,
        "capacity_factor_baseline": capacity_factor(before.energy_mwh.sum(), p_nom, hours),
        "capacity_factor_program": capacity_factor(after.energy_mwh.sum(), p_nom, hours),
        "energy_gwh_baseline": float(before.energy_mwh.sum() / 1e3),
        "energy_gwh_program": float(after.energy_mwh.sum() / 1e3),
    }


def _weighted(res: DispatchResult) -> pd.Series:
    demand = pd.DataFrame(
        res.inputs.demand_mw.T, index=res.price_usd_per_mwh.index, columns=res.inputs.zones
    )
    return (res.price_usd_per_mwh * demand).sum() / demand.sum()


def _system(res: DispatchResult) -> pd.Series:
    gs = res.generator_summary()
    return pd.Series(
        {
            "generation_gwh": gs.energy_mwh.sum() / 1e3,
            "program_served_gwh": res.served_mw.to_numpy().sum() / 1e3,
            "shed_gwh": res.shed_mw.to_numpy().sum() / 1e3,
            "generation_cost_musd": gs.cost_usd.sum() / 1e6,
            "start_up_cost_musd": res.objective_breakdown_usd.get("start_up_cost_usd", 0.0) / 1e6,
            "co2_kt": gs.co2_t.sum() / 1e3,
        }
    )
