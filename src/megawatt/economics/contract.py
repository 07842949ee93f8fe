"""The program's contract calendar: term, first-year cap and reviews, as periods.

How the terms are read (``program.contract``; the default's source: IMF conditions
on the incremental-consumption package, May-Jul 2025, "no rollover, 25% first-year cap
on incremental use, semi-annual reviews"; NEPRA's Rs 22.98/kWh for 3 years):

* **term**: the contract runs ``term_years`` from ``start``; nothing is sold after it
  (no rollover), so the multi-year view and the Monte Carlo cover only the term;
* **first-year cap**: in the first 12 months every licence may use at most
  ``first_year_cap_share`` of its MW, pro rata: each applicant's request and
  commitment, and the program, zone and plant caps, are scaled by the share (the IMF
  caps *incremental use* in year one at 25%; read per licence, so the year-one cap
  prefers no applicant to another and a program that fills its cap uses at most 25%
  of it; the other reading, a program-wide cap of 25% x cap_mw that the LP shares out
  by value, gives the same total where the cap binds);
* **reviews**: every ``review_months`` from ``start`` the allocation is decided anew
  for the coming period from that period's market (which applicants' values clear
  the tariff); between reviews it holds. A contract year also starts a period, as the
  cap in force changes there.

A period's figures are the representative grid year's (the plan's hours) scaled by
the period's days over the span's days: the grid does not change across the term.
"""

from __future__ import annotations

import calendar
import datetime as dt
import itertools

import numpy as np
import pandas as pd

from megawatt.errors import input_error
from megawatt.scenario.model import Scenario
from megawatt.scenario.origin import origin_of

DAYS_PER_YEAR = 365.0


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus whole months (the 31st becomes the month's last day)."""
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def contract_start(scenario: Scenario) -> dt.date:
    """The contract's first day: ``program.contract.start``, else 1 January of the market
    path's first year, else the market's as-of date."""
    start = scenario.program.contract.start
    if start is not None:
        return start
    econ = scenario.economics
    if econ is not None and econ.market_path:
        return dt.date(min(y.year for y in econ.market_path), 1, 1)
    return scenario.market.as_of


def contract_end(scenario: Scenario) -> dt.date:
    """The day after the term's last day."""
    months = round(scenario.program.contract.term_years * 12)
    return add_months(contract_start(scenario), months)


def cap_share_in_year(scenario: Scenario, contract_year: int) -> float:
    """The share of its MW each licence may use in contract year ``contract_year``
    (1-based): ``first_year_cap_share`` in the first, 1 after."""
    terms = scenario.program.contract
    return float(terms.first_year_cap_share) if contract_year == 1 else 1.0


def contract_periods(scenario: Scenario) -> pd.DataFrame:
    """The term cut at every review and every contract-year boundary.

    Returns
    -------
    pandas.DataFrame
        One row per period: start, end (exclusive) [date], days, contract_year (1 =
        the first 12 months), review (0 = the allocation decided at the start, k = at
        the k-th review), cap_share (share of its MW each licence may use), cap_mw
        (the program cap in force) [MW].
    """
    terms = scenario.program.contract
    start, end = contract_start(scenario), contract_end(scenario)
    cuts = {start, end}
    k = 1
    while (day := add_months(start, k * terms.review_months)) < end:
        cuts.add(day)
        k += 1
    k = 1
    while (day := add_months(start, 12 * k)) < end:
        cuts.add(day)
        k += 1
    edges = sorted(cuts)
    rows = []
    for a, b in itertools.pairwise(edges):
        year = 1
        while add_months(start, 12 * year) <= a:
            year += 1
        review = 0
        while add_months(start, (review + 1) * terms.review_months) <= a:
            review += 1
        share = cap_share_in_year(scenario, year)
        rows.append(
            {
                "start": a,
                "end": b,
                "days": (b - a).days,
                "contract_year": year,
                "review": review,
                "cap_share": share,
                "cap_mw": scenario.program.cap_mw * share,
            }
        )
    return pd.DataFrame(rows)


def term_market(scenario: Scenario, periods: pd.DataFrame) -> pd.DataFrame:
    """The market path's figures for every day of the term: btc_price_usd,
    network_hashrate_th_s, fees_btc_per_block, indexed by date.

    Raises InputError naming ``economics.market_path`` when a calendar year of the
    term is not on the path.
    """
    econ = scenario.economics
    if econ is None or not econ.market_path:
        raise input_error(
            origin_of(scenario).label,
            "economics.market_path",
            "the multi-year view needs a market path",
        )
    path = {y.year: y for y in econ.market_path}
    days = pd.date_range(periods.start.iloc[0], periods.end.iloc[-1], freq="D", inclusive="left")
    missing = sorted(set(days.year) - set(path))
    if missing:
        raise input_error(
            origin_of(scenario).label,
            "economics.market_path",
            f"the contract term ({periods.start.iloc[0]} to {periods.end.iloc[-1]}, "
            f"program.contract) needs the years {', '.join(map(str, missing))}, which the "
            f"path does not have (it has {min(path)}-{max(path)})",
        )
    years = [path[int(y)] for y in days.year]
    return pd.DataFrame(
        {
            "btc_price_usd": np.array([y.btc_price_usd for y in years]),
            "network_hashrate_th_s": np.array([y.network_hashrate_eh_s * 1e6 for y in years]),
            "fees_btc_per_block": np.array([y.fees_btc_per_block for y in years]),
        },
        index=days,
    )


def period_of(periods: pd.DataFrame, days: pd.DatetimeIndex) -> np.ndarray:
    """The row of ``periods`` (from :func:`contract_periods`) each of ``days`` falls in."""
    starts = pd.to_datetime(periods.start).to_numpy()
    return np.searchsorted(starts, days.to_numpy(), side="right") - 1


def term_years(scenario: Scenario) -> dict[int, float]:
    """Per calendar year the term touches: the cap share in force for most of its days,
    the larger on a tie (the Monte Carlo's draw-years are calendar years)."""
    periods = contract_periods(scenario)
    days = pd.date_range(periods.start.iloc[0], periods.end.iloc[-1], freq="D", inclusive="left")
    share = periods.cap_share.to_numpy()[period_of(periods, days)]
    out = {}
    for year in np.unique(days.year):
        values, counts = np.unique(share[days.year == year], return_counts=True)
        out[int(year)] = float(values[np.lexsort((values, counts))[-1]])  # most days, then larger
    return out
