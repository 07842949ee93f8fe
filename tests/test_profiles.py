"""Tests of megawatt.grid.profiles: synthetic hourly availability profiles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from megawatt.grid.profiles import monthly_pu, solar_pu, wind_pu

# Quaid-e-Azam Solar Park, Bahawalpur: location and reported capacity factor.
QA_LATITUDE_DEG = 29.3
QA_LONGITUDE_DEG = 71.8
QA_CAPACITY_FACTOR = 0.193

# Illustrative monthly wind capacity factors, Jan..Dec (7 % in Nov to 39 % in Jun).
WIND_CF = [0.10, 0.12, 0.15, 0.20, 0.30, 0.39, 0.37, 0.33, 0.25, 0.12, 0.07, 0.09]


def fy25_hours() -> pd.DatetimeIndex:
    return pd.date_range("2024-07-01", periods=8760, freq="h", tz="Asia/Karachi")


def qa_solar(timestamps: pd.DatetimeIndex | None = None, **kwargs: float) -> np.ndarray:
    arguments = {
        "latitude_deg": QA_LATITUDE_DEG,
        "capacity_factor": QA_CAPACITY_FACTOR,
        "longitude_deg": QA_LONGITUDE_DEG,
    }
    arguments.update(kwargs)
    return solar_pu(fy25_hours() if timestamps is None else timestamps, **arguments)


# ---------------------------------------------------------------------------------
# Solar


def test_solar_bounds_and_mean() -> None:
    solar = qa_solar()
    assert solar.shape == (8760,)
    assert np.all((solar >= 0.0) & (solar <= 1.0))
    assert solar.mean() == pytest.approx(QA_CAPACITY_FACTOR, rel=1e-12)


def test_solar_zero_at_night() -> None:
    timestamps = fy25_hours()
    solar = qa_solar()
    night = (timestamps.hour >= 20) | (timestamps.hour < 5)
    assert np.all(solar[night] == 0.0)
    assert np.all(solar[timestamps.hour == 12] > 0.0)


def test_solar_peaks_near_solar_noon() -> None:
    timestamps = fy25_hours()
    days = qa_solar().reshape(365, 24)
    # Solar noon at 71.8 E on UTC+5 (meridian 75 E) is about 12:13 +- 16 min of the
    # equation of time, so the hour beginning 12:00 or, in late autumn, 11:00 is the
    # brightest.
    assert set(days.argmax(axis=1)) <= {11, 12}
    assert np.mean(days.argmax(axis=1) == 12) > 0.5
    # Ten degrees further west, solar noon is 40 minutes later.
    western = qa_solar(timestamps, longitude_deg=QA_LONGITUDE_DEG - 10.0).reshape(365, 24)
    assert set(western.argmax(axis=1)) <= {12, 13}


def daily_centroid_h(solar: np.ndarray) -> np.ndarray:
    """Output-weighted mean clock time of each day [h], hours taken at their midpoints."""
    days = solar.reshape(-1, 24)
    return days @ (np.arange(24) + 0.5) / days.sum(axis=1)


def test_solar_longitude_defaults_to_zone_meridian() -> None:
    # Without a longitude the plant sits on 75 E (UTC+5): noon is off 12:00 only by the
    # equation of time, within about 16 minutes.
    on_meridian = solar_pu(fy25_hours(), QA_LATITUDE_DEG, QA_CAPACITY_FACTOR)
    centroid_h = daily_centroid_h(on_meridian)
    assert np.all(np.abs(centroid_h - 12.0) < 17.0 / 60.0)
    # 3.2 degrees west of the meridian the sun runs 12.8 minutes later, every day.
    shift_h = daily_centroid_h(qa_solar()) - centroid_h
    np.testing.assert_allclose(shift_h, (75.0 - QA_LONGITUDE_DEG) / 15.0, atol=0.01)


def test_solar_summer_days_longer_than_winter() -> None:
    solar = pd.Series(qa_solar(), fy25_hours())
    june_daylight = (solar["2025-06-21"] > 0).sum()
    december_daylight = (solar["2024-12-21"] > 0).sum()
    assert june_daylight > december_daylight
    assert solar["2025-06-21"].sum() > solar["2024-12-21"].sum()


def test_solar_southern_hemisphere_seasons_reversed() -> None:
    timestamps = pd.date_range("2025-01-01", periods=8760, freq="h", tz="Australia/Perth")
    solar = pd.Series(solar_pu(timestamps, -31.9, 0.2, 115.9), timestamps)
    assert solar["2025-12-21"].sum() > solar["2025-06-21"].sum()


def test_solar_utc_offset_for_naive_timestamps() -> None:
    aware = fy25_hours()
    from_zone = qa_solar(aware)
    from_offset = qa_solar(aware.tz_localize(None), utc_offset_h=5.0)
    np.testing.assert_allclose(from_offset, from_zone, rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="naive"):
        qa_solar(aware.tz_localize(None))


def test_solar_same_sun_whatever_the_clock_zone() -> None:
    # The same UTC hours described in two zones give the same output hour by hour.
    karachi = fy25_hours()
    utc = karachi.tz_convert("UTC")
    np.testing.assert_allclose(qa_solar(utc), qa_solar(karachi), rtol=1e-12, atol=1e-15)


def test_solar_daylight_saving_zone() -> None:
    timestamps = pd.date_range("2025-01-01", periods=8760, freq="h", tz="Europe/Berlin")
    solar = pd.Series(solar_pu(timestamps, 52.5, 0.11, 13.4), timestamps)
    # On summer time (UTC+2) the sun culminates near 13:10 clock time, in winter 12:10.
    assert solar["2025-06-21"].idxmax().hour == 13
    assert solar["2025-12-21"].idxmax().hour == 12
    assert solar.mean() == pytest.approx(0.11, rel=1e-12)
    # Without a longitude: on the 15 E meridian of standard time (UTC+1), so solar noon
    # is near 13:00 in summer time and 12:00 in winter (equation of time ~2 min then).
    on_meridian = pd.Series(solar_pu(timestamps, 52.5, 0.11), timestamps)
    assert daily_centroid_h(on_meridian["2025-06-21"].to_numpy())[0] == pytest.approx(
        13.0, abs=0.05
    )
    assert daily_centroid_h(on_meridian["2025-12-21"].to_numpy())[0] == pytest.approx(
        12.0, abs=0.05
    )


def test_solar_clips_at_one_and_keeps_mean() -> None:
    solar = qa_solar(capacity_factor=0.5)
    assert solar.max() == 1.0
    assert np.sum(solar == 1.0) > 100
    assert solar.mean() == pytest.approx(0.5, rel=1e-12)
    assert np.all(solar >= 0.0)


@pytest.mark.parametrize("capacity_factor", [0.0, -0.1, 1.01, float("nan")])
def test_solar_capacity_factor_out_of_range(capacity_factor: float) -> None:
    with pytest.raises(ValueError, match=r"capacity_factor must be in \(0, 1\]"):
        qa_solar(capacity_factor=capacity_factor)


def test_solar_capacity_factor_unreachable() -> None:
    # At most the share of daylight hours (about 54 %) can be reached.
    with pytest.raises(ValueError, match="cannot be reached"):
        qa_solar(capacity_factor=0.6)


def test_solar_bad_location() -> None:
    with pytest.raises(ValueError, match="latitude_deg"):
        qa_solar(latitude_deg=91.0)
    with pytest.raises(ValueError, match="longitude_deg"):
        qa_solar(longitude_deg=200.0)


# ---------------------------------------------------------------------------------
# Wind


def test_wind_bounds_and_monthly_means() -> None:
    timestamps = fy25_hours()
    wind = wind_pu(timestamps, WIND_CF)
    assert np.all((wind >= 0.0) & (wind <= 1.0))
    monthly_mean = pd.Series(wind, timestamps).groupby(timestamps.month).mean()
    np.testing.assert_allclose(monthly_mean.to_numpy(), WIND_CF, rtol=1e-12)


def test_wind_diurnal_cycle_peaks_at_peak_hour() -> None:
    timestamps = fy25_hours()
    days = wind_pu(timestamps, WIND_CF, diurnal_amplitude=0.3, peak_hour=16.5).reshape(365, 24)
    assert np.all(days.argmax(axis=1) == 16)
    assert np.all(days.argmin(axis=1) == 4)
    # Amplitude relative to the month's mean (no clipping at these capacity factors).
    june = wind_pu(timestamps, WIND_CF, 0.3, 16.5)[timestamps.month == 6]
    assert june.max() / june.mean() == pytest.approx(1.0 + 0.3 * np.cos(0.0), rel=1e-12)


def test_wind_without_cycle_is_flat() -> None:
    timestamps = fy25_hours()
    wind = wind_pu(timestamps, WIND_CF, diurnal_amplitude=0.0)
    np.testing.assert_allclose(wind, np.asarray(WIND_CF)[timestamps.month - 1], rtol=1e-12)


def test_wind_clipping_keeps_monthly_mean() -> None:
    timestamps = fy25_hours()
    high_cf = [0.9] * 12
    wind = wind_pu(timestamps, high_cf, diurnal_amplitude=0.5)
    assert wind.max() == 1.0
    assert np.all(wind <= 1.0)
    monthly_mean = pd.Series(wind, timestamps).groupby(timestamps.month).mean()
    np.testing.assert_allclose(monthly_mean.to_numpy(), high_cf, rtol=1e-12)
    np.testing.assert_allclose(wind_pu(timestamps, [1.0] * 12), 1.0)


def test_wind_partial_month_mean() -> None:
    timestamps = pd.date_range("2025-06-10 07:00", periods=100, freq="h", tz="Asia/Karachi")
    assert wind_pu(timestamps, WIND_CF).mean() == pytest.approx(WIND_CF[5], rel=1e-12)


@pytest.mark.parametrize("bad", [0.0, -0.2, 1.5, float("nan")])
def test_wind_capacity_factor_out_of_range(bad: float) -> None:
    capacity_factors = list(WIND_CF)
    capacity_factors[10] = bad
    with pytest.raises(ValueError, match=r"month 11 must be in \(0, 1\]"):
        wind_pu(fy25_hours(), capacity_factors)


def test_wind_bad_arguments() -> None:
    with pytest.raises(ValueError, match="12 values"):
        wind_pu(fy25_hours(), WIND_CF[:11])
    with pytest.raises(ValueError, match="diurnal_amplitude"):
        wind_pu(fy25_hours(), WIND_CF, diurnal_amplitude=1.5)
    with pytest.raises(ValueError, match="peak_hour"):
        wind_pu(fy25_hours(), WIND_CF, peak_hour=24.0)


@settings(max_examples=50, deadline=None)
@given(
    capacity_factors=st.lists(
        st.floats(min_value=0.01, max_value=1.0, allow_nan=False), min_size=12, max_size=12
    ),
    amplitude=st.floats(min_value=0.0, max_value=1.0),
    peak_hour=st.floats(min_value=0.0, max_value=23.99),
)
def test_wind_property_monthly_means_and_bounds(
    capacity_factors: list[float], amplitude: float, peak_hour: float
) -> None:
    timestamps = fy25_hours()
    wind = wind_pu(timestamps, capacity_factors, amplitude, peak_hour)
    assert np.all((wind >= 0.0) & (wind <= 1.0))
    monthly_mean = pd.Series(wind, timestamps).groupby(timestamps.month).mean()
    np.testing.assert_allclose(monthly_mean.to_numpy(), capacity_factors, rtol=1e-12)


# ---------------------------------------------------------------------------------
# Monthly steps


def test_monthly_pu_assigns_each_month_its_value() -> None:
    timestamps = fy25_hours()
    values = [0.1 * k for k in range(1, 11)] + [0.0, 1.0]  # Jan 0.1 ... Oct 1.0, Nov 0, Dec 1
    hydro = monthly_pu(timestamps, values)
    series = pd.Series(hydro, timestamps)
    assert series["2025-01-15 03:00"] == pytest.approx(0.1)
    assert series["2024-07-31 23:00"] == pytest.approx(0.7)
    assert series["2024-08-01 00:00"] == pytest.approx(0.8)
    assert series["2024-11"].eq(0.0).all()
    assert series["2024-12"].eq(1.0).all()
    by_month = series.groupby(timestamps.month).agg(["min", "max"])
    np.testing.assert_allclose(by_month["min"], values)
    np.testing.assert_allclose(by_month["max"], values)


def test_monthly_pu_uses_local_month() -> None:
    # 2024-07-31 20:00 UTC is already 1 August in Karachi.
    timestamps = pd.DatetimeIndex(["2024-07-31 20:00"], tz="UTC").tz_convert("Asia/Karachi")
    values = [0.0] * 12
    values[7] = 0.5
    assert monthly_pu(timestamps, values)[0] == 0.5


def test_monthly_pu_bad_values() -> None:
    with pytest.raises(ValueError, match="12 values"):
        monthly_pu(fy25_hours(), [0.5] * 13)
    with pytest.raises(ValueError, match=r"month 3 must be in \[0, 1\]"):
        monthly_pu(fy25_hours(), [0.5, 0.5, 1.2] + [0.5] * 9)
    with pytest.raises(ValueError, match=r"month 1 must be in \[0, 1\]"):
        monthly_pu(fy25_hours(), [float("nan")] + [0.5] * 11)
