"""Hourly series of a scenario: the snapshots, zonal demand and availability profiles.

Timestamps are UTC inside. Our own CSVs carry ISO 8601 timestamps (with an offset,
or local time of the scenario's zone when they have none), one row per hour; NTDC's
``DATE,HOUR,SYSLOAD`` files use hour-ending 1-24 in local time. A series must cover
exactly the scenario's span: every gap, duplicate, missing or non-numeric cell is an
:class:`~megawatt.errors.InputError` with its line and column. The files are read by
:mod:`megawatt.io`; this module turns them into the scenario's series.

The series are cached on the scenario together with the inputs they were built
from (:func:`series_inputs`: span, zones, the generators' profile names, the whole
``demand`` section and the files' path, size and modification time). A scenario
edited in any way, by ``model_copy(update=...)`` or by assignment to a nested field
(``sc.demand.scale = 3``), or whose files changed on disk, gets fresh series; an
unchanged one gets the same :class:`Timeseries` object back.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from megawatt.errors import InputError, input_error
from megawatt.grid.demand import DailyShape, hourly_profile_from_monthly
from megawatt.io import read_hourly_demand, read_monthly_demand, read_ntdc, read_profiles
from megawatt.io.common import check_span, localize
from megawatt.scenario.model import Scenario
from megawatt.scenario.origin import Origin, locate, origin_of


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
    # A start in a fold is its first occurrence (daylight time); one in a gap is
    # rejected when the scenario is validated.
    start = pd.Timestamp(scenario.start).tz_localize(tz, ambiguous=True).tz_convert("UTC")
    return pd.date_range(start, periods=scenario.hours, freq="h", name="snapshot")


def local_snapshots(scenario: Scenario) -> pd.DatetimeIndex:
    """The snapshots in the scenario's time zone."""
    return snapshots(scenario).tz_convert(scenario.timezone)


def series_inputs(scenario: Scenario) -> tuple[Any, ...]:
    """Everything the series depend on, compared to decide whether a cache is current.

    The span and time zone, the zone names, each generator's profile names (checked
    against the profiles file), the whole ``demand`` section, and for the profiles and
    demand files their resolved path, size and modification time (ns).
    """
    origin = origin_of(scenario)
    files = []
    for name in (scenario.profiles, scenario.demand.file):
        if name is None:
            files.append(None)
            continue
        path = origin.resolve(name)
        try:
            stat = path.stat()
            files.append((str(path), stat.st_size, stat.st_mtime_ns))
        except OSError:
            files.append((str(path), None, None))
    return (
        scenario.timezone,
        scenario.start,
        scenario.hours,
        tuple(scenario.zone_names),
        tuple((g.p_max_pu_profile, g.monthly_energy_profile) for g in scenario.generators),
        scenario.demand.model_dump(),
        tuple(files),
    )


def timeseries(scenario: Scenario) -> Timeseries:
    """The scenario's hourly series, read again only when their inputs changed.

    Raises
    ------
    InputError
        A missing or bad file, or a generator naming a profile the file lacks.
    """
    key = series_inputs(scenario)
    cached = scenario._series_cache
    if cached is not None and cached[0] == key:
        return cached[1]
    index = snapshots(scenario)
    origin = origin_of(scenario)
    profiles = _profiles(scenario, index, origin)
    demand = _demand(scenario, index, origin)
    series = Timeseries(snapshots=index, demand_mw=demand, profiles=profiles)
    scenario._series_cache = (key, series)
    return series


# ---------------------------------------------------------------------------------
# Profiles


def _profiles(scenario: Scenario, index: pd.DatetimeIndex, origin: Origin) -> pd.DataFrame:
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
                origin,
                i,
                col,
                "names a profile but the scenario has no `profiles` file",
                getattr(scenario.generators[i], col),
            )
        return pd.DataFrame(index=index)
    path = origin.resolve(scenario.profiles)
    frame = read_profiles(path, index, scenario.timezone)
    for name, (i, col) in needed.items():
        if name not in frame.columns:
            raise _generator_error(
                origin,
                i,
                col,
                f"unknown profile; {path.name} has: {', '.join(frame.columns)}",
                name,
            )
    return frame


def _generator_error(
    origin: Origin, i: int, column: str, problem: str, value: object
) -> InputError:
    return locate(origin, ("generators", i, column), problem, value, True)


# ---------------------------------------------------------------------------------
# Demand


def _demand(scenario: Scenario, index: pd.DatetimeIndex, origin: Origin) -> pd.DataFrame:
    spec = scenario.demand
    path = origin.resolve(spec.file)
    zones = scenario.zone_names
    if spec.format == "monthly":
        national = _monthly_to_hourly(path, scenario, index, origin)
    elif spec.format == "ntdc":
        national = _ntdc_national(path, index, scenario.timezone)
    else:
        frame = read_hourly_demand(path, index, scenario.timezone)
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
            origin.label,
            "demand.zone_shares",
            f"a {spec.format} demand file is national: give each zone's share",
        )
    shares = np.array([spec.zone_shares[z] for z in zones])
    values = np.outer(national * spec.scale, shares)
    return pd.DataFrame(values, index=index, columns=zones)


def _ntdc_national(path: Path, index: pd.DatetimeIndex, timezone: str) -> np.ndarray:
    """NTDC load [MW] on the scenario's hours (its local times in ``timezone``)."""
    frame = read_ntdc(path)
    lines = frame["line"].tolist()
    tz = zoneinfo.ZoneInfo(timezone)
    column = frame.attrs.get("date_column", "DATE")
    # NTDC's HOUR has no second 1:00 for an autumn fold: a time in a fold is its first
    # occurrence (the missing second one then shows as a gap); one in a spring gap is an
    # error naming the line.
    stamps = pd.DatetimeIndex(
        [
            localize(path, line, column, str(stamp), stamp, tz).tz_convert("UTC")
            for line, stamp in zip(lines, frame.index, strict=True)
        ]
    )
    check_span(path, stamps, lines, index, column)
    return frame["load_mw"].to_numpy()


def _monthly_to_hourly(
    path: Path, scenario: Scenario, index: pd.DatetimeIndex, origin: Origin
) -> np.ndarray:
    energy = read_monthly_demand(path)
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
        raise input_error(origin.label, "demand.shape", str(exc)) from None


def _months(local: pd.DatetimeIndex) -> set[tuple[int, int]]:
    return set(zip(local.year, local.month, strict=True))
