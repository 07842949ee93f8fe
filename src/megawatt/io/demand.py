"""National demand files: monthly energies, and our hourly demand CSV.

* monthly: ``month,energy_gwh[,source,basis,notes]``, one row per calendar month
  (``YYYY-MM``), energy > 0 GWh;
* hourly: ``timestamp`` plus one MW column per zone, or one ``load_mw`` column,
  values >= 0 (see :mod:`megawatt.io.hourly`).

NTDC's ``DATE,HOUR,SYSLOAD`` is read by :mod:`megawatt.io.ntdc`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from megawatt.errors import at, input_error
from megawatt.io.common import number, read_csv_rows
from megawatt.io.hourly import read_hourly_csv

_MONTH = re.compile(r"\d{4}-\d{2}")


def read_monthly_demand(path: Path) -> dict[tuple[int, int], float]:
    """Read ``month,energy_gwh[,source,...]`` into {(year, month): MWh}."""
    columns, rows = read_csv_rows(path)
    for col in ("month", "energy_gwh"):
        if col not in columns:
            raise input_error(path, "line 1", f"missing column {col}", ",".join(columns))
    energy: dict[tuple[int, int], float] = {}
    for line_no, row in rows:
        try:
            if not _MONTH.fullmatch(row["month"]):
                raise ValueError
            period = pd.Period(row["month"], freq="M")
        except (ValueError, TypeError):
            raise input_error(
                path, at(line_no, "month"), "must be a month YYYY-MM", row["month"]
            ) from None
        value = number(path, line_no, "energy_gwh", row["energy_gwh"])
        if value <= 0:
            raise input_error(path, at(line_no, "energy_gwh"), "must be > 0", row["energy_gwh"])
        key = (period.year, period.month)
        if key in energy:
            raise input_error(path, at(line_no, "month"), "duplicate month", row["month"])
        energy[key] = value * 1000.0
    return energy


def read_hourly_demand(path: Path, index: pd.DatetimeIndex, timezone: str) -> pd.DataFrame:
    """Hourly demand [MW] on ``index``: the file's value columns (zones or load_mw)."""
    return read_hourly_csv(path, index, timezone, value_range=(0.0, None))
