"""The multi-year view: miner viability across the 2028 halving, and the state's margin.

For each year of ``scenario.economics.market_path`` the mean hashprice is computed
day by day (price, hashrate and fees of the year; the subsidy from the block height
estimated at each date, so the halving at block 1,050,000 falls on its estimated
date). Each miner's value per MWh follows from its fleet; a miner whose value is
below the tariff in every hour stops drawing: it leaves. The program LP is re-solved
for every distinct set of applicants still drawing (not every year: years with the
same set give the same dispatch), on the same grid year, so the margin shows what the
state keeps if miners leave. Demand growth and new plants are not in this view.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from megawatt.economics import bitcoin
from megawatt.economics.program import BalanceSheet, balance_sheet, case_figures, solve_case
from megawatt.economics.valuation import miner_fleet
from megawatt.optimize.inputs import tariff_usd_per_mwh
from megawatt.optimize.solve import PlanResult


@dataclass(frozen=True)
class Horizon:
    """Per year: market, each applicant's value and viability, and the state's accounts.

    Attributes
    ----------
    years
        Index year: btc_price_usd, network_hashrate_eh_s, subsidy_btc (mean),
        hashprice_usd_per_ph_day, applicants_drawing, served_gwh, revenue_musd,
        margin_musd, charge_recovered_share.
    values
        Index year, columns applicants: value per MWh [USD/MWh].
    viable
        Index year, columns applicants: True where the value reaches the tariff in at
        least one hour.
    halving_date
        Estimated date of the next halving.
    """

    years: pd.DataFrame
    values: pd.DataFrame
    viable: pd.DataFrame
    halving_date: pd.Timestamp


def yearly_hashprice(scenario) -> tuple[pd.DataFrame, pd.Timestamp]:
    """Mean subsidy and hashprice per year of the market path, and the halving date."""
    econ = scenario.economics
    if econ is None or not econ.market_path:
        raise ValueError("the scenario has no economics.market_path")
    market = scenario.market
    mean_block_s = 86_400.0 / market.blocks_per_day
    rows = []
    time_now = pd.Timestamp(market.as_of)
    for year in econ.market_path:
        days = pd.date_range(f"{year.year}-01-01", f"{year.year}-12-31", freq="D")
        n = len(days)
        path = bitcoin.hashprice_path(
            days,
            np.full(n, year.btc_price_usd),
            np.full(n, year.network_hashrate_eh_s * 1e6),
            np.full(n, year.fees_btc_per_block),
            height_now=market.block_height,
            time_now=time_now,
            mean_block_s=mean_block_s,
        )
        rows.append(
            {
                "year": year.year,
                "btc_price_usd": year.btc_price_usd,
                "network_hashrate_eh_s": year.network_hashrate_eh_s,
                "subsidy_btc": float(path.subsidy_btc.mean()),
                "hashprice_usd_per_th_day": float(path.hashprice_usd_per_th_day.mean()),
            }
        )
    _, halving_date = bitcoin.next_halving(market.block_height, time_now, mean_block_s)
    return pd.DataFrame(rows).set_index("year"), pd.Timestamp(halving_date)


def horizon(
    result: PlanResult,
    values: pd.DataFrame,
    on_solve: Callable[[str], None] | None = None,
    sheet: BalanceSheet | None = None,
) -> Horizon:
    """The multi-year view of a solved plan (``values`` from ``value_applicants``;
    ``sheet``, the plan's balance sheet, if already drawn up)."""
    sc = result.scenario
    market_years, halving_date = yearly_hashprice(sc)
    tariff = tariff_usd_per_mwh(sc)
    apps = {a.name: a for a in sc.applicants}
    value_rows = {}
    for year, row in market_years.iterrows():
        year_values = {}
        for name in values.index:
            app = apps[name]
            computed = values.loc[name, "value_source"] == "computed"
            if app.kind == "btc_miner" and computed and app.asic_mix:
                fleet = miner_fleet(app, app.requested_mw)
                year_values[name] = float(
                    bitcoin.miner_value_usd_per_mwh(
                        fleet, row.hashprice_usd_per_th_day, sc.market.pool_fee_share
                    )
                )
            else:
                year_values[name] = float(values.loc[name, "value_usd_per_mwh"])
        value_rows[year] = year_values
    value_table = pd.DataFrame.from_dict(value_rows, orient="index")
    value_table.index.name = "year"
    viable = value_table.apply(lambda col: col >= tariff.min())

    # The plan already solved the program for today's values: reuse it for the years
    # in which the same applicants draw instead of solving the same LP again.
    today = tuple(bool(v >= tariff.min()) for v in values.value_usd_per_mwh)
    solved = {today: case_figures(sheet or balance_sheet(result, values))}
    rows = []
    for year in value_table.index:
        key = tuple(bool(v) for v in viable.loc[year])
        if key not in solved:
            if on_solve:
                on_solve(f"re-solving for {sum(key)} applicants drawing ({year})")
            solved[key] = solve_case(result, values, value_table.loc[year].to_dict())
        rows.append(
            {
                "year": year,
                **market_years.loc[year].to_dict(),
                "applicants_drawing": int(sum(key)),
                **solved[key],
            }
        )
    years = pd.DataFrame(rows).set_index("year")
    years["hashprice_usd_per_ph_day"] = years.pop("hashprice_usd_per_th_day") * 1000.0
    return Horizon(years=years, values=value_table, viable=viable, halving_date=halving_date)
