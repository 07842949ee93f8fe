"""Compliance of a site with a curtailment event, from its meter readings.

The rule (docs/operations.md, "Compliance per event"), after PJM's firm service level
(FSL) method for interruptible load (PJM Manual 18, Load Management event compliance)
and ERCOT's ERS event performance factor (ERCOT Nodal Protocols 8.1.3.1.4):

* **versions**: every publication of the event (its creation and each change) is
  stored with its time and its limits (``oadr_event_versions``, migration 0007). For a
  15-minute interval starting at *t* (on the UTC quarter-hour grid), *lead* = the
  contract's notice + ramp minutes, the *current* version is the newest published by
  *t* and the *known* one the newest published by *t - lead*; a version's limit at *t*
  is its ``IMPORT_CAPACITY_LIMIT`` (kW) of the event interval the 15 minutes lie in
  (the lowest, if they straddle two), none when they are not wholly within its event;
* **compliance intervals**: those where both the current and the known version have a
  limit; the **limit in force** is the higher of the two: a tightened limit applies
  only once its own notice and ramp have passed, a loosened one at once, and the first
  publication starts the clock (before it + lead there is no known version). With one
  version this is the intervals from max(event start, published + lead) to the end;
* **allowed kW** of an interval: the limit in force, or the contract's firm service
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

The evidence kept with each result: when the event was created and each version published,
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
from megawatt.ops.models import ComplianceMonth, Contract, Invoice, Meter, Reading
from megawatt.ops.money import contract_on, month_bounds, paisa
from megawatt.ops.openadr.objects import interval_limits_kw
from megawatt.ops.openadr.tables import (
    OadrEvent,
    OadrEventVersion,
    OadrReport,
    OadrSubscription,
    OutboxBody,
    OutboxEntry,
)
from megawatt.ops.problems import invalid

STEP = dt.timedelta(minutes=15)
HOURS = Decimal(15) / Decimal(60)


@dataclass(frozen=True)
class Version:
    """One published version of an event: its number, when it was published and its
    limits (start UTC, duration, kW)."""

    number: int
    published_at: dt.datetime
    limits: tuple[tuple[dt.datetime, dt.timedelta, int], ...]

    @property
    def start(self) -> dt.datetime | None:
        return min((st for st, _, _ in self.limits), default=None)

    @property
    def end(self) -> dt.datetime | None:
        return max((st + d for st, d, _ in self.limits), default=None)

    def limit_at(self, t: dt.datetime) -> int | None:
        """The limit (kW) over [t, t + 15 min): the lowest of the intervals it overlaps;
        None when those 15 minutes are not wholly within the event or between two of
        its intervals."""
        start, end = self.start, self.end
        if start is None or end is None or t < start or t + STEP > end:
            return None
        kws = [kw for st, d, kw in self.limits if st < t + STEP and t < st + d]
        return min(kws) if kws else None


def in_force(
    versions: Sequence[Version], t: dt.datetime, lead: dt.timedelta
) -> tuple[int, int] | None:
    """(kW, version number) of the limit in force over the 15 minutes from ``t``, or
    None when the site is under no obligation then (see the module's docstring): the
    higher of the current version's limit (newest published by t) and the known
    version's (newest published by t - lead)."""
    current = known = None
    for v in versions:  # in publication order
        if v.published_at <= t:
            current = v
        if v.published_at <= t - lead:
            known = v
    if current is None or known is None:
        return None
    now, then = current.limit_at(t), known.limit_at(t)
    if now is None or then is None:
        return None
    return (now, current.number) if now > then else (then, known.number)


@dataclass(frozen=True)
class IntervalResult:
    start: dt.datetime
    end: dt.datetime
    allowed_kw: Decimal
    kwh: Decimal | None
    quality: str  # measured, estimated, missing
    complies: bool
    shortfall_kwh: Decimal
    limit_version: int | None = None  # the version whose limit is in force

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
    versions: list[Version] = field(default_factory=list)
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
    versions: Sequence[Version],
    notice_minutes: int,
    ramp_minutes: int,
    firm_kw: Decimal,
    readings: dict[dt.datetime, list[tuple[Decimal | None, str, int]]],
    meters: int,
) -> list[IntervalResult]:
    """The compliance intervals of an event published as ``versions`` (in publication
    order). ``readings``: interval start -> the site's current readings (kWh, quality,
    minutes) starting in that 15-minute interval; ``meters``: how many meters the site
    has (each must report)."""
    starts = [v.start for v in versions if v.start is not None]
    ends = [v.end for v in versions if v.end is not None]
    if not starts or not ends:
        return []
    lead = dt.timedelta(minutes=notice_minutes + ramp_minutes)
    out = []
    t = _ceil(min(starts))
    while t + STEP <= max(ends):
        limit = in_force(versions, t, lead)
        if limit is None:  # not yet known, or no longer (or never) curtailed then
            t += STEP
            continue
        allowed = max(Decimal(limit[0]), firm_kw)
        got = readings.get(t, [])
        covered = sum(m for _, _, m in got)
        if (
            meters == 0
            or any(q == "missing" or k is None for k, q, _ in got)
            or covered != meters * 15
        ):
            out.append(
                IntervalResult(
                    t, t + STEP, allowed, None, "missing", False, _kwh(Decimal(0)), limit[1]
                )
            )
        else:
            kwh = sum((k for k, _, _ in got if k is not None), Decimal(0))
            quality = "estimated" if any(q == "estimated" for _, q, _ in got) else "measured"
            shortfall = _kwh(max(Decimal(0), kwh - allowed * HOURS))
            complies = quality == "measured" and shortfall == 0
            out.append(
                IntervalResult(t, t + STEP, allowed, kwh, quality, complies, shortfall, limit[1])
            )
        t += STEP
    return out


def versions_of(s: Session, event: OadrEvent) -> list[Version]:
    """The event's published versions, oldest first. An event written before versions
    were stored, or not through the VTN's functions, has none: its content as of its
    ``modified_at`` is then its one version."""
    rows = list(
        s.scalars(
            select(OadrEventVersion)
            # A version older than the event belongs to an earlier event with the same id
            # (SQLite reuses the id of a deleted last row; versions outlive their event).
            .where(
                OadrEventVersion.event_id == event.id,
                OadrEventVersion.published_at >= event.created_at,
            )
            .order_by(OadrEventVersion.version)
        )
    )
    if not rows:
        limits = tuple((st, d or STEP, kw) for st, d, kw in interval_limits_kw(event))
        return [Version(1, event.modified_at, limits)]
    out = []
    for row in rows:
        limits = tuple(
            (
                dt.datetime.fromisoformat(str(st).replace("Z", "+00:00")),
                dt.timedelta(seconds=seconds) if seconds is not None else STEP,
                int(kw),
            )
            for st, seconds, kw in row.limits or []
        )
        out.append(Version(row.version, row.published_at, limits))
    return out


def contract_at(s: Session, site_id: int, when: dt.datetime) -> Contract | None:
    """The site's contract in force at ``when`` (its local day: money.contract_on)."""
    return contract_on(s, site_id, when.astimezone(metering.PROGRAM_TZ).date())


def _evidence(
    s: Session, event: OadrEvent, versions: Sequence[Version], end: dt.datetime
) -> dict[str, Any]:
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
        "event_versions": [
            {
                "version": v.number,
                "published_at": v.published_at.isoformat(),
                "limits": [
                    {"start": st.isoformat(), "minutes": d // dt.timedelta(minutes=1), "kw": kw}
                    for st, d, kw in v.limits
                ],
            }
            for v in versions
        ],
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
    contract = contract_at(s, event.site_id, start)
    notice = contract.notice_minutes if contract else 0
    ramp = contract.ramp_minutes if contract else 0
    fsl = contract.firm_service_level if contract else Decimal(0)
    firm_kw = fsl * Decimal(ledger.level_kw(s, event.site_id, start))
    versions = versions_of(s, event)
    lo = min([start, *(v.start for v in versions if v.start is not None)])
    hi = max([end, *(v.end for v in versions if v.end is not None)])
    meter_ids = list(s.scalars(select(Meter.id).where(Meter.site_id == event.site_id)))
    by_interval: dict[dt.datetime, list[tuple[Decimal | None, str, int]]] = {}
    rows: list[Reading] = list(s.scalars(metering.current(meter_ids, lo, hi))) if meter_ids else []
    for r in rows:
        if r.minutes > 15:  # too coarse to judge a 15-minute interval: each is missing
            for k in range(r.minutes // 15):
                slot = floor_quarter(r.interval_start) + k * STEP
                by_interval.setdefault(slot, []).append((None, "missing", 15))
        else:
            by_interval.setdefault(floor_quarter(r.interval_start), []).append(
                (r.kwh, r.quality, r.minutes)
            )
    first = versions[0].published_at
    result = EventResult(
        event_id=event.id,
        site_id=event.site_id,
        contract_id=contract.id if contract else None,
        event_start=start,
        event_end=end,
        published_at=first,
        window_start=_ceil(max(start, first + dt.timedelta(minutes=notice + ramp))),
        intervals=evaluate(versions, notice, ramp, firm_kw, by_interval, len(meter_ids)),
        versions=versions,
        evidence=_evidence(s, event, versions, end + dt.timedelta(days=1)) if evidence else {},
    )
    if contract is not None:
        rate = contract.penalty_local_per_mwh * contract.pkr_per_unit
        result.penalty_pkr = paisa(result.shortfall_kwh / 1000 * rate)
    return result


def floor_quarter(t: dt.datetime) -> dt.datetime:
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return epoch + ((t - epoch) // STEP) * STEP


def month_results(s: Session, site_id: int, month: str, evidence: bool = True) -> list[EventResult]:
    """The site's events that end in the local calendar month ``month`` (``evidence``:
    as in :func:`event_result`)."""
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
            out.append(event_result(s, event, evidence=evidence))
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
            "versions": len(r.versions),
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
                    "limit_version": i.limit_version,
                }
                for i in r.intervals
            ],
            "evidence": r.evidence,
        }
    )


# -- a site's month -------------------------------------------------------------------------


def month_totals(results: Sequence[EventResult]) -> dict[str, Any]:
    """A month's totals over its events' results (exact Decimal)."""
    return {
        "events": len(results),
        "compliant_events": sum(1 for x in results if x.status == "compliant"),
        "compliance_intervals": sum(len(x.intervals) for x in results),
        "compliant_intervals": sum(x.compliant_intervals for x in results),
        "flagged_intervals": sum(x.flagged_intervals for x in results),
        "shortfall_kwh": _kwh(sum((x.shortfall_kwh for x in results), Decimal(0))),
        "penalty_pkr": sum((x.penalty_pkr for x in results), Decimal("0.00")),
    }


def store_month(s: Session, invoice: Invoice, results: Sequence[EventResult]) -> ComplianceMonth:
    """Keep the compliance record an invoice billed (its penalty lines are these
    results' penalties), in the invoice's transaction."""
    row = ComplianceMonth(
        site_id=invoice.site_id,
        month=invoice.month,
        invoice_id=invoice.id,
        results=[as_dict(r) for r in results],
        **month_totals(results),
    )
    s.add(row)
    s.flush()
    return row


def stored_month(s: Session, site_id: int, month: str) -> ComplianceMonth | None:
    """The record kept with the month's standing invoice (not cancelled by a credit
    note), if there is one."""
    credited = select(Invoice.credits_invoice_id).where(Invoice.credits_invoice_id.is_not(None))
    return s.scalars(
        select(ComplianceMonth)
        .join(Invoice, Invoice.id == ComplianceMonth.invoice_id)
        .where(
            ComplianceMonth.site_id == site_id,
            ComplianceMonth.month == month,
            Invoice.id.not_in(credited),
        )
        .order_by(ComplianceMonth.id.desc())
    ).first()


def month_record(s: Session, site_id: int, month: str, evidence: bool = True) -> dict[str, Any]:
    """A site's compliance record for the local month ``month``: the one stored with
    the month's standing invoice (``"source": "stored"``: what was billed, even if
    readings were corrected since), else computed now (``"source": "computed"``;
    ``evidence=False`` leaves each event's evidence out, for a page of many sites)."""
    kept = stored_month(s, site_id, month)
    if kept is not None:
        return plain(
            {
                "site_id": site_id,
                "month": month,
                "source": "stored",
                "invoice_id": kept.invoice_id,
                "recorded_at": kept.recorded_at,
                "events": kept.events,
                "compliant_events": kept.compliant_events,
                "compliance_intervals": kept.compliance_intervals,
                "compliant_intervals": kept.compliant_intervals,
                "flagged_intervals": kept.flagged_intervals,
                "shortfall_kwh": _kwh(kept.shortfall_kwh),
                "penalty_pkr": kept.penalty_pkr,
                "results": kept.results,
            }
        )
    results = month_results(s, site_id, month, evidence)
    return plain(
        {
            "site_id": site_id,
            "month": month,
            "source": "computed",
            "invoice_id": None,
            "recorded_at": None,
            **month_totals(results),
            "results": [as_dict(x) for x in results],
        }
    )
