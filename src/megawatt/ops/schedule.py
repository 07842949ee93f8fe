"""Day-ahead curtailment blocks from the plan's dispatch of the live registry.

:func:`schedule_day` (and :func:`day_ahead`, its blocks only) dispatches one program
day on the sites and allocations the registry holds and turns each site's curtailment
into :class:`Block` s, the events the OpenADR VTN publishes (docs/operations.md,
"Day-ahead schedule"):

* **The scenario** is :func:`megawatt.ops.planio.registry_scenario`: the base
  scenario's grid with the registry's sites as applicants and the database's caps.
  Each site's allocation is fixed at its ledger level (requested = committed = the
  day's highest level); the LP chooses only what each site is served, hour by hour.
* **The day** is the program's local day (the scenario's time zone, Asia/Karachi for
  the default): 24 hourly steps from local midnight. Its hourly inputs (demand,
  availability, water, tariff band) are those of the same month and day in the
  scenario's profile year, its span (29 February falls back to the 28th when the span
  has none); the results carry the real day's times.
* **The dispatch** is the plan's: the baseline for the day, then the program with
  shedding capped at the baseline's (national demand first), each as one day-ahead
  window of :func:`megawatt.optimize.rolling.rolling_dispatch` (no look-ahead beyond
  the day, span-level limits prorated to it by ``window_inputs``). Only the day's 24
  hours are solved, never the year.
* **Curtailment** of a site in an hour is its ledger level at that hour minus what it
  is served (:func:`megawatt.metrics.curtailed_mask`); a block is a run of curtailed
  hours (:func:`megawatt.metrics.runs`) whose intervals carry the allowed import (the
  MW served; the VTN converts to kW).
* **Notice.** No block starts before ``published_at + notice_minutes`` of the site's
  contract in force on the day (the scenario's ``program.contract.notice_minutes``
  for a site without one). An hour that starts earlier is not in any block: the site
  is not required to curtail then; its curtailment is reported as *uncovered* MWh.
* **Idempotence.** A block's key is ``kind:site_id:day:start`` (:attr:`Block.key`),
  its content digest covers what the VTN publishes (:attr:`Block.digest`).
  :func:`reconcile` keeps, updates, creates and cancels by them; :func:`publish` runs
  it against an :class:`EventSink`.
* **Emergencies** (:func:`emergency_block`, :func:`issue_emergency`): an emergency
  block supersedes the scheduled blocks of its site where they overlap it: the
  scheduled intervals are cut out of the emergency's window (:func:`apply_overrides`),
  now and on every later run of the schedule.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from megawatt import scenario as scenario_lib
from megawatt.economics.valuation import bids, value_applicants
from megawatt.errors import InputError
from megawatt.metrics import curtailed_mask, runs
from megawatt.ops import ledger
from megawatt.ops.models import LedgerEntry, Site
from megawatt.ops.money import contract_on
from megawatt.ops.planio import registry_applicants, registry_scenario
from megawatt.ops.problems import invalid, not_found
from megawatt.optimize.inputs import HourlyInputs, build_inputs
from megawatt.optimize.rolling import rolling_dispatch, window_inputs
from megawatt.optimize.solve import SHED_CAP_SLACK_MW
from megawatt.scenario.series import local_snapshots

Kind = Literal["scheduled", "emergency"]

#: Steps of a program day [h] and their length.
DAY_STEPS = 24
STEP = dt.timedelta(hours=1)
#: OpenADR priority (lower is higher): an emergency outranks the schedule.
PRIORITY = {"emergency": 0, "scheduled": 1}


@dataclass(frozen=True)
class Interval:
    """One interval of a block: from ``start`` to ``end`` (UTC) the site may import at
    most ``allowed_mw``; ``curtailed_mw`` below its allocation (information only: not
    published, not compared)."""

    start: dt.datetime
    end: dt.datetime
    allowed_mw: float
    curtailed_mw: float = field(default=0.0, compare=False)

    @property
    def allowed_kw(self) -> int:
        return round(self.allowed_mw * ledger.KW_PER_MW)

    @property
    def hours(self) -> float:
        return (self.end - self.start) / dt.timedelta(hours=1)


@dataclass(frozen=True)
class Block:
    """One curtailment event of one site: contiguous intervals with an import limit."""

    site_id: int
    site: str
    day: dt.date  # the program day (local) the block belongs to
    kind: Kind
    intervals: tuple[Interval, ...]
    notice_minutes: int = 0
    priority: int = PRIORITY["scheduled"]

    @property
    def start(self) -> dt.datetime:
        return self.intervals[0].start

    @property
    def end(self) -> dt.datetime:
        return self.intervals[-1].end

    @property
    def key(self) -> str:
        """What identifies the block across runs: ``kind:site_id:day:start`` (start in
        UTC, ISO 8601). A block whose start moves is a new block (the old is cancelled)."""
        start = self.start.astimezone(dt.UTC).isoformat()
        return f"{self.kind}:{self.site_id}:{self.day.isoformat()}:{start}"

    @property
    def digest(self) -> str:
        """SHA-256 of what the VTN publishes: key, priority and each interval's start,
        end and allowed import in whole kW. Equal digests: nothing to update."""
        parts = [self.key, str(self.priority)]
        parts += [
            f"{i.start.astimezone(dt.UTC).isoformat()}/{i.end.astimezone(dt.UTC).isoformat()}"
            f"/{i.allowed_kw}"
            for i in self.intervals
        ]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()

    @property
    def curtailed_mwh(self) -> float:
        return float(sum(i.curtailed_mw * i.hours for i in self.intervals))

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready view (times in UTC ISO 8601)."""
        return {
            "key": self.key,
            "site_id": self.site_id,
            "site": self.site,
            "day": self.day.isoformat(),
            "kind": self.kind,
            "priority": self.priority,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "notice_minutes": self.notice_minutes,
            "curtailed_mwh": round(self.curtailed_mwh, 3),
            "intervals": [
                {
                    "start": i.start.isoformat(),
                    "end": i.end.isoformat(),
                    "allowed_mw": round(i.allowed_mw, 3),
                    "curtailed_mw": round(i.curtailed_mw, 3),
                }
                for i in self.intervals
            ],
        }


class EventSink(Protocol):
    """Where blocks are published: the OpenADR VTN (one event per block, targeted at
    the site's VEN, ``IMPORT_CAPACITY_LIMIT`` per interval in kW, the block's priority,
    its key as the event's name). The schedule needs three operations:"""

    def events(self, start: dt.datetime, end: dt.datetime) -> list[Block]:
        """Every published, not cancelled block (scheduled and emergency) that overlaps
        ``[start, end)``, rebuilt so that its ``key`` and ``digest`` are the ones it was
        published with (site, day, kind, priority, intervals with kW limits)."""
        ...

    def upsert_event(self, block: Block) -> None:
        """Create the event of ``block.key``, or replace its content if it exists."""
        ...

    def cancel_event(self, block: Block) -> None:
        """Cancel the event of ``block.key`` (VENs are told; it is not deleted)."""
        ...


class VtnSink:
    """The OpenADR VTN as the schedule's :class:`EventSink`, in the caller's transaction:
    each block is one event keyed by :attr:`Block.key`
    (:func:`megawatt.ops.openadr.upsert_event`: targeted at the site's VEN,
    ``IMPORT_CAPACITY_LIMIT`` in kW per interval, the block's priority), audited and
    notified through the outbox like any other change."""

    def __init__(self, session: Session, actor: str) -> None:
        self.session = session
        self.actor = actor

    def events(self, start: dt.datetime, end: dt.datetime) -> list[Block]:
        from megawatt.ops.openadr import objects

        out = []
        names: dict[int, str] = {i: n for i, n in self.session.execute(select(Site.id, Site.name))}
        for kind in PRIORITY:
            for row in objects.events_with_keys(self.session, f"{kind}:"):
                block = _block_of(row.key, row.priority, objects.interval_limits_kw(row), names)
                if block is not None and block.start < end and block.end > start:
                    out.append(block)
        return out

    def upsert_event(self, block: Block) -> None:
        from megawatt.ops.openadr import objects

        try:
            objects.upsert_event(
                self.session,
                key=block.key,
                site_id=block.site_id,
                intervals=[(i.start, i.end - i.start, i.allowed_kw) for i in block.intervals],
                priority=block.priority,
                event_name=block.key,
                actor=self.actor,
            )
        except ValueError as exc:  # a site that never held a licence is no VEN
            raise invalid(str(exc), "site_id", "must be a licensed site (a VEN)") from None

    def cancel_event(self, block: Block) -> None:
        from megawatt.ops.openadr import objects

        objects.cancel_event(self.session, key=block.key, actor=self.actor)


def _block_of(
    key: str | None,
    priority: int | None,
    limits: Sequence[tuple[dt.datetime, dt.timedelta | None, int]],
    names: dict[int, str],
) -> Block | None:
    """The block an event was published from (its key ``kind:site:day:start`` and its
    intervals' kW limits); None for an event this module did not make."""
    parts = (key or "").split(":", 3)
    if len(parts) != 4 or parts[0] not in PRIORITY or not limits:
        return None
    if any(duration is None for _, duration, _ in limits):
        return None
    kind, site, day, _ = parts
    intervals = tuple(
        Interval(start, start + duration, kw / ledger.KW_PER_MW)  # type: ignore[operator]
        for start, duration, kw in limits
    )
    return Block(
        site_id=int(site),
        site=names.get(int(site), site),
        day=dt.date.fromisoformat(day),
        kind=kind,  # type: ignore[arg-type]
        intervals=intervals,
        priority=PRIORITY[kind] if priority is None else priority,
    )


def event_sink(session: Session, actor: str = "system:schedule") -> EventSink:
    """The VTN's sink on ``session``'s database (see :class:`VtnSink`)."""
    return VtnSink(session, actor)


@dataclass(frozen=True)
class Uncovered:
    """Curtailment inside the notice window: the site is not required to curtail."""

    site_id: int
    site: str
    start: dt.datetime
    curtailed_mw: float

    @property
    def mwh(self) -> float:
        return self.curtailed_mw * STEP / dt.timedelta(hours=1)


@dataclass
class DaySchedule:
    """A program day's dispatch and blocks."""

    day: dt.date
    timezone: str
    published_at: dt.datetime
    profile_day: dt.date  # the day of the scenario's span whose hourly inputs were used
    hours: pd.DatetimeIndex  # the day's 24 hour starts, UTC
    level_mw: pd.DataFrame  # ledger level per hour and site name
    served_mw: pd.DataFrame  # allowed import per hour and site name
    blocks: list[Block]
    uncovered: list[Uncovered]
    no_contract: list[str]  # sites given the program's default notice
    solve_s: float

    @property
    def uncovered_mwh(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for u in self.uncovered:
            out[u.site] = out.get(u.site, 0.0) + u.mwh
        return out


# ---------------------------------------------------------------------------------
# The day, its hours and the registry on it


def day_hours(day: dt.date, timezone: str) -> pd.DatetimeIndex:
    """The program day's 24 hour starts in UTC: local midnight plus 0..23 h."""
    midnight = dt.datetime.combine(day, dt.time(0), ZoneInfo(timezone)).astimezone(dt.UTC)
    return pd.date_range(midnight, periods=DAY_STEPS, freq="h", name="snapshot")


def profile_start(sc: scenario_lib.Scenario, day: dt.date) -> int:
    """The index of the hour in ``sc``'s span whose inputs stand for local midnight of
    ``day``: the first local midnight of the span with ``day``'s month and day followed
    by 24 hours of the span (29 February: the 28th if the span has no 29th)."""
    local = local_snapshots(sc)
    midnight = (local.hour == 0) & (local.minute == 0)
    last = len(local) - DAY_STEPS
    wanted = [(day.month, day.day)] + ([(2, 28)] if (day.month, day.day) == (2, 29) else [])
    for month, dom in wanted:
        found = np.flatnonzero(midnight & (local.month == month) & (local.day == dom))
        found = found[found <= last]
        if len(found):
            return int(found[0])
    raise InputError(
        None,
        "--day",
        f"the scenario's span ({local[0].date()} to {local[-1].date()}) has no "
        f"{day.strftime('%d %B')} with 24 hours after it to stand for {day.isoformat()}",
    )


def hourly_levels_kw(session: Session, hours: pd.DatetimeIndex) -> dict[int, np.ndarray]:
    """Each site's ledger level at each hour start [kW] (sites with an entry by the
    last hour only)."""
    stamps = np.array([t.to_pydatetime() for t in hours])
    out: dict[int, np.ndarray] = {}
    rows = session.execute(
        select(LedgerEntry.site_id, LedgerEntry.effective_from, LedgerEntry.delta_kw).where(
            LedgerEntry.effective_from <= stamps[-1]
        )
    )
    for site_id, when, delta in rows:
        levels = out.setdefault(site_id, np.zeros(len(hours), dtype=np.int64))
        levels[stamps >= when] += int(delta)
    return out


# ---------------------------------------------------------------------------------
# The dispatch of one day


def _day_window(inputs: HourlyInputs, start: int, hours: pd.DatetimeIndex) -> HourlyInputs:
    win = window_inputs(inputs, start, start + DAY_STEPS)
    return replace(win, index=hours)


def schedule_day(
    session: Session,
    day: dt.date,
    base: scenario_lib.Scenario,
    published_at: dt.datetime | None = None,
) -> DaySchedule:
    """Dispatch the program ``day`` on the live registry and cut the blocks.

    ``base`` gives the grid and the hourly inputs (the profile year); the registry
    gives the sites, their allocations (ledger levels per hour), caps and contracts.
    ``published_at`` (default now) is when the schedule goes out: the notice rule
    counts from it. Raises :class:`InputError` when the day has no counterpart in the
    scenario's span or the registry makes an invalid scenario."""
    t0 = time.perf_counter()
    if not dt.date(1901, 1, 1) <= day <= dt.date(9998, 12, 30):
        raise InputError(None, "--day", "must lie between 1901-01-01 and 9998-12-30", str(day))
    published_at = published_at or dt.datetime.now(dt.UTC)
    if published_at.tzinfo is None:
        raise InputError(None, "--published-at", "needs a UTC offset", str(published_at))
    tz = base.timezone
    hours = day_hours(day, tz)
    first, last = hours[0].to_pydatetime(), hours[-1].to_pydatetime()
    levels_kw = {k: v for k, v in hourly_levels_kw(session, hours).items() if v.max() > 0}
    sites = {s.id: s for s in session.scalars(select(Site).where(Site.id.in_(levels_kw)))}
    by_name: dict[str, scenario_lib.Applicant] = {}
    for at in (first, last):
        for a in registry_applicants(session, base, at):
            by_name.setdefault(a.name, a)
    applicants = []
    for site_id in sorted(levels_kw):
        site = sites[site_id]
        peak = float(ledger.to_mw(int(levels_kw[site_id].max())))
        if site.name not in by_name:  # allocated only between the day's first and last hour
            at = hours[int(levels_kw[site_id].argmax())].to_pydatetime()
            for a in registry_applicants(session, base, at):
                by_name.setdefault(a.name, a)
        # The allocation is the ledger's: the LP decides only what is served. Firm
        # shares and uptime are contract service levels over the term, not limits of
        # one day.
        applicants.append(
            by_name[site.name].model_copy(
                update={
                    "requested_mw": peak,
                    "committed_mw": peak,
                    "firm_share": 0.0,
                    "uptime": 0.0,
                }
            )
        )
    sc = registry_scenario(session, base, first, applicants=applicants)
    start = profile_start(sc, day)
    profile_day = local_snapshots(sc)[start].date()

    notice: dict[int, int] = {}
    no_contract = []
    for site_id in sorted(levels_kw):
        contract = contract_on(session, site_id, day)
        if contract is None:
            no_contract.append(sites[site_id].name)
            notice[site_id] = sc.program.contract.notice_minutes
        else:
            notice[site_id] = contract.notice_minutes

    names = [a.name for a in applicants]
    level_mw = pd.DataFrame(
        {sites[k].name: levels_kw[k] / ledger.KW_PER_MW for k in sorted(levels_kw)},
        index=hours,
        columns=names,
        dtype=float,
    )
    if not applicants:
        served = level_mw.copy()
    else:
        baseline, _ = rolling_dispatch(
            _day_window(build_inputs(sc, with_program=False), start, hours), DAY_STEPS
        )
        # a site without a bid (none in the scenario, none computable) ranks last
        values = {n: 0.0 for n in names} | bids(value_applicants(sc))
        program = _day_window(
            build_inputs(sc, with_program=True, applicant_values=values), start, hours
        )
        # The block limits import; whether to draw at the tariff is the site's choice.
        program.may_draw = np.ones_like(program.may_draw)
        program.shed_cap_mw = baseline.shed_mw.to_numpy().T + SHED_CAP_SLACK_MW
        result, _ = rolling_dispatch(program, DAY_STEPS)
        served = result.served_mw[names].set_axis(hours)
    allowed = np.minimum(served.to_numpy(), level_mw.to_numpy()).clip(min=0.0)
    allowed = np.round(allowed, 3)  # kW resolution, as the ledger
    curtailed = level_mw.to_numpy() - allowed
    mask = curtailed_mask(curtailed, level_mw.max().to_numpy())

    blocks: list[Block] = []
    uncovered: list[Uncovered] = []
    site_ids = sorted(levels_kw)
    for k, site_id in enumerate(site_ids):
        site = sites[site_id]
        earliest = published_at + dt.timedelta(minutes=notice[site_id])
        starts, lengths = runs(mask[:, k])
        for s, n in zip(starts, lengths, strict=True):
            intervals = []
            for t in range(s, s + n):
                at = hours[t].to_pydatetime()
                if at < earliest:
                    uncovered.append(Uncovered(site_id, site.name, at, float(curtailed[t, k])))
                    continue
                intervals.append(
                    Interval(at, at + STEP, float(allowed[t, k]), float(curtailed[t, k]))
                )
            if intervals:
                blocks.append(
                    Block(
                        site_id=site_id,
                        site=site.name,
                        day=day,
                        kind="scheduled",
                        intervals=tuple(intervals),
                        notice_minutes=notice[site_id],
                        priority=PRIORITY["scheduled"],
                    )
                )
    return DaySchedule(
        day=day,
        timezone=tz,
        published_at=published_at,
        profile_day=profile_day,
        hours=hours,
        level_mw=level_mw,
        served_mw=pd.DataFrame(allowed, index=hours, columns=names),
        blocks=blocks,
        uncovered=uncovered,
        no_contract=no_contract,
        solve_s=time.perf_counter() - t0,
    )


def day_ahead(
    session: Session,
    day: dt.date,
    base: scenario_lib.Scenario,
    published_at: dt.datetime | None = None,
) -> list[Block]:
    """The blocks of :func:`schedule_day`."""
    return schedule_day(session, day, base, published_at).blocks


# ---------------------------------------------------------------------------------
# Reconciliation, overrides, publishing


@dataclass
class Reconciliation:
    """What a run changes: blocks kept as they are, updated, created and cancelled."""

    keep: list[Block] = field(default_factory=list)
    update: list[Block] = field(default_factory=list)
    create: list[Block] = field(default_factory=list)
    cancel: list[Block] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.update or self.create or self.cancel)


def reconcile(
    existing: Sequence[Block], new: Sequence[Block]
) -> tuple[list[Block], list[Block], list[Block], list[Block]]:
    """``(keep, update, create, cancel)`` by :attr:`Block.key`: a new block whose key is
    published with the same digest is kept (nothing to send), with another digest
    updated, an unknown key created; a published block whose key is not among the new
    ones is cancelled. Each list is in key order; ``keep`` and ``update`` hold the new
    blocks, ``cancel`` the existing ones. Pure: compares, sends nothing."""
    old = _by_key(existing, "existing")
    fresh = _by_key(new, "new")
    keep = [b for k, b in sorted(fresh.items()) if k in old and old[k].digest == b.digest]
    update = [b for k, b in sorted(fresh.items()) if k in old and old[k].digest != b.digest]
    create = [b for k, b in sorted(fresh.items()) if k not in old]
    cancel = [b for k, b in sorted(old.items()) if k not in fresh]
    return keep, update, create, cancel


def _by_key(blocks: Iterable[Block], what: str) -> dict[str, Block]:
    out: dict[str, Block] = {}
    for b in blocks:
        if b.key in out:
            raise ValueError(f"two {what} blocks share the key {b.key}")
        out[b.key] = b
    return out


def apply_overrides(scheduled: Sequence[Block], emergencies: Sequence[Block]) -> list[Block]:
    """The scheduled blocks with every emergency of their site cut out: an interval
    overlapping an emergency keeps only its parts outside it, and a block split in two
    becomes two blocks (the later one keyed by its new start). The emergency governs
    its whole window."""
    out = []
    for block in scheduled:
        windows = [(e.start, e.end) for e in emergencies if e.site_id == block.site_id]
        pieces: list[Interval] = []
        for interval in block.intervals:
            parts = [(interval.start, interval.end)]
            for ws, we in windows:
                parts = [
                    p for s, e in parts for p in ((s, min(e, ws)), (max(s, we), e)) if p[0] < p[1]
                ]
            pieces += [replace(interval, start=s, end=e) for s, e in parts]
        run: list[Interval] = []
        for piece in pieces:
            if run and run[-1].end != piece.start:
                out.append(replace(block, intervals=tuple(run)))
                run = []
            run.append(piece)
        if run:
            out.append(replace(block, intervals=tuple(run)))
    return out


def _apply(sink: EventSink, rec: Reconciliation) -> Reconciliation:
    for b in rec.cancel:
        sink.cancel_event(b)
    for b in rec.update + rec.create:
        sink.upsert_event(b)
    return rec


def publish(
    sink: EventSink,
    day: dt.date,
    timezone: str,
    blocks: Sequence[Block],
    published_at: dt.datetime | None = None,
) -> Reconciliation:
    """Make the sink's scheduled blocks of ``day`` equal ``blocks`` (with the sink's
    emergencies cut out: :func:`apply_overrides`): send only the changes. Emergency
    blocks are never cancelled here, and a published block that has started by
    ``published_at`` (default now) is history: it is neither updated nor cancelled
    (its event is the compliance record), and no new block starting before then is
    sent. Running it again with the same blocks sends nothing."""
    at = published_at or dt.datetime.now(dt.UTC)
    hours = day_hours(day, timezone)
    published = sink.events(hours[0].to_pydatetime(), (hours[-1] + STEP).to_pydatetime())
    emergencies = [b for b in published if b.kind == "emergency"]
    existing = [b for b in published if b.kind == "scheduled" and b.day == day]
    started = [b for b in existing if b.start < at]
    frozen = {b.key for b in started}
    wanted = [
        b for b in apply_overrides(blocks, emergencies) if b.start >= at and b.key not in frozen
    ]
    rec = Reconciliation(*reconcile([b for b in existing if b.key not in frozen], wanted))
    rec.keep = sorted([*rec.keep, *started], key=lambda b: b.key)
    return _apply(sink, rec)


def emergency_block(
    session: Session,
    site_id: int,
    start: dt.datetime,
    end: dt.datetime,
    limit_mw: float,
    timezone: str,
) -> Block:
    """An emergency block: from ``start`` to ``end`` the site may import at most
    ``limit_mw`` (one interval, priority 0). Its day is the local date of ``start``.
    Raises :class:`~megawatt.ops.problems.Problem` (404 unknown site, 422 bad times or
    limit)."""
    site = session.get(Site, site_id)
    if site is None:
        raise not_found("site", site_id, "site_id")
    for name, value in (("start", start), ("end", end)):
        if value.tzinfo is None:
            raise invalid(f"{name} has no time zone", name, "needs a UTC offset")
    if end <= start:
        raise invalid("the emergency ends before it starts", "end", "must be after start")
    if not (limit_mw >= 0 and np.isfinite(limit_mw)):
        raise invalid(f"limit {limit_mw} MW", "limit_mw", "must be a finite MW >= 0")
    limit = float(ledger.to_mw(ledger.to_kw(Decimal(str(limit_mw)), "limit_mw")))
    level = ledger.to_mw(ledger.level_kw(session, site_id, start))
    if limit >= float(level):
        raise invalid(
            f"a limit of {limit} MW does not curtail site {site_id}: it holds {level} MW at "
            f"{start.isoformat()}",
            "limit_mw",
            f"must be below the site's allocation ({level} MW)",
        )
    curtailed = max(float(level) - limit, 0.0)
    start, end = start.astimezone(dt.UTC), end.astimezone(dt.UTC)
    return Block(
        site_id=site_id,
        site=site.name,
        day=start.astimezone(ZoneInfo(timezone)).date(),
        kind="emergency",
        intervals=(Interval(start, end, limit, curtailed),),
        notice_minutes=0,
        priority=PRIORITY["emergency"],
    )


def issue_emergency(sink: EventSink, block: Block) -> Reconciliation:
    """Publish an emergency block and cut it out of the site's published scheduled
    blocks that overlap it (those are updated, split or cancelled)."""
    if block.kind != "emergency":
        raise ValueError(f"{block.key} is not an emergency block")
    sink.upsert_event(block)
    published = sink.events(block.start, block.end)
    emergencies = [b for b in published if b.kind == "emergency"]
    if block.key not in {b.key for b in emergencies}:
        emergencies.append(block)
    existing = [b for b in published if b.kind == "scheduled" and b.site_id == block.site_id]
    rec = _apply(sink, Reconciliation(*reconcile(existing, apply_overrides(existing, emergencies))))
    rec.create.insert(0, block)
    return rec
