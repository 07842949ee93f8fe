"""Money and billing periods shared by invoices, compliance, settlement and the
schedule: rounding to the paisa, the local calendar month and the contract in force
on a day (docs/operations.md, "Invoices")."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from megawatt.economics.contract import add_months
from megawatt.ops import metering
from megawatt.ops.models import Contract
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


def contract_spans(s: Session, site_id: int) -> list[tuple[Contract, dt.date, dt.date]]:
    """Each contract of the site with the local days ``[from, to)`` it governs: from its
    start to the end of its term, cut where a newer contract (by start, then id) starts
    (a newer contract supersedes from its first day)."""
    contracts = list(
        s.scalars(
            select(Contract)
            .where(Contract.site_id == site_id)
            .order_by(Contract.start, Contract.id)
        )
    )
    spans = []
    for k, c in enumerate(contracts):
        end = add_months(c.start, c.term_months)
        for newer in contracts[k + 1 :]:
            end = min(end, max(newer.start, c.start))
        if end > c.start:
            spans.append((c, c.start, end))
    return spans


def contract_on(s: Session, site_id: int, day: dt.date) -> Contract | None:
    """The site's contract in force on the local ``day``: the one whose span (from its
    start to the end of its term, cut where a newer contract starts) holds it. The
    schedule, compliance and invoices all ask this."""
    for c, start, end in contract_spans(s, site_id):
        if start <= day < end:
            return c
    return None


__all__ = ["PAISA", "contract_on", "contract_spans", "month_bounds", "paisa"]
