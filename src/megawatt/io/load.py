"""An hourly system load file for the headroom method, in either of two layouts.

* ``timestamp,load_mw``: ISO 8601 timestamps of the hour beginning, naive (local time)
  or with a UTC offset (mixed offsets are converted to UTC); rows in any order;
* NTDC's ``DATE,HOUR,SYSLOAD`` (see :mod:`megawatt.io.ntdc`, rows in time order).

The layout is recognised by the header (case and surrounding spaces ignored); other
columns are ignored.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from megawatt.errors import at, input_error
from megawatt.io.common import MAX_LOAD_MW, numeric_column, read_csv_rows
from megawatt.io.ntdc import ntdc_columns, ntdc_rows

_ONE_HOUR = pd.Timedelta(hours=1)


def read_load_csv(path: str | Path) -> pd.Series:
    """Read an hourly system load CSV into a Series [MW] on hour-beginning timestamps.

    Returns
    -------
    pd.Series
        Load [MW] named ``load_mw`` on an hourly, gap-free ``DatetimeIndex`` named
        ``timestamp`` (hour beginning), sorted in time.

    Raises
    ------
    InputError
        Naming the file, line and column: an unreadable file or unknown header, a cell
        that is not a number, a negative load or one above ``MAX_LOAD_MW`` (10 TW: a
        unit or typing error), a bad timestamp, date or hour, a timestamp
        that is not on the hour, a duplicate hour, or a gap (NTDC: or a row out of order).
    """
    path = Path(path)
    columns, rows = read_csv_rows(path)
    ntdc = ntdc_columns(columns)
    if ntdc is not None:
        frame = ntdc_rows(path, ntdc, rows)
        return frame["load_mw"].rename("load_mw")
    names = {c.strip().lower(): c for c in columns}
    if not {"timestamp", "load_mw"} <= names.keys():
        raise input_error(
            path,
            "line 1",
            "expected columns timestamp,load_mw or DATE,HOUR,SYSLOAD",
            ",".join(columns),
        )
    if not rows:
        raise input_error(path, "", "no data rows after the header")
    time_col, load_col = names["timestamp"], names["load_mw"]
    lines = [n for n, _ in rows]
    cells = pd.Series([r[time_col] for _, r in rows], dtype=object)
    stamps = _parse_timestamps(path, cells, lines, time_col)
    load = numeric_column(
        path, load_col, [r[load_col] for _, r in rows], lines, (0.0, MAX_LOAD_MW), unit="MW"
    )
    order = np.argsort(stamps.asi8, kind="stable")
    stamps, ordered_lines = stamps[order], np.asarray(lines)[order]
    duplicate = stamps.duplicated()
    if duplicate.any():
        k = int(np.argmax(duplicate))
        raise input_error(
            path,
            at(int(ordered_lines[k])),
            f"duplicate hour {stamps[k]} (also on line {ordered_lines[k - 1]})",
        )
    hour = int(np.timedelta64(1, "h") // np.timedelta64(1, stamps.unit))
    gap = np.diff(stamps.asi8) != hour
    if gap.any():
        k = int(np.argmax(gap))
        missing = int((stamps[k + 1] - stamps[k]) / _ONE_HOUR) - 1
        raise input_error(
            path,
            at(int(ordered_lines[k + 1])),
            f"gap of {missing} h: no load from {stamps[k] + _ONE_HOUR} to "
            f"{stamps[k + 1] - _ONE_HOUR} (between line {ordered_lines[k]} and line "
            f"{ordered_lines[k + 1]})",
        )
    stamps.name = "timestamp"
    return pd.Series(load[order], index=stamps, name="load_mw")


def _parse_timestamps(
    path: Path, cells: pd.Series, lines: list[int], column: str
) -> pd.DatetimeIndex:
    try:
        stamps = pd.to_datetime(cells, format="ISO8601", errors="coerce")
    except ValueError:  # mixed UTC offsets, e.g. across a daylight-saving change
        stamps = pd.to_datetime(cells, format="ISO8601", errors="coerce", utc=True)
    for bad, problem in (
        (stamps.isna(), "must be an ISO 8601 timestamp like 2024-07-01 13:00"),
        (stamps != stamps.dt.floor("h"), "must be on the hour"),
    ):
        if bad.any():
            k = int(np.argmax(bad.to_numpy()))
            raise input_error(path, at(lines[k], column), problem, cells.iloc[k])
    return pd.DatetimeIndex(stamps)
