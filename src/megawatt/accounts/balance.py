"""The state's balance sheet of the program, monthly and for the span, per plant and total.

Everything is computed from the baseline and program dispatch (so it counts how the
whole system re-dispatches, not only the program plants):

* tariff revenue = sum over hours of served MW x tariff [USD], and in local currency
  at the scenario's rate;
* incremental fuel cost = sum over generators of (program - baseline energy) x
  marginal cost; attributed to each program plant by its own change, the rest to
  "rest of system";
* revenue attributed to the plants that physically supplied it: each hour's revenue
  goes to the generators whose output rose that hour (program vs baseline), in
  proportion to their rise (:func:`supplier_shares`). A load sited "at Sahiwal" is
  served by whatever the re-dispatch raised, southern coal over the link included, so
  the siting label says nothing about who supplied it; a row's margin and charges
  recovered are those of the energy it really sold;
* margin = revenue - incremental fuel cost;
* capacity charges of the program plants (paid whatever they run) and the share of
  them the margin recovers;
* foreign exchange, net = revenue paid in foreign currency - incremental imported fuel;
* CO2: incremental tonnes and their intensity per MWh served;
* utilisation (capacity factor, :func:`megawatt.metrics.capacity_factor`) in the
  baseline and the program case;
* jobs and investment from per-MW factors (scenario.economics) and the ASIC and GPU
  catalogues; each applicant's revenue, costs and simple payback.

Identities that tests check: revenue - fuel = margin; plants + rest = total;
local = USD x rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from megawatt.metrics import capacity_factor
from megawatt.optimize.solve import DispatchResult, PlanResult
from megawatt.scenario.model import Scenario

HOURS_PER_YEAR = 8760.0
REST = "rest of system"
TOTAL = "total"


@dataclass(frozen=True)
class BalanceSheet:
    """The state's and the applicants' accounts for a plan.

    Attributes
    ----------
    plants
        Rows: each program plant, rest of system, total. Columns: revenue_usd,
        revenue_local, incremental_fuel_usd, margin_usd, capacity_charge_usd,
        charge_recovered_share, imported_fuel_usd, fx_net_usd, incremental_co2_t,
        capacity_factor_baseline, capacity_factor_program.
    monthly
        Totals per local month: served_mwh, revenue_usd, incremental_fuel_usd,
        margin_usd, fx_net_usd, incremental_co2_t.
    applicants
        Per applicant: allocation, served energy, revenue, energy and backup cost,
        opex, net, capex, payback_years, jobs, uptime achieved.
    """

    plants: pd.DataFrame
    monthly: pd.DataFrame
    applicants: pd.DataFrame

    @property
    def headline(self) -> dict[str, float]:
        """The sheet's totals for the span (:func:`sheet_figures`)."""
        return sheet_figures(self.plants, self.applicants)


def sheet_figures(plants: pd.DataFrame, applicants: pd.DataFrame) -> dict[str, float]:
    """The balance sheet's totals, from its ``plants`` table (row ``total``) and the
    applicants' accounts: the one place these headline figures are computed (the
    report's headline, the CLI, the multi-year view and the risk runs read them).

    Keys: allocated_mw, served_gwh, revenue_musd, revenue_local_bn,
    incremental_fuel_musd, margin_musd, capacity_charges_musd, charge_recovered_share,
    fx_net_musd, incremental_co2_kt, co2_t_per_mwh_served, jobs, investment_musd.
    """
    total = plants.loc[TOTAL]
    served_mwh = float(applicants.served_mwh.sum())
    return {
        "allocated_mw": float(applicants.allocated_mw.sum()),
        "served_gwh": served_mwh / 1e3,
        "revenue_musd": float(total.revenue_usd) / 1e6,
        "revenue_local_bn": float(total.revenue_local) / 1e9,
        "incremental_fuel_musd": float(total.incremental_fuel_usd) / 1e6,
        "margin_musd": float(total.margin_usd) / 1e6,
        "capacity_charges_musd": float(total.capacity_charge_usd) / 1e6,
        "charge_recovered_share": float(total.charge_recovered_share),
        "fx_net_musd": float(total.fx_net_usd) / 1e6,
        "incremental_co2_kt": float(total.incremental_co2_t) / 1e3,
        "co2_t_per_mwh_served": float(total.incremental_co2_t) / served_mwh
        if served_mwh
        else float("nan"),
        "jobs": float(applicants.jobs.sum()),
        "investment_musd": float(applicants.capex_usd.sum()) / 1e6,
    }


def balance_sheet(result: PlanResult, values: pd.DataFrame) -> BalanceSheet:
    """The balance sheet of a solved plan; ``values`` from ``value_applicants``."""
    sc = result.scenario
    base, prog = result.baseline, result.program
    rate = sc.currency.local_per_usd
    hours = prog.inputs.hours
    years = hours / HOURS_PER_YEAR
    inp = prog.inputs

    served = prog.served_mw  # [T, A]
    tariff = pd.Series(inp.tariff_usd_per_mwh, index=served.index)
    revenue_by_app = served.mul(tariff, axis=0)  # [T, A] USD
    energy_delta = prog.dispatch_mw - base.dispatch_mw  # [T, G]
    revenue_by_gen = supplier_shares(energy_delta).mul(revenue_by_app.sum(axis=1), axis=0)
    fuel_delta = energy_delta * inp.marginal_cost_usd_per_mwh  # [T, G] USD
    co2_delta = energy_delta * inp.co2_t_per_mwh
    gens = {g.name: g for g in sc.generators}
    imported = np.array([gens[g].fuel_imported for g in inp.generators])
    usd_share = sc.economics.tariff_paid_in_usd_share if sc.economics else 1.0

    plants = list(sc.program.plant_caps_mw)
    rows = []
    for plant in [*plants, REST]:
        gen_cols = [g for g in inp.generators if g not in plants] if plant == REST else [plant]
        revenue = float(revenue_by_gen[gen_cols].to_numpy().sum())
        if plant == REST:  # hours where the program drew but no output rose (none seen)
            revenue += float(revenue_by_app.to_numpy().sum() - revenue_by_gen.to_numpy().sum())
        fuel = float(fuel_delta[gen_cols].to_numpy().sum())
        imported_fuel = float(
            fuel_delta[[g for g in gen_cols if gens[g].fuel_imported]].to_numpy().sum()
        )
        charge = sum(_capacity_charge_usd(sc, g, years) for g in gen_cols) if plant != REST else 0.0
        p_nom = sum(gens[g].p_nom_mw for g in gen_cols)
        rows.append(
            {
                "plant": plant,
                "revenue_usd": revenue,
                "incremental_fuel_usd": fuel,
                "margin_usd": revenue - fuel,
                "capacity_charge_usd": charge,
                "imported_fuel_usd": imported_fuel,
                "fx_net_usd": revenue * usd_share - imported_fuel,
                "incremental_co2_t": float(co2_delta[gen_cols].to_numpy().sum()),
                "capacity_factor_baseline": capacity_factor(
                    base.dispatch_mw[gen_cols].to_numpy().sum(), p_nom, hours
                ),
                "capacity_factor_program": capacity_factor(
                    prog.dispatch_mw[gen_cols].to_numpy().sum(), p_nom, hours
                ),
            }
        )
    table = pd.DataFrame(rows).set_index("plant")
    total = table.sum(numeric_only=True)
    p_nom_all = sum(g.p_nom_mw for g in sc.generators)
    total["capacity_factor_baseline"] = capacity_factor(
        base.dispatch_mw.to_numpy().sum(), p_nom_all, hours
    )
    total["capacity_factor_program"] = capacity_factor(
        prog.dispatch_mw.to_numpy().sum(), p_nom_all, hours
    )
    table.loc[TOTAL] = total
    # The margin's share of the program plants' capacity charges (the policy question).
    program_charges = table.loc[plants, "capacity_charge_usd"].sum()
    table["charge_recovered_share"] = table.margin_usd / table.capacity_charge_usd.where(
        table.capacity_charge_usd > 0
    )
    table.loc[TOTAL, "capacity_charge_usd"] = program_charges
    table.loc[TOTAL, "charge_recovered_share"] = (
        table.loc[TOTAL, "margin_usd"] / program_charges if program_charges else np.nan
    )
    table.insert(1, "revenue_local", table.revenue_usd * rate)

    monthly = _monthly(sc, prog, revenue_by_app, fuel_delta, co2_delta, imported, usd_share)
    applicants = _applicant_accounts(sc, prog, values, years)
    return BalanceSheet(table, monthly, applicants)


def supplier_shares(energy_delta: pd.DataFrame) -> pd.DataFrame:
    """Each generator's share [-] of the program's supply, hour by hour.

    Parameters
    ----------
    energy_delta
        Program minus baseline dispatch [MW], hours x generators.

    Returns
    -------
    Hours x generators: ``max(0, dp[g,t]) / sum_g max(0, dp[g,t])``, the generators whose
    output rose in hour t sharing that hour in proportion to their rise; rows sum to 1
    where any output rose and are 0 where none did. Output that fell (displaced) is a
    fuel saving of that generator, not a supply share.

    Notes
    -----
    This is incremental (with-and-without) attribution: the program's energy is what
    the re-dispatch added, and each hour's addition is shared by the plants that added
    it. It is exact in total and physical per hour in a zonal model (any other split
    would credit a plant for energy it did not produce); a flow-tracing method would
    only change how a rise in one zone is shared between loads in several zones, and
    all revenue here is one tariff.
    """
    rise = energy_delta.clip(lower=0.0)
    total = rise.sum(axis=1)
    return rise.div(total.where(total > 0), axis=0).fillna(0.0)


def _capacity_charge_usd(sc: Scenario, name: str, years: float) -> float:
    gen = next(g for g in sc.generators if g.name == name)
    if gen.capacity_charge_local_per_kw_month is None:
        return 0.0
    local = gen.capacity_charge_local_per_kw_month * gen.p_nom_mw * 1000.0 * 12.0 * years
    return local / sc.currency.local_per_usd


def _monthly(
    sc: Scenario,
    prog: DispatchResult,
    revenue_by_app: pd.DataFrame,
    fuel_delta: pd.DataFrame,
    co2_delta: pd.DataFrame,
    imported: np.ndarray,
    usd_share: float,
) -> pd.DataFrame:
    local = prog.served_mw.index.tz_convert(sc.timezone)
    month = pd.PeriodIndex(local.tz_localize(None), freq="M")
    frame = pd.DataFrame(
        {
            "served_mwh": prog.served_mw.sum(axis=1).to_numpy(),
            "revenue_usd": revenue_by_app.sum(axis=1).to_numpy(),
            "incremental_fuel_usd": fuel_delta.sum(axis=1).to_numpy(),
            "imported_fuel_usd": fuel_delta.loc[:, imported].sum(axis=1).to_numpy(),
            "incremental_co2_t": co2_delta.sum(axis=1).to_numpy(),
        },
        index=month,
    )
    out = frame.groupby(level=0).sum()
    out["margin_usd"] = out.revenue_usd - out.incremental_fuel_usd
    out["fx_net_usd"] = out.revenue_usd * usd_share - out.imported_fuel_usd
    out.index.name = "month"
    return out


#: Columns of the applicant accounts (also when there are no applicants).
APPLICANT_COLUMNS = [
    "applicant",
    "kind",
    "allocated_mw",
    "served_mwh",
    "value_usd_per_mwh",
    "revenue_usd",
    "energy_cost_usd",
    "backup_cost_usd",
    "opex_usd",
    "net_usd",
    "capex_usd",
    "payback_years",
    "jobs",
    "btc_mined",
    "uptime_achieved",
]


def _applicant_accounts(
    sc: Scenario, prog: DispatchResult, values: pd.DataFrame, years: float
) -> pd.DataFrame:
    summary = prog.applicant_summary()
    apps = {a.name: a for a in sc.applicants}
    rows = []
    for name, s in summary.iterrows():
        app = apps[str(name)]
        factors = getattr(sc.economics, app.kind) if sc.economics else None
        value = float(values.loc[name, "value_usd_per_mwh"])
        revenue = s.served_mwh * value
        energy_cost = s.tariff_paid_usd
        backup_cost = s.backup_mwh * app.backup_cost_usd_per_mwh
        opex = factors.opex_usd_per_mw_year * s.allocated_mw * years if factors else 0.0
        net = revenue - energy_cost - backup_cost - opex
        equipment = float(np.nan_to_num(values.loc[name, "equipment_capex_usd_per_mw"]))
        facility = factors.facility_capex_usd_per_mw if factors else 0.0
        capex = (equipment + facility) * s.allocated_mw
        net_per_year = net / years
        rows.append(
            {
                "applicant": name,
                "kind": app.kind,
                "allocated_mw": s.allocated_mw,
                "served_mwh": s.served_mwh,
                "value_usd_per_mwh": value,
                "revenue_usd": revenue,
                "energy_cost_usd": energy_cost,
                "backup_cost_usd": backup_cost,
                "opex_usd": opex,
                "net_usd": net,
                "capex_usd": capex,
                "payback_years": capex / net_per_year if net_per_year > 0 else np.inf,
                "jobs": factors.jobs_per_mw * s.allocated_mw if factors else 0.0,
                "btc_mined": s.served_mwh * float(np.nan_to_num(values.loc[name, "btc_per_mwh"])),
                "uptime_achieved": (s.served_mwh + s.backup_mwh)
                / (s.allocated_mw * prog.inputs.hours)
                if s.allocated_mw > 0
                else np.nan,
            }
        )
    return pd.DataFrame(rows, columns=APPLICANT_COLUMNS).set_index("applicant")


#: The figures of a balance sheet that the multi-year view and the risk runs report.
CASE_FIGURES = ("served_gwh", "revenue_musd", "margin_musd", "charge_recovered_share")


def case_figures(sheet: BalanceSheet) -> dict[str, float]:
    """Served energy, revenue, margin and capacity charges recovered of a balance sheet."""
    head = sheet.headline
    return {key: head[key] for key in CASE_FIGURES}
