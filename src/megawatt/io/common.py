"""What every reader shares: reading text, CSV rows with line numbers, numbers,
hourly spans, and resolving a file name relative to the scenario's directory.

Every problem is an :class:`~megawatt.errors.InputError` naming the file, the line
and column (the header is line 1), the value as written and what is allowed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import stat
import zoneinfo
from pathlib import Path

import numpy as np
import pandas as pd

from megawatt.errors import at, input_error

#: Largest system load a load file may give [MW]: 10 TW, above the world's installed
#: capacity; a larger figure is a unit or typing error (1e15 MW hung the headroom).
MAX_LOAD_MW = 1e7

#: A CSV read as text: (columns, [(line number, {column: stripped cell})]).
Rows = tuple[list[str], list[tuple[int, dict[str, str]]]]


def resolve(base_dir: Path, name: str | Path) -> Path:
    """The file ``name`` refers to: itself if absolute, else under ``base_dir``.

    The one place a relative file name of a scenario (``generators``, ``applicants``,
    ``profiles``, ``demand.file``, ``risk.price_history``) becomes a path: relative
    to the directory of the scenario file (the working directory for a scenario
    built in Python).
    """
    if "\0" in str(name):  # the OS cannot open it; every later stat() would raise
        shown = str(name).replace("\0", "\\0")
        raise input_error(shown, "", "not a valid file name (contains a NUL byte)")
    path = Path(name)
    return path if path.is_absolute() else Path(base_dir) / path


#: Largest CSV file read (a year of hourly data for hundreds of columns is ~50 MB).
MAX_CSV_BYTES = 256 * 1024 * 1024
#: Largest YAML file read (the scenario and applicant lists are kilobytes).
MAX_YAML_BYTES = 8 * 1024 * 1024
#: Longest CSV cell (the csv module's default field size limit).
MAX_CELL_CHARS = 131_072


def check_file(path: Path, limit: int = MAX_CSV_BYTES) -> None:
    """``path`` must be an existing regular file of at most ``limit`` bytes.

    Checked before opening, so that a directory, a device (``/dev/zero``), a FIFO or a
    name with a NUL byte is a one-line error instead of a hang or a traceback.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise input_error(path, "", "file not found") from None
    except ValueError:  # a NUL byte in the name
        shown = str(path).replace("\0", "\\0")
        raise input_error(shown, "", "not a valid file name (contains a NUL byte)") from None
    except OSError as exc:
        raise input_error(path, "", f"cannot read: {exc.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise input_error(path, "", "is a directory, expected a file")
    if not stat.S_ISREG(info.st_mode):
        raise input_error(path, "", "is not a regular file (a device, FIFO or socket?)")
    if info.st_size > limit:
        raise input_error(
            path, "", f"is larger than the {limit // 2**20} MB limit for this file", info.st_size
        )


def read_text(path: Path, limit: int = MAX_CSV_BYTES) -> str:
    """The file's text (UTF-8, a byte-order mark dropped), line endings as written.

    The file must be a regular file of at most ``limit`` bytes (:func:`check_file`).
    """
    check_file(path, limit)
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise input_error(path, "", f"cannot read: {exc.strerror}") from None
    if len(data) > limit:  # grew since the check
        raise input_error(path, "", f"is larger than the {limit // 2**20} MB limit for this file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise input_error(path, at(line), "is not UTF-8 text") from None


def read_csv_rows(path: Path) -> Rows:
    """Read a CSV with a header: (columns, [(line number, row)]); blank lines skipped.

    Parsed by the csv module (quoted cells may hold commas, newlines, form feeds or
    U+2028); a row's line number is the physical line it starts on, so a quoted
    newline does not shift later rows. A file that ends inside a quoted cell, or a
    cell longer than :data:`MAX_CELL_CHARS`, is an error.
    """
    text = read_text(path)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[tuple[int, list[str]]] = []
    previous = 0
    try:
        for cells in reader:
            records.append((previous + 1, cells))
            previous = reader.line_num
    except csv.Error as exc:
        raise input_error(path, at(previous + 1), _csv_problem(str(exc))) from None
    if not records:
        raise input_error(path, "line 1", "empty file; expected a header line")
    _, header = records[0]
    columns = [c.strip() for c in header]
    if len(set(columns)) != len(columns):
        dup = next(c for c in columns if columns.count(c) > 1)
        raise input_error(path, "line 1", "duplicate column", dup)
    rows = []
    for line_no, cells in records[1:]:
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(columns):
            raise input_error(
                path,
                at(line_no),
                f"has {len(cells)} cells, the header has {len(columns)}",
            )
        rows.append((line_no, {c: v.strip() for c, v in zip(columns, cells, strict=True)}))
    return columns, rows


def _csv_problem(message: str) -> str:
    if "field larger than field limit" in message:
        return f"a cell is longer than {MAX_CELL_CHARS} characters"
    if "unexpected end of data" in message:
        return "the file ends inside a quoted cell (a missing closing quote?)"
    return f"not valid CSV: {message}"


def require_columns(path: Path, columns: list[str], needed: tuple[str, ...]) -> None:
    """The header must hold every column of ``needed``."""
    for col in needed:
        if col not in columns:
            raise input_error(
                path,
                "line 1",
                f"missing column {col}; needs {', '.join(needed)}",
                ",".join(columns),
            )


def number(path: Path, line_no: int, column: str, cell: str) -> float:
    """A finite number from a cell."""
    try:
        value = float(cell)
    except ValueError:
        raise input_error(path, at(line_no, column), "must be a number", cell) from None
    if not np.isfinite(value):
        raise input_error(path, at(line_no, column), "must be finite", cell)
    return value


def numeric_column(
    path: Path,
    column: str,
    cells: list[str],
    lines: list[int],
    value_range: tuple[float | None, float | None] = (None, None),
    unit: str = "",
) -> np.ndarray:
    """Parse a column of cells as finite numbers within ``value_range`` (inclusive)."""
    series = pd.Series(cells, dtype="string")
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        k = int(np.argmax(bad))
        problem = "empty cell; a number is required" if cells[k] == "" else "must be a number"
        raise input_error(path, at(lines[k], column), problem, cells[k])
    suffix = f" {unit}" if unit else ""
    low, high = value_range
    if low is not None and (values < low).any():
        k = int(np.argmax(values < low))
        raise input_error(path, at(lines[k], column), f"must be >= {low:g}{suffix}", cells[k])
    if high is not None and (values > high).any():
        k = int(np.argmax(values > high))
        raise input_error(path, at(lines[k], column), f"must be <= {high:g}{suffix}", cells[k])
    return values


def parse_iso_timestamps(
    path: Path, cells: list[tuple[int, str]], column: str, timezone: str
) -> pd.DatetimeIndex:
    """ISO 8601 times to UTC; a time without an offset is local time of ``timezone``.

    Daylight-saving changes, for times without an offset: a time in the spring gap
    (clocks skip it) is an error naming the line; a time in the autumn fold (it happens
    twice) is the first occurrence (daylight time), and the row right after holding the
    same time is the second (standard time). Times with an offset are never ambiguous.
    """
    tz = zoneinfo.ZoneInfo(timezone)
    out = []
    previous: pd.Timestamp | None = None
    for line_no, cell in cells:
        try:
            stamp = pd.Timestamp(str(cell))
            if pd.isna(stamp):
                raise ValueError
        except (ValueError, TypeError, OverflowError):
            raise input_error(
                path,
                at(line_no, column),
                "must be an ISO 8601 time, e.g. 2024-07-01T00:00+05:00",
                cell,
            ) from None
        if stamp.tzinfo is None:
            naive = stamp
            stamp = localize(path, line_no, column, cell, stamp, tz, second=stamp == previous)
            previous = naive
        else:
            previous = None
        out.append(stamp.tz_convert("UTC"))
    return pd.DatetimeIndex(out)


def localize(
    path: Path | str,
    line_no: int,
    column: str,
    cell: object,
    stamp: pd.Timestamp,
    tz: zoneinfo.ZoneInfo,
    second: bool = False,
) -> pd.Timestamp:
    """A naive local time in ``tz``: an error in a DST gap; in a fold the first
    occurrence, or the second if ``second``."""
    wall = stamp.to_pydatetime()
    local = wall.replace(tzinfo=tz, fold=1 if second else 0)
    if local.astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None) != wall:
        raise input_error(
            path,
            at(line_no, column),
            f"does not exist in {tz.key}: clocks skip this hour (daylight-saving gap)",
            cell,
        )
    return pd.Timestamp(local)


def check_span(
    path: Path,
    stamps: pd.DatetimeIndex,
    lines: list[int],
    index: pd.DatetimeIndex,
    column: str,
) -> None:
    """The rows' hours must be exactly ``index``: no gap, duplicate or disorder."""
    if len(stamps) == 0:
        raise input_error(path, "", f"has no data rows; the scenario needs {len(index)} hours")
    duplicated = stamps.duplicated()
    if duplicated.any():
        k = int(np.argmax(duplicated))
        raise input_error(path, at(lines[k], column), "duplicate timestamp", str(stamps[k]))
    seconds = stamps.as_unit("s").asi8
    bad = np.flatnonzero(np.diff(seconds) != 3600)
    if bad.size:
        k = int(bad[0]) + 1
        gap = (stamps[k] - stamps[k - 1]) / pd.Timedelta(hours=1)
        problem = (
            f"gap of {gap:g} h after the previous row; rows must be consecutive hours"
            if gap > 0
            else "out of order; rows must be consecutive hours"
        )
        raise input_error(path, at(lines[k], column), problem, str(stamps[k]))
    if stamps[0] != index[0]:
        raise input_error(
            path,
            at(lines[0], column),
            f"first hour must be the scenario start {index[0]} UTC",
            str(stamps[0]),
        )
    if len(stamps) != len(index):
        raise input_error(
            path,
            "",
            f"has {len(stamps)} hourly rows; the scenario needs {len(index)}",
        )
