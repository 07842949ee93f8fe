"""Bitcoin economics: protocol rules, the FACTS.md check value, break-even identities."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from megawatt.economics import bitcoin as btc


def test_check_value_28_dec_2025() -> None:
    """$87,748, fees 2.155 BTC over the day's 155 blocks (484.375 BTC), difficulty
    148.26T (25 Dec 2025 retarget), block 929,000: $37.4/PH/day."""
    blocks = 484.375 / 3.125
    assert blocks == 155
    hp = btc.hashprice(929_000, 87_748, 2.155 / blocks, difficulty=148.26e12)
    assert hp.usd_per_ph_day == pytest.approx(37.4, abs=0.1)  # USD per PH/s per day
    # the day's hashrate estimate (1.142e9 TH/s) goes with the day's 155 blocks
    day = btc.hashprice(
        929_000, 87_748, 2.155 / blocks, network_hashrate_th_s=1.142e9, blocks_per_day=blocks
    )
    assert day.usd_per_ph_day == pytest.approx(hp.usd_per_ph_day, rel=1e-3)
    # with 144 blocks it gives less, by 144/155
    expected = btc.hashprice(929_000, 87_748, 2.155 / blocks, network_hashrate_th_s=1.142e9)
    assert expected.usd_per_th_day == pytest.approx(day.usd_per_th_day * 144 / 155)


def test_difficulty_and_hashrate_agree() -> None:
    difficulty = 148.26e12
    hashrate = btc.hashrate_from_difficulty_th_s(difficulty)
    assert hashrate / 1e6 == pytest.approx(1061, rel=0.01)  # EH/s, Jan 2026 ~1,024-1,052
    by_hashrate = btc.hashprice(929_000, 1.0, 0.01, network_hashrate_th_s=hashrate)
    by_difficulty = 86_400e12 * (3.125 + 0.01) / (difficulty * 2**32)
    assert by_hashrate.btc_per_th_day == pytest.approx(by_difficulty, rel=1e-12)
    assert btc.hashprice(929_000, 1.0, 0.01, difficulty=difficulty).btc_per_th_day == pytest.approx(
        by_difficulty, rel=1e-12
    )


@pytest.mark.parametrize(
    ("height", "subsidy"),
    [
        (0, 50),
        (209_999, 50),
        (210_000, 25),
        (840_000, 3.125),
        (1_049_999, 3.125),
        (1_050_000, 1.5625),
        (64 * 210_000, 0),
        (10**9, 0),
    ],
)
def test_subsidy_by_height(height: int, subsidy: float) -> None:
    assert btc.block_subsidy_btc(height) == subsidy


def test_halving_estimate() -> None:
    height, when = btc.next_halving(929_000, pd.Timestamp("2025-12-28"))
    assert height == 1_050_000
    assert pd.Timestamp("2028-03-15") <= when <= pd.Timestamp("2028-05-15")
    assert btc.halving_heights(840_000, 2) == [1_050_000, 1_260_000]


@pytest.mark.parametrize(
    ("span_factor", "factor"), [(0.1, 4.0), (10.0, 0.25), (1.0, 1.0), (0.5, 2.0)]
)
def test_retarget_clamp(span_factor: float, factor: float) -> None:
    target = 2016 * 600
    assert btc.retarget_difficulty(100.0, target * span_factor) == pytest.approx(100 * factor)


def test_break_even_identities() -> None:
    hp = 0.0374
    price = btc.break_even_usd_per_mwh(hp, 17.5, 0.02)
    # hand: 0.0374 x 0.98 / (0.024 x 17.5) x 1000 = 87.27 USD/MWh
    assert price == pytest.approx(0.0374 * 0.98 / (0.024 * 17.5) * 1000)
    # at the break-even price, a TH/s-day's revenue equals its energy cost
    energy_mwh_per_th_day = 17.5 * 24 / 1e6
    assert hp * 0.98 - price * energy_mwh_per_th_day == pytest.approx(0, abs=1e-12)
    assert btc.break_even_usd_per_mwh(hp, 35.0, 0.02) == pytest.approx(price / 2)
    assert btc.break_even_usd_per_mwh(hp, 17.5, 0.0) * 0.98 == pytest.approx(price)
    assert btc.break_even_usd_per_mwh(hp, 17.5, 0.02, pue=1.25) == pytest.approx(price / 1.25)
    assert btc.revenue_usd_per_mwh(hp, 17.5, 0.02) == price
    with pytest.raises(ValueError, match="pool_fee_share"):
        btc.break_even_usd_per_mwh(hp, 17.5, 1.0)


def _usd(price: float, hashrate: float) -> float:
    return btc.hashprice(929_000, price, 0.02, network_hashrate_th_s=hashrate).usd_per_th_day


@given(st.floats(1e3, 1e6), st.floats(1e3, 1e6), st.floats(1e8, 1e10))
def test_hashprice_rises_with_price(p1: float, p2: float, hashrate: float) -> None:
    low, high = sorted((p1, p2))
    a = _usd(low, hashrate)
    b = _usd(high, hashrate)
    assert b >= a
    if high > low * (1 + 1e-9):
        assert b > a


@given(st.floats(1e8, 1e10), st.floats(1e8, 1e10))
def test_hashprice_falls_with_hashrate(h1: float, h2: float) -> None:
    low, high = sorted((h1, h2))
    assert _usd(9e4, high) <= _usd(9e4, low)


@given(st.integers(0, 40 * 210_000))
def test_subsidy_halves_and_never_rises(height: int) -> None:
    now = btc.block_subsidy_btc(height)
    assert btc.block_subsidy_btc(height + 1) <= now
    nxt = btc.halving_heights(height)[0]
    before, after = btc.block_subsidy_btc(nxt - 1), btc.block_subsidy_btc(nxt)
    assert after == pytest.approx(before / 2, abs=1e-8)  # integer satoshis


def test_catalogue_and_fleet() -> None:
    cat = btc.load_asic_catalogue()
    assert set(cat.index) == {"S19 XP", "S21", "S21+", "S21 XP", "S21 XP Hyd", "M60S"}
    assert np.allclose(cat.power_w / cat.hashrate_th_s, cat.efficiency_j_per_th, rtol=0.03)
    # 10 MW at the meter, PUE 1.05, half S21 XP (3,645 W, 270 TH), half S21 (3,500 W, 200 TH)
    fleet = btc.fleet_from_mix(10, [("S21 XP", 0.5), ("S21", 0.5)], cat, pue=1.05)
    units = fleet.models.units
    assert units["S21 XP"] == int(5e6 / 1.05 // 3645)  # 1306
    assert units["S21"] == int(5e6 / 1.05 // 3500)  # 1360
    assert fleet.hashrate_th_s == 1306 * 270 + 1360 * 200
    assert fleet.capex_usd == 1306 * 6000 + 1360 * 3400
    assert fleet.efficiency_j_per_th == pytest.approx(
        (1306 * 3645 + 1360 * 3500) / fleet.hashrate_th_s
    )
    with pytest.raises(ValueError, match="unknown ASIC model"):
        btc.fleet_from_mix(10, [("S9", 1.0)], cat)
    with pytest.raises(ValueError, match="sum to 1"):
        btc.fleet_from_mix(10, [("S21", 0.5)], cat)
    with pytest.raises(ValueError, match="btc_price_usd must be > 0"):
        btc.hashprice(929_000, -1, 0.0, network_hashrate_th_s=1e9)


def test_miner_value_of_a_mix() -> None:
    """50/50 S21 XP / S21 at the check hashprice, pool fee 2%: ~100 USD/MWh (PUE 1)."""
    cat = btc.load_asic_catalogue()
    fleet = btc.fleet_from_mix(100, [("S21 XP", 0.5), ("S21", 0.5)], cat)
    hp = 0.0374
    by_hand = 0.5 * hp * 0.98 / (0.024 * 13.5) * 1000 + 0.5 * hp * 0.98 / (0.024 * 17.5) * 1000
    assert by_hand == pytest.approx(100.2, abs=0.1)
    assert btc.miner_value_usd_per_mwh(fleet, hp, 0.02) == pytest.approx(by_hand, rel=1e-3)
    revenue = btc.mining_revenue(1000, fleet, hp / 87_748, 87_748, 0.02)
    assert revenue.revenue_usd == pytest.approx(
        1000 * btc.break_even_usd_per_mwh(hp, fleet.efficiency_j_per_th, 0.02), rel=1e-9
    )


def test_hashprice_path_halving() -> None:
    dates = pd.date_range("2028-01-01", "2028-12-31", freq="D")
    n = len(dates)
    path = btc.hashprice_path(
        dates,
        np.full(n, 9e4),
        np.full(n, 1.6e9),
        np.full(n, 0.014),
        929_000,
        pd.Timestamp("2025-12-28"),
    )
    assert path.subsidy_btc.iloc[0] == 3.125 and path.subsidy_btc.iloc[-1] == 1.5625
    change = path.index[np.argmax(path.subsidy_btc.to_numpy() < 3.125)]
    assert pd.Timestamp("2028-04-01") <= change <= pd.Timestamp("2028-05-01")
