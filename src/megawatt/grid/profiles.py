"""Synthetic hourly availability profiles of wind, solar and hydro plants.

Where no measured plant output is at hand, the default scenario ships [E] estimates of
hourly availability (``p_max_pu``, per unit of installed capacity, in [0, 1]): solar from
clear-sky sun geometry scaled to a reported annual capacity factor, wind from a diurnal
cycle scaled to monthly capacity factors, and hydro as a monthly step. The functions are
pure and deterministic: they take a ``DatetimeIndex`` of hour-beginning local times and
return numpy arrays aligned to it, each scaled so its mean hits the given capacity
factor exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

#: Exponent on sin(elevation) [-]: irradiance on the panels falls faster than
#: sin(elevation) at low sun, as the air mass grows.
_CLEAR_SKY_EXPONENT = 1.2

#: Samples per hour for the solar shape; the hour's mean, not its midpoint value, gives
#: the right output in the sunrise and sunset hours.
_SOLAR_SAMPLES_PER_HOUR = 12

_HOURS_PER_DAY = 24.0
_DEGREES_PER_HOUR = 15.0  # the Earth turns 360 degrees in 24 h
_MONTHS = 12


def solar_pu(
    timestamps_local: pd.DatetimeIndex,
    latitude_deg: float,
    capacity_factor: float,
    longitude_deg: float | None = None,
    utc_offset_h: float | None = None,
) -> np.ndarray:
    """Hourly solar availability from sun geometry, scaled to a capacity factor.

    Parameters
    ----------
    timestamps_local : pandas.DatetimeIndex
        Hour-beginning timestamps in local time (one hour each). Tz-aware, unless
        ``utc_offset_h`` is given, in which case naive times are read as local clock
        time at that offset.
    latitude_deg : float
        Latitude of the plant [deg], north positive, in [-90, 90].
    capacity_factor : float
        Mean availability over all the timestamps [-], in (0, 1].
    longitude_deg : float, optional
        Longitude of the plant [deg], east positive, in [-180, 180]. If omitted, the
        plant is taken to sit on the standard meridian of its time zone (15 deg per hour
        of the UTC offset of standard time, or of ``utc_offset_h``), so that only the
        equation of time (and daylight saving) moves solar noon off 12:00.
    utc_offset_h : float, optional
        Offset of the local clock from UTC [h] (Pakistan: 5). Defaults to each
        timestamp's own offset, which follows daylight saving where there is any.

    Returns
    -------
    numpy.ndarray
        Availability [-] in [0, 1], one value per timestamp; zero at night.

    Raises
    ------
    ValueError
        If an argument is out of range, the timestamps are naive and no offset is
        given, or the capacity factor exceeds the share of daylight hours (the only
        hours that can produce).

    Notes
    -----
    For day of year :math:`n`, with :math:`B = 2\\pi (n - 1) / 365`, the declination
    (Cooper) and the equation of time (Spencer), as in Duffie & Beckman [1]_
    eqs. 1.6.1a and 1.5.3, are

    .. math::

        \\delta = 23.45^\\circ \\sin\\left(2\\pi \\frac{284 + n}{365}\\right), \\qquad
        E = 229.2\\,(0.000075 + 0.001868 \\cos B - 0.032077 \\sin B
            - 0.014615 \\cos 2B - 0.04089 \\sin 2B) \\ \\text{[min]}.

    Solar time is :math:`t_s = t + (\\lambda - 15^\\circ \\Delta_{UTC}) / 15^\\circ
    + E / 60` [h] for clock time :math:`t` and east longitude :math:`\\lambda`; the
    hour angle is :math:`\\omega = 15^\\circ (t_s - 12)` and the sun's elevation
    :math:`\\alpha` follows from (D&B eq. 1.6.5)

    .. math:: \\sin\\alpha = \\cos\\phi \\cos\\delta \\cos\\omega + \\sin\\phi \\sin\\delta .

    The raw shape of hour :math:`i` is the mean of :math:`\\max(0, \\sin\\alpha)^{1.2}`
    over 12 instants in the hour, and the availability is
    :math:`p_i = \\min(1, k\\, x_i)` with :math:`k` solved exactly so that
    :math:`\\bar p` equals the capacity factor (hours at the cap are set to 1 and the
    rest rescaled).

    Clouds, dust and temperature are not modelled, only their effect on the annual mean
    through the capacity factor. Pakistan default: Quaid-e-Azam Solar Park near
    Bahawalpur, about 29.3 N, 71.8 E, reported capacity factor 19.3 % [2]_.

    References
    ----------
    .. [1] J. A. Duffie and W. A. Beckman, *Solar Engineering of Thermal Processes*,
       4th ed., Wiley, 2013, sections 1.5-1.6.
    .. [2] NEPRA tariff determination for Quaid-e-Azam Solar Park (400 MW), capacity
       factor 19.3 %.
    """
    _check_index(timestamps_local)
    if not (np.isfinite(latitude_deg) and -90.0 <= latitude_deg <= 90.0):
        raise ValueError(f"latitude_deg must be in [-90, 90] (got {latitude_deg})")
    if longitude_deg is not None and not (
        np.isfinite(longitude_deg) and -180.0 <= longitude_deg <= 180.0
    ):
        raise ValueError(f"longitude_deg must be in [-180, 180] (got {longitude_deg})")
    _check_fraction("capacity_factor", capacity_factor)

    wall = _wall_clock(timestamps_local)
    if utc_offset_h is not None:
        if not (np.isfinite(utc_offset_h) and -14.0 <= utc_offset_h <= 14.0):
            raise ValueError(f"utc_offset_h must be in [-14, 14] (got {utc_offset_h})")
        offset_h = np.full(len(wall), float(utc_offset_h))
        standard_offset_h = float(utc_offset_h)
    elif timestamps_local.tz is None:
        raise ValueError("timestamps_local is naive: make it tz-aware or give utc_offset_h")
    else:
        utc = timestamps_local.tz_convert("UTC").tz_localize(None)
        offset_h = ((wall - utc) / pd.Timedelta(hours=1)).to_numpy(dtype=float)
        standard_offset_h = _standard_offset_h(timestamps_local)
    if longitude_deg is None:
        longitude_deg = _DEGREES_PER_HOUR * standard_offset_h

    # Solar time minus clock time, before the equation of time [h]: 4 min per degree
    # east of the meridian of the clock's current offset.
    clock_to_solar_h = longitude_deg / _DEGREES_PER_HOUR - offset_h
    day_of_year = wall.day_of_year.to_numpy(dtype=float)
    clock_h = wall.hour.to_numpy(dtype=float) + wall.minute.to_numpy(dtype=float) / 60.0

    b = 2.0 * np.pi * (day_of_year - 1.0) / 365.0
    equation_of_time_min = 229.2 * (
        0.000075
        + 0.001868 * np.cos(b)
        - 0.032077 * np.sin(b)
        - 0.014615 * np.cos(2.0 * b)
        - 0.04089 * np.sin(2.0 * b)
    )
    declination = np.radians(23.45) * np.sin(2.0 * np.pi * (284.0 + day_of_year) / 365.0)

    # Sample instants within each hour-beginning step, as (hours, samples) arrays.
    within_h = (np.arange(_SOLAR_SAMPLES_PER_HOUR) + 0.5) / _SOLAR_SAMPLES_PER_HOUR
    solar_time_h = (clock_h + clock_to_solar_h + equation_of_time_min / 60.0)[:, None] + within_h
    hour_angle = np.radians(_DEGREES_PER_HOUR * (solar_time_h - 12.0))
    latitude = np.radians(latitude_deg)
    sin_elevation = (
        np.cos(latitude) * np.cos(declination)[:, None] * np.cos(hour_angle)
        + np.sin(latitude) * np.sin(declination)[:, None]
    )
    shape = np.mean(np.maximum(sin_elevation, 0.0) ** _CLEAR_SKY_EXPONENT, axis=1)
    return _scale_to_mean(shape, capacity_factor, "capacity_factor")


def wind_pu(
    timestamps_local: pd.DatetimeIndex,
    monthly_capacity_factor: Sequence[float],
    diurnal_amplitude: float = 0.25,
    peak_hour: float = 16.0,
) -> np.ndarray:
    """Hourly wind availability: a diurnal cycle scaled to monthly capacity factors.

    Parameters
    ----------
    timestamps_local : pandas.DatetimeIndex
        Hour-beginning timestamps in local time (tz-aware or naive wall-clock time).
    monthly_capacity_factor : Sequence[float]
        Mean availability of each calendar month, January to December [-], 12 values
        in (0, 1].
    diurnal_amplitude : float
        Relative amplitude of the daily cycle [-], in [0, 1]: 0.25 makes the afternoon
        hours about 1.25 times and the night hours 0.75 times the month's mean.
    peak_hour : float
        Local hour of the daily maximum [h], in [0, 24).

    Returns
    -------
    numpy.ndarray
        Availability [-] in [0, 1], one value per timestamp.

    Raises
    ------
    ValueError
        If there are not 12 capacity factors, one is outside (0, 1], or the amplitude
        or hour is out of range.

    Notes
    -----
    With :math:`h` the local hour of the step's midpoint (hour beginning + 0.5),

    .. math:: x(h) = 1 + a \\cos\\left(2\\pi \\frac{h - h_{peak}}{24}\\right), \\qquad
              p(t) = \\min(1, k_m\\, x(h_t)),

    with :math:`k_m` solved exactly for each calendar month :math:`m` present so that the
    mean of :math:`p` over the month's hours in the span equals its capacity factor
    :math:`CF_m` (hours at the cap are set to 1 and the rest rescaled). There is no
    day-to-day (synoptic) variability: the profile is a typical day per month.

    Pakistan's wind fleet sits in the Gharo-Jhimpir corridor of Sindh, driven by the
    south-west monsoon and the sea breeze: output is highest from May to August
    (capacity factor up to about 39 % in June), lowest in November (about 7 %),
    around 24 % over the year, and strongest in the afternoon and evening, hence the
    default peak at 16:00.
    """
    _check_index(timestamps_local)
    capacity_factors = _twelve_values("monthly_capacity_factor", monthly_capacity_factor)
    for month, value in enumerate(capacity_factors, start=1):
        _check_fraction(f"monthly_capacity_factor for month {month}", value)
    if not (np.isfinite(diurnal_amplitude) and 0.0 <= diurnal_amplitude <= 1.0):
        raise ValueError(f"diurnal_amplitude must be in [0, 1] (got {diurnal_amplitude})")
    if not (np.isfinite(peak_hour) and 0.0 <= peak_hour < _HOURS_PER_DAY):
        raise ValueError(f"peak_hour must be in [0, 24) (got {peak_hour})")

    wall = _wall_clock(timestamps_local)
    hour_mid = wall.hour.to_numpy(dtype=float) + wall.minute.to_numpy(dtype=float) / 60.0 + 0.5
    shape = 1.0 + diurnal_amplitude * np.cos(2.0 * np.pi * (hour_mid - peak_hour) / _HOURS_PER_DAY)

    month_key = wall.year.to_numpy() * _MONTHS + wall.month.to_numpy() - 1
    availability = np.empty(len(wall))
    # One pass per calendar month of the span (12 a year), each scaled on its own.
    for key in np.unique(month_key):
        in_month = month_key == key
        month = int(key) % _MONTHS + 1
        availability[in_month] = _scale_to_mean(
            shape[in_month],
            capacity_factors[month - 1],
            f"monthly_capacity_factor for month {month}",
        )
    return availability


def monthly_pu(
    timestamps_local: pd.DatetimeIndex,
    monthly_values: Sequence[float],
) -> np.ndarray:
    """Step profile: every hour takes its calendar month's value.

    Parameters
    ----------
    timestamps_local : pandas.DatetimeIndex
        Hour-beginning timestamps in local time (tz-aware or naive wall-clock time).
    monthly_values : Sequence[float]
        Value of each calendar month, January to December [-], 12 values in [0, 1];
        for hydro, the month's capacity factor (water available per unit capacity).

    Returns
    -------
    numpy.ndarray
        Availability [-], one value per timestamp.

    Raises
    ------
    ValueError
        If there are not 12 values or one is outside [0, 1].

    Notes
    -----
    :math:`p(t) = v_{m(t)}`, with :math:`m(t)` the local calendar month of hour
    :math:`t`; the mean over any whole month is therefore :math:`v_m`.
    """
    _check_index(timestamps_local)
    values = _twelve_values("monthly_values", monthly_values)
    bad = ~((values >= 0.0) & (values <= 1.0))
    if bad.any():
        month = int(np.argmax(bad)) + 1
        raise ValueError(
            f"monthly_values for month {month} must be in [0, 1] (got {values[month - 1]})"
        )
    return values[_wall_clock(timestamps_local).month.to_numpy() - 1]


# ---------------------------------------------------------------------------------
# Helpers


def _check_index(timestamps_local: pd.DatetimeIndex) -> None:
    if not isinstance(timestamps_local, pd.DatetimeIndex):
        raise ValueError("timestamps_local must be a pandas DatetimeIndex")


def _wall_clock(timestamps_local: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Local wall-clock times (naive), whatever the zone."""
    if timestamps_local.tz is None:
        return timestamps_local
    return timestamps_local.tz_localize(None)


def _standard_offset_h(timestamps_local: pd.DatetimeIndex) -> float:
    """UTC offset of the zone's standard time [h], without daylight saving.

    Daylight saving only ever adds to the standard offset, in summer of either
    hemisphere, so the smaller of the offsets on 1 January and 1 July is standard time.
    """
    year = int(timestamps_local[0].year) if len(timestamps_local) else 2000
    offsets = [
        pd.Timestamp(year=year, month=month, day=1, tz=timestamps_local.tz).utcoffset()
        for month in (1, 7)
    ]
    return min(offsets) / pd.Timedelta(hours=1)


def _check_fraction(name: str, value: float) -> None:
    if not (np.isfinite(value) and 0.0 < value <= 1.0):
        raise ValueError(f"{name} must be in (0, 1] (got {value})")


def _twelve_values(name: str, values: Sequence[float]) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.shape != (_MONTHS,):
        raise ValueError(f"{name} needs 12 values, January to December (got {array.size})")
    return array


def _scale_to_mean(shape: np.ndarray, target_mean: float, name: str) -> np.ndarray:
    """Scale a non-negative shape by k, capped at 1, so that its mean is target_mean.

    The mean of min(1, k x) grows piecewise linearly with k. If the j largest values
    are capped, k = (n * target - j) / (sum of the others); the right j is the
    smallest for which the (j+1)-th largest value stays under the cap.
    """
    n = shape.size
    if n == 0:
        return np.zeros(0)
    target_sum = target_mean * n
    descending = np.sort(shape[shape > 0])[::-1]
    # Only hours with a positive shape can produce; all of them at 1 is the ceiling.
    if target_sum > descending.size * (1.0 + 1e-12):
        raise ValueError(
            f"{name} {target_mean:g} cannot be reached: only {descending.size} of {n} "
            f"hours can produce (at most {descending.size / n:.4f})"
        )
    tail_sum = np.cumsum(descending[::-1])[::-1]  # tail_sum[j] = sum(descending[j:])
    capped_count = np.arange(descending.size)
    scale = (target_sum - capped_count) / tail_sum
    fits = scale * descending <= 1.0
    if not fits.any():  # the ceiling itself: every producing hour at 1
        return (shape > 0).astype(float)
    scale_first = scale[int(np.argmax(fits))]

    # Rescale the uncapped hours with a pairwise sum, more accurate than the cumsum,
    # so the mean is exact to rounding.
    capped = scale_first * shape >= 1.0
    free_sum = shape[~capped].sum()
    factor = (target_sum - capped.sum()) / free_sum if free_sum > 0 else 0.0
    return np.where(capped, 1.0, np.minimum(1.0, factor * shape))
