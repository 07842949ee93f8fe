"""A readable summary of a scenario's inputs, as tables (nothing here is a result).

``summarize`` returns plain pandas tables so notebooks and the CLI show the same
figures; the CLI renders them with rich.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from megawatt.scenario.model import Scenario
from megawatt.scenario.series import local_snapshots, timeseries


@dataclass(frozen=True)
class ScenarioSummary:
    """Input summary tables of a scenario.

    Attributes
    ----------
    overview
        Key facts as (item, value) rows.
    demand
        Per zone and national: energy [GWh], mean, peak and minimum [MW].
    fleet
        Installed MW by technology (rows) and zone (columns) with a total, and the
        dispatch cost range [USD/MWh].
    links
        Transmission corridors and limits [MW].
    program
        Program plants: zone, net MW, cap MW, capacity charge [local/kW-month].
    applicants
        Applicants: kind, zone, plant, requested MW, firm share, value [USD/MWh].
    """

    overview: pd.DataFrame
    demand: pd.DataFrame
    fleet: pd.DataFrame
    links: pd.DataFrame
    program: pd.DataFrame
    applicants: pd.DataFrame


def summarize(scenario: Scenario) -> ScenarioSummary:
    """Summarise a scenario's inputs (units in the column names)."""
    series = timeseries(scenario)
    demand = series.demand_mw
    national = demand.sum(axis=1)
    rows = []
    for name, col in [*demand.items(), ("national", national)]:
        rows.append(
            {
                "zone": name,
                "energy_gwh": col.sum() / 1000.0,
                "mean_mw": col.mean(),
                "peak_mw": col.max(),
                "min_mw": col.min(),
            }
        )
    demand_table = pd.DataFrame(rows).set_index("zone")

    rate = scenario.currency.local_per_usd
    gens = pd.DataFrame(
        {
            "technology": [g.technology for g in scenario.generators],
            "zone": [g.zone for g in scenario.generators],
            "p_nom_mw": [g.p_nom_mw for g in scenario.generators],
            "cost": [g.marginal_cost_usd_per_mwh(rate) for g in scenario.generators],
        }
    )
    fleet = gens.pivot_table(
        index="technology", columns="zone", values="p_nom_mw", aggfunc="sum", fill_value=0.0
    )
    fleet = fleet.reindex(columns=scenario.zone_names, fill_value=0.0)
    fleet["total_mw"] = fleet.sum(axis=1)
    cost = gens.groupby("technology")["cost"]
    fleet["cost_min_usd_per_mwh"] = cost.min()
    fleet["cost_max_usd_per_mwh"] = cost.max()
    fleet = fleet.sort_values("cost_min_usd_per_mwh")
    fleet.columns.name = None

    links = pd.DataFrame(
        [
            {
                "link": x.name,
                "from": x.from_zone,
                "to": x.to_zone,
                "p_nom_mw": x.p_nom_mw,
                "reverse_mw": x.reverse_limit_mw,
                "efficiency": x.efficiency,
            }
            for x in scenario.links
        ]
    )

    by_name = {g.name: g for g in scenario.generators}
    program = pd.DataFrame(
        [
            {
                "plant": plant,
                "zone": by_name[plant].zone,
                "net_mw": by_name[plant].p_nom_mw,
                "cap_mw": cap,
                "cost_usd_per_mwh": by_name[plant].marginal_cost_usd_per_mwh(rate),
                "capacity_charge_local_per_kw_month": (
                    by_name[plant].capacity_charge_local_per_kw_month
                ),
            }
            for plant, cap in scenario.program.plant_caps_mw.items()
        ]
    )

    applicants = pd.DataFrame(
        [
            {
                "applicant": a.name,
                "kind": a.kind,
                "zone": a.zone,
                "plant": a.plant or "",
                "requested_mw": a.requested_mw,
                "firm_share": a.firm_share,
                "value_usd_per_mwh": a.value_usd_per_mwh,
                "application_date": a.application_date.isoformat(),
                "illustrative": a.illustrative,
            }
            for a in scenario.applicants
        ]
    )

    local = local_snapshots(scenario)
    overview = pd.DataFrame(
        [
            ("scenario", scenario.name),
            (
                "span",
                f"{local[0]:%Y-%m-%d %H:%M} to {local[-1]:%Y-%m-%d %H:%M} "
                f"{scenario.timezone} ({scenario.hours} h)",
            ),
            ("zones", ", ".join(scenario.zone_names)),
            ("exchange rate", f"{rate:g} {scenario.currency.code}/USD"),
            ("generators", f"{len(scenario.generators)} ({gens.p_nom_mw.sum():,.0f} MW)"),
            (
                "national demand",
                f"{national.sum() / 1e3:,.0f} GWh, peak {national.max():,.0f} MW,"
                f" min {national.min():,.0f} MW",
            ),
            ("program cap", f"{scenario.program.cap_mw:,.0f} MW"),
            ("tariff", _tariff_text(scenario)),
            (
                "applicants",
                f"{len(scenario.applicants)} requesting "
                f"{sum(a.requested_mw for a in scenario.applicants):,.0f} MW"
                + (" (illustrative)" if any(a.illustrative for a in scenario.applicants) else ""),
            ),
            (
                "market",
                f"BTC ${scenario.market.btc_price_usd:,.0f}, difficulty "
                f"{scenario.market.difficulty / 1e12:,.2f}T "
                f"(~{scenario.market.implied_hashrate_eh_s:,.0f} EH/s; "
                f"as of {scenario.market.as_of})",
            ),
            ("VOLL", f"{scenario.voll_usd_per_mwh:,.0f} USD/MWh"),
        ],
        columns=["item", "value"],
    )
    return ScenarioSummary(overview, demand_table, fleet, links, program, applicants)


def _tariff_text(scenario: Scenario) -> str:
    tariff = scenario.program.tariff
    rate = scenario.currency.local_per_usd
    code = scenario.currency.code
    flat = f"{tariff.local_per_kwh:g} {code}/kWh ({tariff.local_per_kwh * 1000 / rate:.1f} USD/MWh)"
    if tariff.scheme == "flat":
        return f"flat {flat}"
    bands = "; ".join(f"{p.name} {p.local_per_kwh:g}" for p in tariff.periods)
    return f"time of use: base {flat}; {bands} {code}/kWh"
