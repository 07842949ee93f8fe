"""Write a plan's results to a directory, atomically, and read them back.

Layout of ``--out DIR`` (default ``./megawatt-out``)::

    report.html          self-contained report (plots, tables, appendix)
    summary.json         headline figures and metadata, for machines
    results.xlsx         one sheet per table
    data/NAME.csv        every result table as CSV ...
    data/NAME.parquet    ... and as Parquet (types and index kept)
    scenario/            the scenario as editable files (re-run or re-render)

Everything is first written into a temporary sibling directory; only when all of it
is complete does it replace ``DIR`` (the old one is moved aside, then deleted), so an
existing report is never half-overwritten. ``megawatt report DIR`` re-renders the
HTML from ``data/`` and ``summary.json`` without solving anything.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from megawatt.accounts import schema
from megawatt.errors import InputError

SUMMARY = "summary.json"
DATA = "data"
REPORT = "report.html"
WORKBOOK = "results.xlsx"


def check_out_dir(out: Path) -> Path:
    """Fail early, with a clear message, if ``out`` cannot hold the results."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(str(out), "--out", "exists and is a file; give a directory")
    parent = out.resolve().parent
    probe = parent
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise InputError(str(out), "--out", f"{probe} is not a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise InputError(str(out), "--out", f"cannot write in {probe} (permission denied)")
    if out.exists() and not os.access(out, os.W_OK | os.X_OK):
        raise InputError(str(out), "--out", "is not writable (permission denied)")
    return out


def write_atomically(out: Path, fill: Callable[[Path], None]) -> Path:
    """Call ``fill(tmpdir)`` and, once it returns, make ``tmpdir`` become ``out``."""
    out = check_out_dir(Path(out))
    parent = out.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=parent))
    except OSError as exc:
        raise InputError(str(out), "--out", f"cannot write there: {exc.strerror}") from None
    try:
        fill(tmp)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise InputError(str(out), "--out", f"cannot write there: {exc.strerror}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    try:
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=parent))
            old.rmdir()
            out.rename(old)
        tmp.rename(out)
    except OSError as exc:
        if old is not None and not out.exists():
            old.rename(out)  # put the previous results back
        shutil.rmtree(tmp, ignore_errors=True)
        raise InputError(str(out), "--out", f"cannot replace it: {exc.strerror}") from None
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return out


#: Rows an Excel sheet holds (with its header row).
EXCEL_MAX_ROWS = 1_048_576


def write_tables(
    directory: Path,
    tables: dict[str, pd.DataFrame],
    headline: dict | None = None,
    timezone: str = "UTC",
) -> None:
    """CSV and Parquet per table into ``directory/data``, and ``results.xlsx``.

    CSVs keep full precision (shortest repr that round-trips, so a CSV figure equals
    the Parquet one) and write an index only where it has a name. The workbook opens
    on the headline, then one sheet per table: header row and index frozen, number
    formats by unit (shares as %, money and energy with thousands separators), each
    header carrying its unit and meaning from the results schema as a comment, and
    hourly tables with a ``local_time`` column (``timezone``) beside the UTC hour.
    """
    data = directory / DATA
    data.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame = _plain(frame)
        frame.to_csv(data / f"{name}.csv", index=_named_index(frame))
        frame.to_parquet(data / f"{name}.parquet")
    with pd.ExcelWriter(directory / WORKBOOK, engine="xlsxwriter") as book:
        if headline is not None:
            _headline_sheet(book, headline)
        for name, frame in tables.items():
            sheet = name[:31]  # Excel's limit
            if len(frame) >= EXCEL_MAX_ROWS:
                note = f"{len(frame):,} rows: more than Excel holds; see data/{name}.parquet"
                pd.DataFrame({"note": [note]}).to_excel(book, sheet_name=sheet, index=False)
                continue
            _excel_sheet(book, sheet, name, _for_excel(_plain(frame), timezone))


def _named_index(frame: pd.DataFrame) -> bool:
    return any(n is not None for n in frame.index.names)


def _headline_sheet(book: pd.ExcelWriter, headline: dict) -> None:
    rows = []
    for key, value in headline.items():
        if isinstance(value, dict):
            rows += [(f"{key}: {k}", v) for k, v in value.items()]
        elif isinstance(value, list):  # notes: one sentence a row
            rows += [(f"{key} {i + 1}", v) for i, v in enumerate(value)]
        else:
            rows.append((key, value))
    frame = pd.DataFrame(rows, columns=["figure", "value"])
    frame.to_excel(book, sheet_name="headline", index=False)
    sheet = book.sheets["headline"]
    sheet.set_column(0, 0, 36)
    sheet.set_column(1, 1, 16, book.book.add_format({"num_format": "#,##0.00"}))
    sheet.freeze_panes(1, 0)


def _excel_sheet(book: pd.ExcelWriter, sheet_name: str, table: str, frame: pd.DataFrame) -> None:
    """One table as a sheet: frozen header and index, number formats, schema comments."""
    named = _named_index(frame)
    frame.to_excel(book, sheet_name=sheet_name, index=named)
    sheet = book.sheets[sheet_name]
    workbook = book.book
    formats = {
        "share": workbook.add_format({"num_format": "0.0%"}),
        "int": workbook.add_format({"num_format": "#,##0"}),
        "float": workbook.add_format({"num_format": "#,##0.00"}),
        "time": workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
    }
    levels = frame.index.nlevels if named else 0
    sheet.freeze_panes(1, levels)
    names = [*(frame.index.names if named else []), *frame.columns]
    for k, column in enumerate(names):
        column = str(column)
        entry = schema.find(table, column)
        if entry is not None:
            text = f"{schema.header(table, column)}: {entry.description}"
            sheet.write_comment(0, k, text[:1000])
        values = frame.index.get_level_values(k) if k < levels else frame[column]
        kind = _excel_kind(column, values)
        sheet.set_column(k, k, max(10, min(28, len(column) + 2)))
        if kind in ("share", "int", "float"):
            _write_numbers(sheet, k, values, formats[kind])


def _write_numbers(sheet, col: int, values, fmt) -> None:
    """Rewrite a numeric column with its number format on every cell (a column format
    alone does not reach cells pandas already wrote)."""
    for row, value in enumerate(np.asarray(values, dtype=float), start=1):
        if np.isnan(value):
            sheet.write_blank(row, col, None, fmt)
        elif np.isinf(value):
            sheet.write_string(row, col, "inf" if value > 0 else "-inf")
        else:
            sheet.write_number(row, col, float(value), fmt)


def _excel_kind(column: str, values) -> str:
    if pd.api.types.is_datetime64_any_dtype(values):
        return "time"
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        return "text"
    if column.endswith(("_share", "capacity_factor_baseline", "capacity_factor_program")) or (
        column in ("capacity_factor", "uptime_achieved", "cap_share")
    ):
        return "share"
    if pd.api.types.is_integer_dtype(values):
        return "int"
    return "float"


def write_summary(directory: Path, summary: dict) -> None:
    (directory / SUMMARY).write_text(
        json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8"
    )


def read_results(directory: Path) -> tuple[dict[str, pd.DataFrame], dict]:
    """Tables and summary of a results directory written by ``write_tables``."""
    directory = Path(directory)
    summary_path = directory / SUMMARY
    if not summary_path.is_file():
        raise InputError(str(directory), "", f"no {SUMMARY}: not a megawatt results directory")
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(str(summary_path), f"line {exc.lineno}", "invalid JSON") from None
    tables = {}
    for name in summary.get("tables", []):
        path = directory / DATA / f"{name}.parquet"
        if not path.is_file():
            raise InputError(str(path), "", "missing: the results directory is incomplete")
        tables[name] = pd.read_parquet(path)
    return tables, summary


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns as strings (Parquet needs them) and object columns made uniform."""
    out = frame.copy()
    out.columns = [str(c) for c in out.columns]
    if isinstance(out.index, pd.MultiIndex):
        out.index = out.index.set_names(
            [str(n) if n is not None else f"level_{i}" for i, n in enumerate(out.index.names)]
        )
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = out[col].astype(str)
    return out


def _for_excel(frame: pd.DataFrame, timezone: str = "UTC") -> pd.DataFrame:
    """Excel has no time zones: timestamps as UTC without an offset, and an hourly
    table gets a ``local_time`` column (the scenario's zone) beside its UTC index."""
    out = frame.copy()
    if isinstance(out.index, pd.DatetimeIndex) and out.index.tz is not None:
        local = out.index.tz_convert(timezone).tz_localize(None)
        name = out.index.name or "snapshot"
        out.index = out.index.tz_convert("UTC").tz_localize(None)
        out.index.name = name
        out.insert(0, "local_time", local)
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = out[col].dt.tz_convert("UTC").dt.tz_localize(None)
    return out
