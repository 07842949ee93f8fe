"""The Monte Carlo's draws: market paths, demand growth and hydro years, per draw and year.

Every draw has its own random stream, ``SeedSequence(seed).spawn(n)[k]``, and takes its
numbers from it in a fixed order whatever the settings, so draw ``k`` of a run is the
same draw in a run with more draws (a failed draw is reproducible from its seed and
number) and two scenarios compared with one seed see the same random numbers.

Per draw, over the years of ``economics.market_path`` (the first year is the path's
own, later years are drawn):

* BTC price, ``gbm``: ``P_y = P_{y-1} exp((mu - s^2/2) + s Z)``; ``bootstrap``: the
  year's log return is the sum of 365 daily log returns taken in blocks of
  ``block_days`` consecutive days from the user's price history (Kunsch 1989, the moving
  block bootstrap, centred), then given the GBM mean ``(mu - s_h^2/2)`` per year with
  ``s_h`` the history's own annualised volatility, so drift stays a stated assumption
  while volatility clustering and fat tails come from the data;
* network hashrate: the path's value times ``exp(cumulative N(0, g_sd))``;
* fees per block: the path's value times a lognormal factor of mean 1;
* the halving date: from the block height at ``market.as_of`` and a drawn mean block
  time, so the halving year's mean subsidy moves with it;
* national demand: level ``exp(cumulative N(m, d_sd))`` (1 in the first year), rounded
  to ``demand_step``;
* hydro year: one of ``risk.hydro_years`` by weight, each year independently.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from megawatt.economics.bitcoin import HALVING_INTERVAL, SECONDS_PER_DAY, hashprice
from megawatt.economics.contract import contract_periods, term_market
from megawatt.errors import InputError
from megawatt.scenario import io as scenario_io
from megawatt.scenario.model import Risk, Scenario
from megawatt.scenario.origin import origin_of

DAYS_PER_YEAR = 365
#: The hydro year used when the scenario lists none: its own hydrology.
OWN_HYDRO = "scenario"


def price_history(scenario: Scenario) -> pd.Series | None:
    """The scenario's price history for the bootstrap (None for GBM)."""
    return scenario_io.price_history(scenario)


def check_inputs(scenario: Scenario) -> tuple[list, pd.Series | None]:
    """The market path and (bootstrap) price history a run needs; a missing path or a
    bad price file is an InputError (the CLI calls this before planning)."""
    econ = scenario.economics
    if econ is None or not econ.market_path:
        raise InputError(
            origin_of(scenario).label,
            "economics.market_path",
            "risk needs a market path (years with price, hashrate, fees)",
        )
    term_market(scenario, contract_periods(scenario))  # the path covers the contract term
    return econ.market_path, price_history(scenario)


def draw_scenarios(scenario: Scenario, n: int, seed: int, risk: Risk | None = None) -> pd.DataFrame:
    """n x years rows: the market and grid of every draw and year.

    Columns: draw, year, btc_price_usd, network_hashrate_eh_s, fees_btc_per_block,
    subsidy_btc (mean of the year), hashprice_usd_per_th_day, demand_level [-],
    hydro_year, hydro_factor [-].
    """
    risk = risk or scenario.risk
    path, history = check_inputs(scenario.model_copy(update={"risk": risk}))
    years = np.array([y.year for y in path])
    Y = len(years)
    blocks = -(-DAYS_PER_YEAR // risk.block_days)  # blocks per year, rounded up

    # One stream per draw, consumed in a fixed order (see the module docstring).
    normals = np.empty((n, 4 * Y + 1))
    uniforms = np.empty((n, Y + Y * blocks))
    for k, child in enumerate(np.random.SeedSequence(seed).spawn(n)):
        rng = np.random.Generator(np.random.PCG64(child))
        normals[k] = rng.standard_normal(4 * Y + 1)
        uniforms[k] = rng.random(Y + Y * blocks)
    z_price, z_hash, z_fees = normals[:, :Y], normals[:, Y : 2 * Y], normals[:, 2 * Y : 3 * Y]
    z_block, z_demand = normals[:, 3 * Y], normals[:, 3 * Y + 1 :]
    u_hydro, u_blocks = uniforms[:, :Y], uniforms[:, Y:].reshape(n, Y, blocks)

    if history is None:
        s = risk.price_volatility
        log_ret = (risk.price_drift - 0.5 * s**2) + s * z_price
    else:
        log_ret = _bootstrap_returns(history, u_blocks, risk)
    log_ret[:, 0] = 0.0  # the first year is the path's own
    price = path[0].btc_price_usd * np.exp(np.cumsum(log_ret, axis=1))

    hash_noise = np.cumsum(risk.hashrate_growth_sd * z_hash, axis=1)
    hash_noise[:, 0] = 0.0
    hashrate = np.array([y.network_hashrate_eh_s for y in path]) * np.exp(hash_noise)
    fees = np.array([y.fees_btc_per_block for y in path]) * np.exp(
        -0.5 * risk.fees_sd**2 + risk.fees_sd * z_fees
    )
    block_s = np.clip(
        SECONDS_PER_DAY / scenario.market.blocks_per_day + risk.block_time_sd_s * z_block,
        400.0,
        900.0,
    )
    subsidy, usd_per_th_day = _year_hashprice(scenario, years, block_s, price, hashrate, fees)

    growth = risk.demand_growth_mean + risk.demand_growth_sd * z_demand
    growth[:, 0] = 0.0
    level = np.exp(np.cumsum(growth, axis=1))
    if risk.demand_step > 0:
        level = np.round(np.round(level / risk.demand_step) * risk.demand_step, 10)
    if risk.hydro_years:
        weights = np.array([h.weight for h in risk.hydro_years])
        edges = np.cumsum(weights) / weights.sum()
        pick = np.minimum(np.searchsorted(edges, u_hydro, side="right"), len(edges) - 1)
        names = np.array([h.name for h in risk.hydro_years], dtype=object)[pick]
        factors = np.array([h.factor for h in risk.hydro_years])[pick]
    else:
        names = np.full((n, Y), OWN_HYDRO, dtype=object)
        factors = np.ones((n, Y))

    return pd.DataFrame(
        {
            "draw": np.repeat(np.arange(n), Y),
            "year": np.tile(years, n),
            "btc_price_usd": price.ravel(),
            "network_hashrate_eh_s": hashrate.ravel(),
            "fees_btc_per_block": fees.ravel(),
            "subsidy_btc": subsidy.ravel(),
            "hashprice_usd_per_th_day": usd_per_th_day.ravel(),
            "demand_level": level.ravel(),
            "hydro_year": names.ravel().astype(str),
            "hydro_factor": factors.ravel(),
        }
    )


def _bootstrap_returns(history: pd.Series, u: np.ndarray, risk: Risk) -> np.ndarray:
    """Yearly log returns [n, Y] from blocks of daily log returns (u: [n, Y, blocks]).

    Each block sum is centred on the mean over all the starts it could have (a centred
    moving block bootstrap), so the yearly sum has mean exactly zero before the stated
    drift is added: the history's own trend does not leak in through its edges.
    """
    daily = np.diff(np.log(history.to_numpy()))
    sigma_year = daily.std() * np.sqrt(DAYS_PER_YEAR)
    L = risk.block_days
    cum = np.concatenate([[0.0], np.cumsum(daily)])
    n_starts = len(daily) - L + 1
    starts = np.floor(u * n_starts).astype(int)  # [n, Y, blocks]
    lengths = np.full(u.shape[-1], L)
    lengths[-1] = DAYS_PER_YEAR - L * (u.shape[-1] - 1)  # the last block fills the year
    every = np.arange(n_starts)
    centre = np.array([(cum[every + length] - cum[every]).mean() for length in lengths])
    sums = cum[starts + lengths] - cum[starts] - centre
    return sums.sum(axis=-1) + (risk.price_drift - 0.5 * sigma_year**2)


def _year_hashprice(
    scenario: Scenario,
    years: np.ndarray,
    block_s: np.ndarray,
    price: np.ndarray,
    hashrate_eh_s: np.ndarray,
    fees: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean subsidy [BTC] and hashprice [USD/(TH/s)/day] per draw and year [n, Y].

    Each draw's halving falls at its estimated date (its own mean block time); the
    year's share of days after it takes the halved subsidy. Hashprice is linear in the
    subsidy, so the year's mean is ``bitcoin.hashprice`` at the height before the
    halving and at the halving height, weighted by those shares.
    """
    m = scenario.market
    start = pd.Timestamp(m.as_of)
    next_height = (m.block_height // HALVING_INTERVAL + 1) * HALVING_INTERVAL
    halving = start + pd.to_timedelta((next_height - m.block_height) * block_s, unit="s")
    epoch = pd.Timestamp("1970-01-01")
    halving_s = (halving - epoch).total_seconds().to_numpy()
    share_after = np.empty((len(block_s), len(years)))
    for k, year in enumerate(years):
        y0 = (pd.Timestamp(f"{year}-01-01") - epoch).total_seconds()
        y1 = (pd.Timestamp(f"{year + 1}-01-01") - epoch).total_seconds()
        share_after[:, k] = np.clip((y1 - halving_s) / (y1 - y0), 0.0, 1.0)
    blocks_per_day = (SECONDS_PER_DAY / block_s)[:, None]
    before, after = (
        hashprice(
            height,
            price,
            fees,
            network_hashrate_th_s=hashrate_eh_s * 1e6,
            blocks_per_day=blocks_per_day,
        )
        for height in (m.block_height, next_height)
    )
    mix = (1.0 - share_after, share_after)
    subsidy = mix[0] * before.subsidy_btc + mix[1] * after.subsidy_btc
    usd = mix[0] * before.usd_per_th_day + mix[1] * after.usd_per_th_day
    return subsidy, usd
