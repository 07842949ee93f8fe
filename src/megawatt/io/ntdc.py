"""NTDC's hourly system load: ``DATE,HOUR,SYSLOAD``.

``DATE`` is a date in one format for the whole column (ISO ``2024-07-01`` or day first
``01/07/2024``, ``01-07-2024``, ``01.07.2024``, ``01-Jul-2024``, ``01-Jul-24``,
``01 Jul 2024``), ``HOUR`` the hour ending as a whole number 1-24 (hour ending h is
the hour beginning at h - 1, so ``HOUR`` 24 is 23:00), ``SYSLOAD`` the national load
[MW] >= 0. The header names are matched ignoring case and surrounding spaces; other
columns are ignored. Rows must run in time order, one per hour, without duplicate or
gap. Times are local wall-clock times, returned naive.

This is the one NTDC parser: the scenario's ``demand.format: ntdc`` and the headroom
command's load file both use it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from megawatt.errors import at, input_error
from megawatt.io.common import MAX_LOAD_MW, numeric_column, read_csv_rows

#: Date formats tried for the whole DATE column; the one that parses most cells wins
#: (no per-cell guessing, so 01/07/2024 and 07/01/2024 cannot both be read).
DATE_FORMATS = (
    "ISO8601",
    "%d/%m/%Y",
    "%d-%m-%Y",
    "%d.%m.%Y",
    "%d-%b-%Y",
    "%d-%b-%y",
    "%d %b %Y",
)
HOUR_PROBLEM = "must be a whole hour 1-24 (hour ending)"
_ONE_HOUR = pd.Timedelta(hours=1)


def ntdc_columns(columns: list[str]) -> tuple[str, str, str] | None:
    """The DATE, HOUR and SYSLOAD columns as written, if the header has them."""
    names = {c.strip().lower(): c for c in columns}
    if {"date", "hour", "sysload"} <= names.keys():
        return names["date"], names["hour"], names["sysload"]
    return None


def read_ntdc(path: Path) -> pd.DataFrame:
    """NTDC load as a frame: column ``load_mw`` [MW] and ``line`` (its CSV line), on
    a naive hour-beginning ``DatetimeIndex`` named ``timestamp`` (local time);
    ``attrs["date_column"]`` is the DATE column's name as written.

    Raises
    ------
    InputError
        Naming the file, line and column: a missing column, a bad date, hour or load,
        a duplicate hour, a row out of time order, or a gap.
    """
    columns, rows = read_csv_rows(path)
    found = ntdc_columns(columns)
    if found is None:
        raise input_error(
            path, "line 1", "NTDC format needs columns DATE,HOUR,SYSLOAD", ",".join(columns)
        )
    return ntdc_rows(path, found, rows)


def ntdc_rows(
    path: Path, found: tuple[str, str, str], rows: list[tuple[int, dict[str, str]]]
) -> pd.DataFrame:
    """Parse rows already read (see :func:`read_ntdc`)."""
    date_col, hour_col, load_col = found
    if not rows:
        raise input_error(path, "", "no data rows after the header")
    lines = [n for n, _ in rows]
    days = _parse_dates(path, [r[date_col] for _, r in rows], lines, date_col)
    hour_cells = [r[hour_col] for _, r in rows]
    hours = pd.to_numeric(pd.Series(hour_cells, dtype=object), errors="coerce").to_numpy(
        dtype=float, na_value=np.nan
    )
    bad = ~np.isfinite(hours) | (hours != np.round(hours)) | (hours < 1) | (hours > 24)
    if bad.any():
        k = int(np.argmax(bad))
        raise input_error(path, at(lines[k], hour_col), HOUR_PROBLEM, hour_cells[k])
    load = numeric_column(
        path, load_col, [r[load_col] for _, r in rows], lines, (0.0, MAX_LOAD_MW), unit="MW"
    )
    stamps = pd.DatetimeIndex(days + pd.to_timedelta(hours - 1, unit="h"), name="timestamp")
    _check_hours(path, stamps, lines)
    frame = pd.DataFrame({"load_mw": load, "line": lines}, index=stamps)
    frame.attrs["date_column"] = date_col
    return frame


def _parse_dates(path: Path, cells: list[str], lines: list[int], column: str) -> pd.DatetimeIndex:
    text = pd.Series(cells, dtype=object)
    best = None
    for date_format in DATE_FORMATS:
        dates = pd.to_datetime(text, format=date_format, errors="coerce")
        if best is None or dates.notna().sum() > best.notna().sum():
            best = dates
        if dates.notna().all():
            break
    assert best is not None
    for bad, problem in (
        (best.isna(), "must be a date like 2024-07-01 or 01/07/2024, one format throughout"),
        (best != best.dt.normalize(), "must be a date without a time"),
    ):
        if bad.any():
            k = int(np.argmax(bad.to_numpy()))
            raise input_error(path, at(lines[k], column), problem, cells[k])
    return pd.DatetimeIndex(best)


def _check_hours(path: Path, stamps: pd.DatetimeIndex, lines: list[int]) -> None:
    duplicated = stamps.duplicated()
    if duplicated.any():
        k = int(np.argmax(duplicated))
        first = int(np.argmax(stamps == stamps[k]))
        raise input_error(
            path, at(lines[k]), f"duplicate hour {stamps[k]} (also on line {lines[first]})"
        )
    step = np.diff(stamps.asi8) // int(np.timedelta64(1, "h") // np.timedelta64(1, stamps.unit))
    back = np.flatnonzero(step < 0)
    if back.size:
        k = int(back[0]) + 1
        raise input_error(
            path,
            at(lines[k]),
            f"out of order: hour {stamps[k]} comes after {stamps[k - 1]} (line {lines[k - 1]}); "
            "rows must run in time order",
        )
    gap = np.flatnonzero(step != 1)
    if gap.size:
        k = int(gap[0])
        missing = int((stamps[k + 1] - stamps[k]) / _ONE_HOUR) - 1
        raise input_error(
            path,
            at(lines[k + 1]),
            f"gap of {missing} h: no load from {stamps[k] + _ONE_HOUR} to "
            f"{stamps[k + 1] - _ONE_HOUR} (between line {lines[k]} and line {lines[k + 1]})",
        )
