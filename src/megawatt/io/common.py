"""What every reader shares: reading text, CSV rows with line numbers, numbers,
hourly spans, and resolving a file name relative to the scenario's directory.

Every problem is an :class:`~megawatt.errors.InputError` naming the file, the line
and column (the header is line 1), the value as written and what is allowed.
"""

from __future__ import annotations

import csv
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
    path = Path(name)
    return path if path.is_absolute() else Path(base_dir) / path


def read_text(path: Path) -> str:
    """The file's text (UTF-8, a byte-order mark dropped)."""
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise input_error(path, "", "file not found") from None
    except IsADirectoryError:
        raise input_error(path, "", "is a directory, expected a file") from None
    except UnicodeDecodeError:
        raise input_error(path, "", "is not UTF-8 text") from None
    except OSError as exc:
        raise input_error(path, "", f"cannot read: {exc.strerror}") from None


def read_csv_rows(path: Path) -> Rows:
    """Read a CSV with a header: (columns, [(line number, row)]); blank lines skipped."""
    text = read_text(path)
    reader = csv.reader(text.splitlines())
    try:
        header = next(reader)
    except StopIteration:
        raise input_error(path, "line 1", "empty file; expected a header line") from None
    columns = [c.strip() for c in header]
    if len(set(columns)) != len(columns):
        dup = next(c for c in columns if columns.count(c) > 1)
        raise input_error(path, "line 1", "duplicate column", dup)
    rows = []
    for line_no, cells in enumerate(reader, start=2):
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
    """ISO 8601 times to UTC; a time without an offset is local time of ``timezone``."""
    tz = zoneinfo.ZoneInfo(timezone)
    out = []
    for line_no, cell in cells:
        try:
            stamp = pd.Timestamp(str(cell))
            if pd.isna(stamp):
                raise ValueError
        except (ValueError, TypeError):
            raise input_error(
                path,
                at(line_no, column),
                "must be an ISO 8601 time, e.g. 2024-07-01T00:00+05:00",
                cell,
            ) from None
        if stamp.tzinfo is None:
            stamp = stamp.tz_localize(tz)
        out.append(stamp.tz_convert("UTC"))
    return pd.DatetimeIndex(out)


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
