"""Compliance of a site with a curtailment event, from its meter readings.

The rule (docs/operations.md, "Compliance per event"), after PJM's firm service level
(FSL) method for interruptible load (PJM Manual 18, Load Management event compliance)
and ERCOT's ERS event performance factor (ERCOT Nodal Protocols 8.1.3.1.4):

* **compliance intervals**: the 15-minute intervals (on the UTC quarter-hour grid) that
  start at or after max(event start, published + notice + ramp) and end by the event's
  end, where *published* is when the event version in force was written (its
  ``modified_at``) and notice and ramp are the contract's minutes;
* **allowed kW** of an interval: the event's ``IMPORT_CAPACITY_LIMIT`` (kW) of the event
  interval it lies in (the lowest, if it straddles two), or the contract's firm service
  level x the site's allocation then, whichever is higher (a site may keep its firm
  share during an event);
* **metered kWh**: the sum over the site's meters of the current readings in the
  interval; an interval is *missing* when any meter lacks a reading or has a
  ``missing`` one (or one longer than 15 minutes), *estimated* when any is estimated;
  metered kW = kWh x 60 / 15;
* an interval **complies** when it is measured (not missing, not estimated) and kWh <=
  allowed kW x 15 / 60; its **shortfall** is max(0, kWh - allowed kW x 15 / 60) (measured
  or estimated intervals; missing ones have none to compute and are flagged);
* **penalty** = sum of shortfalls (kWh) / 1000 x the contract's penalty per MWh x its
  PKR exchange rule, rounded half-up to the paisa once per event;
* **performance factor** (in [0, 1]): the mean over compliance intervals of 1 for a
  complying interval, allowed / metered for a measured one over the limit, and 0 for a
  missing or estimated one.

The evidence kept with each result: when the event was created and last published,
when each webhook notification of it to the site's subscriptions was delivered (the
VTN's outbox), and the site's reports on the event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from megawatt.ops import ledger, metering
from megawatt.ops.models import Contract, Meter, Reading
from megawatt.ops.money import month_bounds, paisa
from megawatt.ops.openadr.objects import interval_limits_kw
from megawatt.ops.openadr.tables import (
    OadrEvent,
    OadrReport,
    OadrSubscription,
    OutboxBody,
    OutboxEntry,
)
from megawatt.ops.problems import invalid

STEP = dt.timedelta(minutes=15)
HOURS = Decimal(15) / Decimal(60)


@dataclass(frozen=True)
class IntervalResult:
    start: dt.datetime
    end: dt.datetime
    allowed_kw: Decimal
    kwh: Decimal | None
    quality: str  # measured, estimated, missing
    complies: bool
    shortfall_kwh: Decimal

    @property
    def metered_kw(self) -> Decimal | None:
        return None if self.kwh is None else self.kwh * Decimal(60) / Decimal(15)


@dataclass
class EventResult:
    event_id: int
    site_id: int
    contract_id: int | None
    event_start: dt.datetime
    event_end: dt.datetime
    published_at: dt.datetime
    window_start: dt.datetime
    intervals: list[IntervalResult] = field(default_factory=list)
    penalty_pkr: Decimal = Decimal("0.00")
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def compliant_intervals(self) -> int:
        return sum(1 for i in self.intervals if i.complies)

    @property
    def flagged_intervals(self) -> int:
        return sum(1 for i in self.intervals if i.quality != "measured")

    @property
    def shortfall_kwh(self) -> Decimal:
        return _kwh(sum((i.shortfall_kwh for i in self.intervals), Decimal(0)))

    @property
    def performance_factor(self) -> Decimal | None:
        if not self.intervals:
            return None
        score = Decimal(0)
        for i in self.intervals:
            if i.complies:
                score += 1
            elif i.quality == "measured" and i.kwh:
                score += i.allowed_kw * HOURS / i.kwh
        return (score / len(self.intervals)).quantize(Decimal("0.000001"))

    @property
    def status(self) -> str:
        if not self.intervals:
            return "no compliance intervals"
        if self.compliant_intervals == len(self.intervals):
            return "compliant"
        if any(i.quality == "measured" and not i.complies for i in self.intervals):
            return "non-compliant"
        return "incomplete data"


def _kwh(x: Decimal) -> Decimal:
    """Six decimals (the readings' precision) when that is exact, else every digit."""
    q = x.quantize(Decimal("0.000001"))
    return q if q == x else x


def _ceil(t: dt.datetime) -> dt.datetime:
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    steps = -(-(t - epoch) // STEP)
    return epoch + steps * STEP


def evaluate(
    event_intervals: Sequence[tuple[dt.datetime, dt.timedelta, int]],
    published_at: dt.datetime,
    notice_minutes: int,
    ramp_minutes: int,
    firm_kw: Decimal,
    readings: dict[dt.datetime, list[tuple[Decimal | None, str, int]]],
    meters: int,
) -> list[IntervalResult]:
    """The compliance intervals of an event. ``readings``: interval start -> the
    site's current readings (kWh, quality, minutes) starting in that 15-minute
    interval; ``meters``: how many meters the site has (each must report)."""
    if not event_intervals:
        return []
    start = min(s for s, _, _ in event_intervals)
    end = max(s + d for s, d, _ in event_intervals)
    first = _ceil(max(start, published_at + dt.timedelta(minutes=notice_minutes + ramp_minutes)))
    out = []
    t = first
    while t + STEP <= end:
        limits = [kw for s, d, kw in event_intervals if s < t + STEP and t < s + d]
        if not limits:  # between two event intervals: no obligation
            t += STEP
            continue
        allowed = max(Decimal(min(limits)), firm_kw)
        got = readings.get(t, [])
        covered = sum(m for _, _, m in got)
        if (
            meters == 0
            or any(q == "missing" or k is None for k, q, _ in got)
            or covered != meters * 15
        ):
            out.append(
                IntervalResult(t, t + STEP, allowed, None, "missing", False, _kwh(Decimal(0)))
            )
        else:
            kwh = sum((k for k, _, _ in got if k is not None), Decimal(0))
            quality = "estimated" if any(q == "estimated" for _, q, _ in got) else "measured"
            shortfall = _kwh(max(Decimal(0), kwh - allowed * HOURS))
            complies = quality == "measured" and shortfall == 0
            out.append(IntervalResult(t, t + STEP, allowed, kwh, quality, complies, shortfall))
        t += STEP
    return out


def _contract_at(s: Session, site_id: int, when: dt.datetime) -> Contract | None:
    day = when.astimezone(metering.PROGRAM_TZ).date()
    for c in s.scalars(
        select(Contract)
        .where(Contract.site_id == site_id, Contract.start <= day)
        .order_by(Contract.start.desc(), Contract.id.desc())
    ):
        months = (day.year - c.start.year) * 12 + day.month - c.start.month
        if months < c.term_months:
            return c
    return None


def _evidence(s: Session, event: OadrEvent, end: dt.datetime) -> dict[str, Any]:
    subs = set(
        s.scalars(select(OadrSubscription.id).where(OadrSubscription.site_id == event.site_id))
    )
    deliveries = []
    bodies = s.execute(
        select(OutboxBody.id, OutboxBody.body).where(
            OutboxBody.created_at >= event.created_at, OutboxBody.created_at <= end
        )
    ).all()
    wanted = {
        bid
        for bid, body in bodies
        if body.get("objectType") == "EVENT"
        and str((body.get("object") or {}).get("id")) == str(event.id)
    }
    if wanted:
        for e in s.scalars(
            select(OutboxEntry).where(OutboxEntry.body_id.in_(wanted)).order_by(OutboxEntry.id)
        ):
            if e.subscription_id in subs:
                deliveries.append(
                    {
                        "notification_id": e.notification_id,
                        "queued_at": e.created_at.isoformat(),
                        "status": e.status,
                        "attempts": e.attempts,
                        "delivered_at": e.delivered_at.isoformat() if e.delivered_at else None,
                    }
                )
    reports = [
        {
            "report_id": r.id,
            "client_name": r.client_name,
            "created_at": r.created_at.isoformat(),
            "modified_at": r.modified_at.isoformat(),
            "body": r.body,
        }
        for r in s.scalars(
            select(OadrReport)
            .where(OadrReport.event_id == event.id, OadrReport.site_id == event.site_id)
            .order_by(OadrReport.id)
        )
    ]
    return {
        "event_created_at": event.created_at.isoformat(),
        "event_published_at": event.modified_at.isoformat(),
        "webhook_deliveries": deliveries,
        "reports": reports,
    }


def event_result(s: Session, event: OadrEvent, evidence: bool = True) -> EventResult:
    """The compliance of the site of ``event`` (a curtailment event made for one site);
    ``evidence=False`` leaves the evidence out (a page that lists many events reads the
    deliveries and reports of all of them at once)."""
    if event.site_id is None:
        raise invalid(
            f"event {event.id} is not a site's curtailment event",
            "event_id",
            "not a site event",
        )
    ivs = [(st, d or STEP, kw) for st, d, kw in interval_limits_kw(event)]
    if not ivs:
        raise invalid(f"event {event.id} has no intervals", "event_id", "no intervals")
    start = min(x[0] for x in ivs)
    end = max(x[0] + x[1] for x in ivs)
    contract = _contract_at(s, event.site_id, start)
    notice = contract.notice_minutes if contract else 0
    ramp = contract.ramp_minutes if contract else 0
    fsl = contract.firm_service_level if contract else Decimal(0)
    firm_kw = fsl * Decimal(ledger.level_kw(s, event.site_id, start))
    meter_ids = list(s.scalars(select(Meter.id).where(Meter.site_id == event.site_id)))
    by_interval: dict[dt.datetime, list[tuple[Decimal | None, str, int]]] = {}
    rows: list[Reading] = (
        list(s.scalars(metering.current(meter_ids, start, end))) if meter_ids else []
    )
    for r in rows:
        if r.minutes > 15:  # too coarse to judge a 15-minute interval: each is missing
            for k in range(r.minutes // 15):
                slot = _floor(r.interval_start) + k * STEP
                by_interval.setdefault(slot, []).append((None, "missing", 15))
        else:
            by_interval.setdefault(_floor(r.interval_start), []).append(
                (r.kwh, r.quality, r.minutes)
            )
    published = event.modified_at
    result = EventResult(
        event_id=event.id,
        site_id=event.site_id,
        contract_id=contract.id if contract else None,
        event_start=start,
        event_end=end,
        published_at=published,
        window_start=_ceil(max(start, published + dt.timedelta(minutes=notice + ramp))),
        intervals=evaluate(ivs, published, notice, ramp, firm_kw, by_interval, len(meter_ids)),
        evidence=_evidence(s, event, end + dt.timedelta(days=1)) if evidence else {},
    )
    if contract is not None:
        rate = contract.penalty_local_per_mwh * contract.pkr_per_unit
        result.penalty_pkr = paisa(result.shortfall_kwh / 1000 * rate)
    return result


def _floor(t: dt.datetime) -> dt.datetime:
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return epoch + ((t - epoch) // STEP) * STEP


def month_results(s: Session, site_id: int, month: str) -> list[EventResult]:
    """The site's events that end in the local calendar month ``month``."""
    lo, hi = month_bounds(month)
    out = []
    for event in s.scalars(
        select(OadrEvent).where(OadrEvent.site_id == site_id).order_by(OadrEvent.id)
    ):
        ivs = interval_limits_kw(event)
        if not ivs:
            continue
        end = max(st + (d or STEP) for st, d, _ in ivs)
        if lo < end <= hi:
            out.append(event_result(s, event))
    return out


def plain(value: Any) -> Any:
    """JSON-ready: Decimal as exact text, times as ISO 8601 UTC (Z)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def as_dict(r: EventResult) -> dict[str, Any]:
    return plain(
        {
            "event_id": r.event_id,
            "site_id": r.site_id,
            "contract_id": r.contract_id,
            "event_start": r.event_start,
            "event_end": r.event_end,
            "published_at": r.published_at,
            "window_start": r.window_start,
            "status": r.status,
            "compliance_intervals": len(r.intervals),
            "compliant_intervals": r.compliant_intervals,
            "flagged_intervals": r.flagged_intervals,
            "shortfall_kwh": r.shortfall_kwh,
            "penalty_pkr": r.penalty_pkr,
            "performance_factor": r.performance_factor,
            "intervals": [
                {
                    "start": i.start,
                    "end": i.end,
                    "allowed_kw": i.allowed_kw,
                    "kwh": i.kwh,
                    "metered_kw": i.metered_kw,
                    "quality": i.quality,
                    "complies": i.complies,
                    "shortfall_kwh": i.shortfall_kwh,
                }
                for i in r.intervals
            ],
            "evidence": r.evidence,
        }
    )
