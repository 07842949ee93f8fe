"""The allocation ledger: append-only, effective-dated entries checked against caps.

A site's allocation at time t is the sum of the ``delta_kw`` of its entries with
``effective_from <= t``. Every append runs inside the caller's transaction and first
locks the cap rows that bind the site: the program's row always (so every ledger
write in the whole program is serialised on that one row), then its zone's and its
plant's, in id order. On PostgreSQL that is ``SELECT ... FOR UPDATE``; on SQLite the
transaction already began with ``BEGIN IMMEDIATE`` (megawatt.ops.db), which holds the
database's single write lock from the first statement. Only then are the totals read,
so no two requests can both see the same "remaining" MW (docs/operations.md).

A new entry changes the totals from its effective time on, so each cap is checked at
its effective time and at every later effective time of an entry in the cap's scope:
the cap holds at every effective time, not only "now".

A site whose licence lapses (``valid_to`` passed, no other active licence covering it)
holds no allocation from that moment: :func:`expire` appends a ``revoke`` entry
effective exactly at the lapse. It runs under the program cap lock at the start of
every ledger write (so a cap check never counts a lapsed allocation), when a licence
is changed, every minute in ``megawatt serve`` and from ``megawatt ops expire``.
Suspending or revoking a licence revokes at once (``PATCH /licences``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from megawatt.ops import audit
from megawatt.ops.models import Application, Cap, LedgerEntry, Licence, Site
from megawatt.ops.problems import Problem, conflict, invalid, not_found

Kind = Literal["grant", "change", "revoke"]
KW_PER_MW = 1000


def to_kw(mw: Decimal, field_name: str = "mw") -> int:
    """MW (at most three decimals: kW resolution) to integer kW, exactly."""
    kw = Decimal(mw) * KW_PER_MW
    if kw != kw.to_integral_value():
        raise invalid(f"{mw} MW is finer than 1 kW", field_name, "at most 3 decimals (kW)")
    return int(kw)


def to_mw(kw: int) -> Decimal:
    return (Decimal(kw) / KW_PER_MW).quantize(Decimal("0.001"))


@dataclass(frozen=True)
class CapUse:
    """A cap and the most that is allocated under it at any time from ``since`` on."""

    cap: Cap
    allocated_kw: int

    @property
    def remaining_kw(self) -> int:
        return self.cap.cap_kw - self.allocated_kw


def _scope_filter(cap: Cap):  # type: ignore[no-untyped-def]
    if cap.scope == "zone":
        return Site.zone == cap.name
    if cap.scope == "plant":
        return Site.plant == cap.name
    return None


def peak_kw(session: Session, cap: Cap, since: dt.datetime | None = None) -> int:
    """The largest total allocated under ``cap`` at ``since`` or any later effective
    time (at any time at all when ``since`` is None)."""
    # Totals only change at effective times: group the deltas by time, run a cumulative
    # sum over them (a window function, in the database on both SQLite and
    # PostgreSQL), and take the largest at ``since`` or later. The total at ``since``
    # itself is the last running sum at or before it.
    grouped = (
        select(
            LedgerEntry.effective_from.label("t"),
            func.sum(LedgerEntry.delta_kw).label("d"),
        )
        .join(Site, Site.id == LedgerEntry.site_id)
        .group_by(LedgerEntry.effective_from)
    )
    where = _scope_filter(cap)
    if where is not None:
        grouped = grouped.where(where)
    g = grouped.subquery()
    running = select(g.c.t.label("t"), func.sum(g.c.d).over(order_by=g.c.t).label("run")).subquery()
    if since is None:
        peak = session.scalar(select(func.max(running.c.run)))
        return max(0, int(peak or 0))
    at_since = session.scalar(
        select(running.c.run).where(running.c.t <= since).order_by(running.c.t.desc()).limit(1)
    )
    later = session.scalar(select(func.max(running.c.run)).where(running.c.t > since))
    return max(int(at_since or 0), int(later if later is not None else at_since or 0))


def level_kw(session: Session, site_id: int, at: dt.datetime) -> int:
    """A site's allocation at ``at``."""
    total = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.delta_kw), 0)).where(
            LedgerEntry.site_id == site_id, LedgerEntry.effective_from <= at
        )
    )
    return int(total or 0)


def levels_kw(session: Session, at: dt.datetime) -> dict[int, int]:
    """Every site's allocation at ``at`` (one grouped query; sites with none absent)."""
    rows = session.execute(
        select(LedgerEntry.site_id, func.sum(LedgerEntry.delta_kw))
        .where(LedgerEntry.effective_from <= at)
        .group_by(LedgerEntry.site_id)
    )
    return {site_id: int(total) for site_id, total in rows}


def licensed_sites(session: Session, at: dt.datetime) -> set[int]:
    """The ids of the sites with an active licence valid at ``at`` (one query)."""
    return set(
        session.scalars(
            select(Licence.site_id)
            .where(
                Licence.status == "active",
                Licence.valid_from <= at,
                (Licence.valid_to.is_(None)) | (Licence.valid_to > at),
            )
            .distinct()
        )
    )


def lock_caps(session: Session, site: Site) -> list[Cap]:
    """Lock, in id order, the program cap and the zone and plant caps that bind ``site``."""
    program = session.scalars(
        select(Cap).where(Cap.scope == "program").order_by(Cap.id).with_for_update()
    ).all()
    if not program:
        raise conflict(
            "no program cap in the database: seed the caps first (megawatt ops --db URL seed-caps)",
            "caps",
            "no program cap",
        )
    scoped = [("zone", site.zone)] + ([("plant", site.plant)] if site.plant else [])
    others = []
    for scope, name in scoped:
        others += session.scalars(
            select(Cap).where(Cap.scope == scope, Cap.name == name).with_for_update()
        ).all()
    return [*program, *sorted(others, key=lambda c: c.id)]


def licensed_at(session: Session, site_id: int, at: dt.datetime) -> Licence | None:
    """The site's active licence valid at ``at`` (valid_from <= at < valid_to), if any."""
    return session.scalars(
        select(Licence)
        .where(
            Licence.site_id == site_id,
            Licence.status == "active",
            Licence.valid_from <= at,
            (Licence.valid_to.is_(None)) | (Licence.valid_to > at),
        )
        .order_by(Licence.id)
        .limit(1)
    ).first()


EXPIRY_ACTOR = "system:licence-expiry"


def _site_deltas(session: Session, site_id: int) -> list[tuple[dt.datetime, int]]:
    """A site's ledger deltas summed per effective time, in time order."""
    rows = session.execute(
        select(LedgerEntry.effective_from, func.sum(LedgerEntry.delta_kw))
        .where(LedgerEntry.site_id == site_id)
        .group_by(LedgerEntry.effective_from)
        .order_by(LedgerEntry.effective_from)
    )
    return [(when, int(d)) for when, d in rows]


def _coverage(licences: list[Licence]) -> list[tuple[dt.datetime, dt.datetime | None]]:
    """The union of ``[valid_from, valid_to)`` of ``licences``, merged and sorted."""
    spans = sorted((lic.valid_from, lic.valid_to) for lic in licences)
    merged: list[tuple[dt.datetime, dt.datetime | None]] = []
    for start, end in spans:
        if merged:
            last_start, last_end = merged[-1]
            if last_end is None or start <= last_end:
                longer = None if end is None or last_end is None else max(end, last_end)
                merged[-1] = (last_start, longer)
                continue
        merged.append((start, end))
    return merged


def lapses(session: Session, now: dt.datetime) -> list[tuple[int, dt.datetime, int]]:
    """``(site_id, lapse, kw)``: each site that still holds ``kw`` > 0 after a lapse of
    its active licences at or before ``now`` (``kw`` = its lowest level from the lapse
    until its licence coverage resumes, what a revoke at the lapse can take back)."""
    lapsed_sites = session.scalars(
        select(Licence.site_id)
        .where(Licence.status == "active", Licence.valid_to.is_not(None), Licence.valid_to <= now)
        .distinct()
    ).all()
    found = []
    for site_id in sorted(lapsed_sites):
        active = session.scalars(
            select(Licence).where(Licence.site_id == site_id, Licence.status == "active")
        ).all()
        coverage = _coverage(list(active))
        rows = _site_deltas(session, site_id)
        for k, (_, end) in enumerate(coverage):
            if end is None or end > now:
                continue
            resume = coverage[k + 1][0] if k + 1 < len(coverage) else None
            level = sum(int(d) for when, d in rows if when <= end)
            lowest = level
            for when, d in rows:
                if when > end and (resume is None or when < resume):
                    level += int(d)
                    lowest = min(lowest, level)
            if lowest > 0:
                found.append((site_id, end, lowest))
    return found


def expire(session: Session, now: dt.datetime | None = None) -> list[LedgerEntry]:
    """Append a ``revoke`` at each licence lapse at or before ``now`` where the site
    still holds MW (see :func:`lapses`). Takes the program cap lock first (the same
    order as :func:`append`); idempotent: a second call finds nothing."""
    now = now or dt.datetime.now(dt.UTC)
    session.scalars(
        select(Cap).where(Cap.scope == "program").order_by(Cap.id).with_for_update()
    ).all()
    written = []
    for site_id, lapse, kw in lapses(session, now):
        entry = LedgerEntry(
            site_id=site_id,
            kind="revoke",
            effective_from=lapse,
            delta_kw=-kw,
            level_kw=level_kw(session, site_id, lapse) - kw,
            reason=f"licence lapsed at {lapse.isoformat()}: no active licence covers the site",
            recorded_by=EXPIRY_ACTOR,
        )
        session.add(entry)
        session.flush()
        audit.record(
            session, EXPIRY_ACTOR, "revoke", "ledger_entry", entry.id, None, audit.snapshot(entry)
        )
        written.append(entry)
    return written


def _site_min_level_from(session: Session, site_id: int, at: dt.datetime, delta: int) -> int:
    """The site's lowest level at ``at`` or later once ``delta`` is added at ``at``."""
    rows = _site_deltas(session, site_id)
    level = sum(int(d) for when, d in rows if when <= at) + delta
    lowest = level
    for when, d in rows:
        if when > at:
            level += int(d)
            lowest = min(lowest, level)
    return lowest


def append(
    session: Session,
    *,
    site_id: int,
    kind: Kind,
    effective_from: dt.datetime,
    mw: Decimal | None,
    reason: str,
    actor: str,
    application_id: int | None = None,
) -> LedgerEntry:
    """Append one entry: ``grant`` adds ``mw``, ``change`` sets the level to ``mw``,
    ``revoke`` sets it to zero. Raises :class:`Problem` (404, 409, 422) and writes
    nothing if any cap would be exceeded at any effective time."""
    if effective_from.tzinfo is None:
        raise invalid("effective_from has no time zone", "effective_from", "needs a UTC offset")
    site = session.get(Site, site_id)
    if site is None:
        raise not_found("site", site_id, "site_id")
    caps = lock_caps(session, site)  # before reading any total
    expire(session)  # lapsed licences hold nothing (under the same lock)

    current = level_kw(session, site_id, effective_from)
    if kind == "grant":
        if mw is None or mw <= 0:
            raise invalid("a grant adds a positive MW", "mw", "must be > 0 for a grant")
        delta = to_kw(mw)
    elif kind == "change":
        if mw is None or mw < 0:
            raise invalid("a change sets a new level", "mw", "must be >= 0 for a change")
        delta = to_kw(mw) - current
    else:
        if mw not in (None, 0):
            raise invalid("a revoke sets the level to zero", "mw", "leave empty for a revoke")
        delta = -current
    if delta == 0:
        raise conflict(
            f"site {site_id} is already at {to_mw(current)} MW at {effective_from.isoformat()}",
            "mw",
            "no change",
        )
    if _site_min_level_from(session, site_id, effective_from, delta) < 0:
        raise conflict(
            "the entry would leave the site with a negative allocation at a later time",
            "effective_from",
            "later entries of this site would go below zero",
        )
    if delta > 0:
        if licensed_at(session, site_id, effective_from) is None:
            raise conflict(
                f"site {site_id} has no active licence valid at {effective_from.isoformat()}",
                "site_id",
                "unlicensed, expired, suspended or revoked site",
            )
        for cap in caps:
            used = peak_kw(session, cap, effective_from)
            if used + delta > cap.cap_kw:
                raise Problem(
                    409,
                    "Cap exceeded",
                    f"{to_mw(delta)} MW more at {cap.scope} {cap.name!r} from "
                    f"{effective_from.isoformat()} would exceed its cap of "
                    f"{to_mw(cap.cap_kw)} MW ({to_mw(used)} MW allocated, "
                    f"{to_mw(cap.cap_kw - used)} MW left)",
                    [{"field": "mw", "message": f"exceeds the {cap.scope} cap {cap.name!r}"}],
                    {
                        "cap": {
                            "scope": cap.scope,
                            "name": cap.name,
                            "cap_mw": str(to_mw(cap.cap_kw)),
                        },
                        "allocated_mw": str(to_mw(used)),
                        "remaining_mw": str(to_mw(cap.cap_kw - used)),
                        "requested_mw": str(to_mw(delta)),
                    },
                    type="https://megawatt.example/problems/cap-exceeded",
                )
    if application_id is not None:
        app = session.get(Application, application_id)
        if app is None or app.site_id != site_id:
            raise invalid(
                f"application {application_id} is not an application of site {site_id}",
                "application_id",
                "no such application for this site",
            )
        if kind == "grant" and app.status == "pending":
            before = audit.snapshot(app)
            app.status = "granted"
            session.flush()
            audit.record(
                session, actor, "update", "application", app.id, before, audit.snapshot(app)
            )
    entry = LedgerEntry(
        site_id=site_id,
        kind=kind,
        effective_from=effective_from,
        delta_kw=delta,
        level_kw=current + delta,
        reason=reason,
        application_id=application_id,
        recorded_by=actor,
    )
    session.add(entry)
    session.flush()
    audit.record(session, actor, kind, "ledger_entry", entry.id, None, audit.snapshot(entry))
    expire(session)  # a backdated grant before a past lapse is revoked at that lapse
    return entry


def check_place(session: Session, zone: str, plant: str | None) -> None:
    """A site's plant, when it names one, must be a plant with a cap (a misspelt plant
    would escape its cap) and lie in the site's zone (the plant cap's ``zone``, seeded
    from the scenario's generators). 422 naming the field otherwise."""
    if plant is None:
        return
    plants = {c.name: c for c in session.scalars(select(Cap).where(Cap.scope == "plant"))}
    if not plants:
        return
    cap = plants.get(plant)
    if cap is None:
        raise invalid(
            f"plant {plant!r} has no cap; known plants: {', '.join(sorted(plants))}",
            "plant",
            "must be a capped plant (or leave it empty and give the substation)",
        )
    if cap.zone is not None and cap.zone != zone:
        raise invalid(
            f"plant {plant!r} is in zone {cap.zone!r}, not {zone!r}",
            "zone",
            f"must be {cap.zone!r}",
        )


def set_cap(
    session: Session, scope: str, name: str, mw: Decimal, actor: str, zone: str | None = None
) -> Cap:
    """Create or change a cap (a plant cap may name its ``zone``); refused (409) when
    allocations already exceed it, or when sites at the plant lie in another zone."""
    if zone is not None and scope != "plant":
        raise invalid("only a plant cap has a zone", "zone", "leave empty for this scope")
    cap_kw = to_kw(mw)
    # Same lock order as append: the program row first.
    session.scalars(select(Cap).where(Cap.scope == "program").with_for_update()).all()
    cap = session.scalars(
        select(Cap).where(Cap.scope == scope, Cap.name == name).with_for_update()
    ).first()
    before = audit.snapshot(cap)
    if cap is None:
        cap = Cap(scope=scope, name=name, cap_kw=cap_kw)
        session.add(cap)
        session.flush()
    peak = peak_kw(session, cap)
    if peak > cap_kw:
        raise conflict(
            f"{peak / KW_PER_MW} MW is allocated under {scope} {name!r} at some time; "
            f"a cap of {mw} MW would be exceeded",
            "cap_mw",
            "below what is allocated",
            allocated_mw=str(to_mw(peak)),
        )
    if zone is not None:
        elsewhere = session.scalars(
            select(Site.name).where(Site.plant == name, Site.zone != zone).limit(3)
        ).all()
        if elsewhere:
            raise conflict(
                f"sites at plant {name!r} lie in another zone than {zone!r}: "
                + ", ".join(elsewhere),
                "zone",
                "sites of this plant are in another zone",
            )
    zone = zone if zone is not None else cap.zone
    if before is not None and cap.cap_kw == cap_kw and cap.zone == zone:
        return cap
    cap.cap_kw = cap_kw
    cap.zone = zone
    session.flush()
    audit.record(
        session, actor, "update" if before else "create", "cap", cap.id, before, audit.snapshot(cap)
    )
    return cap
