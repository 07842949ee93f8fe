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

import pandas as pd

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


def write_tables(directory: Path, tables: dict[str, pd.DataFrame]) -> None:
    """CSV and Parquet per table into ``directory/data``, and ``results.xlsx``."""
    data = directory / DATA
    data.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame = _plain(frame)
        frame.to_csv(data / f"{name}.csv", float_format="%.6g")
        frame.to_parquet(data / f"{name}.parquet")
    with pd.ExcelWriter(directory / WORKBOOK, engine="xlsxwriter") as book:
        for name, frame in tables.items():
            sheet = name[:31]  # Excel's limit
            if len(frame) >= EXCEL_MAX_ROWS:
                note = f"{len(frame):,} rows: more than Excel holds; see data/{name}.parquet"
                pd.DataFrame({"note": [note]}).to_excel(book, sheet_name=sheet, index=False)
                continue
            _for_excel(_plain(frame)).to_excel(book, sheet_name=sheet)


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


def _for_excel(frame: pd.DataFrame) -> pd.DataFrame:
    """Excel has no time zones: show timestamps as UTC without an offset."""
    out = frame.copy()
    if isinstance(out.index, pd.DatetimeIndex) and out.index.tz is not None:
        out.index = out.index.tz_convert("UTC").tz_localize(None)
        out.index.name = "timestamp_utc"
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = out[col].dt.tz_convert("UTC").dt.tz_localize(None)
    return out
