"""Our own hourly CSVs: ``timestamp`` plus value columns, one row per hour.

Timestamps are ISO 8601, with an offset or in local time of the scenario's zone; the
rows must cover exactly the scenario's hours (no gap, duplicate or disorder) and
every value must be a number within the allowed range.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from megawatt.errors import input_error
from megawatt.io.common import check_span, numeric_column, parse_iso_timestamps, read_csv_rows


def read_hourly_csv(
    path: Path,
    index: pd.DatetimeIndex,
    timezone: str,
    value_range: tuple[float | None, float | None] = (None, None),
) -> pd.DataFrame:
    """Read ``timestamp,<col>...`` covering exactly ``index``; values checked in range."""
    columns, rows = read_csv_rows(path)
    if not columns or columns[0] != "timestamp":
        raise input_error(
            path,
            "line 1, column 1",
            "first column must be 'timestamp'",
            columns[0] if columns else "",
        )
    value_columns = columns[1:]
    if not value_columns:
        raise input_error(path, "line 1", "needs at least one value column after timestamp")
    stamps = parse_iso_timestamps(
        path, [(n, r["timestamp"]) for n, r in rows], "timestamp", timezone
    )
    lines = [n for n, _ in rows]
    check_span(path, stamps, lines, index, "timestamp")
    data = {}
    for col in value_columns:
        data[col] = numeric_column(path, col, [r[col] for _, r in rows], lines, value_range)
    return pd.DataFrame(data, index=index)
