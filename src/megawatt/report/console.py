"""The CLI's tables: every result printed with rich, labelled from the results schema.

``megawatt.cli`` parses arguments, calls the library and hands the results here; the
column headers come from :func:`megawatt.accounts.schema.header` (the same labels as
the HTML report and the Excel workbook) where a printed column is an exported one.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from megawatt import scenario as scenario_lib
from megawatt.accounts import schema

# Piped output (logs, files) gets room for the tables; a terminal keeps its own width.
console = Console(width=None if sys.stdout.isatty() else 140)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)


def print_risk(result: Any) -> None:
    """Percentile table, failures and run statistics of a Monte Carlo run."""
    pct = result.percentiles
    stats = result.stats
    table = pd.DataFrame(
        {
            "margin P10 M$": pct.margin_musd_p10,
            "P50": pct.margin_musd_p50,
            "P90": pct.margin_musd_p90,
            "recovered P50": pct.charge_recovered_share_p50,
            "served P50 GWh": pct.served_gwh_p50,
            "curtailed h P50": pct.curtailment_hours_p50,
            "hashprice P50 $/PH/day": pct.hashprice_usd_per_ph_day_p50,
        }
    )
    for col in pct.columns:
        if col.endswith("_viable_share"):
            table[col.removesuffix("_viable_share") + " viable"] = pct[col]
    if pct.failed_draws.any():
        table["failed"] = pct.failed_draws
    console.print(
        frame_table(
            table,
            f"Risk: {stats['draws']:,} draws x {len(pct)} years, seed {stats['seed']}, "
            f"{stats['price_model']} prices ({stats['lp_cases']} LPs over "
            f"{stats['grid_states']} grid states)",
            index="year",
        )
    )
    failures = result.failures
    if len(failures):
        console.print(
            f"[yellow]{len(failures):,} draw-years failed[/] (seed {stats['seed']}); first:"
        )
        for _, row in failures.head(5).iterrows():
            console.print(
                f"  draw {row.draw} year {row.year}: demand x{row.demand_level:g}, hydro "
                f"{row.hydro_year}, BTC ${row.btc_price_usd:,.0f}: {row.message}"
            )


def print_headline(sc: scenario_lib.Scenario, head: dict[str, Any]) -> None:
    """The headline figures as one table."""
    code = sc.currency.code
    kinds = ", ".join(
        f"{KIND_LABEL.get(k, k)} {v:,.0f}" for k, v in head["allocated_mw_by_kind"].items()
    )
    plants = ", ".join(f"{k} {v:,.0f}" for k, v in head["allocated_mw_by_plant"].items())
    rows = [
        (
            "allocated",
            f"{head['allocated_mw']:,.0f} MW of {sc.program.cap_mw:,.0f} MW cap ({kinds})",
        ),
        ("by plant", f"{plants} MW"),
        ("energy served", f"{head['served_gwh']:,.0f} GWh"),
        (
            "curtailment",
            f"{head['curtailment_hours']:,} h with any load curtailed, "
            f"{head['curtailment_events']:,} events (longest "
            f"{head['events_longest_h']} h)",
        ),
        (
            "state revenue",
            f"{head['revenue_musd']:,.0f} M$ ({head['revenue_local_bn']:,.1f} bn {code})",
        ),
        ("margin over fuel", f"{head['margin_musd']:,.0f} M$"),
        (
            "capacity charges",
            f"{head['capacity_charges_musd']:,.0f} M$, "
            f"{head['charge_recovered_share']:.0%} recovered",
        ),
        ("net foreign exchange", f"{head['fx_net_musd']:,.0f} M$"),
        (
            "national demand shed",
            f"{head['shed_gwh_baseline']:,.0f} GWh before the program, "
            f"{head['shed_gwh_program']:,.0f} GWh with it",
        ),
        ("CO2", f"+{head['incremental_co2_kt']:,.0f} kt"),
        ("jobs, investment", f"{head['jobs']:,.0f} direct jobs, {head['investment_musd']:,.0f} M$"),
    ]
    table = Table(title=f"Headline: {sc.name}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for item, value in rows:
        table.add_row(item, value)
    console.print(table)
    for note in head.get("notes", []):
        console.print(f"Note: {note}", highlight=False)


def headroom_view(table: pd.DataFrame) -> pd.DataFrame:
    view = table.copy()
    view.index = [f"{r:.2%}" for r in view.index]
    view.index.name = "target_rate"
    keep = [
        c
        for c in (
            "zone",
            "new_load_mw",
            "curtailed_hours",
            "events",
            "mean_event_h",
            "share_hours_keep_50",
            "share_hours_keep_75",
            "share_hours_keep_90",
        )
        if c in view.columns
    ]
    return view[keep].rename(
        columns={
            "share_hours_keep_50": "keep>=50%",
            "share_hours_keep_75": "keep>=75%",
            "share_hours_keep_90": "keep>=90%",
        }
    )


def stages():
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=not console.is_terminal,
    )


def print_plan(result: Any, changes: Any) -> None:
    """Render a plan's baseline-vs-program tables with rich."""
    sc = result.scenario
    stats = [result.baseline.stats, result.program.stats]
    console.print(
        f"[bold]Plan for {sc.name}[/]: {sc.hours} h, {len(sc.zones)} zones; LP "
        f"{stats[1].num_col:,} columns x {stats[1].num_row:,} rows, solved in "
        f"{stats[0].solve_s:.1f} s (baseline) + {stats[1].solve_s:.1f} s (program); "
        f"one schedule on each optimal face in {stats[0].unique_s + stats[1].unique_s:.1f} s"
    )
    if not changes.plants.empty:
        console.print(
            frame_table(
                changes.plants, "Program plants: utilisation", index="plant", table_name="plants"
            )
        )
    allocations = changes.allocations.copy()
    allocations["kind"] = allocations["kind"].map(KIND_LABEL)
    console.print(
        frame_table(
            allocations,
            f"Allocation (cap {sc.program.cap_mw:,.0f} MW, tariff "
            f"{sc.program.tariff.local_per_kwh:g} {sc.currency.code}/kWh)",
            index="applicant",
            table_name="allocations",
        )
    )
    by_kind = changes.by_kind_plant.rename(index=KIND_LABEL, level="kind")
    console.print(
        frame_table(
            by_kind, "Program energy by kind and plant", index="kind", table_name="allocations"
        )
    )
    console.print(
        frame_table(
            changes.prices, "Zonal prices (duals of the balance)", index="zone", table_name="prices"
        )
    )
    system = changes.system.rename(index=column_label)
    console.print(frame_table(system, "System", index="item", table_name="system"))
    if not changes.caps.empty:
        console.print(
            frame_table(
                changes.caps,
                "Caps: shadow prices over the span (LP duals)",
                index="cap",
                table_name="caps",
            )
        )
    console.print(
        frame_table(
            changes.links.reset_index(level="case"),
            "Links: congestion",
            index="link",
            table_name="links",
        )
    )
    if not changes.reserve.empty:
        reserve = changes.reserve.copy()
        reserve["from_generators_mwh"] /= 1e3
        reserve["from_program_mwh"] /= 1e3
        reserve["program_value_usd"] /= 1e6
        reserve = reserve.rename(
            columns={
                "from_generators_mwh": "from generators GW-h",
                "from_program_mwh": "from program loads GW-h",
                "program_value_usd": "program value M$",
            }
        )
        console.print(
            frame_table(
                reserve.reset_index(level="case"),
                "Spinning reserve (duals of the reserve rows): what interruptible program "
                "load holds",
                index="zone",
            )
        )


def print_summary(sc: scenario_lib.Scenario) -> None:
    """Render a scenario's input summary with rich."""
    from megawatt.scenario.summary import summarize

    summary = summarize(sc)
    table = Table(title=f"Scenario {sc.name}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for item, value in summary.overview.itertuples(index=False):
        table.add_row(str(item), str(value))
    console.print(table)
    console.print(frame_table(summary.demand, "National demand (served first)", index="zone"))
    console.print(frame_table(summary.fleet, "Fleet by technology, MW", index="technology"))
    if not summary.links.empty:
        console.print(frame_table(summary.links, "Transmission"))
    console.print(frame_table(summary.program, f"Program plants (cap {sc.program.cap_mw:,.0f} MW)"))
    if not summary.applicants.empty:
        apps = summary.applicants
        illustrative = " (illustrative)" if apps.illustrative.any() else ""
        shown = apps.drop(columns=["illustrative", "zone"]).rename(
            columns={"application_date": "filed", "firm_share": "firm"}
        )
        shown["kind"] = shown["kind"].map(KIND_LABEL)
        console.print(frame_table(shown, f"Applicants{illustrative}"))


def print_economics(outcome: Any) -> None:
    """Render the balance sheet, applicant accounts and the multi-year view."""
    sc = outcome.result.scenario
    code = sc.currency.code
    plants = outcome.balance.plants.copy()
    money = [
        "revenue_usd",
        "incremental_fuel_usd",
        "margin_usd",
        "capacity_charge_usd",
        "fx_net_usd",
    ]
    shown = (plants[money] / 1e6).rename(
        columns={
            "revenue_usd": "revenue M$",
            "incremental_fuel_usd": "fuel M$",
            "margin_usd": "margin M$",
            "capacity_charge_usd": "cap. charge M$",
            "fx_net_usd": "net FX M$",
        }
    )
    shown.insert(1, f"revenue {code} bn", plants.revenue_local / 1e9)
    shown["charges recovered"] = plants.charge_recovered_share
    shown["CO2 kt"] = plants.incremental_co2_t / 1e3
    shown["CF before"] = plants.capacity_factor_baseline
    shown["CF after"] = plants.capacity_factor_program
    console.print(
        frame_table(shown, "The state's balance sheet (span of the scenario)", index="plant")
    )
    head = outcome.balance.headline
    console.print(
        f"Margin {head['margin_musd']:,.0f} M$ recovers {head['charge_recovered_share']:.0%} "
        f"of the program plants' capacity charges ({head['capacity_charges_musd']:,.0f} M$); "
        f"net FX {head['fx_net_musd']:,.0f} M$; CO2 +{head['incremental_co2_kt']:,.0f} kt "
        f"({head['co2_t_per_mwh_served']:.2f} t/MWh served); {head['jobs']:,.0f} direct jobs; "
        f"investment {head['investment_musd']:,.0f} M$."
    )
    apps = outcome.balance.applicants
    accounts = pd.DataFrame(
        {
            "kind": apps.kind.map(KIND_LABEL),
            "alloc MW": apps.allocated_mw,
            "value $/MWh": apps.value_usd_per_mwh,
            "revenue M$": apps.revenue_usd / 1e6,
            "energy M$": apps.energy_cost_usd / 1e6,
            "net M$": apps.net_usd / 1e6,
            "capex M$": apps.capex_usd / 1e6,
            "payback y": apps.payback_years,
            "uptime": apps.uptime_achieved,
        }
    )
    console.print(frame_table(accounts, "Applicants' accounts", index="applicant"))
    view = outcome.horizon
    if view is None:
        return
    tariff = outcome.result.program.inputs.tariff_usd_per_mwh.min()
    miners = [a.name for a in sc.applicants if a.kind == "btc_miner"]
    periods = view.periods
    table = view.values[miners].copy()
    table.columns = [f"{m} $/MWh" for m in miners]
    table.insert(0, "hashprice $/PH/day", periods.hashprice_usd_per_ph_day)
    table.insert(0, "cap MW", periods.cap_mw)
    table.insert(0, "year", periods.contract_year)
    table["drawing"] = periods.applicants_drawing
    table["allocated MW"] = periods.allocated_mw
    table["margin M$"] = periods.margin_musd
    table["charges recovered"] = periods.charge_recovered_share
    table.index = [
        f"{a:%Y-%m-%d}..{b:%Y-%m-%d}" for a, b in zip(table.index, periods.end, strict=True)
    ]
    table.index.name = "period"
    terms = sc.program.contract
    console.print(
        frame_table(
            table,
            f"Contract term, review by review ({terms.term_years:g} years, reviews every "
            f"{terms.review_months} months, year-one cap {terms.first_year_cap_share:.0%}): "
            f"miner break-even vs tariff {tariff:.1f} $/MWh (halving est. "
            f"{view.halving_date:%Y-%m-%d})",
            index="period",
        )
    )


def frame_table(
    frame: pd.DataFrame, title: str, index: str | None = None, table_name: str | None = None
) -> Table:
    """A rich table of a DataFrame with numbers right-aligned and rounded sensibly.
    ``table_name``, an exported table's name: headers from the results schema."""
    data = frame.reset_index() if index else frame
    table = Table(title=title, title_justify="left")
    for k, col in enumerate(data.columns):
        numeric = pd.api.types.is_numeric_dtype(data[col]) and data[col].dtype != bool
        table.add_column(
            schema.header(table_name, str(col)) if table_name else column_label(str(col)),
            justify="right" if numeric else "left",
            no_wrap=k == 0 or not numeric,
            overflow="fold",
        )
    for row in data.itertuples(index=False):
        table.add_row(*(_fmt(v) for v in row))
    return table


KIND_LABEL = {"btc_miner": "miner", "ai_datacenter": "AI"}


_UNIT_SUFFIXES = (
    ("_local_per_kw_month", " /kW-month"),
    ("_usd_per_mwh", " $/MWh"),
    ("_musd", " M$"),
    ("_kt", " kt"),
    ("_usd", " $"),
    ("_gwh", " GWh"),
    ("_mwh", " MWh"),
    ("_mw", " MW"),
    ("_h", " h"),
)


def column_label(name: str) -> str:
    """A short header from a column name: units as symbols, underscores as spaces."""
    for suffix, unit in _UNIT_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)].replace("_", " ") + unit
    return name.replace("_", " ")


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and np.isinf(value):
        return "never" if value > 0 else "-inf"
    if isinstance(value, float) and 0 < abs(value) < 1:
        return f"{value:.3f}"
    if isinstance(value, float):
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 1:
            return f"{value:,.2f}"
        return f"{value:.4g}"
    return str(value)
