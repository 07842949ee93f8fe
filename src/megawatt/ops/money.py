"""Money and billing periods shared by invoices, compliance and settlement: rounding to
the paisa and the local calendar month (docs/operations.md, "Invoices")."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from megawatt.ops import metering
from megawatt.ops.problems import invalid

PAISA = Decimal("0.01")


def paisa(value: Decimal) -> Decimal:
    """Rounded half-up to the paisa (0.01 PKR): 1.005 -> 1.01, -1.005 -> -1.01."""
    return value.quantize(PAISA, rounding=ROUND_HALF_UP)


def month_bounds(month: str, tz: ZoneInfo = metering.PROGRAM_TZ) -> tuple[dt.datetime, dt.datetime]:
    """The UTC bounds [start, end) of the local calendar month ``YYYY-MM``."""
    try:
        year, mon = (int(x) for x in month.split("-"))
        first = dt.datetime(year, mon, 1, tzinfo=tz)
    except ValueError:
        raise invalid(f"month {month!r} is not YYYY-MM", "month", "YYYY-MM") from None
    nxt = dt.datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=tz)
    return first.astimezone(dt.UTC), nxt.astimezone(dt.UTC)


__all__ = ["PAISA", "month_bounds", "paisa"]
