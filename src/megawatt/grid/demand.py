"""Hourly national load built from monthly energies.

Pakistan publishes monthly generation but no hourly national load, so the default
8760-hour demand is synthesised: each calendar month gets a typical daily curve (night
trough, morning rise, midday dip from behind-the-meter solar, evening peak) whose peak and
trough ratios move between winter and summer values with the month's demand level, and
every month is scaled so that its hourly load adds up exactly to its reported energy. The
functions here are pure functions of numpy arrays and a pandas ``DatetimeIndex``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Standard deviation of the midday solar dip [h]; rooftop PV output is roughly a
#: bell of this width around solar noon.
_SOLAR_DIP_WIDTH_H = 2.0

#: Key points of the raw daily curve between trough (0) and evening peak (1): position as
#: a fraction of the rising (trough to peak) or falling (peak to next trough) stretch, and
#: value. The morning rise ends on a daytime plateau at about half the day's range (the
#: solar dip is cut into it), the load climbs from late afternoon to the evening peak, and
#: after it air-conditioning and lighting hold the load up until about midnight. With the
#: default hours the points fall at 10:27, 14:42, 18:57, 22:54 and 01:00.
_RISE_KEY_POINTS = ((0.35, 0.55), (0.60, 0.58), (0.85, 0.85))
_FALL_KEY_POINTS = ((0.20, 0.90), (0.50, 0.60))

#: Bracket of the exponent gamma searched by bisection [-], as natural logarithms.
_LOG_GAMMA_BRACKET = (np.log(1e-6), np.log(1e6))
_BISECTION_STEPS = 100

_HOURS_PER_DAY = 24
_SECONDS_PER_DAY = 86_400
_SECONDS_PER_HOUR = 3_600

#: Multiplicative corrections of the mid-month anchors (smooth seasons); the month means
#: of the interpolated level converge geometrically, and the final per-month rescaling
#: makes the energies exact whatever is left.
_ANCHOR_ITERATIONS = 30


def _raw_daily_curve(shape: DailyShape) -> np.ndarray:
    """Raw daily curve r on the 24 hour midpoints, min-max normalised to [0, 1]."""
    rise_h = (shape.peak_hour - shape.trough_hour) % _HOURS_PER_DAY
    fall_h = _HOURS_PER_DAY - rise_h
    knots = [(0.0, 0.0)]
    knots += [(fraction * rise_h, value) for fraction, value in _RISE_KEY_POINTS]
    knots.append((rise_h, 1.0))
    knots += [(rise_h + fraction * fall_h, value) for fraction, value in _FALL_KEY_POINTS]
    knot_h, knot_value = np.array(knots).T

    # Hour-beginning steps: the hour's mean load is best represented at its midpoint.
    hour_mid = np.arange(_HOURS_PER_DAY) + 0.5
    since_trough_h = (hour_mid - shape.trough_hour) % _HOURS_PER_DAY
    base = np.interp(since_trough_h, knot_h, knot_value, period=_HOURS_PER_DAY)

    # Periodic distance so that a dip near midnight would wrap correctly.
    offset_h = (hour_mid - shape.solar_dip_hour + 12.0) % _HOURS_PER_DAY - 12.0
    dip = shape.solar_dip_depth * np.exp(-0.5 * (offset_h / _SOLAR_DIP_WIDTH_H) ** 2)
    curve = base - dip
    return (curve - curve.min()) / (curve.max() - curve.min())


def _check_reachable(
    raw: np.ndarray, peak: np.ndarray, trough: np.ndarray, label: str
) -> np.ndarray:
    """Required mean of r**gamma; raise if no gamma in (0, inf) reaches it."""
    target = (1.0 - trough) / (peak - trough)
    # mean(r**gamma) falls from the share of hours with r > 0 (gamma -> 0) to the share
    # with r == 1 (gamma -> inf); the bracket is open at both ends.
    upper = np.mean(raw > 0)
    lower = np.mean(raw >= 1.0)
    bad = (target >= upper) | (target <= lower)
    if bad.any():
        k = int(np.argmax(bad))
        raise ValueError(
            f"{label} peak ratio {peak[k]:g} and trough ratio {trough[k]:g} cannot average "
            f"to the monthly mean over a day: (1 - trough) / (peak - trough) = "
            f"{target[k]:.4f} must lie in ({lower:.4f}, {upper:.4f})"
        )
    return target


@dataclass(frozen=True)
class DailyShape:
    """Shape parameters of the daily load curve (all ratios to the month's mean load).

    The defaults describe Pakistan's national load (CPPA-G system) in FY2025. In the
    highest-demand month (July, mean 20,000 MW) the evening peak is 1.45 times the
    monthly mean, inside the documented summer range of 1.4-1.5, giving a peak near
    29-29.5 GW ("peak demand rarely above 30,000 MW", Dawn, July 2025). In the
    lowest-demand month (February, mean 10,335 MW) the night trough is 0.70 times the
    mean, about 7,200 MW ("off-peak below 8,000 MW"), and the winter evening peak of
    1.20 gives about 12,400 MW ("winter ~12,000 MW"). The summer trough of 0.78 keeps
    summer nights high, as air-conditioning runs through the night. All are [E]
    estimates.

    Attributes
    ----------
    summer_peak_ratio : float
        Peak hour / monthly mean in the highest-demand month [-]; > 1.
    winter_peak_ratio : float
        Peak hour / monthly mean in the lowest-demand month [-]; > 1.
    summer_trough_ratio : float
        Lowest hour / monthly mean in the highest-demand month [-]; in (0, 1).
    winter_trough_ratio : float
        Lowest hour / monthly mean in the lowest-demand month [-]; in (0, 1).
    peak_hour : float
        Centre of the evening peak [h, local], in [0, 24).
    trough_hour : float
        Centre of the night trough [h, local], in [0, 24), not equal to ``peak_hour``.
    solar_dip_depth : float
        Depth of the midday dip from behind-the-meter solar, as a fraction of the day's
        range [-], in [0, 1).
    solar_dip_hour : float
        Centre of the midday dip [h, local], in [0, 24).
    smooth_seasons : bool
        Interpolate the day-to-day level between mid-month points so that the load does
        not jump at month boundaries.

    Raises
    ------
    ValueError
        If a ratio or hour is out of range, or a pair of peak and trough ratios cannot
        average to the monthly mean over a day.
    """

    summer_peak_ratio: float = 1.45
    winter_peak_ratio: float = 1.20
    summer_trough_ratio: float = 0.78
    winter_trough_ratio: float = 0.70
    peak_hour: float = 21.5
    trough_hour: float = 4.5
    solar_dip_depth: float = 0.10
    solar_dip_hour: float = 12.5
    smooth_seasons: bool = True

    def __post_init__(self) -> None:
        for name in ("summer_peak_ratio", "winter_peak_ratio"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 1.0):
                raise ValueError(f"DailyShape.{name} must be > 1 (got {value})")
        for name in ("summer_trough_ratio", "winter_trough_ratio"):
            value = getattr(self, name)
            if not (np.isfinite(value) and 0.0 < value < 1.0):
                raise ValueError(f"DailyShape.{name} must be in (0, 1) (got {value})")
        for name in ("peak_hour", "trough_hour", "solar_dip_hour"):
            value = getattr(self, name)
            if not (np.isfinite(value) and 0.0 <= value < _HOURS_PER_DAY):
                raise ValueError(f"DailyShape.{name} must be in [0, 24) (got {value})")
        if self.peak_hour == self.trough_hour:
            raise ValueError(
                f"DailyShape.peak_hour and trough_hour must differ (both {self.peak_hour})"
            )
        if not 0.0 <= self.solar_dip_depth < 1.0:
            raise ValueError(
                f"DailyShape.solar_dip_depth must be in [0, 1) (got {self.solar_dip_depth})"
            )
        # The seasonal interpolation of the ratios keeps the required mean of r**gamma
        # between its values at the two ends (it is a Moebius function of the weight), so
        # checking the summer and winter pairs covers every month.
        raw = _raw_daily_curve(self)
        for season in ("summer", "winter"):
            peak = getattr(self, f"{season}_peak_ratio")
            trough = getattr(self, f"{season}_trough_ratio")
            _check_reachable(raw, np.array([peak]), np.array([trough]), season)


def hourly_profile_from_monthly(
    timestamps_local: pd.DatetimeIndex,
    monthly_energy_mwh: Mapping[tuple[int, int], float],
    shape: DailyShape = DailyShape(),
) -> np.ndarray:
    """Hourly load whose every calendar month carries exactly its given energy.

    Parameters
    ----------
    timestamps_local : pandas.DatetimeIndex
        Consecutive hour-beginning timestamps in the local time of the system (tz-aware;
        a naive index is read as local wall-clock time without daylight saving). Each
        timestamp stands for one hour [h].
    monthly_energy_mwh : Mapping[tuple[int, int], float]
        Energy of each calendar month [MWh], keyed by ``(year, month)`` with ``month``
        1-12 in local time. Every month the timestamps touch must be present and > 0;
        other months are ignored.
    shape : DailyShape
        Peak and trough ratios and hours of the daily curve.

    Returns
    -------
    numpy.ndarray
        Load [MW], one value per timestamp.

    Raises
    ------
    ValueError
        If the timestamps are empty or not consecutive hours, or a month in the span
        has no energy, or a non-positive or non-finite one.

    Notes
    -----
    A raw daily curve :math:`r(h)` on the 24 hour midpoints, min-max normalised to
    [0, 1], rises from the night trough to the evening peak with a Gaussian midday dip
    of depth ``solar_dip_depth``. A month with mean load :math:`\\bar P_m = E_m / H_m`
    (energy over the hours of the full calendar month) gets the seasonal weight

    .. math:: w_m = (\\bar P_m - \\min_k \\bar P_k) / (\\max_k \\bar P_k - \\min_k \\bar P_k)

    over the months in the span (0.5 if they are all equal), the ratios
    :math:`P = P_w + w (P_s - P_w)`, :math:`T = T_w + w (T_s - T_w)` and the daily shape

    .. math:: s(h) = T + (P - T)\\, r(h)^{\\gamma}, \\qquad
              \\frac{1}{24} \\sum_h s(h) = 1,

    with :math:`\\gamma` found by bisection, so that :math:`\\max s = P`,
    :math:`\\min s = T` and the daily mean is 1. Without ``smooth_seasons`` the load is
    :math:`\\bar P_m\\, s_m(h)`. With it, a daily level :math:`L(d)` is interpolated
    linearly between mid-month anchors (adjusted so that each month's mean level is
    :math:`\\bar P_m`), :math:`w` likewise between the mid-month weights, and the load
    is :math:`L(d)\\, s_d(h)`. Either way, each month is finally scaled by
    :math:`E_m f_m / \\sum_{t \\in m} P(t)` so its energy is exact to rounding.

    A month only partly inside the span (at either end) gets the share
    :math:`f_m` = (its hours present) / (its hours in the full calendar month) of its
    energy, i.e. the same mean load as the whole month. When a day has no 24 hours
    (daylight-saving change) or a month starts mid-day, the rescaling moves the peak and
    trough ratios slightly off :math:`P` and :math:`T`.

    References
    ----------
    .. [1] CPPA-G, monthly fuel cost adjustment filings FY2024-25: energy generated by
       month (GWh), via NEPRA.
    .. [2] Dawn, 15 July 2025: peak demand rarely above 30,000 MW; winter ~12,000 MW;
       off-peak below 8,000 MW.
    """
    index = _check_timestamps(timestamps_local)
    wall = index.tz_localize(None) if index.tz is not None else index
    day_number = wall.normalize().as_unit("s").asi8 // _SECONDS_PER_DAY
    hour_of_day = wall.hour.to_numpy()

    month_key = (wall.year.to_numpy() * 12 + wall.month.to_numpy() - 1).astype(np.int64)
    months, month_code = np.unique(month_key, return_inverse=True)
    hours_present = np.bincount(month_code, minlength=months.size).astype(float)
    energy_full_mwh = _month_energies(months, monthly_energy_mwh)
    hours_full = _calendar_month_hours(months, index.tz)
    mean_load_mw = energy_full_mwh / hours_full
    energy_present_mwh = energy_full_mwh * hours_present / hours_full

    spread = mean_load_mw.max() - mean_load_mw.min()
    seasonal_weight = (
        (mean_load_mw - mean_load_mw.min()) / spread if spread > 0 else np.full(months.size, 0.5)
    )
    raw = _raw_daily_curve(shape)

    if shape.smooth_seasons:
        days, day_code = np.unique(day_number, return_inverse=True)
        day_mid = days + 0.5
        anchor_day = _mid_month_day(months)
        day_weight = np.interp(day_mid, anchor_day, seasonal_weight)
        level_mw = _daily_level(day_mid, day_code, month_code, anchor_day, mean_load_mw)
        daily_shape = _daily_shape(raw, shape, day_weight)
        load_mw = level_mw[day_code] * daily_shape[day_code, hour_of_day]
    else:
        monthly_shape = _daily_shape(raw, shape, seasonal_weight)
        load_mw = mean_load_mw[month_code] * monthly_shape[month_code, hour_of_day]

    month_sum_mwh = np.bincount(month_code, weights=load_mw, minlength=months.size)
    return load_mw * (energy_present_mwh / month_sum_mwh)[month_code]


def load_duration_curve(load_mw: np.ndarray) -> np.ndarray:
    """Load sorted from highest to lowest.

    Parameters
    ----------
    load_mw : numpy.ndarray
        Hourly load [MW], 1-D.

    Returns
    -------
    numpy.ndarray
        The same values [MW] in descending order; element ``k`` is the load exceeded
        (or equalled) in ``k + 1`` hours.
    """
    values = np.asarray(load_mw, dtype=float)
    if values.ndim != 1:
        raise ValueError(f"load_mw must be 1-D (got shape {values.shape})")
    return np.sort(values)[::-1]


# ---------------------------------------------------------------------------------
# Helpers


def _check_timestamps(timestamps_local: pd.DatetimeIndex) -> pd.DatetimeIndex:
    if not isinstance(timestamps_local, pd.DatetimeIndex):
        raise ValueError("timestamps_local must be a pandas DatetimeIndex")
    if len(timestamps_local) == 0:
        raise ValueError("timestamps_local is empty")
    seconds = timestamps_local.as_unit("s").asi8
    steps = np.diff(seconds)
    if (steps != _SECONDS_PER_HOUR).any():
        k = int(np.argmax(steps != _SECONDS_PER_HOUR)) + 1
        raise ValueError(
            "timestamps_local must be consecutive hours; "
            f"{timestamps_local[k]} follows {timestamps_local[k - 1]}"
        )
    return timestamps_local


def _month_energies(
    months: np.ndarray, monthly_energy_mwh: Mapping[tuple[int, int], float]
) -> np.ndarray:
    energy = np.empty(months.size)
    for i, key in enumerate(months):
        year, month = divmod(int(key), 12)
        month += 1
        if (year, month) not in monthly_energy_mwh:
            raise ValueError(
                f"no energy given for month {year}-{month:02d}, which the timestamps span"
            )
        value = float(monthly_energy_mwh[(year, month)])
        if not (np.isfinite(value) and value > 0):
            raise ValueError(
                f"energy of month {year}-{month:02d} must be a finite number > 0 MWh (got {value})"
            )
        energy[i] = value
    return energy


def _calendar_month_hours(months: np.ndarray, tz: object) -> np.ndarray:
    # Count in the local zone so that months with a daylight-saving change get their
    # 743 or 745 hours.
    hours = np.empty(months.size)
    for i, key in enumerate(months):
        year, month = divmod(int(key), 12)
        start = pd.Timestamp(year=year, month=month + 1, day=1, tz=tz)
        end = start + pd.offsets.MonthBegin(1)
        hours[i] = (end - start) / pd.Timedelta(hours=1)
    return hours


def _mid_month_day(months: np.ndarray) -> np.ndarray:
    """Middle of each calendar month, in days since 1970-01-01 (wall clock)."""
    years, month_index = np.divmod(months, 12)
    first = (years - 1970).astype("datetime64[Y]") + month_index.astype("timedelta64[M]")
    first_month = first.astype("datetime64[M]")
    start = first_month.astype("datetime64[D]").astype(np.int64)
    end = (first_month + np.timedelta64(1, "M")).astype("datetime64[D]").astype(np.int64)
    return (start + end) / 2.0


def _daily_level(
    day_mid: np.ndarray,
    day_code: np.ndarray,
    month_code: np.ndarray,
    anchor_day: np.ndarray,
    mean_load_mw: np.ndarray,
) -> np.ndarray:
    """Daily level [MW] interpolated between mid-month anchors, month means preserved.

    Linear interpolation through the monthly means would shave every peak month and
    fill every trough month; the anchors are therefore raised or lowered (multiplied,
    which keeps them positive) until each month's mean level over its hours matches
    its mean load.
    """
    n_months = mean_load_mw.size
    hours_present = np.bincount(month_code, minlength=n_months)
    anchors_mw = mean_load_mw.copy()
    for _ in range(_ANCHOR_ITERATIONS):
        level_mw = np.interp(day_mid, anchor_day, anchors_mw)
        month_mean_mw = (
            np.bincount(month_code, weights=level_mw[day_code], minlength=n_months) / hours_present
        )
        anchors_mw = anchors_mw * (mean_load_mw / month_mean_mw)
    return np.interp(day_mid, anchor_day, anchors_mw)


def _daily_shape(raw: np.ndarray, shape: DailyShape, weight: np.ndarray) -> np.ndarray:
    """Daily shapes s (one row per weight, 24 columns) with mean 1, max P and min T."""
    peak = shape.winter_peak_ratio + weight * (shape.summer_peak_ratio - shape.winter_peak_ratio)
    trough = shape.winter_trough_ratio + weight * (
        shape.summer_trough_ratio - shape.winter_trough_ratio
    )
    target = _check_reachable(raw, peak, trough, "seasonal")

    # mean(r**gamma) decreases with gamma: bisection in log(gamma) on all rows at once.
    low = np.full(weight.shape, _LOG_GAMMA_BRACKET[0])
    high = np.full(weight.shape, _LOG_GAMMA_BRACKET[1])
    for _ in range(_BISECTION_STEPS):
        middle = 0.5 * (low + high)
        too_high = np.mean(raw ** np.exp(middle)[:, None], axis=1) > target
        low = np.where(too_high, middle, low)
        high = np.where(too_high, high, middle)
    gamma = np.exp(0.5 * (low + high))
    return trough[:, None] + (peak - trough)[:, None] * raw ** gamma[:, None]
