"""Write a plan's results to a directory, atomically, and read them back.

Layout of ``--out DIR`` (default ``./megawatt-out``)::

    report.html          self-contained report (plots, tables, appendix)
    summary.json         headline figures and metadata, for machines
    results.xlsx         one sheet per table
    data/NAME.csv        every result table as CSV ...
    data/NAME.parquet    ... and as Parquet (types and index kept)
    scenario/            the scenario as editable files (re-run or re-render)

Everything is first written into a temporary sibling directory
``.DIR.new-PID-XXXX``; only when all of it is complete does it replace ``DIR`` (on
Linux in one atomic exchange; elsewhere the old one is first moved aside to
``.DIR.old-PID-XXXX``), then the old one is deleted, so an existing report is never
half-overwritten. SIGINT and SIGTERM are held off during the swap. Siblings left by a
killed run (their PID gone) are removed by the next run, and a moved-aside ``DIR``
is put back. A symlinked ``DIR`` stays a symlink: its target is replaced.

``DIR`` is refused (before anything is solved, see :func:`check_out_dir`) when it is
the current directory or one of its ancestors, the scenario's folder or one above
it, or a non-empty folder that is not a megawatt output (``summary.json`` with a
``megawatt_version``), unless ``force``. ``megawatt report DIR`` re-renders the HTML
from ``data/`` and ``summary.json`` without solving anything.

Test hook: ``MEGAWATT_TEST_PAUSE_BEFORE_SWAP=SECONDS`` makes :func:`write_atomically`
sleep that long once the new directory is complete and before the swap, so that
tests can interrupt a run at a known point (``tests/test_interrupt.py``).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import json
import os
import re
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from megawatt.accounts import schema
from megawatt.errors import InputError, input_error

SUMMARY = "summary.json"
DATA = "data"
REPORT = "report.html"
WORKBOOK = "results.xlsx"

#: Environment variable of the test hook (seconds to sleep before the swap).
PAUSE_BEFORE_SWAP = "MEGAWATT_TEST_PAUSE_BEFORE_SWAP"


def is_megawatt_output(directory: Path) -> bool:
    """Whether ``directory`` holds a result written by megawatt (its summary.json has
    a ``megawatt_version``)."""
    try:
        summary = json.loads((Path(directory) / SUMMARY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(summary, dict) and "megawatt_version" in summary


def check_out_dir(out: Path, force: bool = False, scenario: Path | None = None) -> Path:
    """Fail early, with a clear message, if ``out`` cannot or must not hold the results.

    Refused always: a file, the current directory or one of its ancestors, and the
    folder of the ``scenario`` file or one above it (replacing ``out`` deletes what
    was in it). Refused unless ``force``: a non-empty folder that is not a megawatt
    output. Stale temporary siblings of earlier killed runs are cleaned up here.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(str(out), "--out", "exists and is a file; give a directory")
    real = out.resolve()
    cwd = Path.cwd().resolve()
    if real == cwd or real in cwd.parents:
        raise InputError(
            str(out),
            "--out",
            "is the current directory or contains it; it would be replaced: give a new "
            "folder or an earlier megawatt output",
        )
    if scenario is not None:
        folder = Path(scenario).resolve().parent
        if real == folder or real in folder.parents:
            raise InputError(
                str(out),
                "--out",
                f"holds the scenario {scenario}; it would be replaced: give another folder",
            )
    parent = real.parent
    probe = parent
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise InputError(str(out), "--out", f"{probe} is not a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise InputError(str(out), "--out", f"cannot write in {probe} (permission denied)")
    try:  # permission bits do not bind root, nor show a read-only mount or /proc: try it
        os.rmdir(tempfile.mkdtemp(prefix=".megawatt-probe-", dir=probe))
    except OSError as exc:
        raise InputError(str(out), "--out", f"cannot write in {probe}: {exc.strerror}") from None
    if out.exists() and not os.access(real, os.W_OK | os.X_OK):
        raise InputError(str(out), "--out", "is not writable (permission denied)")
    if parent.is_dir():
        clean_stale(real)
    if out.is_dir() and not force and not is_megawatt_output(real) and _non_empty(real):
        raise InputError(
            str(out),
            "--out",
            "is not empty and not a megawatt output (no summary.json with megawatt_version); "
            "it would be replaced: use --force to replace it",
        )
    return out


def _non_empty(directory: Path) -> bool:
    try:
        with os.scandir(directory) as entries:
            return next(entries, None) is not None
    except OSError:
        return True


_STALE = re.compile(r"\.(?P<name>.+)\.(?P<kind>new|old)-(?P<pid>\d+)-[^/]*")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    except OSError:
        return True
    return True


def clean_stale(out: Path) -> list[Path]:
    """Remove ``.OUT.new-PID-*`` and ``.OUT.old-PID-*`` siblings whose process is gone.

    If ``out`` itself is missing (a run killed between the two renames of a swap
    without atomic exchange), the newest stale ``.OUT.old-*`` is put back first.
    Returns what was removed. Siblings of a live process are left alone.
    """
    out = Path(out)
    parent = out.parent
    stale: list[tuple[str, Path]] = []
    try:
        entries = list(parent.iterdir())
    except OSError:
        return []
    for path in entries:
        match = _STALE.fullmatch(path.name)
        if match is None or match["name"] != out.name or not path.is_dir():
            continue
        if path.is_symlink() or _alive(int(match["pid"])):
            continue
        stale.append((match["kind"], path))
    if not out.exists() and not out.is_symlink():
        olds = [p for kind, p in stale if kind == "old"]
        if olds:
            newest = max(olds, key=lambda p: p.stat().st_mtime)
            with contextlib.suppress(OSError):
                newest.rename(out)
                stale = [(k, p) for k, p in stale if p != newest]
    removed = []
    for _, path in stale:
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            removed.append(path)
    return removed


def _umask() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # no portable way to read it without setting it
    os.umask(mask)
    return mask


def _mkdtemp(out: Path, kind: str) -> Path:
    """A sibling ``.OUT.KIND-PID-XXXX`` of ``out`` with the user's umask (not 0700)."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.{kind}-{os.getpid()}-", dir=out.parent))
    os.chmod(tmp, 0o777 & ~_umask())
    return tmp


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap ``a`` and ``b`` atomically (Linux renameat2); False where not supported."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    rc = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err))


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM off (delivered on exit) while renaming."""
    held = {signal.SIGINT, signal.SIGTERM}
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _swap(tmp: Path, out: Path) -> Path | None:
    """Make ``tmp`` become ``out``; return where the previous ``out`` now is, if any."""
    with _signals_held():
        if out.exists():
            if _exchange(tmp, out):
                return tmp
            old = _mkdtemp(out, "old")
            old.rmdir()
            out.rename(old)
            try:
                tmp.rename(out)
            except OSError:
                old.rename(out)  # put the previous results back
                raise
            return old
        tmp.rename(out)
        return None


def write_atomically(
    out: Path, fill: Callable[[Path], None], force: bool = False, scenario: Path | None = None
) -> Path:
    """Call ``fill(tmpdir)`` and, once it returns, make ``tmpdir`` become ``out``.

    ``out`` is checked first (:func:`check_out_dir`, with ``force`` and ``scenario``).
    A symlink ``out`` keeps pointing where it did: its target is replaced.
    """
    out = check_out_dir(Path(out), force=force, scenario=scenario)
    target = out.resolve()  # the real folder: a symlink stays a link to it
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = _mkdtemp(target, "new")
    except OSError as exc:
        raise InputError(str(out), "--out", f"cannot write there: {exc.strerror}") from None
    try:
        fill(tmp)
        pause = os.environ.get(PAUSE_BEFORE_SWAP)
        if pause:
            time.sleep(float(pause))
        old = _swap(tmp, target)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise InputError(str(out), "--out", f"cannot write there: {exc.strerror}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
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
    """Tables and summary of a results directory written by ``write_tables``.

    Anything that is not what megawatt wrote (a summary that is not a JSON object or
    not UTF-8, a table missing or not a readable Parquet file) is an InputError.
    """
    directory = Path(directory)
    summary_path = directory / SUMMARY
    if not summary_path.is_file():
        raise InputError(str(directory), "", f"no {SUMMARY}: not a megawatt results directory")
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(str(summary_path), f"line {exc.lineno}", "invalid JSON") from None
    except UnicodeDecodeError as exc:
        raise InputError(str(summary_path), f"byte {exc.start}", "is not UTF-8 text") from None
    except OSError as exc:
        raise InputError(str(summary_path), "", f"cannot read: {exc.strerror}") from None
    if not isinstance(summary, dict):
        raise input_error(
            str(summary_path), "", "must be a JSON object (a megawatt summary)", summary
        )
    names = summary.get("tables", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InputError(str(summary_path), "tables", "must be a list of table names")
    tables = {}
    for name in names:
        path = directory / DATA / f"{name}.parquet"
        if not path.is_file():
            raise InputError(str(path), "", "missing: the results directory is incomplete")
        try:
            tables[name] = pd.read_parquet(path)
        except (OSError, ValueError) as exc:  # pyarrow's errors are both kinds
            problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InputError(
                str(path), "", f"not a readable Parquet file ({problem}); re-run megawatt plan"
            ) from None
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
        # an empty table's columns stay untyped (as str they would read back as text
        # and break arithmetic in the re-rendered report)
        if out[col].dtype == object and len(out):
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
