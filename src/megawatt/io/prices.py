"""Bitcoin price history for the risk bootstrap: ``date,btc_price_usd``, daily."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from megawatt.errors import at, input_error
from megawatt.io.common import read_csv_rows

#: Fewest days a history must hold (two months of returns).
MIN_DAYS = 61


def read_price_history(path: Path) -> pd.Series:
    """Daily BTC prices from ``date,btc_price_usd`` (ISO dates, consecutive days, > 0)."""
    columns, rows = read_csv_rows(path)
    for need in ("date", "btc_price_usd"):
        if need not in columns:
            raise input_error(
                path, "line 1", f"needs columns date and btc_price_usd; missing {need}", columns
            )
    dates: list[dt.date] = []
    prices: list[float] = []
    for line, row in rows:
        try:
            day = dt.date.fromisoformat(row["date"].strip())
        except ValueError:
            raise input_error(
                path, at(line, "date"), "not an ISO date (YYYY-MM-DD)", row["date"]
            ) from None
        try:
            price = float(row["btc_price_usd"])
        except ValueError:
            price = float("nan")
        if not np.isfinite(price) or price <= 0:
            raise input_error(
                path, at(line, "btc_price_usd"), "must be a price > 0 USD", row["btc_price_usd"]
            )
        if dates and (day - dates[-1]).days != 1:
            raise input_error(
                path,
                at(line, "date"),
                f"dates must be consecutive days (previous row {dates[-1]})",
                row["date"],
            )
        dates.append(day)
        prices.append(price)
    if len(prices) < MIN_DAYS:
        raise input_error(
            path, "", f"needs at least {MIN_DAYS} days of prices for a bootstrap", len(prices)
        )
    return pd.Series(prices, index=pd.DatetimeIndex(dates, name="date"), name="btc_price_usd")
