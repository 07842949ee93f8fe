"""Monte Carlo over the Bitcoin market: the fast path for price, hashrate, fee and
halving-timing draws.

With a flat tariff, a miner's value per MWh is proportional to hashprice (break-even
= hashprice x const, :mod:`megawatt.economics.bitcoin`), and the program LP depends
on the market only through which applicants draw (value >= tariff). So a draw-year's
dispatch is one of at most 2^miners cases. The fast path draws every market path
vectorised (numpy), finds the distinct sets of drawing applicants, solves each once
with the program LP (~5 s each on the default; re-solving in place on one model, as
:mod:`megawatt.optimize.rolling` does, is the next step), and evaluates every
draw-year from those solutions. A test checks it equals a full LP for sampled draws.
Draws of demand growth and hydro year change the dispatch itself and need the LP path
(not in this module yet).

Market model per draw (yearly steps over ``economics.market_path``):

* BTC price: geometric Brownian motion, ``P_y = P_{y-1} exp((mu - s^2/2) + s Z)``,
  starting from the path's first-year price;
* network hashrate: the path's hashrate times ``exp(cumulative N(0, g_sd))`` growth
  noise;
* fees per block: the path's fees times a lognormal factor;
* the halving date: from the block height at ``market.as_of`` and a mean block time
  drawn around 600 s, so the 2028 subsidy share moves with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from megawatt.economics.bitcoin import HALVING_INTERVAL, block_subsidy_btc
from megawatt.economics.program import solve_case
from megawatt.economics.valuation import market_point, value_applicants
from megawatt.optimize.inputs import tariff_usd_per_mwh
from megawatt.optimize.solve import PlanResult
from megawatt.scenario.model import Scenario


@dataclass(frozen=True)
class MarketRisk:
    """Distributions of the market draws (all per year)."""

    price_drift: float = 0.0  # [-/year] GBM drift mu of log price
    price_volatility: float = 0.5  # [-/sqrt(year)] GBM sigma
    hashrate_growth_sd: float = 0.10  # [-] sd of yearly log-growth noise
    fees_sd: float = 0.5  # [-] sd of the log fee factor
    block_time_sd_s: float = 10.0  # [s] sd of the mean block time (halving timing)


@dataclass
class RiskResult:
    """Per draw and year, and percentiles.

    Attributes
    ----------
    draws
        Long table: draw, year, btc_price_usd, hashprice_usd_per_ph_day, miners_drawing,
        margin_musd, charge_recovered_share, served_gwh.
    miner_values
        Draw x year x miner values [USD/MWh] as a long table.
    percentiles
        Index year; P10/P50/P90 of margin, charges recovered, served, hashprice, and
        the share of draws in which each miner is viable.
    cases
        The distinct sets of drawing applicants and their LP results.
    """

    draws: pd.DataFrame
    miner_values: pd.DataFrame
    percentiles: pd.DataFrame
    cases: pd.DataFrame = field(default_factory=pd.DataFrame)


def draw_markets(
    scenario: Scenario, n: int, seed: int, risk: MarketRisk = MarketRisk()
) -> pd.DataFrame:
    """Vectorised market draws: n x years rows with price, hashrate, fees, subsidy."""
    econ = scenario.economics
    if econ is None or not econ.market_path:
        from megawatt.errors import InputError
        from megawatt.scenario.io import origin_of

        raise InputError(
            origin_of(scenario).label,
            "economics.market_path",
            "risk needs a market path (years with price, hashrate, fees)",
        )
    rng = np.random.default_rng(seed)
    path = econ.market_path
    years = np.array([y.year for y in path])
    Y = len(years)
    z = rng.standard_normal((n, Y))
    log_ret = (risk.price_drift - 0.5 * risk.price_volatility**2) + risk.price_volatility * z
    log_ret[:, 0] = 0.0  # the first year starts at the path's price
    price = path[0].btc_price_usd * np.exp(np.cumsum(log_ret, axis=1))
    base_hash = np.array([y.network_hashrate_eh_s for y in path])
    hash_noise = np.cumsum(rng.normal(0.0, risk.hashrate_growth_sd, (n, Y)), axis=1)
    hash_noise[:, 0] = 0.0
    hashrate = base_hash * np.exp(hash_noise)
    fees = np.array([y.fees_btc_per_block for y in path]) * np.exp(
        rng.normal(-0.5 * risk.fees_sd**2, risk.fees_sd, (n, Y))
    )
    block_s = np.clip(
        rng.normal(86_400.0 / scenario.market.blocks_per_day, risk.block_time_sd_s, n), 400.0, 900.0
    )
    subsidy = _mean_subsidy(scenario, years, block_s)  # [n, Y]
    blocks_per_day = 86_400.0 / block_s[:, None]
    hashprice = blocks_per_day * (subsidy + fees) / (hashrate * 1e6) * price
    return pd.DataFrame(
        {
            "draw": np.repeat(np.arange(n), Y),
            "year": np.tile(years, n),
            "btc_price_usd": price.ravel(),
            "network_hashrate_eh_s": hashrate.ravel(),
            "fees_btc_per_block": fees.ravel(),
            "subsidy_btc": subsidy.ravel(),
            "hashprice_usd_per_th_day": hashprice.ravel(),
        }
    )


def _mean_subsidy(scenario: Scenario, years: np.ndarray, block_s: np.ndarray) -> np.ndarray:
    """Mean subsidy per draw and year with the halving at each draw's estimated date."""
    m = scenario.market
    start = pd.Timestamp(m.as_of)
    next_height = (m.block_height // HALVING_INTERVAL + 1) * HALVING_INTERVAL
    before = float(block_subsidy_btc(m.block_height))
    after = float(block_subsidy_btc(next_height))
    halving = start + pd.to_timedelta((next_height - m.block_height) * block_s, unit="s")
    halving_year = (halving - pd.Timestamp("1970-01-01")).total_seconds().to_numpy()
    out = np.empty((len(block_s), len(years)))
    for k, year in enumerate(years):
        y0 = (pd.Timestamp(f"{year}-01-01") - pd.Timestamp("1970-01-01")).total_seconds()
        y1 = (pd.Timestamp(f"{year + 1}-01-01") - pd.Timestamp("1970-01-01")).total_seconds()
        share_after = np.clip((y1 - halving_year) / (y1 - y0), 0.0, 1.0)
        out[:, k] = before * (1 - share_after) + after * share_after
    return out


class CaseSolver:
    """The program LP for a set of drawing applicants, solved once per distinct set."""

    def __init__(self, result: PlanResult, values: pd.DataFrame) -> None:
        self.result = result
        self.values = values
        self.cache: dict[tuple[bool, ...], dict[str, float]] = {}

    def solve(self, drawing: tuple[bool, ...]) -> dict[str, float]:
        if drawing not in self.cache:
            sc = self.result.scenario
            tariff = tariff_usd_per_mwh(sc)
            below, above = float(tariff.min()) - 1.0, float(tariff.max())
            # Only two things of a value reach the LP: whether it clears the tariff
            # (may draw) and the applicants' priority order. Drawing miners get
            # tariff + today's value (same order, since every computed miner's value
            # scales with the same hashprice); the others a value below the tariff.
            case_values = {
                name: (max(float(v), above + float(v)) if d else min(float(v), below))
                for (name, v), d in zip(self.values.value_usd_per_mwh.items(), drawing, strict=True)
            }
            self.cache[drawing] = solve_case(self.result, self.values, case_values)
        return self.cache[drawing]


def run_risk(
    result: PlanResult,
    n: int,
    seed: int,
    risk: MarketRisk = MarketRisk(),
    on_case: Callable[[int], None] | None = None,
) -> RiskResult:
    """Monte Carlo of the market over the scenario's years (fast path)."""
    sc = result.scenario
    values = value_applicants(sc)
    markets = draw_markets(sc, n, seed, risk)
    point = market_point(sc)
    tariff_min = float(tariff_usd_per_mwh(sc).min())
    computed_miner = (values.kind == "btc_miner") & (values.value_source == "computed")
    # break-even is proportional to hashprice: value(draw) = value(today) x hp / hp_today
    scale = markets.hashprice_usd_per_th_day.to_numpy() / point.hashprice_usd_per_th_day
    base = values.value_usd_per_mwh.to_numpy()
    draw_values = np.where(
        computed_miner.to_numpy()[None, :], base[None, :] * scale[:, None], base[None, :]
    )
    drawing = draw_values >= tariff_min
    keys = [tuple(bool(x) for x in row) for row in drawing]
    solver = CaseSolver(result, values)
    unique = list(dict.fromkeys(keys))
    for k, key in enumerate(unique):
        solver.solve(key)
        if on_case:
            on_case(k + 1)
    draws = markets.copy()
    draws["hashprice_usd_per_ph_day"] = draws.pop("hashprice_usd_per_th_day") * 1000
    miners = values.index[values.kind == "btc_miner"]
    draws["miners_drawing"] = drawing[:, (values.kind == "btc_miner").to_numpy()].sum(axis=1)
    for col in ("margin_musd", "charge_recovered_share", "served_gwh"):
        draws[col] = [solver.cache[key][col] for key in keys]
    miner_values = pd.DataFrame(draw_values, columns=values.index)[list(miners)]
    miner_values.insert(0, "year", draws.year.to_numpy())
    miner_values.insert(0, "draw", draws.draw.to_numpy())
    pct = _percentiles(draws, miner_values, list(miners), tariff_min)
    cases = pd.DataFrame(
        [{**dict(zip(values.index, key, strict=True)), **res} for key, res in solver.cache.items()]
    )
    return RiskResult(draws=draws, miner_values=miner_values, percentiles=pct, cases=cases)


def _percentiles(
    draws: pd.DataFrame, miner_values: pd.DataFrame, miners: list[str], tariff: float
) -> pd.DataFrame:
    rows = {}
    for year, group in draws.groupby("year"):
        row: dict[str, float] = {}
        for col in (
            "margin_musd",
            "charge_recovered_share",
            "served_gwh",
            "hashprice_usd_per_ph_day",
        ):
            p10, p50, p90 = np.percentile(group[col], [10, 50, 90])
            row.update({f"{col}_p10": p10, f"{col}_p50": p50, f"{col}_p90": p90})
        mv = miner_values[miner_values.year == year]
        for m in miners:
            row[f"{m}_viable_share"] = float((mv[m] >= tariff).mean())
        rows[year] = row
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "year"
    return out
