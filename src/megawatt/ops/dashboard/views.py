"""What the dashboard's pages show: read models built from the same tables and rules
as the API (megawatt.ops.access scopes every query; ledger, compliance and invoicing
compute every figure)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from megawatt.ops import access, compliance, ledger, metering
from megawatt.ops.auth import Principal
from megawatt.ops.metering import PROGRAM_TZ
from megawatt.ops.models import Cap, LedgerEntry, Licence, Meter, Site
from megawatt.ops.openadr.objects import interval_limits_kw
from megawatt.ops.openadr.tables import (
    OadrEvent,
    OadrReport,
    OadrSubscription,
    OutboxBody,
    OutboxEntry,
)

#: A licence that lapses within this many days is flagged on the sites page.
EXPIRING_DAYS = 30
#: Longest metering chart at 15-minute resolution; longer spans are hourly means.
FINE_DAYS = 7
MAX_CHART_DAYS = 366

COLORS = ("#0b5cad", "#d1495b", "#2e8b57", "#edae49", "#6a4c93", "#00798c", "#8d6a9f")


@dataclass(frozen=True)
class CapRow:
    scope: str
    name: str
    cap_mw: Decimal
    now_mw: Decimal
    peak_mw: Decimal

    @property
    def free_mw(self) -> Decimal:
        return self.cap_mw - self.peak_mw

    @property
    def used_share(self) -> float:
        return float(self.peak_mw / self.cap_mw) if self.cap_mw else 0.0


def caps(s: Session, now: dt.datetime) -> list[CapRow]:
    """Every cap: allocated now, the most allocated under it from now on, and what is
    free (cap - that peak: what a new grant may still take for all time)."""
    levels = ledger.levels_kw(s, now)
    sites = s.execute(select(Site.id, Site.zone, Site.plant)).all()
    out = []
    for cap in s.scalars(select(Cap).order_by(Cap.scope, Cap.name)):
        if cap.scope == "zone":
            now_kw = sum(levels.get(i, 0) for i, z, _ in sites if z == cap.name)
        elif cap.scope == "plant":
            now_kw = sum(levels.get(i, 0) for i, _, p in sites if p == cap.name)
        else:
            now_kw = sum(levels.values())
        out.append(
            CapRow(
                cap.scope,
                cap.name,
                ledger.to_mw(cap.cap_kw),
                ledger.to_mw(now_kw),
                ledger.to_mw(ledger.peak_kw(s, cap, since=now)),
            )
        )
    order = {"program": 0, "zone": 1, "plant": 2}
    return sorted(out, key=lambda c: (order.get(c.scope, 3), c.name))


def allocation_figure(s: Session, who: Principal, now: dt.datetime) -> dict[str, Any]:
    """Allocated MW over time by zone (a step per ledger change), from 90 days ago to a
    year ahead, of the sites ``who`` sees; the program cap as a line."""
    lo, hi = now - dt.timedelta(days=90), now + dt.timedelta(days=365)
    stmt = access.scoped(
        select(LedgerEntry.effective_from, LedgerEntry.delta_kw, Site.zone)
        .join(Site, Site.id == LedgerEntry.site_id)
        .order_by(LedgerEntry.effective_from, LedgerEntry.id),
        LedgerEntry.site_id,
        who,
    )
    run: dict[str, int] = defaultdict(int)
    points: dict[str, list[tuple[dt.datetime, float]]] = defaultdict(list)
    for t, delta, zone in s.execute(stmt):
        run[zone] += delta
        points[zone].append((max(t, lo), run[zone] / 1000))
    traces = []
    for k, (zone, pts) in enumerate(sorted(points.items())):
        pts = [p for p in pts if p[0] <= hi] + [(hi, run[zone] / 1000)]
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "line": {"shape": "hv", "color": COLORS[k % len(COLORS)]},
                "stackgroup": "zones",
                "name": zone,
                "x": [p[0].astimezone(PROGRAM_TZ).isoformat() for p in pts],
                "y": [p[1] for p in pts],
            }
        )
    program = s.scalar(select(Cap.cap_kw).where(Cap.scope == "program"))
    shapes = []
    if program and access.is_overseer(who):
        shapes.append(_hline(program / 1000, "program cap"))
    return {
        "data": traces,
        "layout": _layout(
            "Allocated MW by zone (ledger)",
            "MW",
            shapes=shapes,
            extra={"xaxis": {"range": [_iso(lo), _iso(hi)]}},
        ),
    }


def _iso(t: dt.datetime) -> str:
    return t.astimezone(PROGRAM_TZ).isoformat()


def _hline(y: float, name: str) -> dict[str, Any]:
    return {
        "type": "line",
        "xref": "paper",
        "x0": 0,
        "x1": 1,
        "y0": y,
        "y1": y,
        "line": {"color": "#b42318", "dash": "dash"},
        "label": {"text": name, "textposition": "end"},
    }


def _layout(
    title: str, unit: str, shapes: list[Any] | None = None, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "title": {"text": title, "font": {"size": 15}},
        "margin": {"l": 55, "r": 20, "t": 45, "b": 40},
        "yaxis": {"title": {"text": unit}, "rangemode": "tozero"},
        "legend": {"orientation": "h", "y": -0.2},
        "shapes": shapes or [],
        "height": 340,
    }
    out.update(extra or {})
    return out


def expected_figure(day_schedule: Any) -> dict[str, Any]:
    """Today's hours: the MW the sites hold (ledger) against the MW the dispatch of
    the day can serve them (the rolling re-dispatch of the scenario's surplus: what
    the day-ahead schedule publishes); the gap is curtailment."""
    hours = [h.tz_convert(str(PROGRAM_TZ)).isoformat() for h in day_schedule.hours]
    held = day_schedule.level_mw.sum(axis=1).tolist()
    served = day_schedule.served_mw.sum(axis=1).tolist()
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines",
                "line": {"shape": "hv", "color": "#57606a", "dash": "dot"},
                "name": "allocated (ledger)",
                "x": hours,
                "y": held,
            },
            {
                "type": "scatter",
                "mode": "lines",
                "line": {"shape": "hv", "color": "#0b5cad"},
                "fill": "tozeroy",
                "name": "expected served (dispatch of the surplus)",
                "x": hours,
                "y": served,
            },
        ],
        "layout": _layout(f"Today ({day_schedule.day}): expected surplus served", "MW"),
    }


@dataclass(frozen=True)
class SiteRow:
    site: Site
    operator: str
    licence: Licence | None
    allocated_mw: Decimal
    flag: str  # "", "expiring", "lapsed", "suspended", "none"


def licence_flag(lic: Licence | None, now: dt.datetime) -> str:
    if lic is None:
        return "no licence"
    if lic.status != "active":
        return lic.status
    if lic.valid_to is not None and lic.valid_to <= now:
        return "lapsed"
    if lic.valid_to is not None and lic.valid_to <= now + dt.timedelta(days=EXPIRING_DAYS):
        return "expiring"
    return ""


def latest_licences(s: Session, site_ids: list[int]) -> dict[int, Licence]:
    """Each site's licence that matters now: the newest by validity start."""
    out: dict[int, Licence] = {}
    if not site_ids:
        return out
    for lic in s.scalars(
        select(Licence).where(Licence.site_id.in_(site_ids)).order_by(Licence.valid_from)
    ):
        out[lic.site_id] = lic
    return out


def visible_site_options(s: Session, who: Principal) -> list[tuple[int, str]]:
    stmt = access.scoped(select(Site.id, Site.name).order_by(Site.name), Site.id, who)
    return [(i, n) for i, n in s.execute(stmt)]


# -- events -----------------------------------------------------------------------------
@dataclass(frozen=True)
class EventRow:
    event: OadrEvent
    site: str
    kind: str
    start: dt.datetime
    end: dt.datetime
    limit_kw: int | None
    result: compliance.EventResult
    state: str  # upcoming, in notice/ramp, active, ended
    live: str  # the site's status by meter now
    live_class: str
    delivered: int = 0  # webhook notifications of the event delivered ...
    queued: int = 0  # ... of those queued for the site's subscriptions
    reports: int = 0  # the site's reports on the event


def _event_span(event: OadrEvent) -> tuple[dt.datetime, dt.datetime, int | None] | None:
    ivs = interval_limits_kw(event)
    if not ivs:
        return None
    start = min(st for st, _, _ in ivs)
    end = max(st + (d or compliance.STEP) for st, d, _ in ivs)
    limits = [kw for _, _, kw in ivs if kw is not None]
    return start, end, (min(limits) if limits else None)


def day_events(
    s: Session,
    who: Principal,
    day: dt.date,
    now: dt.datetime,
    site_id: int | None = None,
    page: int = 1,
    size: int = 50,
    ascending: bool = True,
) -> tuple[list[EventRow], int]:
    """A page of the site events whose intervals overlap the local ``day`` (by start,
    then site), with each site's live status by meter and its compliance so far
    (megawatt.ops.compliance: the figures the settlement uses); and how many there
    are in all."""
    lo = dt.datetime.combine(day, dt.time(), PROGRAM_TZ).astimezone(dt.UTC)
    hi = lo + dt.timedelta(days=1)
    # Events are written shortly before they start (a day-ahead schedule, an
    # emergency) and kept: bounds on the write times keep the rows read few (an event
    # last written more than 3 days before the day, or first written more than 2 days
    # after it, is not listed; the start and end live in the event's JSON body, so the
    # page is cut in Python from these rows).
    stmt = access.scoped(
        select(OadrEvent, Site.name)
        .join(Site, Site.id == OadrEvent.site_id)
        .where(
            OadrEvent.modified_at >= lo - dt.timedelta(days=3),
            OadrEvent.created_at < hi + dt.timedelta(days=2),
        ),
        OadrEvent.site_id,
        who,
    )
    if site_id is not None:
        stmt = stmt.where(OadrEvent.site_id == site_id)
    found = []
    for event, site_name in s.execute(stmt):
        span = _event_span(event)
        if span is not None and span[1] > lo and span[0] < hi:
            found.append((span, site_name, event))
    found.sort(key=lambda x: (x[0][0], x[1], x[2].id), reverse=not ascending)
    chosen = found[(page - 1) * size : page * size]
    acks = acknowledgements(s, [e for _, _, e in chosen])
    rows = []
    for (start, end, limit_kw), site_name, event in chosen:
        result = compliance.event_result(s, event, evidence=False)
        emergency = event.priority == 0 or (event.key or "").startswith("emergency")
        state = (
            "ended"
            if now >= end
            else "active"
            if now >= result.window_start
            else "in notice/ramp"
            if now >= start
            else "upcoming"
        )
        live, cls = _live(s, event, start, end, now)
        rows.append(
            EventRow(
                event,
                site_name,
                "emergency" if emergency else "scheduled",
                start,
                end,
                limit_kw,
                result,
                state,
                live,
                cls,
                *acks.get(event.id, (0, 0, 0)),
            )
        )
    return rows, len(found)


def acknowledgements(s: Session, events: list[OadrEvent]) -> dict[int, tuple[int, int, int]]:
    """Per event: webhook notifications delivered, queued (to the site's own
    subscriptions) and the site's reports: three queries for a page of events."""
    if not events:
        return {}
    ids = {e.id: e for e in events}
    site_of = {e.id: e.site_id for e in events}
    subs: dict[int, set[int]] = defaultdict(set)
    for sub_id, sid in s.execute(
        select(OadrSubscription.id, OadrSubscription.site_id).where(
            OadrSubscription.site_id.in_({e.site_id for e in events})
        )
    ):
        subs[sid].add(sub_id)
    out: dict[int, list[int]] = {i: [0, 0, 0] for i in ids}
    since = min(e.created_at for e in events)
    if subs:
        all_subs = set().union(*subs.values())
        for body, status, sub_id in s.execute(
            select(OutboxBody.body, OutboxEntry.status, OutboxEntry.subscription_id)
            .join(OutboxEntry, OutboxEntry.body_id == OutboxBody.id)
            .where(OutboxBody.created_at >= since, OutboxEntry.subscription_id.in_(all_subs))
        ):
            if body.get("objectType") != "EVENT":
                continue
            try:
                eid = int((body.get("object") or {}).get("id"))
            except (TypeError, ValueError):
                continue
            if eid in ids and sub_id in subs.get(site_of[eid], set()):
                out[eid][1] += 1
                out[eid][0] += status == "delivered"
    for eid, sid, n in s.execute(
        select(OadrReport.event_id, OadrReport.site_id, func.count())
        .where(OadrReport.event_id.in_(ids))
        .group_by(OadrReport.event_id, OadrReport.site_id)
    ):
        if site_of.get(eid) == sid:
            out[eid][2] += n
    return {k: (v[0], v[1], v[2]) for k, v in out.items()}


def _live(
    s: Session, event: OadrEvent, start: dt.datetime, end: dt.datetime, now: dt.datetime
) -> tuple[str, str]:
    """The site's status by meter now: its latest 15-minute demand since the event
    started against the event's import limit then, or "late" when the last quarter
    hour that has ended has no reading. (The compliance column is the settlement's
    verdict, after notice and ramp; this is what an operator watches.)"""
    if now < start:
        return "not started", "muted"
    meter_ids = list(s.scalars(select(Meter.id).where(Meter.site_id == event.site_id)))
    upto = min(end, now)
    per: dict[dt.datetime, Decimal] = defaultdict(Decimal)
    missing: set[dt.datetime] = set()
    if meter_ids:
        for r in s.scalars(metering.current(meter_ids, start, upto)):
            if r.kwh is None:
                missing.add(r.interval_start)
            else:
                per[r.interval_start] += r.kwh * Decimal(60) / Decimal(r.minutes)
    last_due = compliance.floor_quarter(upto) - compliance.STEP
    if last_due >= start and last_due not in per:
        word = "missing reading" if last_due in missing else "no reading"
        return f"late: {word} for {last_due.astimezone(PROGRAM_TZ):%H:%M}", "warn"
    if not per:
        return "awaiting first interval", "muted"
    t = max(per)
    limit = next(
        (kw for st, d, kw in interval_limits_kw(event) if st <= t < st + (d or compliance.STEP)),
        None,
    )
    kw = per[t]
    if limit is None:
        return f"{kw:.0f} kW at {t.astimezone(PROGRAM_TZ):%H:%M}", "muted"
    word = f"{kw:.0f} kW vs limit {limit} kW at {t.astimezone(PROGRAM_TZ):%H:%M}"
    return (f"under the limit: {word}", "ok") if kw <= limit else (f"over: {word}", "bad")


# -- metering ---------------------------------------------------------------------------
def metering_figure(
    s: Session, site: Site, start: dt.datetime, end: dt.datetime
) -> tuple[dict[str, Any], dict[str, Any]]:
    """15-minute demand (kW, the sum of the site's meters) against the event limits and
    the firm service level x allocation, from ``start`` to ``end``; spans longer than
    FINE_DAYS are hourly means (at most 8,784 points reach the browser). Returns the
    figure and its summary (energy, intervals, missing)."""
    meter_ids = list(s.scalars(select(Meter.id).where(Meter.site_id == site.id)))
    per: dict[dt.datetime, Decimal] = defaultdict(Decimal)
    missing = 0
    kwh_total = Decimal(0)
    if meter_ids:
        for r in s.scalars(metering.current(meter_ids, start, end)):
            if r.kwh is None:
                missing += 1
                continue
            kwh_total += r.kwh
            per[r.interval_start] += r.kwh * Decimal(60) / Decimal(r.minutes)
    hourly = (end - start) > dt.timedelta(days=FINE_DAYS)
    if hourly:
        buckets: dict[dt.datetime, list[Decimal]] = defaultdict(list)
        for t, kw in per.items():
            buckets[t.replace(minute=0)].append(kw)
        series = sorted((t, sum(v) / len(v)) for t, v in buckets.items())
    else:
        series = sorted(per.items())
    traces: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines",
            "line": {"shape": "hv", "color": "#0b5cad"},
            "name": "metered kW" + (" (hourly mean)" if hourly else " (15 min)"),
            "x": [_iso(t) for t, _ in series],
            "y": [float(v) for _, v in series],
        }
    ]
    # Event limits (step), from the site's events overlapping the span.
    xs: list[str | None] = []
    ys: list[float | None] = []
    for event in s.scalars(
        select(OadrEvent)
        .where(OadrEvent.site_id == site.id, OadrEvent.created_at < end)
        .order_by(OadrEvent.id)
    ):
        for st, d, kw in interval_limits_kw(event):
            stop = st + (d or compliance.STEP)
            if kw is None or stop <= start or st >= end:
                continue
            xs += [_iso(st), _iso(stop), None]
            ys += [kw, kw, None]
    if xs:
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "line": {"color": "#b42318", "width": 2},
                "name": "event import limit (kW)",
                "x": xs,
                "y": ys,
            }
        )
    contract = compliance.contract_at(s, site.id, start)
    level = ledger.level_kw(s, site.id, end)
    shapes = []
    if contract is not None and contract.firm_service_level:
        fsl_kw = float(contract.firm_service_level * level)
        shapes.append(_hline(fsl_kw, f"FSL {float(contract.firm_service_level):.0%} x allocation"))
    if level:
        shapes.append(
            {**_hline(float(level), "allocation"), "line": {"color": "#57606a", "dash": "dot"}}
        )
    figure = {"data": traces, "layout": _layout(f"{site.name}: demand", "kW", shapes=shapes)}
    summary = {
        "energy_kwh": kwh_total,
        "intervals": len(per),
        "missing": missing,
        "points": len(series),
        "hourly": hourly,
        "allocation_mw": ledger.to_mw(level),
        "fsl": contract.firm_service_level if contract else None,
    }
    return figure, summary
