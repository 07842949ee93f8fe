"""Tests of megawatt.grid.headroom: the Duke "Rethinking Load Growth" headroom method.

The expected headrooms are derived by hand in the comments. Notation: a new load L [MW];
the margin of an hour is d = threshold - load; the hour's curtailment is
min(L, max(0, L - d)), so with n0 hours at d <= 0, the total curtailment is

    C(L) = n0 L + sum over hours with 0 < d < L of (L - d),

and the headroom at a target rate r over N hours solves C(L) = r N L.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from megawatt.grid.headroom import (
    SEASONS_DUKE,
    HeadroomRow,
    curtailment_mw,
    curtailment_rate,
    headroom_by_year,
    headroom_mw,
    headroom_table,
    thresholds_mw,
)
from megawatt.io import read_load_csv

TIGHT_MW = 1e-6  # bisection tolerance for comparisons with exact hand answers


def hours(start: str, periods: int) -> pd.DatetimeIndex:
    return pd.date_range(start, periods=periods, freq="h")


def hand_year() -> pd.Series:
    """2023: 100 MW, Dec-Feb 80 MW, one January hour at 120 MW, ten July hours at 150 MW.

    Hours: Jan 744 + Feb 672 + Dec 744 = 2160 winter hours (2159 at 80, one at 120);
    Mar 744 + Nov 720 = 1464; Apr-Oct = 5136 (5126 at 100, ten at 150). Total 8760.
    """
    index = hours("2023-01-01", 8760)
    load = pd.Series(100.0, index=index)
    load[index.month.isin([12, 1, 2])] = 80.0
    load["2023-01-10 18:00"] = 120.0
    load["2023-07-15 10:00":"2023-07-15 19:00"] = 150.0
    return load


# --------------------------------------------------------------------------- thresholds


def test_thresholds_duke_annual_monthly_on_hand_year() -> None:
    load = hand_year()
    duke = thresholds_mw(load)
    # Summer peak (Jun-Aug) 150 for Apr-Oct; winter peak (Dec-Feb) 120 for Nov-Mar.
    summer = load.index.month.isin(range(4, 11))
    assert (duke[summer] == 150.0).all()
    assert (duke[~summer] == 120.0).all()
    assert (thresholds_mw(load, "annual") == 150.0).all()
    monthly = thresholds_mw(load, "monthly")
    assert monthly["2023-01"].eq(120.0).all()
    assert monthly["2023-02"].eq(80.0).all()
    assert monthly["2023-07"].eq(150.0).all()
    assert monthly["2023-11"].eq(100.0).all()
    assert duke.index.equals(load.index)
    assert duke.name == "threshold_mw"


def test_season_dict_equal_to_published_mapping_reproduces_duke() -> None:
    load = hand_year()
    pd.testing.assert_series_equal(thresholds_mw(load, dict(SEASONS_DUKE)), thresholds_mw(load))
    row = headroom_table(load, targets=[0.01], mapping=dict(SEASONS_DUKE))
    assert row["mapping"].iloc[0] == "duke"


def test_thresholds_are_peaks_of_each_year() -> None:
    # 2023 peaks at 150 MW, 2024 at 140 MW: each year gets its own annual threshold.
    load = pd.Series(100.0, index=hours("2023-01-01", 8760 + 8784))
    load["2023-07-01 12:00"] = 150.0
    load["2024-07-01 12:00"] = 140.0
    thresholds = thresholds_mw(load, "annual")
    assert thresholds["2023"].eq(150.0).all()
    assert thresholds["2024"].eq(140.0).all()


def test_partial_year_without_peak_months_is_an_error() -> None:
    load = pd.Series(1.0, index=hours("2023-03-01", 24 * 10))  # March only
    with pytest.raises(ValueError, match=r"year 2023 .* winter threshold .* no load in Dec-Feb"):
        thresholds_mw(load)
    assert thresholds_mw(load, "monthly").eq(1.0).all()


def test_year_start_month_groups_a_fiscal_year() -> None:
    # July 2023 to June 2024: two calendar years, one fiscal year labelled 2023.
    load = pd.Series(100.0, index=hours("2023-07-01", 8784))
    load["2023-08-01 20:00"] = 130.0
    assert list(headroom_by_year(load, [0.01], "annual").index.unique("year")) == [2023, 2024]
    fiscal = headroom_by_year(load, [0.01], "annual", year_start_month=7)
    assert list(fiscal.index.unique("year")) == [2023]
    # One year: 2024's first half is judged against the August 2023 peak of 130 MW.
    assert thresholds_mw(load, "annual", year_start_month=7).eq(130.0).all()


# --------------------------------------------------------------------------- curtailment


def test_curtailment_is_capped_at_the_new_load() -> None:
    load = pd.Series([100.0, 130.0, 90.0], index=hours("2023-07-01", 3))
    thresholds = pd.Series(120.0, index=load.index)
    # L = 10: 100+10-120 = -10 -> 0; 130+10-120 = 20 -> capped at 10; 90+10-120 < 0 -> 0.
    np.testing.assert_array_equal(curtailment_mw(load, 10.0, thresholds), [0.0, 10.0, 0.0])
    # L = 25: 100+25-120 = 5; 130+25-120 = 35 -> capped at 25; 90+25-120 = -5 -> 0.
    np.testing.assert_array_equal(curtailment_mw(load, 25.0, thresholds), [5.0, 25.0, 0.0])
    # Rate = (5 + 25) / (25 x 3) = 0.4 (uncapped it would be (5 + 35) / 75 = 0.533).
    assert curtailment_rate(load, 25.0, thresholds) == pytest.approx(0.4)
    # L -> 0+: only the hour above its threshold is curtailed, wholly: rate 1/3.
    assert curtailment_rate(load, 0.0, thresholds) == pytest.approx(1 / 3)


def test_cap_with_duke_thresholds_when_november_exceeds_the_winter_peak() -> None:
    load = hand_year()
    load["2023-11-15 18:00"] = 200.0  # 80 MW above the winter threshold of 120 MW
    curtailed = curtailment_mw(load, 5.0, thresholds_mw(load))
    # Uncapped: 200 + 5 - 120 = 85 MW; the new load can only lose its own 5 MW.
    assert curtailed["2023-11-15 18:00"] == 5.0
    assert curtailed.max() == 5.0


# --------------------------------------------------------------------------- headroom


def test_headroom_annual_mapping_by_hand() -> None:
    # Threshold 150 everywhere; margins d: 0 (ten July hours), 30 (the 120-MW hour),
    # 50 (6590 hours at 100 MW: 5126 Apr-Oct + 1464 Mar/Nov), 70 (2159 hours at 80 MW).
    #   C(L) = 10 L + (L - 30)+ + 6590 (L - 50)+ + 2159 (L - 70)+.
    # For L <= 50: C <= 11 L, rate <= 11/8760 = 0.126 % < 0.25 %: no binding below 50.
    # Above 50 (and below 70): 6601 L - 30 - 329500 = r 8760 L, so
    #   r = 0.25 %: L = 329530 / (6601 - 21.9) = 329530 / 6579.1 = 50.0874 MW,
    #   r = 5 %:    L = 329530 / (6601 - 438)  = 329530 / 6163   = 53.4691 MW.
    load = hand_year()
    assert headroom_mw(load, 0.0025, "annual", TIGHT_MW) == pytest.approx(329530 / 6579.1)
    assert headroom_mw(load, 0.05, "annual", TIGHT_MW) == pytest.approx(329530 / 6163)
    # Default tolerance: at most 0.1 MW below the exact answer.
    coarse = headroom_mw(load, 0.0025, "annual")
    assert 329530 / 6579.1 - 0.1 <= coarse <= 329530 / 6579.1


def test_headroom_duke_mapping_by_hand() -> None:
    # Thresholds 150 (Apr-Oct) and 120 (Nov-Mar); margins d: 0 (ten 150-MW hours and the
    # 120-MW hour: 11 h), 20 (1464 Mar/Nov hours at 100), 40 (2159 winter hours at 80),
    # 50 (5126 Apr-Oct hours at 100).
    #   C(L) = 11 L + 1464 (L - 20)+ + 2159 (L - 40)+ + 5126 (L - 50)+.
    # Between 20 and 40: 1475 L - 29280 = r 8760 L, so
    #   r = 0.25 %: L = 29280 / (1475 - 21.9) = 29280 / 1453.1 = 20.1500 MW,
    #   r = 5 %:    L = 29280 / (1475 - 438)  = 29280 / 1037   = 28.2353 MW.
    load = hand_year()
    assert headroom_mw(load, 0.0025, "duke", TIGHT_MW) == pytest.approx(29280 / 1453.1)
    assert headroom_mw(load, 0.05, "duke", TIGHT_MW) == pytest.approx(29280 / 1037)


def test_headroom_zero_when_load_sits_at_its_threshold_too_often() -> None:
    # Monthly peaks: every hour of the flat months (Feb, Mar-Jun, Aug-Dec) is at its
    # month's peak, plus the 120-MW January hour and the ten 150-MW July hours: all but
    # 743 (January at 80) + 734 (July at 100) hours, 7283 / 8760 = 83.14 % > 5 %.
    load = hand_year()
    assert headroom_mw(load, 0.05, "monthly") == 0.0
    row = headroom_table(load, targets=[0.05], mapping="monthly").iloc[0]
    assert row["new_load_mw"] == 0.0
    assert row["curtailed_hours"] == 0.0
    assert row["events"] == 0.0
    assert np.isnan(row["curtailment_rate"])
    assert row["note"].startswith("no headroom")
    assert "83.14%" in row["note"]


def summer_peaking_year() -> pd.Series:
    """2023 with a Pakistan-like seasonal level and a daily swing of +-10 MW.

    A ramp of 0.5 MW per day within each month makes every month's peak unique (its last
    day at 15:00). November (75) and March (80) sit above the Dec-Feb levels (60-65).
    """
    index = hours("2023-01-01", 8760)
    level = {1: 60, 2: 62, 3: 80, 4: 100, 5: 120, 6: 140, 7: 150, 8: 145, 9: 125, 10: 100}
    level |= {11: 75, 12: 65}
    base = index.month.map(level).to_numpy(dtype=float)
    daily = 10.0 * np.sin(2 * np.pi * (index.hour.to_numpy() - 9) / 24)  # peak at 15:00
    ramp = 0.5 * index.day.to_numpy()
    return pd.Series(base + daily + ramp, index=index)


def test_published_seasons_leave_no_headroom_on_a_summer_peaking_system() -> None:
    load = summer_peaking_year()
    # The winter peak is December's 65 + 10 + 15.5 = 90.5 MW; November (up to 75 + 10 + 15)
    # and March (up to 80 + 10 + 15.5) exceed it in their late afternoons for about two weeks,
    # far more than 0.25 % of the year (22 h): no load is small enough.
    table = {m: headroom_table(load, targets=[0.0025], mapping=m) for m in ("duke", "monthly")}
    table["annual"] = headroom_table(load, targets=[0.0025], mapping="annual")
    duke, monthly, annual = (table[m]["new_load_mw"].iloc[0] for m in ("duke", "monthly", "annual"))
    assert duke == 0.0
    assert "no headroom" in table["duke"]["note"].iloc[0]
    # Monthly: 12 unique peaks -> rate 12/8760 = 0.137 % as L -> 0+, below 0.25 %; next
    # come 14:00 and 16:00 of each month's last day (d = 10 (1 - cos 15 deg) = 0.34 MW),
    # so at L = 0.5: C = 12 x 0.5 + 24 x 0.16 = 9.84 MWh, rate 9.84 / (0.5 x 8760) = 0.225 %
    # and the headroom is above 0.5 MW. Monthly thresholds are never above annual ones, so
    # monthly <= annual.
    assert 0.5 - 0.1 < monthly <= annual  # default tolerance 0.1 MW
    for m in ("duke", "monthly", "annual"):
        assert table[m]["mapping"].iloc[0] == m
    # Giving November and March the summer threshold restores headroom.
    custom = dict(SEASONS_DUKE) | {11: "summer", 3: "summer"}
    fixed = headroom_table(load, targets=[0.0025], mapping=custom).iloc[0]
    assert fixed["new_load_mw"] > 0.0
    assert fixed["mapping"] == "custom: summer 3,4,5,6,7,8,9,10,11; winter 1,2,12"


def two_years() -> pd.Series:
    """2023 (8760 h): 100 MW, ten hours at 150; 2024 (8784 h): 100 MW, fifty hours at 140."""
    load = pd.Series(100.0, index=hours("2023-01-01", 8760 + 8784))
    load["2023-07-15 10:00":"2023-07-15 19:00"] = 150.0
    load["2024-07-01 00:00":"2024-07-03 01:00"] = 140.0
    assert (load["2024"] == 140.0).sum() == 50
    return load


def test_multi_year_answers_are_averaged() -> None:
    # One year, annual threshold P over base B, k hours at P: for L >= P - B every hour
    # curtails, C = k L + (N - k)(L - (P - B)) = r N L, so L = (N - k)(P - B) / (N (1 - r)),
    # valid when k <= r N; when k > r N even L -> 0+ is curtailed too much: L = 0.
    #   2023, r = 1 %:    L = 8750 x 50 / (8760 x 0.99)   = 437500 / 8672.4   = 50.4474 MW
    #   2024, r = 1 %:    L = 8734 x 40 / (8784 x 0.99)   = 349360 / 8696.16  = 40.1742 MW
    #   2023, r = 0.25 %: L = 8750 x 50 / (8760 x 0.9975) = 437500 / 8738.1   = 50.0681 MW
    #   2024, r = 0.25 %: k / N = 50 / 8784 = 0.569 % > 0.25 %: L = 0.
    load = two_years()
    by_year = headroom_by_year(load, [0.0025, 0.01], "annual", TIGHT_MW)
    expected = {
        (2023, 0.01): 437500 / 8672.4,
        (2024, 0.01): 349360 / 8696.16,
        (2023, 0.0025): 437500 / 8738.1,
        (2024, 0.0025): 0.0,
    }
    for key, value in expected.items():
        assert by_year.loc[key, "new_load_mw"] == pytest.approx(value, abs=1e-5)
    table = headroom_table(load, [0.0025, 0.01], "annual", TIGHT_MW)
    assert list(table.index) == [0.0025, 0.01]
    assert table.loc[0.01, "new_load_mw"] == pytest.approx((437500 / 8672.4 + 349360 / 8696.16) / 2)
    assert table.loc[0.0025, "new_load_mw"] == pytest.approx(437500 / 8738.1 / 2)
    assert (table["years"] == 2).all()
    # At 1 % every hour of both years is curtailed (L > 50 and L > 40): (8760 + 8784) / 2.
    assert table.loc[0.01, "curtailed_hours"] == pytest.approx(8772.0)
    assert table.loc[0.0025, "note"].startswith("2024: no headroom")
    # Per-year solutions equal headroom_mw on that year alone.
    assert headroom_mw(load["2024"], 0.01, "annual", TIGHT_MW) == pytest.approx(
        by_year.loc[(2024, 0.01), "new_load_mw"], abs=1e-5
    )


def test_events_and_keep_shares_on_a_hand_made_pattern() -> None:
    # 340 hours at 0 MW except: two hours at 150 (d = 0, 0), three consecutive hours at
    # 145, 138, 134 (d = 5, 12, 16) and one hour at 131 (d = 19); annual threshold 150.
    # At r = 1 % (r N = 3.4) with all six hours curtailed: 6 L - 52 = 3.4 L, L = 20 MW
    # (>= 19, so consistent). Curtailments at L = 20: 20, 20 | 15, 8, 4 | 1 = 68 MWh
    # = 1 % x 20 x 340. Three events (2, 3 and 1 h), mean 2 h. Keep >= 50 % (c <= 10):
    # 8, 4, 1 -> 3/6; >= 75 % (c <= 5): 4, 1 -> 2/6; >= 90 % (c <= 2): 1 -> 1/6.
    load = pd.Series(0.0, index=hours("2023-03-01", 340))
    load.iloc[[100, 101]] = 150.0
    load.iloc[200:203] = [145.0, 138.0, 134.0]
    load.iloc[300] = 131.0
    row = headroom_table(load, targets=[0.01], mapping="annual", tol_mw=TIGHT_MW).iloc[0]
    assert row["new_load_mw"] == pytest.approx(20.0)
    assert row["curtailed_mwh"] == pytest.approx(68.0, abs=1e-4)
    assert row["curtailment_rate"] == pytest.approx(0.01)
    assert row["curtailed_hours"] == 6
    assert row["events"] == 3
    assert row["mean_event_h"] == pytest.approx(2.0)
    assert row["share_hours_keep_50"] == pytest.approx(3 / 6)
    assert row["share_hours_keep_75"] == pytest.approx(2 / 6)
    assert row["share_hours_keep_90"] == pytest.approx(1 / 6)
    assert row["mapping"] == "annual"
    assert row["note"] == ""


def test_table_columns_are_the_row_fields() -> None:
    table = headroom_table(hand_year(), mapping="annual")
    assert table.index.name == "target_rate"
    assert list(table.index) == [0.0025, 0.005, 0.01, 0.05]
    fields = list(HeadroomRow.__dataclass_fields__)
    assert ["target_rate", *table.columns] == fields
    # The table feeds frame_table(..., index="target_rate"), which resets the index.
    assert "target_rate" in table.reset_index().columns
    # Headroom grows with the allowed curtailment.
    assert table["new_load_mw"].is_monotonic_increasing


# --------------------------------------------------------------------------- properties

loads = st.lists(st.floats(0, 1000, allow_nan=False), min_size=2, max_size=120)


@settings(max_examples=200, deadline=None)
@given(
    values=loads,
    offsets=st.lists(st.floats(-200, 200, allow_nan=False), min_size=120, max_size=120),
    a=st.floats(1e-3, 3000),
    b=st.floats(1e-3, 3000),
)
def test_curtailment_rate_non_decreasing_in_new_load(
    values: list[float], offsets: list[float], a: float, b: float
) -> None:
    load = pd.Series(values, index=hours("2023-05-01", len(values)))
    thresholds = pd.Series(np.asarray(values) + offsets[: len(values)], index=load.index)
    low, high = sorted((a, b))
    assert (
        curtailment_rate(load, low, thresholds) <= curtailment_rate(load, high, thresholds) + 1e-12
    )
    assert 0.0 <= curtailment_rate(load, high, thresholds) <= 1.0


@example(values=[0.0] * 7 + [1.0] * 3, target=0.3)  # rate flat at the target up to L = 1
@settings(max_examples=100, deadline=None)
@given(values=loads, target=st.sampled_from([0.0025, 0.01, 0.05, 0.3, 0.9]))
def test_headroom_is_the_largest_feasible_load(values: list[float], target: float) -> None:
    load = pd.Series(values, index=hours("2023-05-01", len(values)))
    thresholds = thresholds_mw(load, "annual")
    tol = 0.01
    found = headroom_mw(load, target, "annual", tol)
    if found > 0:
        assert curtailment_rate(load, found, thresholds) <= target + 1e-12
    # bisection stops within tol below the largest feasible load, so one more tol can
    # still end exactly on a plateau's edge; two are beyond it
    assert curtailment_rate(load, found + 2 * tol, thresholds) > target


# --------------------------------------------------------------------------- input checks


@pytest.mark.parametrize(
    ("load", "message"),
    [
        (pd.Series([1.0, np.nan], index=hours("2023-01-01", 2)), "missing or non-finite"),
        (pd.Series([1.0, -2.0], index=hours("2023-01-01", 2)), "must be >= 0 MW, got -2"),
        (
            pd.Series([1.0, 2.0], index=pd.date_range("2023-01-01", periods=2, freq="30min")),
            "must be hourly",
        ),
        (
            pd.Series([1.0, 2.0], index=pd.DatetimeIndex(["2023-01-01 00:00", "2023-01-01 03:00"])),
            "step of 0 days 03:00:00",
        ),
        (pd.Series([1.0, 2.0], index=pd.DatetimeIndex(["2023-01-01 00:00"] * 2)), "must be hourly"),
        (pd.Series([1.0, 2.0]), "DatetimeIndex"),
        (pd.Series([], dtype=float, index=pd.DatetimeIndex([])), "empty"),
    ],
)
def test_bad_load_series(load: pd.Series, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        headroom_mw(load, 0.01, "annual")


@pytest.mark.parametrize("target", [0.0, 1.0, -0.01, 1.5, float("nan")])
def test_target_outside_open_unit_interval(target: float) -> None:
    with pytest.raises(ValueError, match=r"must be in \(0, 1\)"):
        headroom_mw(hand_year(), target)
    with pytest.raises(ValueError, match=r"must be in \(0, 1\)"):
        headroom_table(hand_year(), targets=[0.01, target])


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ("seasonal", "must be one of duke, monthly, annual"),
        ({m: "summer" for m in range(1, 12)}, r"missing \[12\]"),
        (dict(SEASONS_DUKE) | {7: "monsoon"}, "month 7 -> 'monsoon'"),
    ],
)
def test_bad_mapping(mapping: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        thresholds_mw(hand_year(), mapping)  # type: ignore[arg-type]


def test_bad_curtailment_arguments() -> None:
    load = hand_year()
    with pytest.raises(ValueError, match="new_load_mw must be a finite number >= 0"):
        curtailment_mw(load, -1.0, thresholds_mw(load))
    with pytest.raises(ValueError, match="same index"):
        curtailment_rate(load, 1.0, thresholds_mw(load).iloc[:-1])
    with pytest.raises(ValueError, match="tol_mw"):
        headroom_mw(load, 0.01, tol_mw=0.0)


# --------------------------------------------------------------------------- CSV input


def write(tmp_path: Path, text: str, name: str = "load.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_read_iso_csv(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "timestamp,load_mw\n2023-01-01T01:00,12.5\n2023-01-01T00:00,10\n\n2023-01-01 02:00,11\n",
    )
    load = read_load_csv(path)
    assert load.name == "load_mw"
    assert load.index.name == "timestamp"
    assert list(load.index) == list(hours("2023-01-01", 3))  # rows sorted in time
    assert load.tolist() == [10.0, 12.5, 11.0]


def test_read_ntdc_csv_hour_ending(tmp_path: Path) -> None:
    # HOUR 1 (hour ending 01:00) begins at 00:00; HOUR 24 of 01/07/2024 begins at 23:00.
    rows = [f"01/07/2024,{h},{1000 + h}" for h in range(1, 25)] + ["02/07/2024,1,2000"]
    load = read_load_csv(write(tmp_path, "DATE,HOUR,SYSLOAD\n" + "\n".join(rows) + "\n"))
    assert load.index[0] == pd.Timestamp("2024-07-01 00:00")
    assert load.index[23] == pd.Timestamp("2024-07-01 23:00")
    assert load.index[24] == pd.Timestamp("2024-07-02 00:00")
    assert load.iloc[23] == 1024.0
    assert len(load) == 25
    iso = read_load_csv(write(tmp_path, " date , Hour ,sysload\n2024-07-01,1,5\n2024-07-01,2,6\n"))
    assert list(iso.index) == list(hours("2024-07-01", 2))


NTDC_HEAD = "DATE,HOUR,SYSLOAD\n01/07/2024,1,100\n01/07/2024,2,110\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (NTDC_HEAD + "01/07/2024,3,abc\n", "line 4, column SYSLOAD: must be a number (got 'abc')"),
        (
            NTDC_HEAD + "01/07/2024,3,\n",
            "line 4, column SYSLOAD: empty cell; a number is required (got '')",
        ),
        (NTDC_HEAD + "01/07/2024,3,-5\n", "line 4, column SYSLOAD: must be >= 0 MW (got '-5')"),
        (NTDC_HEAD + "01/07/2024,25,100\n", "line 4, column HOUR: must be a whole hour 1-24"),
        (NTDC_HEAD + "01/07/2024,2.5,100\n", "column HOUR: must be a whole hour 1-24 (hour"),
        (NTDC_HEAD + "31/02/2024,3,100\n", "line 4, column DATE: must be a date"),
        (
            NTDC_HEAD + "01/07/2024,2,120\n",
            "line 4: duplicate hour 2024-07-01 01:00:00 (also on line 3)",
        ),
        (
            NTDC_HEAD + "01/07/2024,5,120\n",
            "line 4: gap of 2 h: no load from 2024-07-01 02:00:00 "
            "to 2024-07-01 03:00:00 (between line 3 and line 4)",
        ),
        (
            "timestamp,load_mw\n2023-01-01 00:00,1\n2023-01-01 00:30,1\n",
            "line 3, column timestamp: must be on the hour (got '2023-01-01 00:30')",
        ),
        ("timestamp,load_mw\nyesterday,1\n", "line 2, column timestamp: must be an ISO 8601"),
        (
            "time,mw\n2023-01-01 00:00,1\n",
            "line 1: expected columns timestamp,load_mw or DATE,HOUR,SYSLOAD (got 'time,mw')",
        ),
        ("timestamp,load_mw\n", "no data rows"),
        ("", "empty"),
    ],
)
def test_read_csv_errors(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ValueError) as info:
        read_load_csv(path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)


def test_read_csv_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="file not found"):
        read_load_csv(tmp_path / "nope.csv")


@pytest.mark.parametrize("scale", [1e15, 1e18, 1e300])
def test_huge_loads_end(scale: float) -> None:
    """A 0.1 MW tolerance below the float spacing of L once hung the bisection."""
    import time

    hours = pd.date_range("2023-01-01", periods=8760, freq="h")
    load = pd.Series(scale, index=hours)
    load.iloc[4000:4010] = 1.5 * scale  # ten hours at the annual peak
    start = time.perf_counter()
    table = headroom_table(load, targets=[0.01], mapping="annual")
    assert time.perf_counter() - start < 5.0
    # the same answer as at 100 MW, times the scale (to float precision)
    small = headroom_table(load / scale * 100.0, targets=[0.01], mapping="annual", tol_mw=1e-9)
    assert table.new_load_mw.iloc[0] == pytest.approx(
        small.new_load_mw.iloc[0] * scale / 100.0, rel=1e-9
    )
    assert table.curtailment_rate.iloc[0] <= 0.01 * (1 + 1e-9)
