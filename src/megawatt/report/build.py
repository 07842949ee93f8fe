"""Write a plan outcome into a results directory: tables, summary, scenario, report.

``write_outcome(outcome, out)`` is what ``megawatt plan --out DIR`` does after solving;
``rerender(DIR)`` is ``megawatt report DIR``: it rebuilds ``report.html`` from the
saved tables without solving anything.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from pathlib import Path

import pandas as pd

from megawatt import __version__
from megawatt.accounts.tables import headline, result_tables
from megawatt.data.provenance import provenance_table, sources
from megawatt.errors import InputError
from megawatt.report import export
from megawatt.scenario.io import dump
from megawatt.scenario.origin import origin_of


def summary_of(outcome, tables: dict) -> dict:
    """summary.json: headline (from the tables), scenario facts, units, table names."""
    sc = outcome.result.scenario
    return {
        "megawatt_version": __version__,
        "generated_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "scenario": {
            "name": sc.name,
            "description": sc.description,
            "timezone": sc.timezone,
            "start_local": sc.start.isoformat(),
            "hours": sc.hours,
            "currency": sc.currency.code,
            "local_per_usd": sc.currency.local_per_usd,
            "program_cap_mw": sc.program.cap_mw,
            "tariff_local_per_kwh": sc.program.tariff.local_per_kwh,
            "illustrative_applicants": any(a.illustrative for a in sc.applicants),
        },
        "headline": headline(tables),
        "units": {
            "mw": "MW",
            "gwh": "GWh",
            "musd": "million USD",
            "local_bn": f"billion {sc.currency.code}",
            "kt": "thousand tonnes CO2",
            "share": "0-1",
        },
        "tables": sorted(tables),
    }


def sources_table(directory: Path) -> pd.DataFrame:
    """The reference list the scenario's rows cite: its own ``sources.yaml`` beside its
    files, else the packaged default's (id, title, publisher, date and any url)."""
    directory = Path(directory)
    refs = sources(directory if (directory / "sources.yaml").is_file() else None)
    frame = pd.DataFrame.from_dict(refs, orient="index")
    frame.index.name = "id"
    columns = [
        "title",
        "publisher",
        "date",
        *[c for c in frame if c not in ("title", "publisher", "date")],
    ]
    return frame.reindex(columns=columns)


def write_outcome(outcome, out: Path, risk=None, force: bool = False) -> dict:
    """Write everything for ``outcome`` into ``out`` (atomically); return the summary.

    ``risk``, a :class:`megawatt.risk.montecarlo.RiskResult`, adds its ``risk_*`` tables
    and ``summary["risk"]``, and the report's Risk section. ``out`` is checked as
    :func:`megawatt.report.export.check_out_dir` says (a non-empty folder that is not a
    megawatt output is replaced only with ``force``).
    """
    from megawatt.report.html import render_report

    sc = outcome.result.scenario
    scenario_file = origin_of(sc).path
    export.check_out_dir(Path(out), force=force, scenario=scenario_file)
    tables = result_tables(outcome)
    # A scenario's provenance: its rows' sources and notes, read beside its own files.
    tables["provenance"] = provenance_table(sc, origin_of(sc).base_dir)
    tables["sources"] = sources_table(origin_of(sc).base_dir)
    if risk is not None:
        tables.update(risk.tables())
    summary = summary_of(outcome, tables)
    if risk is not None:
        summary["risk"] = risk.stats

    def fill(tmp: Path) -> None:
        export.write_tables(tmp, tables, summary["headline"], sc.timezone)
        export.write_summary(tmp, summary)
        dump(sc, tmp / "scenario")
        (tmp / export.REPORT).write_text(
            render_report(tables, summary, (tmp / "scenario" / "scenario.yaml").read_text()),
            encoding="utf-8",
        )

    export.write_atomically(Path(out), fill, force=force, scenario=scenario_file)
    return summary


def rerender(directory: Path) -> Path:
    """Rebuild ``report.html`` in a results directory from its saved tables.

    Bad saved files (a summary that is not a JSON object or not UTF-8, a truncated
    Parquet file, a scenario that is not UTF-8) and a report that cannot be written
    (``report.html`` a folder, a read-only directory) raise :class:`InputError`; the
    old ``report.html`` is then left as it was and no temporary file remains.
    """
    from megawatt.report.html import render_report

    directory = Path(directory)
    tables, summary = export.read_results(directory)
    scenario_yaml = directory / "scenario" / "scenario.yaml"
    try:
        text = scenario_yaml.read_text(encoding="utf-8") if scenario_yaml.is_file() else ""
    except UnicodeDecodeError as exc:
        raise InputError(
            str(scenario_yaml), f"byte {exc.start}", "is not UTF-8 text (re-run megawatt plan)"
        ) from None
    except OSError as exc:
        raise InputError(str(scenario_yaml), "", f"cannot read: {exc.strerror}") from None
    target = directory / export.REPORT
    if target.is_dir():
        raise InputError(str(target), "", "is a directory; remove it or rename it")
    html = render_report(tables, summary, text)
    tmp = directory / f".{export.REPORT}.{os.getpid()}.tmp"
    try:
        tmp.write_text(html, encoding="utf-8")
        tmp.replace(target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise InputError(str(target), "", f"cannot write: {exc.strerror}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return target
