"""The ``megawatt`` command line: thin wrappers that parse, call the library, print.

Every command checks its options before solving anything, and turns an
:class:`~megawatt.errors.InputError` or a bad option (click's usage errors: out of
range, unknown option, ...) into one line on stderr and exit status 2, never a
traceback. SIGTERM is handled like Ctrl-C, so a half-written ``--out`` is removed.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

import typer
from typer.core import TyperGroup

from megawatt import scenario as scenario_lib
from megawatt.errors import InfeasibleError, InputError
from megawatt.io import read_load_csv
from megawatt.report.console import (
    console,
    err_console,
    frame_table,
    headroom_view,
    print_economics,
    print_headline,
    print_plan,
    print_risk,
    print_summary,
    stages,
)

# click's exception classes, from the copy of click typer uses (its own since 0.24)
UsageError = typer.BadParameter.__bases__[0]
ClickException = UsageError.__bases__[0]

#: HiGHS solver choices of ``--solver``.
SOLVERS = ("choose", "simplex", "ipm")


def _usage_line(exc: Exception) -> str:
    """One line for a usage error: ``--draws: must be from 1 to 10000000 (got 0)``."""
    message = str(getattr(exc, "message", exc)).strip().rstrip(".")
    param = getattr(exc, "param", None)
    if param is None:
        ctx = getattr(exc, "ctx", None)
        command = ctx.command_path if ctx is not None else "megawatt"
        return f"{message} (see {command} --help)"
    opts = getattr(param, "opts", None)
    hint = opts[0] if param.param_type_name == "option" and opts else param.human_readable_name
    low, high = getattr(param, "min", None), getattr(param, "max", None)
    if (low is not None or high is not None) and re.search(r"greater|less", message):
        if low is not None and high is not None:
            message = f"must be from {low} to {high}"
        else:
            message = f"must be >= {low}" if low is not None else f"must be <= {high}"
    else:
        message = re.sub(r"^Input should be", "must be", message)
    errors = getattr(exc.__cause__, "errors", None)  # typer checks values with pydantic
    if callable(errors):
        with contextlib.suppress(Exception):
            message += f" (got {errors()[0]['input']!r})"
    return f"{hint}: {message}"


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """While the CLI runs, SIGTERM raises KeyboardInterrupt, as Ctrl-C does."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class _Group(TyperGroup):
    """The app's click group: usage errors in one line (exit 2), SIGTERM as Ctrl-C."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        with _sigterm_as_interrupt():
            try:
                code = super().main(args, prog_name, complete_var, False, **extra)
            except UsageError as exc:
                if type(exc).__name__ == "NoArgsIsHelpError":
                    sys.exit(exc.exit_code)  # the help is already printed
                line = _usage_line(exc)
                err_console.print(f"[bold red]error:[/] {line}", highlight=False, soft_wrap=True)
                sys.exit(2)
            except ClickException as exc:
                exc.show()
                sys.exit(exc.exit_code)
            except typer.Abort:
                err_console.print("Aborted.", highlight=False)
                sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    name="megawatt",
    cls=_Group,
    help="Plan and run a national program selling surplus electricity to Bitcoin miners "
    "and AI data centers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
scenario_app = typer.Typer(help="Validate, show and create scenarios.", no_args_is_help=True)
app.add_typer(scenario_app, name="scenario")

F = TypeVar("F", bound=Callable[..., Any])

FORCE_HELP = "Replace --out even if it is a non-empty folder that is not a megawatt output."

#: Largest ``--seed`` (numpy seeds are whole numbers >= 0).
MAX_SEED = 2**32 - 1

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
    force: Annotated[bool, typer.Option("--force", help=FORCE_HELP)] = False,
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

    if solver not in SOLVERS:
        raise InputError(None, "--solver", f"must be one of {', '.join(SOLVERS)}", solver, True)
    check_out_dir(out, force=force, scenario=file)
    with stages() as progress:
        task = progress.add_task("loading scenario", total=len(STAGES) + 2)
        sc = scenario_lib.load_or_default(file)

        def on_stage(name: str) -> None:
            if name in STAGES:
                progress.update(task, advance=1, description=name)
            else:
                progress.update(task, description=name)

        outcome = run_plan(sc, solver=solver, on_stage=on_stage)
        progress.update(task, completed=len(STAGES) + 1, description=f"writing {out}")
        summary = write_outcome(outcome, out, force=force)
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
    seed: Annotated[
        int, typer.Option(min=0, max=MAX_SEED, help="Random seed (same seed, same result).")
    ] = 0,
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
        typer.Option(
            help="Address of a Dask scheduler (tcp://host:8786) to run the LP cases on; "
            "gives up after 5 s to connect and 5 s for its answer."
        ),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", help="Directory for report.html (with a Risk section), data/.")
    ] = Path("megawatt-out"),
    force: Annotated[bool, typer.Option("--force", help=FORCE_HELP)] = False,
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

    check_out_dir(out, force=force, scenario=file)
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
    with make_runner(scheduler, workers) as runner, stages() as progress:
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
        write_outcome(outcome, out, risk=result, force=force)
        progress.update(writing, completed=1)
    print_risk(result)
    console.print(f"[green]wrote[/] {out / 'report.html'} and {out / 'data'}/risk_*")


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
            headroom_view(table),
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
    with stages() as progress:
        task = progress.add_task("baseline", total=len(sc.zones) * len(DEFAULT_TARGETS))

        def on_solve(text: str) -> None:
            progress.update(task, advance=1, description=text)

        zonal = dispatch_headroom(sc, on_solve=on_solve)
    console.print(
        frame_table(
            headroom_view(zonal.reset_index("zone")),
            f"Zonal dispatch of {sc.name} (transmission and plant limits, national demand first)",
            index="target_rate",
        )
    )


DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL, e.g. postgresql+psycopg://user@host/db; default "
        "$MEGAWATT_DATABASE_URL, else the SQLite file ./megawatt.db.",
        show_default=False,
    ),
]

ops_app = typer.Typer(
    help="Operations database: migrations, caps, plan import and export, day-ahead "
    "schedule and emergencies (the service is `megawatt serve`).",
    no_args_is_help=True,
)
app.add_typer(ops_app, name="ops")


def ops_errors(func: F) -> F:
    """Database and service errors as one line on stderr, exit status 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from alembic.util import CommandError
        from sqlalchemy.exc import ArgumentError, SQLAlchemyError

        from megawatt.ops.problems import Problem

        try:
            return func(*args, **kwargs)
        except Problem as exc:
            err_console.print(f"[bold red]error:[/] {exc.detail}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except CommandError as exc:
            err_console.print(f"[bold red]error:[/] migrations: {exc}", highlight=False)
            raise typer.Exit(2) from None
        except (ArgumentError, SQLAlchemyError) as exc:
            line = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            err_console.print(
                f"[bold red]error:[/] database: {line}", highlight=False, soft_wrap=True
            )
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


@ops_app.callback()
def ops_main(ctx: typer.Context, db: DbOption = None) -> None:
    """Operations database commands; --db selects the database."""
    ctx.obj = {"db": db}


@ops_app.command("migrate")
@ops_errors
def ops_migrate(
    ctx: typer.Context,
    revision: Annotated[
        str, typer.Option(help="Target revision (default: the newest).", show_default=False)
    ] = "head",
) -> None:
    """Create the schema, or upgrade it to the newest migration."""
    from megawatt.ops import db

    url = db.database_url(ctx.obj["db"])
    db.migrate(url, revision)
    console.print(f"schema at revision {db.current_revision(url)} ({db.redact(url)})")


@ops_app.command("backup")
@user_errors
@ops_errors
def ops_backup(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The backup file to write (must not exist).")],
) -> None:
    """A consistent copy of the database while it runs: SQLite's online backup (a
    database file) or pg_dump's custom format on PostgreSQL (restore with pg_restore)."""
    from megawatt.ops import db

    url = db.database_url(ctx.obj["db"])
    path = db.backup(url, file)
    console.print(f"backed up {db.redact(url)} to {path} ({path.stat().st_size:,} bytes)")


@ops_app.command("seed-caps")
@user_errors
@ops_errors
def ops_seed_caps(ctx: typer.Context, file: ScenarioArg = None) -> None:
    """Write the program, zone and plant caps of a scenario into the caps table."""
    from megawatt.ops import db
    from megawatt.ops.seed import seed_caps

    sc = scenario_lib.load_or_default(file)
    engine = db.make_engine(ctx.obj["db"])
    try:
        with db.transaction(db.session_factory(engine)) as session:
            caps = seed_caps(session, sc, actor="cli")
            for cap in caps:
                console.print(f"{cap.scope:8} {cap.name:24} {cap.cap_kw / 1000:>10.3f} MW")
    finally:
        engine.dispose()


@ops_app.command("ingest")
@user_errors
@ops_errors
def ops_ingest(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            help="Readings: CSV (.csv; header meter,interval_start,minutes,kwh,quality,"
            'version) or JSON ({"readings": [...]}).'
        ),
    ],
) -> None:
    """Ingest interval readings from a meter head-end file (all or nothing; replaying a
    file changes nothing; a correction is a higher version)."""
    import time

    from megawatt.ops import db, metering

    start = time.perf_counter()
    rows = metering.parse_file(str(file))
    engine = db.make_engine(ctx.obj["db"])
    try:
        with db.transaction(db.session_factory(engine)) as session:
            done = metering.ingest(session, rows, actor="cli")
    finally:
        engine.dispose()
    seconds = time.perf_counter() - start
    console.print(
        f"{done['received']:,} readings: {done['inserted']:,} new, {done['unchanged']:,} "
        f"already stored, {done['superseded']:,} superseding an earlier version "
        f"({seconds:.1f} s)"
    )


@ops_app.command("plan-vs-actual")
@user_errors
@ops_errors
def ops_plan_vs_actual(
    ctx: typer.Context,
    plan: Annotated[Path, typer.Argument(help="A plan's output directory (megawatt plan).")],
    month: Annotated[str, typer.Option(help="The local calendar month, YYYY-MM.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """Per site and for the program: energy served and curtailed, revenue and penalties
    as metered and billed, against the plan and the day-ahead schedule; the state's
    margin as billed versus as planned (docs/operations.md, "Plan against actual")."""
    import json

    from rich.table import Table

    from megawatt.ops import compliance, db
    from megawatt.ops.settlement import plan_vs_actual

    engine = db.make_engine(ctx.obj["db"])
    try:
        with db.transaction(db.session_factory(engine)) as session:
            out = compliance.plain(plan_vs_actual(session, plan, month))
    finally:
        engine.dispose()
    if as_json:
        print(json.dumps(out, indent=2))
        return
    table = Table(title=f"plan against actual, {month} (local)")
    for col in (
        "site",
        "served MWh (plan)",
        "served MWh",
        "curtailed MWh (plan / schedule)",
        "curtailed MWh",
        "revenue PKR (plan)",
        "billed PKR",
        "penalties PKR",
    ):
        table.add_column(col, justify="left" if col == "site" else "right")
    for r in [*out["sites"], {"site": "program", **out["program"]}]:
        table.add_row(
            r["site"],
            r.get("planned_served_mwh", ""),
            r.get("served_mwh", ""),
            f"{r.get('planned_curtailed_mwh', '')} / {r.get('scheduled_curtailed_mwh', '')}",
            r.get("curtailed_mwh", ""),
            r.get("planned_revenue_pkr", ""),
            r.get("revenue_pkr", ""),
            r.get("penalties_pkr", ""),
        )
    console.print(table)
    m = out["margin"]
    console.print(
        f"state's margin: planned {m['planned_pkr']} PKR, as billed {m['billed_pkr']} PKR"
    )


@ops_app.command("invoice-run")
@user_errors
@ops_errors
def ops_invoice_run(
    ctx: typer.Context,
    month: Annotated[str, typer.Option(help="The local calendar month, YYYY-MM (ended).")],
) -> None:
    """Issue the month's invoice of every site with a contract in force (one transaction
    per site; sites already invoiced are skipped, so a run may be repeated or resumed)."""
    import time

    from megawatt.ops import db, invoicing

    engine = db.make_engine(ctx.obj["db"])
    start = time.perf_counter()
    try:
        done = invoicing.run(db.session_factory(engine), month, actor="cli")
    finally:
        engine.dispose()
    console.print(
        f"{month}: {len(done['issued'])} invoices issued, {len(done['standing'])} already "
        f"standing, {len(done['no_contract'])} sites without a contract in force "
        f"({time.perf_counter() - start:.1f} s)"
    )


@ops_app.command("import-plan")
@user_errors
@ops_errors
def ops_import_plan(
    ctx: typer.Context,
    out_dir: Annotated[Path, typer.Argument(help="A directory written by megawatt plan.")],
    ramp_minutes: Annotated[
        int | None,
        typer.Option(min=0, max=24 * 60, help="Contracts: ramp time after the notice, min."),
    ] = None,
    penalty_per_mwh: Annotated[
        str | None,
        typer.Option(help="Contracts: penalty per MWh below the firm service level (local)."),
    ] = None,
) -> None:
    """Caps, operators, sites, applications and ledger grants from a plan (idempotent).

    Sites without an active licence at the contract start get no grant: add their
    licences and import again. With --ramp-minutes and --penalty-per-mwh (terms a plan
    does not carry) each application also gets its contract from the plan's terms."""
    from decimal import Decimal, InvalidOperation

    from megawatt.errors import InputError
    from megawatt.ops.planio import SiteTerms, import_plan

    terms = None
    if (ramp_minutes is None) != (penalty_per_mwh is None):
        raise InputError(None, "--ramp-minutes/--penalty-per-mwh", "give both or neither")
    if ramp_minutes is not None and penalty_per_mwh is not None:
        try:
            penalty = Decimal(penalty_per_mwh)
        except InvalidOperation:
            raise InputError(None, "--penalty-per-mwh", "a decimal number >= 0") from None
        if not penalty.is_finite() or penalty < 0:
            raise InputError(None, "--penalty-per-mwh", "a decimal number >= 0")
        terms = SiteTerms(ramp_minutes, penalty)
    report = _client_tx(ctx, lambda s: import_plan(s, out_dir, "cli:import-plan", terms))
    console.print(f"effective from {report.effective_from.isoformat()}")
    console.print(
        f"created {len(report.created)} records; granted: {', '.join(report.granted) or '-'}"
    )
    console.print(f"unchanged: {', '.join(report.unchanged) or '-'}")
    console.print(
        f"contracts created: {', '.join(report.contracts) or '-'}"
        + (f" ({report.no_contract})" if report.no_contract else ""),
        highlight=False,
    )
    if report.unlicensed:
        console.print(
            f"no active licence, not granted: {', '.join(report.unlicensed)}", highlight=False
        )


@ops_app.command("export-scenario")
@user_errors
@ops_errors
def ops_export_scenario(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="Directory to write the scenario into.")],
    base: Annotated[
        Path | None,
        typer.Option("--scenario", help="Scenario to start from (default: Pakistan FY2025)."),
    ] = None,
) -> None:
    """Write a scenario whose applicants are the registry's sites (their allocation now
    as committed MW) and whose caps are the database's."""
    import datetime as dt

    from megawatt.ops import db
    from megawatt.ops.planio import export_scenario

    sc = scenario_lib.load_or_default(base)
    engine = db.make_engine(ctx.obj["db"])
    try:
        with db.transaction(db.session_factory(engine)) as session:
            path = export_scenario(session, sc, directory, dt.datetime.now(dt.UTC))
    finally:
        engine.dispose()
    console.print(f"wrote {path}")


def _when(value: str, option: str) -> Any:
    """An ISO 8601 time with a UTC offset, for an option."""
    import datetime as dt

    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InputError(None, option, "must be an ISO 8601 time", value) from None
    if when.tzinfo is None:
        raise InputError(None, option, "needs a UTC offset (e.g. +05:00 or Z)", value)
    return when.astimezone(dt.UTC)


@ops_app.command("schedule")
@user_errors
@ops_errors
def ops_schedule(
    ctx: typer.Context,
    day: Annotated[
        str, typer.Option("--day", help="Program day (local, YYYY-MM-DD).", show_default=False)
    ],
    published_at: Annotated[
        str | None,
        typer.Option(
            "--published-at",
            help="When the schedule goes out (ISO 8601 with offset; default now): no "
            "block starts before it plus the contract's notice.",
            show_default=False,
        ),
    ] = None,
    base: Annotated[
        Path | None,
        typer.Option("--scenario", help="Scenario of the grid (default: Pakistan FY2025)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Day-ahead curtailment blocks: dispatch the day on the live allocations and cut
    each site's curtailment into blocks (one event each), respecting notice.

    Publishes them through the OpenADR VTN when this build has one (only the changes:
    re-running a day is idempotent); otherwise prints them only."""
    import datetime as dt

    from rich.table import Table

    from megawatt.ops import db
    from megawatt.ops.schedule import publish, schedule_day

    try:
        the_day = dt.date.fromisoformat(day)
    except ValueError:
        raise InputError(None, "--day", "must be a date YYYY-MM-DD", day) from None
    when = _when(published_at, "--published-at") if published_at else None
    sc = scenario_lib.load_or_default(base)
    engine = db.make_engine(ctx.obj["db"])
    try:
        with db.transaction(db.session_factory(engine)) as session:
            from megawatt.ops.schedule import event_sink

            out = schedule_day(session, the_day, sc, published_at=when)
            rec = publish(
                event_sink(session, "cli:schedule"),
                the_day,
                out.timezone,
                out.blocks,
                published_at=out.published_at,
            )
    finally:
        engine.dispose()
    if as_json:
        doc = {
            "day": out.day.isoformat(),
            "timezone": out.timezone,
            "published_at": out.published_at.isoformat(),
            "profile_day": out.profile_day.isoformat(),
            "solve_s": round(out.solve_s, 3),
            "blocks": [b.as_dict() for b in out.blocks],
            "uncovered_mwh": {k: round(v, 3) for k, v in out.uncovered_mwh.items()},
            "no_contract": out.no_contract,
            "published": True,
            "changes": {
                k: [b.key for b in getattr(rec, k)] for k in ("keep", "update", "create", "cancel")
            },
        }
        print(json.dumps(doc, indent=2))
        return
    table = Table(
        title=f"Day-ahead blocks for {out.day} ({out.timezone}; inputs of {out.profile_day})",
        title_justify="left",
    )
    for col in ("site", "start (local)", "end (local)", "allowed MW per hour", "curtailed MWh"):
        table.add_column(col, justify="right" if "MW" in col else "left")
    for b in out.blocks:
        table.add_row(
            f"{b.site} ({b.site_id})",
            b.start.astimezone(ZoneInfo(out.timezone)).strftime("%Y-%m-%d %H:%M"),
            b.end.astimezone(ZoneInfo(out.timezone)).strftime("%Y-%m-%d %H:%M"),
            " ".join(f"{i.allowed_mw:g}" for i in b.intervals),
            f"{b.curtailed_mwh:.3f}",
        )
    console.print(table)
    for site, mwh in out.uncovered_mwh.items():
        console.print(f"uncovered (inside the notice): {site} {mwh:.3f} MWh", highlight=False)
    if out.no_contract:
        console.print(f"no contract, program notice: {', '.join(out.no_contract)}")
    console.print(f"{len(out.blocks)} blocks in {out.solve_s:.2f} s", highlight=False)
    console.print(
        f"published over OpenADR: {len(rec.keep)} kept, {len(rec.update)} updated, "
        f"{len(rec.create)} created, {len(rec.cancel)} cancelled",
        highlight=False,
    )


@ops_app.command("emergency")
@user_errors
@ops_errors
def ops_emergency(
    ctx: typer.Context,
    site: Annotated[int, typer.Option("--site", help="Site id.", show_default=False)],
    start: Annotated[str, typer.Option(help="ISO 8601 with offset.", show_default=False)],
    end: Annotated[str, typer.Option(help="ISO 8601 with offset.", show_default=False)],
    limit_mw: Annotated[
        float, typer.Option("--limit-mw", help="Allowed import [MW].", show_default=False)
    ],
    base: Annotated[
        Path | None,
        typer.Option("--scenario", help="Scenario giving the program's time zone."),
    ] = None,
) -> None:
    """Issue an emergency curtailment by hand: the site may import at most --limit-mw
    from --start to --end. It supersedes the site's scheduled blocks where they overlap."""
    from megawatt.ops import db
    from megawatt.ops.schedule import emergency_block, event_sink, issue_emergency

    t0, t1 = _when(start, "--start"), _when(end, "--end")
    tz = scenario_lib.load_or_default(base).timezone
    engine = db.make_engine(ctx.obj["db"])
    try:
        with db.transaction(db.session_factory(engine)) as session:
            block = emergency_block(session, site, t0, t1, limit_mw, tz)
            rec = issue_emergency(event_sink(session, "cli:emergency"), block)
    finally:
        engine.dispose()
    print(json.dumps(block.as_dict(), indent=2))
    console.print(
        f"published; scheduled blocks of the site: {len(rec.update)} updated, "
        f"{len(rec.create) - 1} created, {len(rec.cancel)} cancelled",
        highlight=False,
    )


client_app = typer.Typer(help="OAuth2 clients (client credentials).", no_args_is_help=True)
ops_app.add_typer(client_app, name="client")


def _client_tx(ctx: typer.Context, work: Callable[[Any], Any]) -> Any:
    """Run ``work(session)`` in one transaction on the ops database."""
    from megawatt.ops import db

    engine = db.make_engine(ctx.obj["db"])
    try:
        with db.transaction(db.session_factory(engine)) as session:
            return work(session)
    finally:
        engine.dispose()


@client_app.command("add")
@user_errors
@ops_errors
def ops_client_add(
    ctx: typer.Context,
    client_id: Annotated[str, typer.Argument(help="The client's id (its name in the audit).")],
    role: Annotated[str, typer.Option(help="authority, system_operator, operator or site.")],
    operator_id: Annotated[int | None, typer.Option(help="The operator (role operator).")] = None,
    site_id: Annotated[int | None, typer.Option(help="The site (role site).")] = None,
) -> None:
    """Register a client and print its secret (shown once; only a hash is stored)."""
    from megawatt.ops import auth

    secret = _client_tx(
        ctx,
        lambda s: auth.add_client(
            s, client_id, role, "cli", operator_id=operator_id, site_id=site_id
        ),
    )
    # One JSON object, for scripts: `megawatt ops client add x --role site | jq -r ...`
    print(json.dumps({"client_id": client_id, "client_secret": secret, "role": role}))


@client_app.command("list")
@user_errors
@ops_errors
def ops_client_list(ctx: typer.Context) -> None:
    """One JSON object per client (no secrets): id, role, scope, created, disabled."""
    from sqlalchemy import select

    from megawatt.ops.models import Client

    def rows(session: Any) -> list[dict[str, object]]:
        return [
            {
                "client_id": c.client_id,
                "role": c.role,
                "operator_id": c.operator_id,
                "site_id": c.site_id,
                "created_at": c.created_at.isoformat(),
                "disabled_at": c.disabled_at.isoformat() if c.disabled_at else None,
            }
            for c in session.scalars(select(Client).order_by(Client.id))
        ]

    for row in _client_tx(ctx, rows):
        print(json.dumps(row))


@client_app.command("disable")
@user_errors
@ops_errors
def ops_client_disable(
    ctx: typer.Context, client_id: Annotated[str, typer.Argument(help="The client's id.")]
) -> None:
    """Disable a client: its tokens are refused at once and no new ones are issued."""
    from megawatt.ops import auth

    _client_tx(ctx, lambda s: auth.set_disabled(s, client_id, True, "cli"))
    console.print(f"client {client_id} disabled")


@client_app.command("enable")
@user_errors
@ops_errors
def ops_client_enable(
    ctx: typer.Context, client_id: Annotated[str, typer.Argument(help="The client's id.")]
) -> None:
    """Enable a disabled client again (tokens issued before it was disabled stay refused)."""
    from megawatt.ops import auth

    _client_tx(ctx, lambda s: auth.set_disabled(s, client_id, False, "cli"))
    console.print(f"client {client_id} enabled")


@client_app.command("rotate")
@user_errors
@ops_errors
def ops_client_rotate(
    ctx: typer.Context, client_id: Annotated[str, typer.Argument(help="The client's id.")]
) -> None:
    """Give a client a new secret (printed once as JSON); the old secret and every
    token issued with it are refused from now on."""
    from megawatt.ops import auth

    secret = _client_tx(ctx, lambda s: auth.rotate_secret(s, client_id, "cli"))
    print(json.dumps({"client_id": client_id, "client_secret": secret}))


user_app = typer.Typer(help="People who log in to the dashboard (/ui).", no_args_is_help=True)
ops_app.add_typer(user_app, name="user")


def _read_password(from_stdin: bool) -> str:
    """The password from one line of standard input (scripts) or typed twice."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@user_app.command("add")
@user_errors
@ops_errors
def ops_user_add(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="The login name (its name in the audit).")],
    role: Annotated[str, typer.Option(help="authority, system_operator, operator or site.")],
    operator_id: Annotated[int | None, typer.Option(help="The operator (role operator).")] = None,
    site_id: Annotated[int | None, typer.Option(help="The site (role site).")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create a dashboard user (password: 12 or more characters, stored as argon2id)."""
    from megawatt.ops import users

    password = _read_password(password_stdin)
    _client_tx(
        ctx,
        lambda s: users.add_user(
            s, username, password, role, "cli", operator_id=operator_id, site_id=site_id
        ),
    )
    print(json.dumps({"username": username, "role": role}))


@user_app.command("list")
@user_errors
@ops_errors
def ops_user_list(ctx: typer.Context) -> None:
    """One JSON object per user (no password hashes)."""
    from sqlalchemy import select

    from megawatt.ops.models import User

    def rows(session: Any) -> list[dict[str, object]]:
        return [
            {
                "username": u.username,
                "role": u.role,
                "operator_id": u.operator_id,
                "site_id": u.site_id,
                "created_at": u.created_at.isoformat(),
                "disabled_at": u.disabled_at.isoformat() if u.disabled_at else None,
                "locked_until": u.locked_until.isoformat() if u.locked_until else None,
            }
            for u in session.scalars(select(User).order_by(User.id))
        ]

    for row in _client_tx(ctx, rows):
        print(json.dumps(row))


@user_app.command("password")
@user_errors
@ops_errors
def ops_user_password(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="The login name.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Set a user's password (ends the user's sessions, lifts a lock)."""
    from megawatt.ops import users

    password = _read_password(password_stdin)
    _client_tx(ctx, lambda s: users.set_password(s, username, password, "cli"))
    console.print(f"password of {username} set; its sessions ended")


@user_app.command("disable")
@user_errors
@ops_errors
def ops_user_disable(
    ctx: typer.Context, username: Annotated[str, typer.Argument(help="The login name.")]
) -> None:
    """Disable a user: its sessions end at once and it cannot log in."""
    from megawatt.ops import users

    _client_tx(ctx, lambda s: users.set_disabled(s, username, True, "cli"))
    console.print(f"user {username} disabled")


@user_app.command("enable")
@user_errors
@ops_errors
def ops_user_enable(
    ctx: typer.Context, username: Annotated[str, typer.Argument(help="The login name.")]
) -> None:
    """Enable a disabled user again."""
    from megawatt.ops import users

    _client_tx(ctx, lambda s: users.set_disabled(s, username, False, "cli"))
    console.print(f"user {username} enabled")


key_app = typer.Typer(help="The keys that sign access tokens.", no_args_is_help=True)
ops_app.add_typer(key_app, name="key")


@key_app.command("rotate")
@user_errors
@ops_errors
def ops_key_rotate(
    ctx: typer.Context,
    retire_old: Annotated[
        bool,
        typer.Option(help="Refuse tokens signed by older keys at once (a key that leaked)."),
    ] = False,
) -> None:
    """Sign new tokens with a new key; older keys verify their tokens until those
    expire (an hour) unless --retire-old."""
    from megawatt.ops import auth

    kid = _client_tx(ctx, lambda s: auth.rotate_signing_key(s, "cli", retire_old))
    print(json.dumps({"kid": kid, "retired_old": retire_old}))


#: Largest ``megawatt serve --workers``.
MAX_WORKERS = 64


@app.command("serve")
@user_errors
@ops_errors
def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8080,
    scenario: Annotated[
        Path | None,
        typer.Option(
            help="Scenario whose grid the day-ahead schedule dispatches "
            "(default: $MEGAWATT_SCENARIO, else the embedded Pakistan FY2025 one)."
        ),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=MAX_WORKERS,
            help="Worker processes sharing the port (more than 1 needs PostgreSQL).",
        ),
    ] = 1,
) -> None:
    """Run the operations service (registry, caps, allocation ledger, audit, the
    OpenADR 3.1 VTN, the day-ahead schedule).

    Every endpoint needs an OAuth2 access token (megawatt ops client add); it speaks
    plain HTTP: put TLS in front of it beyond loopback."""
    import uvicorn
    from sqlalchemy.engine import make_url

    from megawatt.ops import db as ops_db
    from megawatt.ops.app import SCENARIO_ENV, outbox_lease_seconds

    url = ops_db.database_url(db)
    if workers > 1 and make_url(url).get_backend_name() == "sqlite":
        raise InputError(
            None,
            "--workers",
            "more than 1 worker needs PostgreSQL: SQLite runs one transaction at a time "
            "(BEGIN IMMEDIATE), so more processes only wait for each other",
            workers,
            True,
        )
    revision = ops_db.current_revision(url)
    if revision != ops_db.head_revision():
        state = "no schema" if revision is None else f"schema at revision {revision}"
        raise InputError(
            None,
            "--db",
            f"{state} in {ops_db.redact(url)}: run `megawatt ops migrate` first",
        )
    if scenario is not None:
        scenario_lib.load(scenario)  # a bad file fails here, not on the first schedule
    outbox_lease_seconds()  # a bad MEGAWATT_OUTBOX_LEASE_SECONDS fails here, once
    # The same code path for 1 and N workers: uvicorn imports the factory in each worker
    # process (spawned, so they inherit this environment, not this process's objects).
    # The OpenADR webhook outbox is delivered by every worker (MEGAWATT_OUTBOX_WORKER=0
    # leaves it to another process); MEGAWATT_OUTBOX_LEASE_SECONDS shortens the lease.
    os.environ[ops_db.ENV_VAR] = url
    if scenario is not None:
        os.environ[SCENARIO_ENV] = str(scenario.resolve())
    uvicorn.run(
        "megawatt.ops.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        # VENs poll every 10-60 s: keep their connections (uvicorn's default is 5 s,
        # so nearly every poll reconnected); 75 s as nginx's default keep-alive.
        timeout_keep_alive=75,
    )


@app.command("site-agent")
@user_errors
def site_agent(
    config: Annotated[Path, typer.Argument(help="The site agent's YAML configuration.")],
    check: Annotated[
        bool, typer.Option("--check", help="Validate the configuration and exit.")
    ] = False,
) -> None:
    """Run the site agent: act on the VTN's OpenADR events at this site's fleet.

    Receives events by webhook (and polls), steps miners down or to sleep to stay under
    the import limit, reads power back after every command, reports to the VTN. Stop
    with Ctrl-C or SIGTERM; a restart resumes from the local store."""
    import asyncio
    import logging

    from megawatt.site import config as site_config
    from megawatt.site.agent import Agent

    cfg = site_config.load(config)
    units = sum(
        len(site_config.expand_hosts(h, f.port)) for f in cfg.fleets for h in f.hosts
    ) + sum(1 for f in cfg.fleets if f.firmware == "http")
    if check:
        console.print(f"[green]ok[/] {config}: {len(cfg.fleets)} fleets, {units} units")
        return
    # One JSON line per decision and reading on stderr (pyasic configures the root
    # logger on import, so the agent's logger gets its own handler).
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    site_log = logging.getLogger("megawatt.site")
    site_log.addHandler(handler)
    site_log.setLevel(logging.INFO)
    site_log.propagate = False
    agent = Agent(cfg, config.resolve().parent, file=config)
    try:
        asyncio.run(agent.run())
    except KeyboardInterrupt:
        err_console.print("stopped", highlight=False)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
