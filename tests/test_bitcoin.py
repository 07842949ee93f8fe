"""Bitcoin mining economics: protocol rules, the sourced check value, per-MWh identities."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from megawatt.economics import bitcoin as btc

# FACTS.md check value, 28 Dec 2025 (sources.yaml: coinmetrics-2025-12-28,
# difficulty-2025-12-25): price $87,748; 155 blocks found (484.375 BTC of subsidy at
# 3.125), 2.155 BTC of fees that day; Coin Metrics' day hashrate 1.142e9 TH/s; the
# difficulty in force, set at the 25 Dec 2025 retarget, 148.26T -> $37.4/PH/day.
CHECK_PRICE_USD = 87_748.0
CHECK_BLOCKS = 484.375 / 3.125
CHECK_FEES_PER_BLOCK = 2.155 / CHECK_BLOCKS
CHECK_HASHRATE_TH_S = 1.142e9
CHECK_DIFFICULTY = 148.26e12
CHECK_HEIGHT = 929_000
CHECK_DATE = pd.Timestamp("2025-12-28")


@pytest.fixture(scope="module")
def catalogue() -> pd.DataFrame:
    return btc.load_asic_catalogue()


def _check_hp(**market: float) -> btc.Hashprice:
    return btc.hashprice(CHECK_HEIGHT, CHECK_PRICE_USD, CHECK_FEES_PER_BLOCK, **market)


# ----------------------------------------------------------------------- check value


def test_check_value_28_dec_2025_from_difficulty() -> None:
    """$37.4/PH/day (the FACTS.md check value for the day) within 1 % from the day's
    difficulty 148.26T (set 25 Dec 2025, in force until ~8 Jan 2026), price $87,748,
    fees 2.155 BTC over 155 blocks and the subsidy of block 929,000 (3.125 BTC)."""
    assert CHECK_BLOCKS == 155
    hp = _check_hp(difficulty=CHECK_DIFFICULTY)
    assert hp.subsidy_btc == 3.125
    assert hp.usd_per_ph_day == pytest.approx(37.4, rel=0.01)
    assert hp.usd_per_ph_day == pytest.approx(37.372, abs=0.001)
    assert hp.btc_per_ph_day == pytest.approx(hp.usd_per_ph_day / CHECK_PRICE_USD)
    # Within Luxor's range for the period (Nov 2025 low $35.06, mean $39.82).
    assert 35.06 < hp.usd_per_ph_day < 39.82


def test_check_value_from_the_days_hashrate_needs_the_days_blocks() -> None:
    """Coin Metrics' day hashrate counts that day's 155 blocks: with them it gives the
    check value; with the expected 144 it undercounts by 144/155 ($34.7, below the
    all-time low of $35.06), the error the default scenario used to make."""
    realised = _check_hp(network_hashrate_th_s=CHECK_HASHRATE_TH_S, blocks_per_day=CHECK_BLOCKS)
    assert realised.usd_per_ph_day == pytest.approx(37.4, rel=0.01)
    by_difficulty = _check_hp(difficulty=CHECK_DIFFICULTY)
    assert realised.usd_per_ph_day == pytest.approx(by_difficulty.usd_per_ph_day, rel=0.001)
    mixed = _check_hp(network_hashrate_th_s=CHECK_HASHRATE_TH_S)
    assert mixed.usd_per_ph_day == pytest.approx(realised.usd_per_ph_day * 144 / 155)
    assert mixed.usd_per_ph_day < 35.06


def test_hashprice_by_hand() -> None:
    # D = 1e14, h = 840,000 (3.125 BTC), f = 0.075 BTC, P = $50,000:
    # 86,400 x 1e12 x 3.2 / (1e14 x 4,294,967,296) = 6.437e-7 BTC/(TH/s)/day
    # x 50,000 = 0.032186 USD/(TH/s)/day = 32.186 USD/(PH/s)/day
    hp = btc.hashprice(840_000, 50_000.0, 0.075, difficulty=1e14)
    assert hp.subsidy_btc == 3.125
    assert hp.btc_per_th_day == pytest.approx(86_400e12 * 3.2 / (1e14 * 2**32), rel=1e-15)
    assert hp.btc_per_th_day == pytest.approx(6.4373e-7, rel=1e-4)
    assert hp.usd_per_ph_day == pytest.approx(32.186, abs=1e-3)
    # hashrate form: 144 blocks x 3.2 BTC / 1e9 TH/s = 4.608e-7 BTC/(TH/s)/day
    by_hashrate = btc.hashprice(840_000, 50_000.0, 0.075, network_hashrate_th_s=1e9)
    assert by_hashrate.btc_per_th_day == pytest.approx(4.608e-7, rel=1e-12)
    # the subsidy is the height's: one block later the halving at 1,050,000 halves it
    halved = btc.hashprice([1_049_999, 1_050_000], 50_000.0, 0.0, difficulty=1e14)
    assert_allclose(halved.subsidy_btc, [3.125, 1.5625])
    assert_allclose(halved.usd_per_th_day[1] / halved.usd_per_th_day[0], 0.5)


@pytest.mark.parametrize("blocks_per_day", [144.0, 155.0, 130.0])
def test_hashprice_via_difficulty_equals_via_hashrate(blocks_per_day: float) -> None:
    difficulty = np.array([1e12, 148.26e12, 3e14])
    hashrate = btc.hashrate_from_difficulty_th_s(difficulty, blocks_per_day)
    assert_allclose(hashrate, blocks_per_day * difficulty * 2**32 / 86_400 / 1e12)
    by_hashrate = btc.hashprice(
        CHECK_HEIGHT,
        CHECK_PRICE_USD,
        0.0139,
        network_hashrate_th_s=hashrate,
        blocks_per_day=blocks_per_day,
    )
    by_difficulty = btc.hashprice(CHECK_HEIGHT, CHECK_PRICE_USD, 0.0139, difficulty=difficulty)
    assert_allclose(by_hashrate.btc_per_th_day, by_difficulty.btc_per_th_day, rtol=1e-12)
    assert_allclose(by_hashrate.usd_per_th_day, by_difficulty.usd_per_th_day, rtol=1e-12)
    assert btc.hashrate_from_difficulty_th_s(148.26e12) / 1e6 == pytest.approx(1061, abs=1)
    # ... and the day's difficulty is the one Coin Metrics' hashrate and blocks imply
    implied = CHECK_HASHRATE_TH_S * 1e12 * 86_400 / (CHECK_BLOCKS * 2**32)
    assert implied == pytest.approx(CHECK_DIFFICULTY, rel=0.001)


def test_hashprice_takes_one_network_input() -> None:
    with pytest.raises(ValueError, match="exactly one of difficulty and network_hashrate"):
        btc.hashprice(CHECK_HEIGHT, 9e4, 0.01)
    with pytest.raises(ValueError, match="exactly one of difficulty and network_hashrate"):
        btc.hashprice(CHECK_HEIGHT, 9e4, 0.01, difficulty=1e14, network_hashrate_th_s=1e9)
    with pytest.raises(ValueError, match="blocks_per_day goes with network_hashrate_th_s"):
        btc.hashprice(CHECK_HEIGHT, 9e4, 0.01, difficulty=1e14, blocks_per_day=150)


def test_default_scenario_hashprice_is_the_function_of_its_inputs(default_scenario) -> None:
    """The default's 2025 (as_of) hashprice, the one every miner bid rests on, is
    ``hashprice`` of its own market inputs, and that is the check value."""
    from megawatt.economics.valuation import market_point

    m = default_scenario.market
    point = market_point(default_scenario)
    direct = btc.hashprice(
        m.block_height, m.btc_price_usd, m.fees_btc_per_block, difficulty=m.difficulty
    )
    assert point.hashprice_usd_per_th_day == direct.usd_per_th_day
    assert point.block_subsidy_btc == direct.subsidy_btc == 3.125
    assert direct.usd_per_ph_day == pytest.approx(37.4, rel=0.01)
    # The path's first year (2025) is the same market in the hashrate form.
    first = default_scenario.economics.market_path[0]
    assert first.year == m.as_of.year
    by_path = btc.hashprice(
        m.block_height,
        first.btc_price_usd,
        first.fees_btc_per_block,
        network_hashrate_th_s=first.network_hashrate_eh_s * 1e6,
        blocks_per_day=m.blocks_per_day,
    )
    assert by_path.usd_per_th_day == pytest.approx(direct.usd_per_th_day, rel=1e-3)


# -------------------------------------------------------------------- subsidy, time


@pytest.mark.parametrize(
    ("height", "subsidy"),
    [
        (0, 50.0),
        (209_999, 50.0),
        (210_000, 25.0),
        (840_000, 3.125),
        (1_049_999, 3.125),
        (1_050_000, 1.5625),
        (33 * 210_000 - 1, 1e-8),
        (33 * 210_000, 0.0),
        (64 * 210_000, 0.0),
        (10**12, 0.0),
    ],
)
def test_subsidy_by_height(height: int, subsidy: float) -> None:
    assert btc.block_subsidy_btc(height) == subsidy


def test_subsidy_vectorised() -> None:
    heights = np.array([[0, 210_000], [1_049_999, 1_050_000]])
    assert_allclose(btc.block_subsidy_btc(heights), [[50, 25], [3.125, 1.5625]])
    assert isinstance(btc.block_subsidy_btc(5), float)


@given(st.integers(1, 70))
def test_subsidy_halves_at_each_halving(halving: int) -> None:
    before = round(btc.block_subsidy_btc(halving * 210_000 - 1) * 1e8)
    after = round(btc.block_subsidy_btc(halving * 210_000) * 1e8)
    # integer satoshis shifted right: exact halving, truncated
    assert after == before // 2
    if halving <= 9:  # 50e8 = 2^9 x 5^10: the first nine halvings are exact
        assert after * 2 == before


@given(st.integers(0, 80 * 210_000), st.integers(0, 80 * 210_000))
def test_subsidy_never_rises_with_height(h1: int, h2: int) -> None:
    low, high = sorted((h1, h2))
    assert btc.block_subsidy_btc(high) <= btc.block_subsidy_btc(low)


def test_halving_heights() -> None:
    assert btc.halving_heights(CHECK_HEIGHT, 2) == [1_050_000, 1_260_000]
    assert btc.halving_heights(1_050_000) == [1_260_000]  # strictly after
    assert btc.halving_heights(0, 3) == [210_000, 420_000, 630_000]
    table = btc.halving_heights(np.array([0, 1_049_999]), 2)
    assert table.tolist() == [[210_000, 420_000], [1_050_000, 1_260_000]]


def test_next_halving_in_spring_2028() -> None:
    height, when = btc.next_halving(CHECK_HEIGHT, CHECK_DATE)
    assert height == 1_050_000
    # 121,000 blocks x 600 s = 840.28 days after 28 Dec 2025 -> 16 Apr 2028 06:40
    assert when == CHECK_DATE + pd.Timedelta(seconds=121_000 * 600)
    assert pd.Timestamp("2028-03-01") <= when < pd.Timestamp("2028-06-01")
    assert when.month == 4
    # growing hashrate makes blocks faster than 600 s: the halving comes earlier
    _, sooner = btc.next_halving(CHECK_HEIGHT, CHECK_DATE.to_pydatetime(), mean_block_s=583.0)
    assert sooner < when and sooner.month == 3


def test_estimate_block_time_vectorised() -> None:
    targets = np.array([CHECK_HEIGHT, CHECK_HEIGHT + 144, CHECK_HEIGHT - 144])
    times = btc.estimate_block_time(CHECK_HEIGHT, "2025-12-28", targets)
    assert isinstance(times, pd.DatetimeIndex)
    day = pd.Timedelta(days=1)
    assert list(times) == [CHECK_DATE, CHECK_DATE + day, CHECK_DATE - day]
    heights, whens = btc.next_halving(np.array([CHECK_HEIGHT, 1_050_000]), CHECK_DATE)
    assert heights.tolist() == [1_050_000, 1_260_000]
    assert whens[1] == CHECK_DATE + pd.Timedelta(seconds=(1_260_000 - 1_050_000) * 600)


@pytest.mark.parametrize(
    ("timespan_share", "factor"),
    [(0.1, 4.0), (0.25, 4.0), (0.5, 2.0), (1.0, 1.0), (2.0, 0.5), (4.0, 0.25), (10.0, 0.25)],
)
def test_retarget_clamp(timespan_share: float, factor: float) -> None:
    target_s = 20_160 * 60  # 2,016 blocks x 600 s
    assert btc.retarget_difficulty(148.26e12, target_s * timespan_share) == pytest.approx(
        148.26e12 * factor
    )


def test_retarget_vectorised() -> None:
    spans = np.array([0.1, 1.0, 10.0]) * 2016 * 600
    assert_allclose(btc.retarget_difficulty(100.0, spans), [400.0, 100.0, 25.0])


# ------------------------------------------------------------------------- hashprice


@example(price=1.0, rise=1e-6, difficulty=1e12, height=64 * 210_000, fees=2.2250738585e-313)
@given(
    st.floats(1.0, 1e7),
    st.floats(1e-6, 10.0),
    st.floats(1e10, 1e16),
    st.integers(0, 70 * 210_000),
    st.floats(0.0, 5.0),
)
def test_usd_hashprice_strictly_rises_with_price(
    price: float, rise: float, difficulty: float, height: int, fees: float
) -> None:
    if btc.block_subsidy_btc(height) + fees < 1e-8:
        return  # a block pays whole satoshis: below 1 sat there is no reward to price
    low = btc.hashprice(height, price, fees, difficulty=difficulty)
    high = btc.hashprice(height, price * (1 + rise), fees, difficulty=difficulty)
    assert high.usd_per_th_day > low.usd_per_th_day


@given(
    st.floats(1.0, 1e7),
    st.floats(1e6, 1e11),
    st.floats(1e-6, 10.0),
    st.integers(0, 30 * 210_000),
    st.floats(0.0, 5.0),
)
def test_usd_hashprice_strictly_falls_with_hashrate(
    price: float, hashrate: float, rise: float, height: int, fees: float
) -> None:
    low_hashrate = btc.hashprice(height, price, fees, network_hashrate_th_s=hashrate)
    high_hashrate = btc.hashprice(height, price, fees, network_hashrate_th_s=hashrate * (1 + rise))
    assert high_hashrate.usd_per_th_day < low_hashrate.usd_per_th_day


def test_hashprice_broadcasts() -> None:
    prices = np.array([50_000.0, 100_000.0])[:, None]
    hashrates = np.array([0.8e9, 1.0e9, 1.2e9])
    hp = btc.hashprice(CHECK_HEIGHT, prices, 0.02, network_hashrate_th_s=hashrates)
    assert hp.usd_per_th_day.shape == hp.subsidy_btc.shape == (2, 3)
    assert_allclose(hp.usd_per_th_day, prices * 144 * 3.145 / hashrates)
    assert isinstance(btc.hashprice(CHECK_HEIGHT, 9e4, 0.02, difficulty=1e14).subsidy_btc, float)


# -------------------------------------------------------------------- per MWh


def test_profit_is_zero_at_break_even() -> None:
    hp, fee, pue = 0.0374, 0.02, 1.05
    price = btc.break_even_usd_per_mwh(hp, 17.5, fee, pue)
    # one S21 (200 TH/s, 3,500 W) for a day: pool-net revenue vs energy at the meter
    revenue_usd = hp * 200 * (1 - fee)
    energy_mwh = 3500 * pue * 24 / 1e6
    assert revenue_usd - price * energy_mwh == pytest.approx(0.0, abs=1e-12)
    # hand: 0.0374 x 0.98 / (0.024 x 17.5) x 1000 / 1.05 = 83.11 USD/MWh
    assert price == pytest.approx(0.0374 * 0.98 / (0.024 * 17.5) * 1000 / 1.05)
    assert btc.revenue_usd_per_mwh(hp, 17.5, fee, pue) == price


def test_break_even_scalings() -> None:
    hp = 0.0374
    base = btc.break_even_usd_per_mwh(hp, 17.5)
    assert btc.break_even_usd_per_mwh(hp, 35.0) == pytest.approx(base / 2)
    assert btc.break_even_usd_per_mwh(2 * hp, 17.5) == pytest.approx(2 * base)
    fees = np.array([0.0, 0.01, 0.02, 0.05])
    assert_allclose(btc.break_even_usd_per_mwh(hp, 17.5, fees), base * (1 - fees))
    assert btc.break_even_usd_per_mwh(hp, 17.5, 0.0, 1.25) == pytest.approx(base / 1.25)
    # vectorised over efficiency x hashprice
    table = btc.break_even_usd_per_mwh(np.array([[0.03], [0.04]]), np.array([12.0, 17.5, 21.5]))
    assert table.shape == (2, 3)
    assert_allclose(table[1, 1], 0.04 / (0.024 * 17.5) * 1000)


def test_btc_per_mwh_times_price_is_usd_per_mwh() -> None:
    hp_btc = btc.hashprice(CHECK_HEIGHT, 1.0, 0.0139, network_hashrate_th_s=1.06e9).btc_per_th_day
    per_mwh = btc.btc_per_mwh(hp_btc, 13.5, 0.02, 1.05)
    assert per_mwh * CHECK_PRICE_USD == pytest.approx(
        btc.revenue_usd_per_mwh(hp_btc * CHECK_PRICE_USD, 13.5, 0.02, 1.05)
    )
    # hand: 144 x 3.1389 / 1.06e9 x 0.98 / (0.024 x 13.5) x 1000 / 1.05 ~ 1.2e-3 BTC/MWh
    assert per_mwh == pytest.approx(
        144 * 3.1389 / 1.06e9 * 0.98 / (0.024 * 13.5) * 1000 / 1.05, rel=1e-9
    )


# --------------------------------------------------------------- catalogue and fleet


def test_catalogue_loads_and_is_consistent(catalogue: pd.DataFrame) -> None:
    assert list(catalogue.index) == ["S19 XP", "S21", "S21+", "S21 XP", "S21 XP Hyd", "M60S"]
    implied = catalogue.power_w / catalogue.hashrate_th_s
    assert ((catalogue.efficiency_j_per_th - implied).abs() <= 0.03 * implied).all()
    assert catalogue.loc["S21 XP", "hashrate_th_s"] == 270
    assert catalogue.loc["S21 XP Hyd", "efficiency_j_per_th"] == 12
    assert (catalogue.basis == "R+E").all()
    assert catalogue.source.str.contains("asic-specs").all()
    assert catalogue.notes.str.contains(r"\[E\]").all()  # prices are estimates


def test_catalogue_rejects_inconsistent_efficiency(tmp_path: Path) -> None:
    path = tmp_path / "asics.csv"
    path.write_text(
        "model,hashrate_th_s,power_w,efficiency_j_per_th,price_usd\n"
        "Good,200,3500,17.5,3400\n"
        "Typo,200,3500,15.0,3400\n"
    )
    with pytest.raises(ValueError, match="'Typo'"):
        btc.load_asic_catalogue(path)


def test_fleet_from_mix_by_hand(catalogue: pd.DataFrame) -> None:
    # 20 MW at the meter, PUE 1.05: 60 % S21 XP (3,645 W, 270 TH, $6,000),
    # 40 % S19 XP (3,010 W, 140 TH, $1,500)
    fleet = btc.fleet_from_mix(20, [("S21 XP", 0.6), ("S19 XP", 0.4)], catalogue, pue=1.05)
    table = fleet.models
    # 20 x 0.6 / 1.05 = 11.4286 MW / 3,645 W = 3,135.4 -> 3,135
    # 20 x 0.4 / 1.05 = 7.6190 MW / 3,010 W = 2,531.2 -> 2,531
    assert table.units.to_dict() == {"S21 XP": 3135, "S19 XP": 2531}
    assert_allclose(table.it_power_mw, [20 * 0.6 / 1.05, 20 * 0.4 / 1.05])
    assert fleet.hashrate_th_s == 3135 * 270 + 2531 * 140 == 1_200_790
    assert fleet.capex_usd == 3135 * 6000 + 2531 * 1500 == 22_606_500
    # power-weighted: (3,135 x 3,645 + 2,531 x 3,010) W / 1,200,790 TH/s = 15.861 J/TH
    assert fleet.efficiency_j_per_th == pytest.approx(19_045_385 / 1_200_790)
    assert fleet.efficiency_j_per_th == pytest.approx(15.861, abs=1e-3)
    assert fleet.units == 5666
    assert fleet.asic_power_mw * fleet.pue <= fleet.power_mw


def test_fleet_exact_fit(catalogue: pd.DataFrame) -> None:
    fleet = btc.fleet_from_mix(3.5, [("S21", 1.0)], catalogue)
    assert fleet.units == 1000
    assert fleet.efficiency_j_per_th == pytest.approx(17.5)


def test_miner_value_50_50_at_check_hashprice(catalogue: pd.DataFrame) -> None:
    hp = _check_hp(difficulty=CHECK_DIFFICULTY).usd_per_th_day
    fleet = btc.fleet_from_mix(100, [("S21 XP", 0.5), ("S21", 0.5)], catalogue)
    value = btc.miner_value_usd_per_mwh(fleet, hp, 0.02)
    # by hand: 0.0374 x 0.98 x 1000 / 0.024 = 1,527.2; / 13.5 = 113.1, / 17.5 = 87.3
    s21_xp = hp * 0.98 / (0.024 * 13.5) * 1000
    s21 = hp * 0.98 / (0.024 * 17.5) * 1000
    assert value == pytest.approx(0.5 * s21_xp + 0.5 * s21, rel=1e-4)  # whole units
    assert value == pytest.approx(100, abs=1.0)
    # identical to break-even at the fleet's power-weighted efficiency
    assert value == pytest.approx(
        btc.break_even_usd_per_mwh(hp, fleet.efficiency_j_per_th, 0.02), rel=1e-12
    )
    # PUE divides; the value moves with hashprice (vectorised)
    wet = btc.fleet_from_mix(100, [("S21 XP", 0.5), ("S21", 0.5)], catalogue, pue=1.05)
    assert btc.miner_value_usd_per_mwh(wet, hp, 0.02) == pytest.approx(value / 1.05, rel=1e-3)
    path = btc.miner_value_usd_per_mwh(fleet, np.array([hp / 2, hp, 2 * hp]), 0.02)
    assert_allclose(path, [value / 2, value, 2 * value])


def test_mining_revenue(catalogue: pd.DataFrame) -> None:
    fleet = btc.fleet_from_mix(50, [("S21 XP Hyd", 0.7), ("M60S", 0.3)], catalogue, pue=1.1)
    hp_btc = btc.hashprice(CHECK_HEIGHT, 1.0, 0.0139, network_hashrate_th_s=1.06e9).btc_per_th_day
    served = np.array([0.0, 1000.0, 24 * 50.0])
    result = btc.mining_revenue(served, fleet, hp_btc, CHECK_PRICE_USD, 0.02)
    per_mwh = btc.btc_per_mwh(hp_btc, fleet.efficiency_j_per_th, 0.02, 1.1)
    assert_allclose(result.btc_mined, served * per_mwh)
    value = btc.miner_value_usd_per_mwh(fleet, hp_btc * CHECK_PRICE_USD, 0.02)
    assert_allclose(result.revenue_usd, served * value, rtol=1e-12)
    # a full day at full allocation mines what the fleet's hashrate earns in a day
    assert result.btc_mined[2] == pytest.approx(
        hp_btc * 0.98 * fleet.hashrate_th_s * (50 / 1.1) / fleet.asic_power_mw, rel=1e-12
    )


# ----------------------------------------------------------------------- market path


def test_hashprice_path_halves_on_the_estimated_date() -> None:
    dates = pd.date_range("2028-01-01", "2028-12-31", freq="D")
    n = len(dates)
    path = btc.hashprice_path(
        dates,
        np.full(n, 100_000.0),
        np.linspace(1.2e9, 1.5e9, n),
        0.0139,
        height_now=CHECK_HEIGHT,
        time_now=CHECK_DATE,
    )
    assert list(path.columns) == [
        "block_height",
        "subsidy_btc",
        "hashprice_btc_per_th_day",
        "hashprice_usd_per_th_day",
    ]
    _, halving = btc.next_halving(CHECK_HEIGHT, CHECK_DATE)
    first_halved = path.index[path.subsidy_btc == 1.5625][0]
    assert first_halved == halving.ceil("D") == pd.Timestamp("2028-04-17")
    assert (path.subsidy_btc[path.index < first_halved] == 3.125).all()
    assert (path.block_height.diff().dropna() == 144).all()
    assert_allclose(
        path.hashprice_usd_per_th_day,
        100_000 * 144 * (path.subsidy_btc + 0.0139) / np.linspace(1.2e9, 1.5e9, n),
    )
    drop = path.hashprice_btc_per_th_day.shift(1) / path.hashprice_btc_per_th_day
    assert drop[first_halved] == pytest.approx((3.125 + 0.0139) / (1.5625 + 0.0139), rel=1e-3)


def test_hashprice_path_time_zones() -> None:
    dates = pd.date_range("2026-01-01", periods=3, freq="D", tz="UTC")
    path = btc.hashprice_path(dates, 9e4, 1.1e9, 0.01, CHECK_HEIGHT, "2025-12-28")
    assert path.block_height.iloc[0] == CHECK_HEIGHT + 4 * 144


# ------------------------------------------------------------------------------ errors


def test_errors(catalogue: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"unknown ASIC model.*'S9'.*known: S19 XP, S21"):
        btc.fleet_from_mix(10, [("S9", 1.0)], catalogue)
    with pytest.raises(ValueError, match="sum to 1"):
        btc.fleet_from_mix(10, [("S21", 0.5), ("S21 XP", 0.4)], catalogue)
    with pytest.raises(ValueError, match="listed twice"):
        btc.fleet_from_mix(10, [("S21", 0.5), ("S21", 0.5)], catalogue)
    with pytest.raises(ValueError, match="power_mw"):
        btc.fleet_from_mix(0, [("S21", 1.0)], catalogue)
    with pytest.raises(ValueError, match="PUE"):
        btc.fleet_from_mix(10, [("S21", 1.0)], catalogue, pue=0.9)
    with pytest.raises(ValueError, match="btc_price_usd must be > 0"):
        btc.hashprice(CHECK_HEIGHT, -1.0, 0.0, difficulty=1e14)
    with pytest.raises(ValueError, match="network_hashrate_th_s must be > 0"):
        btc.hashprice(CHECK_HEIGHT, 1.0, 0.0, network_hashrate_th_s=np.array([1e9, 0.0]))
    with pytest.raises(ValueError, match="difficulty must be > 0"):
        btc.hashprice(CHECK_HEIGHT, 1.0, 0.0, difficulty=0.0)
    with pytest.raises(ValueError, match="fees_btc_per_block must be >= 0"):
        btc.hashprice(CHECK_HEIGHT, 1.0, -0.1, difficulty=1e14)
    with pytest.raises(ValueError, match="whole block height"):
        btc.hashprice(929_000.5, 1.0, 0.0, difficulty=1e14)
    with pytest.raises(ValueError, match="hashprice_usd_per_th_day must be >= 0"):
        btc.break_even_usd_per_mwh(-0.01, 17.5)
    with pytest.raises(ValueError, match="efficiency_j_per_th must be > 0"):
        btc.break_even_usd_per_mwh(0.04, 0.0)
    with pytest.raises(ValueError, match="pool_fee_share"):
        btc.break_even_usd_per_mwh(0.04, 17.5, 1.0)
    with pytest.raises(ValueError, match="height must be >= 0"):
        btc.block_subsidy_btc(-1)
    with pytest.raises(ValueError, match="whole block height"):
        btc.block_subsidy_btc(1.5)
    with pytest.raises(ValueError, match="difficulty must be > 0"):
        btc.hashrate_from_difficulty_th_s(0.0)
    with pytest.raises(ValueError, match="actual_timespan_s must be > 0"):
        btc.retarget_difficulty(1e12, 0.0)
    with pytest.raises(ValueError, match="mean_block_s must be > 0"):
        btc.next_halving(CHECK_HEIGHT, CHECK_DATE, mean_block_s=-600.0)
    with pytest.raises(ValueError, match="one value per date"):
        btc.hashprice_path(
            pd.date_range("2026-01-01", periods=3), [1.0, 2.0], 1e9, 0.0, CHECK_HEIGHT, CHECK_DATE
        )
    missing = btc.hashprice(CHECK_HEIGHT, 1.0, 0.0, network_hashrate_th_s=float("nan"))
    assert math.isnan(missing.btc_per_th_day)  # missing data propagates


# ------------------------------------------------------- the scenario's market inputs


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("block_subsidy_btc", 6.25, "derived from market.block_height (3.125 BTC at block_height"),
        ("network_hashrate_eh_s", 1142, "give market.difficulty"),
    ],
)
def test_subsidy_and_hashrate_are_not_scenario_inputs(
    scenario_dir: Path, field: str, value: float, says: str
) -> None:
    """A typed subsidy could disagree with the block height's (6.25 BTC at 929,000), a
    typed hashrate with the difficulty: both are refused, naming file, field and the
    value to use."""
    import yaml

    from megawatt import scenario as scenario_lib
    from megawatt.errors import InputError

    path = scenario_dir / "scenario.yaml"
    raw = yaml.safe_load(path.read_text())
    raw["market"][field] = value
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    with pytest.raises(InputError) as err:
        scenario_lib.load(path)
    text = str(err.value)
    assert "scenario.yaml" in text and f"market.{field}" in text and says in text
