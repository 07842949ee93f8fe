"""The multi-year view over the contract term: miner viability across the 2028 halving,
the first-year cap and the reviews, and the state's margin.

The term is cut into periods (:func:`megawatt.economics.contract.contract_periods`): at
every review, and where a contract year starts (the cap in force changes there). For
each period the mean hashprice is computed day by day (each day's price, hashrate and
fees from its calendar year of ``economics.market_path``; the subsidy from the block
height estimated at each date, so the halving at block 1,050,000 falls on its
estimated date). Each miner's value per MWh follows from its fleet, and the program
LP is solved for the period's cap and values: an applicant whose value is below the
tariff in an hour does not draw in it, so a miner priced out by the halving leaves at
the next review. Periods whose LP would be the same (same cap, same tariff levels
cleared, same priority order) share one solve. A period's figures are the
scenario span's scaled by its days over the span's days (a year-long span: days / 365);
demand growth and new plants
are not in this view.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from megawatt.accounts.balance import BalanceSheet, balance_sheet, case_figures
from megawatt.economics import bitcoin
from megawatt.economics.contract import contract_periods, period_of, term_market
from megawatt.economics.valuation import miner_fleet
from megawatt.optimize.inputs import application_order, lp_keys, tariff_usd_per_mwh
from megawatt.optimize.solve import PlanResult
from megawatt.planning.cases import case_sheet
from megawatt.scenario.model import Scenario


@dataclass(frozen=True)
class Horizon:
    """Per period and per contract year: market, values, viability and accounts.

    Attributes
    ----------
    periods
        One row per period, index ``start`` (date): end (exclusive), days,
        contract_year, review, cap_share, cap_mw [MW], btc_price_usd, network_hashrate_eh_s,
        subsidy_btc, hashprice_usd_per_ph_day (means over the period's days),
        applicants_drawing, allocated_mw [MW], served_gwh, revenue_musd, margin_musd,
        charge_recovered_share (of the period's capacity charges).
    years
        One row per contract year, index ``year`` (the calendar year it starts in):
        contract_year, days, cap_mw (in force), the market means weighted by days,
        applicants_drawing (most in any period), served_gwh, revenue_musd,
        margin_musd (sums), charge_recovered_share.
    values
        Index period start, columns applicants: value per MWh [USD/MWh].
    viable
        Index period start, columns applicants: True where the value reaches the
        tariff in at least one hour.
    halving_date
        Estimated date of the next halving.
    """

    periods: pd.DataFrame
    years: pd.DataFrame
    values: pd.DataFrame
    viable: pd.DataFrame
    halving_date: pd.Timestamp


def period_hashprice(scenario: Scenario) -> tuple[pd.DataFrame, pd.Timestamp]:
    """The contract periods with their mean market and hashprice, and the halving date."""
    market = scenario.market
    mean_block_s = bitcoin.SECONDS_PER_DAY / market.blocks_per_day
    time_now = pd.Timestamp(market.as_of)
    periods = contract_periods(scenario)
    daily = term_market(scenario, periods)
    path = bitcoin.hashprice_path(
        daily.index,
        daily.btc_price_usd.to_numpy(),
        daily.network_hashrate_th_s.to_numpy(),
        daily.fees_btc_per_block.to_numpy(),
        height_now=market.block_height,
        time_now=time_now,
        mean_block_s=mean_block_s,
    )
    period_of_day = period_of(periods, daily.index)
    means = (
        pd.DataFrame(
            {
                "btc_price_usd": daily.btc_price_usd.to_numpy(),
                "network_hashrate_eh_s": daily.network_hashrate_th_s.to_numpy() / 1e6,
                "subsidy_btc": path.subsidy_btc.to_numpy(),
                "hashprice_usd_per_th_day": path.hashprice_usd_per_th_day.to_numpy(),
            }
        )
        .groupby(period_of_day)
        .mean()
    )
    out = pd.concat([periods, means.set_axis(periods.index)], axis=1)
    _, halving_date = bitcoin.next_halving(market.block_height, time_now, mean_block_s)
    return out, pd.Timestamp(halving_date)


def horizon(
    result: PlanResult,
    values: pd.DataFrame,
    on_solve: Callable[[str], None] | None = None,
    sheet: BalanceSheet | None = None,
) -> Horizon:
    """The multi-year view of a solved plan over its contract term (``values`` from
    ``value_applicants``; ``sheet``, the plan's balance sheet, if already drawn up)."""
    sc = result.scenario
    periods, halving_date = period_hashprice(sc)
    tariff = tariff_usd_per_mwh(sc)
    levels = np.unique(tariff)
    apps = {a.name: a for a in sc.applicants}
    names = list(values.index)
    by_date = application_order(sc, names)
    value_rows = []
    for row in periods.itertuples(index=False):
        period_values = {}
        for name in names:
            app = apps[name]
            computed = values.loc[name, "value_source"] == "computed"
            if app.kind == "btc_miner" and computed and app.asic_mix:
                fleet = miner_fleet(app, app.requested_mw)
                period_values[name] = float(
                    bitcoin.miner_value_usd_per_mwh(
                        fleet, row.hashprice_usd_per_th_day, sc.market.pool_fee_share
                    )
                )
            else:
                period_values[name] = float(values.loc[name, "value_usd_per_mwh"])
        value_rows.append(period_values)
    value_table = pd.DataFrame(value_rows, columns=names, index=pd.Index(periods.start))
    viable = value_table.apply(lambda col: col >= tariff.min())

    # The plan already solved the program at today's values and the full cap: reuse it
    # for the periods whose LP is the same (same cap, levels cleared and priority order).
    def key(cap: float, row: np.ndarray) -> tuple:
        return (float(cap), *lp_keys(row[None, :], levels, by_date)[0].tolist())

    solved = {
        key(1.0, values.value_usd_per_mwh.to_numpy()): _figures(
            sheet or balance_sheet(result, values)
        )
    }
    span_days = sc.hours / 24.0  # the solved span stands for every day of a period
    rows = []
    for (start, row), period_values in zip(
        periods.set_index("start").iterrows(), value_table.to_numpy(), strict=True
    ):
        k = key(row.cap_share, period_values)
        if k not in solved:
            if on_solve:
                on_solve(
                    f"re-solving {start} (cap {row.cap_mw:,.0f} MW, "
                    f"{int(viable.loc[start].sum())} applicants drawing)"
                )
            solved[k] = _figures(
                case_sheet(
                    result, values, dict(zip(names, period_values, strict=True)), row.cap_share
                )
            )
        share = row.days / span_days
        figures = solved[k]
        rows.append(
            {
                "start": start,
                "applicants_drawing": int(viable.loc[start].sum()),
                "allocated_mw": figures["allocated_mw"],
                **{f: figures[f] * share for f in SCALED},
                "charge_recovered_share": figures["charge_recovered_share"],
            }
        )
    period_table = periods.set_index("start").join(pd.DataFrame(rows).set_index("start"))
    period_table["hashprice_usd_per_ph_day"] = period_table.pop("hashprice_usd_per_th_day") * 1000.0
    return Horizon(
        periods=period_table,
        years=_by_contract_year(period_table),
        values=value_table,
        viable=viable,
        halving_date=halving_date,
    )


#: Period figures that scale with the period's length (the rest are rates or MW).
SCALED = ("served_gwh", "revenue_musd", "margin_musd")


def _figures(sheet: BalanceSheet) -> dict[str, float]:
    return {**case_figures(sheet), "allocated_mw": sheet.headline["allocated_mw"]}


def _by_contract_year(periods: pd.DataFrame) -> pd.DataFrame:
    """Contract-year totals of the periods (means weighted by days)."""
    rows = []
    for year, group in periods.groupby("contract_year"):
        w = group.days / group.days.sum()
        # Capacity charges accrue by day, so the year's recovered share is the
        # days-weighted mean of its periods' shares.
        rows.append(
            {
                "year": pd.Timestamp(group.index[0]).year,
                "contract_year": int(year),
                "days": int(group.days.sum()),
                "cap_mw": float(group.cap_mw.max()),
                **{
                    c: float((group[c] * w).sum())
                    for c in (
                        "btc_price_usd",
                        "network_hashrate_eh_s",
                        "subsidy_btc",
                        "hashprice_usd_per_ph_day",
                        "charge_recovered_share",
                    )
                },
                "applicants_drawing": int(group.applicants_drawing.max()),
                **{c: float(group[c].sum()) for c in SCALED},
            }
        )
    return pd.DataFrame(rows).set_index("year")
