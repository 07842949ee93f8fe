"""The ``megawatt`` command line: thin wrappers that parse, call the library, print.

Every command turns an :class:`~megawatt.errors.InputError` into one line on stderr
and exit status 2, never a traceback.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from megawatt import scenario as scenario_lib
from megawatt.errors import InfeasibleError, InputError
from megawatt.io import read_load_csv

app = typer.Typer(
    name="megawatt",
    help="Plan and run a national program selling surplus electricity to Bitcoin miners "
    "and AI data centers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
scenario_app = typer.Typer(help="Validate, show and create scenarios.", no_args_is_help=True)
app.add_typer(scenario_app, name="scenario")

# Piped output (logs, files) gets room for the tables; a terminal keeps its own width.
console = Console(width=None if sys.stdout.isatty() else 140)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)

F = TypeVar("F", bound=Callable[..., Any])

ScenarioArg = Annotated[
    Path | None,
    typer.Argument(
        help="Scenario YAML file; the embedded Pakistan FY2025 default when omitted.",
        show_default=False,
    ),
]


def user_errors(func: F) -> F:
    """Print input and infeasibility errors as one line and exit 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (InputError, InfeasibleError) as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


@scenario_app.command("validate")
@user_errors
def scenario_validate(
    file: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
) -> None:
    """Check a scenario and every file it references; exit 2 on the first problem."""
    sc = scenario_lib.load(file)
    series = scenario_lib.timeseries(sc)
    console.print(
        f"[green]ok[/] {file}: {len(sc.zones)} zones, {len(sc.generators)} generators, "
        f"{len(sc.applicants)} applicants, {len(series.snapshots)} hours"
    )


@scenario_app.command("show")
@user_errors
def scenario_show(file: ScenarioArg = None) -> None:
    """Print a readable summary of a scenario's inputs."""
    print_summary(scenario_lib.load_or_default(file))


@scenario_app.command("init")
@user_errors
def scenario_init(
    directory: Annotated[Path, typer.Argument(help="Directory to write the scenario into.")],
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an existing scenario.yaml.")
    ] = False,
) -> None:
    """Write the default scenario as editable files that validate unchanged."""
    target = directory / "scenario.yaml"
    if directory.exists() and not directory.is_dir():
        raise InputError(str(directory), "", "exists and is not a directory")
    if target.exists() and not force:
        raise InputError(str(target), "", "already exists (use --force to overwrite)")
    try:
        written = scenario_lib.dump(scenario_lib.load_default(), directory)
    except OSError as exc:
        raise InputError(str(directory), "", f"cannot write: {exc.strerror}") from None
    console.print(f"[green]wrote[/] {written} and the files it references")
    console.print(f"edit them, then: megawatt scenario validate {written}")


@app.command("plan")
@user_errors
def plan(
    file: ScenarioArg = None,
    out: Annotated[
        Path, typer.Option("--out", help="Directory for report.html, data/, results.xlsx.")
    ] = Path("megawatt-out"),
    solver: Annotated[str, typer.Option(help="HiGHS solver: choose, simplex or ipm.")] = "choose",
    details: Annotated[
        bool, typer.Option(help="Also print the detailed tables (allocation, balance, ...).")
    ] = True,
) -> None:
    """Plan the program for a scenario (default: Pakistan FY2025) and write the report.

    Values each applicant's power from the market, solves the national dispatch
    without the program (baseline) and with it (national demand first), draws up the
    state's balance sheet and miner viability across the halving, writes report.html,
    data tables (CSV, Parquet), results.xlsx and summary.json into --out, and prints
    the headline.
    """
    from megawatt.planning import STAGES, run_plan
    from megawatt.report.build import write_outcome
    from megawatt.report.export import check_out_dir

    check_out_dir(out)
    with _stages() as progress:
        task = progress.add_task("loading scenario", total=len(STAGES) + 2)
        sc = scenario_lib.load_or_default(file)

        def on_stage(name: str) -> None:
            if name in STAGES:
                progress.update(task, advance=1, description=name)
            else:
                progress.update(task, description=name)

        outcome = run_plan(sc, solver=solver, on_stage=on_stage)
        progress.update(task, completed=len(STAGES) + 1, description=f"writing {out}")
        summary = write_outcome(outcome, out)
        progress.update(task, completed=len(STAGES) + 2, description="done")
    if details:
        print_plan(outcome.result, outcome.changes)
        print_economics(outcome)
    print_headline(sc, summary["headline"])
    console.print(
        f"[green]wrote[/] {out / 'report.html'}, {out / 'summary.json'}, "
        f"{out / 'results.xlsx'} and {out / 'data'}/"
    )


@app.command("risk")
@user_errors
def risk(
    file: ScenarioArg = None,
    draws: Annotated[int, typer.Option(min=1, max=10_000_000, help="Monte Carlo draws.")] = 1000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same result).")] = 0,
    volatility: Annotated[
        float | None,
        typer.Option(min=0, max=5, help="BTC price volatility per sqrt(year) [scenario: risk]."),
    ] = None,
    drift: Annotated[
        float | None,
        typer.Option(min=-1, max=1, help="BTC log-price drift per year [scenario: risk]."),
    ] = None,
    prices: Annotated[
        Path | None,
        typer.Option(
            help="CSV of daily BTC prices (date,btc_price_usd): block-bootstrap the price "
            "paths from it instead of GBM."
        ),
    ] = None,
    block_days: Annotated[
        int | None, typer.Option(min=1, max=366, help="Bootstrap block length [days].")
    ] = None,
    market_only: Annotated[
        bool,
        typer.Option(
            "--market-only", help="Draw the market only: the scenario's demand and hydrology."
        ),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1, max=256, help="Local worker processes for the LP cases (1 = this process)."
        ),
    ] = min(os.cpu_count() or 1, 8),
    scheduler: Annotated[
        str | None,
        typer.Option(help="Address of a Dask scheduler (tcp://host:8786) to run the LP cases on."),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", help="Directory for report.html (with a Risk section), data/.")
    ] = Path("megawatt-out"),
) -> None:
    """Monte Carlo over the market (BTC price, hashrate, fees, halving date) and the grid
    (demand growth, hydro year) for every year of the market path.

    Plans the scenario, then dispatches every draw-year with the LP (draws that share an
    LP share its solve) and prints P10/P50/P90 per year of the state's margin, capacity
    charges recovered, energy served, curtailment hours and each miner's share of viable
    draws. Writes the plan and the risk tables into --out, with fan charts and
    histograms in report.html. A draw whose LP is infeasible is listed with its seed
    and parameters; the run goes on.
    """
    from megawatt.planning import STAGES, run_plan
    from megawatt.report.build import write_outcome
    from megawatt.report.export import check_out_dir
    from megawatt.risk.draws import check_inputs
    from megawatt.risk.montecarlo import Progress, run_risk
    from megawatt.risk.runner import make_runner

    check_out_dir(out)
    sc = scenario_lib.load_or_default(file)
    changes: dict[str, Any] = {}
    if volatility is not None:
        changes["price_volatility"] = volatility
    if drift is not None:
        changes["price_drift"] = drift
    if block_days is not None:
        changes["block_days"] = block_days
    if prices is not None:
        if not prices.is_file():
            raise InputError(str(prices), "", "file not found (--prices)")
        changes.update(price_model="bootstrap", price_history=str(prices.resolve()))
    if market_only:
        changes.update(demand_growth_sd=0.0, demand_growth_mean=0.0, hydro_years=[])
    # Options are range-checked by typer; the scenario keeps its origin and series.
    sc = sc.model_copy(update={"risk": sc.risk.model_copy(update=changes)})
    check_inputs(sc)  # a missing market path or a bad price file: say so before planning
    with make_runner(scheduler, workers) as runner, _stages() as progress:
        task = progress.add_task("planning", total=len(STAGES))

        def on_stage(name: str) -> None:
            progress.update(task, advance=1 if name in STAGES else 0, description=name)

        outcome = run_plan(sc, on_stage=on_stage)
        progress.update(task, completed=len(STAGES), description="plan done")
        lp = progress.add_task(f"LP cases ({runner.description})", total=None)
        done = progress.add_task("draws done", total=draws)

        def on_progress(p: Progress) -> None:
            progress.update(
                lp,
                completed=p.tasks_done,
                total=p.tasks_total,
                description=f"{p.stage} ({runner.description})",
            )
            progress.update(done, completed=p.draws_done)

        result = run_risk(outcome.result, draws, seed, runner=runner, on_progress=on_progress)
        writing = progress.add_task(f"writing {out}", total=1)
        write_outcome(outcome, out, risk=result)
        progress.update(writing, completed=1)
    print_risk(result)
    console.print(f"[green]wrote[/] {out / 'report.html'} and {out / 'data'}/risk_*")


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


@app.command("report")
@user_errors
def report(
    results_dir: Annotated[Path, typer.Argument(help="A directory written by megawatt plan.")],
) -> None:
    """Re-render report.html from saved results, without solving anything."""
    from megawatt.report.build import rerender

    if not results_dir.is_dir():
        raise InputError(str(results_dir), "", "is not a directory")
    path = rerender(results_dir)
    console.print(f"[green]wrote[/] {path}")


def print_headline(sc: scenario_lib.Scenario, head: dict[str, Any]) -> None:
    """The headline figures as one table."""
    code = sc.currency.code
    kinds = ", ".join(
        f"{_KIND_LABEL.get(k, k)} {v:,.0f}" for k, v in head["allocated_mw_by_kind"].items()
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
            f"{head['capacity_charges_recovered_share']:.0%} recovered",
        ),
        ("net foreign exchange", f"{head['fx_net_musd']:,.0f} M$"),
        ("CO2", f"+{head['co2_kt']:,.0f} kt"),
        ("jobs, investment", f"{head['jobs']:,.0f} direct jobs, {head['investment_musd']:,.0f} M$"),
    ]
    table = Table(title=f"Headline: {sc.name}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for item, value in rows:
        table.add_row(item, value)
    console.print(table)


@app.command("headroom")
@user_errors
def headroom(
    load_csv: Annotated[
        Path | None,
        typer.Argument(
            help="Hourly load CSV (timestamp,load_mw or NTDC DATE,HOUR,SYSLOAD); default: "
            "the scenario's national demand.",
            show_default=False,
        ),
    ] = None,
    scenario_file: Annotated[
        Path | None,
        typer.Option("--scenario", help="Scenario for the dispatch answer (default: Pakistan)."),
    ] = None,
    mapping: Annotated[
        str, typer.Option(help="Peak thresholds: duke (published seasons), monthly or annual.")
    ] = "duke",
    dispatch: Annotated[
        bool, typer.Option(help="Also answer with the zonal dispatch (one LP per zone/rate).")
    ] = True,
) -> None:
    """New flexible load the system can take at 0.25/0.5/1/5% curtailment.

    First the Duke "Rethinking Load Growth" method on an hourly load series (it ignores
    transmission and plant limits), then the same question answered by the zonal
    dispatch of the scenario, which includes both.
    """
    from megawatt.grid import headroom as duke
    from megawatt.optimize.headroom import DEFAULT_TARGETS, dispatch_headroom

    if mapping not in ("duke", "monthly", "annual"):
        raise InputError(None, "--mapping", "must be one of duke, monthly, annual", mapping)
    sc = scenario_lib.load_or_default(scenario_file)
    if load_csv is None:
        series = scenario_lib.timeseries(sc)
        load = series.demand_mw.sum(axis=1).tz_convert(sc.timezone).tz_localize(None)
        label = f"national demand of {sc.name}"
    else:
        load = read_load_csv(load_csv)
        label = str(load_csv)
    # A record that starts mid-year (Pakistan's fiscal year) is split into years from its
    # first month, not calendar years, so a single FY is one year, not two halves.
    table = duke.headroom_table(
        load, targets=DEFAULT_TARGETS, mapping=mapping, year_start_month=int(load.index[0].month)
    )
    console.print(
        frame_table(
            _headroom_view(table),
            f"Duke method on {label} (thresholds: {mapping})",
            index="target_rate",
        )
    )
    if "note" in table.columns:
        for rate, note in table.note.items():
            if note:
                console.print(f"  {rate:.2%}: {note}", highlight=False)
    if not dispatch:
        return
    with _stages() as progress:
        task = progress.add_task("baseline", total=len(sc.zones) * len(DEFAULT_TARGETS))

        def on_solve(text: str) -> None:
            progress.update(task, advance=1, description=text)

        zonal = dispatch_headroom(sc, on_solve=on_solve)
    console.print(
        frame_table(
            _headroom_view(zonal.reset_index("zone")),
            f"Zonal dispatch of {sc.name} (transmission and plant limits, national demand first)",
            index="target_rate",
        )
    )


def _headroom_view(table: pd.DataFrame) -> pd.DataFrame:
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


def _stages():
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
    plants = changes.plants.rename(columns={"baseline_cf": "CF before", "program_cf": "CF after"})
    if not plants.empty:
        console.print(frame_table(plants, "Program plants: utilisation", index="plant"))
    allocations = changes.allocations.rename(
        columns={
            "requested_mw": "req MW",
            "allocated_mw": "alloc MW",
            "curtailed_gwh": "curt GWh",
            "curtailed_hours": "curt h",
            "mean_event_h": "mean event h",
        }
    )
    allocations["kind"] = allocations["kind"].map(_KIND_LABEL)
    console.print(
        frame_table(
            allocations,
            f"Allocation (cap {sc.program.cap_mw:,.0f} MW, tariff "
            f"{sc.program.tariff.local_per_kwh:g} {sc.currency.code}/kWh)",
            index="applicant",
        )
    )
    by_kind = changes.by_kind_plant.rename(index=_KIND_LABEL, level="kind")
    console.print(frame_table(by_kind, "Program energy by kind and plant", index="kind"))
    console.print(frame_table(changes.prices, "Zonal prices (duals of the balance)", index="zone"))
    system = changes.system.rename(index=column_label)
    console.print(frame_table(system, "System", index="item"))
    if not changes.caps.empty:
        caps = changes.caps.rename(columns={"value_usd_per_mw": "value of 1 MW more $/MW"})
        console.print(
            frame_table(caps, "Caps: shadow prices over the span (LP duals)", index="cap")
        )
    links = changes.links.rename(columns={"value_usd_per_mw": "value of 1 MW more $/MW"})
    console.print(frame_table(links.reset_index(level="case"), "Links: congestion", index="link"))
    if not changes.reserve.empty:
        reserve = changes.reserve.copy()
        reserve["from_generators_mwh"] /= 1e3
        reserve["from_program_mwh"] /= 1e3
        reserve["program_value_usd"] /= 1e6
        reserve = reserve.rename(
            columns={
                "requirement_mw": "need MW",
                "priced_hours": "priced h",
                "mean_price_usd_per_mw_h": "mean $/MW-h",
                "from_generators_mwh": "generators GW-h",
                "from_program_mwh": "program loads GW-h",
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
        shown["kind"] = shown["kind"].map(_KIND_LABEL)
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
    shown["CF before"] = plants.cf_before
    shown["CF after"] = plants.cf_after
    console.print(
        frame_table(shown, "The state's balance sheet (span of the scenario)", index="plant")
    )
    head = outcome.balance.headline
    console.print(
        f"Margin {head.margin_musd:,.0f} M$ recovers {head.charge_recovered_share:.0%} of the "
        f"program plants' capacity charges ({head.capacity_charges_musd:,.0f} M$); net FX "
        f"{head.fx_net_musd:,.0f} M$; CO2 +{head.incremental_co2_kt:,.0f} kt "
        f"({head.co2_t_per_mwh_served:.2f} t/MWh served); {head.jobs:,.0f} direct jobs; "
        f"investment {head.investment_musd:,.0f} M$."
    )
    apps = outcome.balance.applicants
    accounts = pd.DataFrame(
        {
            "kind": apps.kind.map(_KIND_LABEL),
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


def frame_table(frame: pd.DataFrame, title: str, index: str | None = None) -> Table:
    """A rich table of a DataFrame with numbers right-aligned and rounded sensibly."""
    data = frame.reset_index() if index else frame
    table = Table(title=title, title_justify="left")
    for k, col in enumerate(data.columns):
        numeric = pd.api.types.is_numeric_dtype(data[col]) and data[col].dtype != bool
        table.add_column(
            column_label(str(col)),
            justify="right" if numeric else "left",
            no_wrap=k == 0,
            overflow="fold",
        )
    for row in data.itertuples(index=False):
        table.add_row(*(_fmt(v) for v in row))
    return table


_KIND_LABEL = {"btc_miner": "miner", "ai_datacenter": "AI"}

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


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
