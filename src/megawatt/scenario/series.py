"""Hourly series of a scenario: the snapshots, zonal demand and availability profiles.

Timestamps are UTC inside. Our own CSVs carry ISO 8601 timestamps (with an offset,
or local time of the scenario's zone when they have none), one row per hour; NTDC's
``DATE,HOUR,SYSLOAD`` files use hour-ending 1-24 in local time. A series must cover
exactly the scenario's span: every gap, duplicate, missing or non-numeric cell is an
:class:`~megawatt.errors.InputError` with its line and column.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from megawatt.errors import input_error
from megawatt.grid.demand import DailyShape, hourly_profile_from_monthly
from megawatt.scenario.io import origin_of, read_csv_rows
from megawatt.scenario.model import Scenario


@dataclass(frozen=True)
class Timeseries:
    """The hourly inputs of a scenario.

    Attributes
    ----------
    snapshots
        Hour-beginning timestamps, UTC.
    demand_mw
        National demand by zone [MW]; index ``snapshots``, one column per zone.
    profiles
        Availability profiles [per unit]; index ``snapshots``, one column per profile.
    """

    snapshots: pd.DatetimeIndex
    demand_mw: pd.DataFrame
    profiles: pd.DataFrame

    @property
    def local_index(self) -> pd.DatetimeIndex:
        return self.snapshots


def snapshots(scenario: Scenario) -> pd.DatetimeIndex:
    """Hour-beginning UTC timestamps of the scenario's span."""
    tz = zoneinfo.ZoneInfo(scenario.timezone)
    start = pd.Timestamp(scenario.start).tz_localize(tz).tz_convert("UTC")
    return pd.date_range(start, periods=scenario.hours, freq="h", name="snapshot")


def local_snapshots(scenario: Scenario) -> pd.DatetimeIndex:
    """The snapshots in the scenario's time zone."""
    return snapshots(scenario).tz_convert(scenario.timezone)


def timeseries(scenario: Scenario) -> Timeseries:
    """Read (once) and return the scenario's hourly series; raises InputError."""
    cached = scenario._series
    if cached is not None:
        return cached
    index = snapshots(scenario)
    origin = origin_of(scenario)
    profiles = _read_profiles(scenario, index, origin.base_dir)
    demand = _read_demand(scenario, index, origin.base_dir)
    series = Timeseries(snapshots=index, demand_mw=demand, profiles=profiles)
    scenario._series = series
    return series


def _path(base_dir: Path, name: str) -> Path:
    path = Path(name)
    return path if path.is_absolute() else base_dir / path


# ---------------------------------------------------------------------------------
# Profiles


def _read_profiles(scenario: Scenario, index: pd.DatetimeIndex, base_dir: Path) -> pd.DataFrame:
    needed: dict[str, tuple[int, str]] = {}
    for i, gen in enumerate(scenario.generators):
        for col in ("p_max_pu_profile", "monthly_energy_profile"):
            name = getattr(gen, col)
            if name is not None:
                needed.setdefault(name, (i, col))
    if scenario.profiles is None:
        if needed:
            i, col = next(iter(needed.values()))
            raise _generator_error(
                scenario,
                i,
                col,
                "names a profile but the scenario has no `profiles` file",
                getattr(scenario.generators[i], col),
            )
        return pd.DataFrame(index=index)
    path = _path(base_dir, scenario.profiles)
    frame = read_hourly_csv(path, index, scenario.timezone, value_range=(0.0, 1.0))
    for name, (i, col) in needed.items():
        if name not in frame.columns:
            raise _generator_error(
                scenario,
                i,
                col,
                f"unknown profile; {path.name} has: {', '.join(frame.columns)}",
                name,
            )
    return frame


def _generator_error(scenario: Scenario, i: int, column: str, problem: str, value: object):
    from megawatt.scenario.io import _locate

    return _locate(origin_of(scenario), ("generators", i, column), problem, value, True)


# ---------------------------------------------------------------------------------
# Demand


def _read_demand(scenario: Scenario, index: pd.DatetimeIndex, base_dir: Path) -> pd.DataFrame:
    spec = scenario.demand
    path = _path(base_dir, spec.file)
    zones = scenario.zone_names
    where_shares = "demand.zone_shares"
    if spec.format == "monthly":
        national = _monthly_to_hourly(path, scenario, index)
    elif spec.format == "ntdc":
        national = read_ntdc_csv(path, index, scenario.timezone)
    else:
        frame = read_hourly_csv(path, index, scenario.timezone, value_range=(0.0, None))
        if set(zones) <= set(frame.columns):
            return frame[zones] * spec.scale
        if list(frame.columns) != ["load_mw"]:
            raise input_error(
                path,
                "line 1",
                f"hourly demand needs a column per zone ({', '.join(zones)}) or one column load_mw",
                ",".join(frame.columns),
            )
        national = frame["load_mw"].to_numpy()
    if not spec.zone_shares:
        raise input_error(
            origin_of(scenario).label,
            where_shares,
            f"a {spec.format} demand file is national: give each zone's share",
        )
    shares = np.array([spec.zone_shares[z] for z in zones])
    values = np.outer(national * spec.scale, shares)
    return pd.DataFrame(values, index=index, columns=zones)


def read_monthly_energy(path: Path) -> dict[tuple[int, int], float]:
    """Read ``month,energy_gwh[,source,...]`` into {(year, month): MWh}."""
    columns, rows = read_csv_rows(path)
    for col in ("month", "energy_gwh"):
        if col not in columns:
            raise input_error(path, "line 1", f"missing column {col}", ",".join(columns))
    energy: dict[tuple[int, int], float] = {}
    for line_no, row in rows:
        try:
            period = pd.Period(row["month"], freq="M")
        except (ValueError, TypeError):
            raise input_error(
                path, f"line {line_no}, column month", "must be a month YYYY-MM", row["month"]
            ) from None
        value = _number(path, line_no, "energy_gwh", row["energy_gwh"])
        if value <= 0:
            raise input_error(
                path, f"line {line_no}, column energy_gwh", "must be > 0", row["energy_gwh"]
            )
        key = (period.year, period.month)
        if key in energy:
            raise input_error(
                path, f"line {line_no}, column month", "duplicate month", row["month"]
            )
        energy[key] = value * 1000.0
    return energy


def _monthly_to_hourly(path: Path, scenario: Scenario, index: pd.DatetimeIndex) -> np.ndarray:
    energy = read_monthly_energy(path)
    local = index.tz_convert(scenario.timezone)
    for year, month in sorted({(t.year, t.month) for t in local[[0, -1]]} | _months(local)):
        if (year, month) not in energy:
            raise input_error(
                path, "", f"no energy for month {year}-{month:02d}, which the scenario spans"
            )
    shape = scenario.demand.shape

    try:
        daily = DailyShape(**shape.model_dump())
        return hourly_profile_from_monthly(local, energy, daily)
    except ValueError as exc:
        raise input_error(origin_of(scenario).label, "demand.shape", str(exc)) from None


def _months(local: pd.DatetimeIndex) -> set[tuple[int, int]]:
    return set(zip(local.year, local.month, strict=True))


def _number(path: Path, line_no: int, column: str, cell: str) -> float:
    try:
        value = float(cell)
    except ValueError:
        raise input_error(
            path, f"line {line_no}, column {column}", "must be a number", cell
        ) from None
    if not np.isfinite(value):
        raise input_error(path, f"line {line_no}, column {column}", "must be finite", cell)
    return value


# ---------------------------------------------------------------------------------
# Generic hourly CSV readers


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
    stamps = _parse_timestamps(path, [(n, r["timestamp"]) for n, r in rows], "timestamp", timezone)
    lines = [n for n, _ in rows]
    _check_span(path, stamps, lines, index, "timestamp")
    data = {}
    for col in value_columns:
        data[col] = _numeric_column(path, col, [r[col] for _, r in rows], lines, value_range)
    return pd.DataFrame(data, index=index)


def read_ntdc_csv(path: Path, index: pd.DatetimeIndex, timezone: str) -> np.ndarray:
    """Read NTDC's ``DATE,HOUR,SYSLOAD`` (HOUR 1-24 hour-ending, local; SYSLOAD MW)."""
    columns, rows = read_csv_rows(path)
    upper = [c.upper() for c in columns]
    if upper[:3] != ["DATE", "HOUR", "SYSLOAD"]:
        raise input_error(
            path, "line 1", "NTDC format needs columns DATE,HOUR,SYSLOAD", ",".join(columns)
        )
    date_col, hour_col, load_col = columns[:3]
    lines = [n for n, _ in rows]
    stamps_text = []
    for line_no, row in rows:
        hour_text = row[hour_col]
        try:
            hour = int(float(hour_text))
        except ValueError:
            hour = -1
        if not 1 <= hour <= 24 or str(hour_text).strip() not in (str(hour), f"{hour}.0"):
            raise input_error(
                path,
                f"line {line_no}, column {hour_col}",
                "must be a whole hour 1-24 (hour ending)",
                hour_text,
            )
        stamps_text.append((line_no, (row[date_col], hour)))
    stamps = _parse_timestamps(path, stamps_text, date_col, timezone, ntdc=True)
    _check_span(path, stamps, lines, index, date_col)
    return _numeric_column(path, load_col, [r[load_col] for _, r in rows], lines, (0.0, None))


def _parse_timestamps(
    path: Path, cells: list[tuple[int, object]], column: str, timezone: str, ntdc: bool = False
) -> pd.DatetimeIndex:
    tz = zoneinfo.ZoneInfo(timezone)
    out = []
    for line_no, cell in cells:
        try:
            if ntdc:
                date_text, hour = cell  # type: ignore[misc]
                day = pd.Timestamp(pd.to_datetime(date_text, dayfirst=_dayfirst(date_text)))
                if day != day.normalize():
                    raise ValueError
                stamp = day + pd.Timedelta(hours=hour - 1)
            else:
                stamp = pd.Timestamp(str(cell))
            if pd.isna(stamp):
                raise ValueError
        except (ValueError, TypeError):
            shown = cell[0] if ntdc else cell  # type: ignore[index]
            allowed = (
                "a date (YYYY-MM-DD or DD-Mon-YYYY)"
                if ntdc
                else "an ISO 8601 time, e.g. 2024-07-01T00:00+05:00"
            )
            raise input_error(
                path, f"line {line_no}, column {column}", f"must be {allowed}", shown
            ) from None
        if stamp.tzinfo is None:
            stamp = stamp.tz_localize(tz)
        out.append(stamp.tz_convert("UTC"))
    return pd.DatetimeIndex(out)


def _dayfirst(text: str) -> bool:
    # ISO dates are year-first; NTDC sheets written by hand use day-first (01/07/2024).
    return not (len(text) >= 4 and text[:4].isdigit())


def _check_span(
    path: Path,
    stamps: pd.DatetimeIndex,
    lines: list[int],
    index: pd.DatetimeIndex,
    column: str,
) -> None:
    if len(stamps) == 0:
        raise input_error(path, "", f"has no data rows; the scenario needs {len(index)} hours")
    duplicated = stamps.duplicated()
    if duplicated.any():
        k = int(np.argmax(duplicated))
        raise input_error(
            path, f"line {lines[k]}, column {column}", "duplicate timestamp", str(stamps[k])
        )
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
        raise input_error(path, f"line {lines[k]}, column {column}", problem, str(stamps[k]))
    if stamps[0] != index[0]:
        raise input_error(
            path,
            f"line {lines[0]}, column {column}",
            f"first hour must be the scenario start {index[0]} UTC",
            str(stamps[0]),
        )
    if len(stamps) != len(index):
        raise input_error(
            path,
            "",
            f"has {len(stamps)} hourly rows; the scenario needs {len(index)}",
        )


def _numeric_column(
    path: Path,
    column: str,
    cells: list[str],
    lines: list[int],
    value_range: tuple[float | None, float | None],
) -> np.ndarray:
    series = pd.Series(cells, dtype="string")
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        k = int(np.argmax(bad))
        problem = "empty cell; a number is required" if cells[k] == "" else "must be a number"
        raise input_error(path, f"line {lines[k]}, column {column}", problem, cells[k])
    low, high = value_range
    if low is not None and (values < low).any():
        k = int(np.argmax(values < low))
        raise input_error(
            path, f"line {lines[k]}, column {column}", f"must be >= {low:g}", cells[k]
        )
    if high is not None and (values > high).any():
        k = int(np.argmax(values > high))
        raise input_error(
            path, f"line {lines[k]}, column {column}", f"must be <= {high:g}", cells[k]
        )
    return values
