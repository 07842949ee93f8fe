"""OpenADR 3.1 objects over the registry: scopes, visibility, reads and writes.

Every write here runs in the caller's transaction and, in that same transaction, adds
its audit entry (megawatt.ops.audit) and one outbox row per matching subscription
(megawatt.ops.openadr.outbox sends them). The VTN's HTTP layer (vtn.py) and the
day-ahead schedule call these functions; nothing else writes the ``oadr_*`` tables.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.orm import Session

from megawatt.ops import access, audit
from megawatt.ops.auth import SEE_ALL, Principal
from megawatt.ops.models import Client, Licence, Site
from megawatt.ops.openadr import spec
from megawatt.ops.openadr.tables import (
    OadrEvent,
    OadrEventVersion,
    OadrProgram,
    OadrReport,
    OadrResource,
    OadrSubscription,
    OadrTarget,
    OadrVen,
    OutboxBody,
    OutboxEntry,
)
from megawatt.ops.problems import Problem

#: The spec's OAuth2 scopes per megawatt role (docs/openadr.md).
#: The authority is the business logic (BL); the system operator (NPCC/NTDC) reads
#: everything and issues events; an operator (a company) reads what targets its own
#: sites, like an aggregator of its VENs; a site is a VEN.
SCOPES: dict[str, tuple[str, ...]] = {
    "authority": (
        "read_all",
        "write_programs",
        "write_events",
        "write_subscriptions",
        "write_vens",
    ),
    "system_operator": ("read_all", "write_events", "write_subscriptions"),
    "operator": ("read_targets", "read_ven_objects", "write_subscriptions"),
    "site": ("read_targets", "read_ven_objects", "write_reports", "write_subscriptions"),
}

#: The curtailment program's payload: allowed import per interval, in KW (the spec's
#: unit; the system keeps integer kW, the API elsewhere speaks MW).
CURTAILMENT_PAYLOAD = "IMPORT_CAPACITY_LIMIT"
CURTAILMENT_PROGRAM = "megawatt-curtailment"
REPORT_DESCRIPTORS: list[dict[str, Any]] = [
    {
        "payloadType": "USAGE",
        "readingType": "DIRECT_READ",
        "units": "KWH",
        "aggregate": False,
        "startInterval": -1,
        "numIntervals": -1,
        "historical": True,
        "frequency": -1,
        "repeat": 1,
        "reportIntervals": "INTERVALS",
    },
    {
        "payloadType": "DEMAND",
        "readingType": "DIRECT_READ",
        "units": "KW",
        "aggregate": False,
        "startInterval": -1,
        "numIntervals": -1,
        "historical": True,
        "frequency": -1,
        "repeat": 1,
        "reportIntervals": "INTERVALS",
    },
]

MAX_ID = 2**31 - 1


def scopes(role: str) -> tuple[str, ...]:
    return SCOPES.get(role, ())


def require(who: Principal, scope: str, *alternatives: str) -> None:
    """403 problem unless ``who`` holds ``scope`` (or one of ``alternatives``)."""
    have = scopes(who.role)
    if scope in have or any(a in have for a in alternatives):
        return
    raise Problem(
        403,
        "Forbidden",
        f"scope {scope} required; a {who.role} client has {' '.join(have) or 'none'}",
        [{"field": "Authorization", "message": f"scope {scope} required"}],
    )


def bad_request(detail: str, errors: list[dict[str, str]]) -> Problem:
    return Problem(400, "Bad Request", detail, errors)


def not_found(kind: str, key: str) -> Problem:
    return Problem(
        404,
        "Not Found",
        f"no {kind} with id {key}",
        [{"field": f"{kind}ID", "message": f"no {kind} with this id"}],
    )


def conflict(detail: str, field: str) -> Problem:
    return Problem(409, "Conflict", detail, [{"field": field, "message": detail}])


def strip_nulls(value: Any) -> Any:
    """``value`` without null-valued object properties (at any depth): a VTN reads
    ``"x": null`` as "x absent" (clients send nulls the spec does not allow, e.g.
    ``randomizeStart`` or an interval's ``intervalPeriod``)."""
    if isinstance(value, dict):
        return {k: strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_nulls(v) for v in value]
    return value


def check(schema: str, body: Any) -> dict[str, Any]:
    """``body`` without its nulls if it satisfies the spec's schema ``schema``, else a
    400 problem."""
    body = strip_nulls(body)
    errs = spec.errors(schema, body)
    if errs:
        raise bad_request(
            f"not a valid {schema}: " + "; ".join(f"{e['field']}: {e['message']}" for e in errs),
            errs,
        )
    return body  # type: ignore[no-any-return]


def parse_id(key: str) -> int | None:
    """The row id of an objectID, None when it cannot be one of ours."""
    if not re.fullmatch(r"[1-9][0-9]{0,9}", key) or int(key) > MAX_ID:
        return None
    return int(key)


def iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def iso_duration(d: dt.timedelta) -> str:
    """ISO 8601 duration of a whole number of seconds (``PT15M``, ``PT1H30M``)."""
    seconds = int(d.total_seconds())
    if seconds <= 0 or seconds != d.total_seconds():
        raise ValueError(f"duration must be a positive whole number of seconds: {d}")
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return "PT" + (f"{h}H" if h else "") + (f"{m}M" if m else "") + (f"{s}S" if s else "")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _meta(kind: str, key: int, created: dt.datetime, modified: dt.datetime) -> dict[str, Any]:
    return {
        "id": str(key),
        "createdDateTime": iso(created),
        "modificationDateTime": iso(modified),
        "objectType": kind,
    }


# -- the registry as VENs ----------------------------------------------------------------


def licensed_sites() -> Any:
    """Ids of the sites that are VENs: every site that holds (or held) a licence."""
    return select(Licence.site_id).distinct()


def visible_sites(s: Session, who: Principal) -> list[int] | None:
    """The VENs (site ids) ``who`` acts for; None for the authority and the system
    operator (all). The rule is megawatt.ops.access's (the API's and the dashboard's)."""
    visible = access.visible_sites(who)
    return None if visible is None else list(s.scalars(visible))


def target_set(s: Session, site_ids: Sequence[int]) -> set[str]:
    """The target strings that reach these VENs: each venName and the VEN's targets."""
    if not site_ids:
        return set()
    names = set(s.scalars(select(Site.name).where(Site.id.in_(site_ids))))
    extra = set(
        s.scalars(
            select(OadrTarget.target).where(
                OadrTarget.object_type == "VEN", OadrTarget.object_id.in_(site_ids)
            )
        )
    )
    return names | extra


def _ven_client_id(s: Session, site: Site, extras: OadrVen | None) -> str:
    if extras is not None and extras.client_id:
        return extras.client_id
    client = s.scalars(
        select(Client.client_id)
        .where(Client.site_id == site.id, Client.disabled_at.is_(None))
        .order_by(Client.id)
        .limit(1)
    ).first()
    return client or f"site-{site.id}"


def ven_json(s: Session, site: Site) -> dict[str, Any]:
    extras = s.get(OadrVen, site.id)
    body = extras.body if extras is not None else {}
    modified = max(site.created_at, extras.modified_at) if extras is not None else site.created_at
    return {
        **_meta("VEN", site.id, site.created_at, modified),
        "venName": site.name,
        "clientID": _ven_client_id(s, site, extras),
        "targets": body.get("targets"),
        "attributes": body.get("attributes"),
    }


def get_ven_site(s: Session, key: str) -> Site | None:
    site_id = parse_id(key)
    if site_id is None:
        return None
    site = s.get(Site, site_id)
    if site is None or s.scalar(select(exists().where(Licence.site_id == site_id))) is not True:
        return None
    return site


# -- JSON of the objects -----------------------------------------------------------------


def program_json(row: OadrProgram) -> dict[str, Any]:
    return {
        **_meta("PROGRAM", row.id, row.created_at, row.modified_at),
        **row.body,
        "programName": row.program_name,
    }


def event_json(row: OadrEvent) -> dict[str, Any]:
    return {
        **_meta("EVENT", row.id, row.created_at, row.modified_at),
        **row.body,
        "programID": str(row.program_id),
    }


def report_json(row: OadrReport) -> dict[str, Any]:
    return {
        **_meta("REPORT", row.id, row.created_at, row.modified_at),
        **row.body,
        "clientID": row.client_id,
    }


def subscription_json(row: OadrSubscription) -> dict[str, Any]:
    return {
        **_meta("SUBSCRIPTION", row.id, row.created_at, row.modified_at),
        **row.body,
        "clientID": row.client_id,
    }


def resource_json(row: OadrResource) -> dict[str, Any]:
    return {
        **_meta("RESOURCE", row.id, row.created_at, row.modified_at),
        **row.body,
        "resourceName": row.resource_name,
        "venID": str(row.site_id),
        "clientID": row.client_id,
    }


# -- targets -----------------------------------------------------------------------------


def _set_targets(s: Session, kind: str, key: int, targets: Iterable[str] | None) -> None:
    s.execute(delete(OadrTarget).where(OadrTarget.object_type == kind, OadrTarget.object_id == key))
    for t in sorted(set(targets or ())):
        s.add(OadrTarget(object_type=kind, object_id=key, target=t))
    s.flush()


def targeted_at(kind: str, id_column: Any, reach: set[str]) -> Any:
    """SQL: the object has no targets (it is for everyone) or one of ``reach``."""
    untargeted = ~exists().where(OadrTarget.object_type == kind, OadrTarget.object_id == id_column)
    if not reach:
        return untargeted
    hit = exists().where(
        OadrTarget.object_type == kind,
        OadrTarget.object_id == id_column,
        OadrTarget.target.in_(sorted(reach)),
    )
    return untargeted | hit


def with_all_targets(kind: str, id_column: Any, targets: Sequence[str]) -> list[Any]:
    """SQL conditions: the object carries every one of ``targets`` (the query filter)."""
    return [
        exists().where(
            OadrTarget.object_type == kind,
            OadrTarget.object_id == id_column,
            OadrTarget.target == t,
        )
        for t in targets
    ]


# -- who sees what -----------------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """What decides who may see an object (and so be notified of it)."""

    kind: str
    targets: tuple[str, ...] = ()
    site_id: int | None = None
    client_id: str | None = None
    program_id: int | None = None


def can_see(s: Session, who: Principal, subject: Subject) -> bool:
    sites = visible_sites(s, who)
    if sites is None:
        return True
    if subject.kind in ("PROGRAM", "EVENT"):
        return not subject.targets or bool(set(subject.targets) & target_set(s, sites))
    if subject.kind == "SUBSCRIPTION":
        if who.role == "site":
            return subject.site_id is not None and subject.site_id == who.site_id
        return subject.client_id == who.client_id
    return subject.site_id is not None and subject.site_id in sites


def subject_of(kind: str, row: Any) -> Subject:
    if kind in ("PROGRAM", "EVENT"):
        targets = tuple(row.body.get("targets") or ())
        program = row.id if kind == "PROGRAM" else row.program_id
        return Subject(kind, targets, getattr(row, "site_id", None), None, program)
    if kind == "REPORT":
        return Subject(kind, (), row.site_id, row.client_id, row.program_id)
    if kind == "SUBSCRIPTION":
        return Subject(kind, (), row.site_id, row.client_id, row.program_id)
    if kind == "RESOURCE":
        return Subject(kind, tuple(row.body.get("targets") or ()), row.site_id)
    raise ValueError(kind)


# -- notifications (the outbox) ----------------------------------------------------------


def audience(s: Session, subject: Subject) -> Callable[[OadrSubscription], bool]:
    """Whether a subscription's owner may read ``subject``: the rule of :func:`can_see`,
    with its queries made once per change instead of once per subscriber."""
    if subject.kind in ("PROGRAM", "EVENT"):
        if not subject.targets:
            return lambda sub: True
        targets = sorted(set(subject.targets))
        reached = s.execute(
            select(Site.id, Site.operator_id).where(
                Site.name.in_(targets)
                | Site.id.in_(
                    select(OadrTarget.object_id).where(
                        OadrTarget.object_type == "VEN", OadrTarget.target.in_(targets)
                    )
                )
            )
        ).all()
        sites = {site for site, _ in reached}
        operators = {op for _, op in reached}
    elif subject.kind == "SUBSCRIPTION":

        def own(sub: OadrSubscription) -> bool:
            if sub.role in SEE_ALL:
                return True
            if sub.role == "site":
                return subject.site_id is not None and sub.site_id == subject.site_id
            return sub.client_id == subject.client_id

        return own
    else:
        sites = {subject.site_id} if subject.site_id is not None else set()
        operators = set(s.scalars(select(Site.operator_id).where(Site.id.in_(sites))))

    def reads(sub: OadrSubscription) -> bool:
        if sub.role in SEE_ALL:
            return True
        if sub.role == "site":
            return sub.site_id in sites
        return sub.operator_id in operators

    return reads


def notify(
    s: Session,
    kind: str,
    operation: str,
    obj: dict[str, Any],
    subject: Subject,
    *,
    unless: Subject | None = None,
) -> int:
    """Queue a notification of ``operation`` on ``obj`` for every subscription that asks
    for it and whose owner may read ``subject`` (and, given ``unless``, may not read
    that one); in the caller's transaction. Returns the number of outbox rows."""
    stmt = select(OadrSubscription).order_by(OadrSubscription.id)
    if subject.program_id is not None and kind in ("PROGRAM", "EVENT", "REPORT"):
        stmt = stmt.where(
            (OadrSubscription.program_id.is_(None))
            | (OadrSubscription.program_id == subject.program_id)
        )
    else:
        stmt = stmt.where(OadrSubscription.program_id.is_(None))
    subs = list(s.scalars(stmt))
    if not subs:
        return 0
    disabled = set(s.scalars(select(Client.client_id).where(Client.disabled_at.is_not(None))))
    may_read = audience(s, subject)
    still = audience(s, unless) if unless is not None else None
    targeted = subject.kind in ("PROGRAM", "EVENT", "RESOURCE", "VEN")
    body = {
        "objectType": kind,
        "operation": operation,
        "object": obj,
        "targets": list(subject.targets) or None,
    }
    now = _now()
    queued = 0
    shared: OutboxBody | None = None
    for sub in subs:
        if sub.client_id in disabled:
            continue
        wanted = [
            op
            for op in sub.body.get("objectOperations", [])
            if kind in op.get("objects", []) and operation in op.get("operations", [])
        ]
        if not wanted:
            continue
        sub_targets = set(sub.body.get("targets") or ())
        if sub_targets and targeted and not sub_targets & set(subject.targets):
            continue
        if not may_read(sub) or (still is not None and still(sub)):
            continue
        seen: set[tuple[str, str | None]] = set()
        for op in wanted:
            url, token = op["callbackUrl"], op.get("bearerToken")
            if (url, token) in seen:
                continue
            seen.add((url, token))
            if shared is None:
                shared = OutboxBody(body=body, created_at=now)
                s.add(shared)
                s.flush()
            s.add(
                OutboxEntry(
                    notification_id=str(uuid.uuid4()),
                    subscription_id=sub.id,
                    callback_url=url,
                    bearer_token=token,
                    body_id=shared.id,
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                )
            )
            queued += 1
    s.flush()
    return queued


def _written(
    s: Session,
    actor: str,
    action: str,
    kind: str,
    key: int,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    subject: Subject,
    was: Subject | None = None,
) -> None:
    """The audit entry and the notifications of one write. ``was``: the object's subject
    before an update; whoever could read it then and cannot now is told DELETE (with
    the object as it was for them: nothing of the new one leaks)."""
    audit.record(s, actor, action, f"oadr_{kind.lower()}", key, before, after)
    operation = {"create": "CREATE", "update": "UPDATE", "delete": "DELETE"}[action]
    notify(s, kind, operation, after if after is not None else before or {}, subject)
    if was is not None and before is not None and was != subject:
        notify(s, kind, "DELETE", before, was, unless=subject)


# -- programs ----------------------------------------------------------------------------


def _program_body(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "programName"}


def create_program(s: Session, body: dict[str, Any], actor: str) -> OadrProgram:
    body = check("programRequest", body)
    if s.scalars(
        select(OadrProgram).where(OadrProgram.program_name == body["programName"])
    ).first():
        raise conflict(f"a program named {body['programName']!r} exists", "programName")
    now = _now()
    row = OadrProgram(
        program_name=body["programName"],
        body=_program_body(body),
        created_at=now,
        modified_at=now,
    )
    s.add(row)
    s.flush()
    _set_targets(s, "PROGRAM", row.id, body.get("targets"))
    _written(
        s, actor, "create", "PROGRAM", row.id, None, program_json(row), subject_of("PROGRAM", row)
    )
    return row


def update_program(s: Session, row: OadrProgram, body: dict[str, Any], actor: str) -> OadrProgram:
    body = check("programRequest", body)
    other = s.scalars(
        select(OadrProgram).where(
            OadrProgram.program_name == body["programName"], OadrProgram.id != row.id
        )
    ).first()
    if other is not None:
        raise conflict(f"a program named {body['programName']!r} exists", "programName")
    before, was = program_json(row), subject_of("PROGRAM", row)
    row.program_name = body["programName"]
    row.body = _program_body(body)
    row.modified_at = _now()
    s.flush()
    _set_targets(s, "PROGRAM", row.id, body.get("targets"))
    _written(
        s,
        actor,
        "update",
        "PROGRAM",
        row.id,
        before,
        program_json(row),
        subject_of("PROGRAM", row),
        was,
    )
    return row


def delete_program(s: Session, row: OadrProgram, actor: str) -> dict[str, Any]:
    if s.scalars(select(OadrEvent.id).where(OadrEvent.program_id == row.id).limit(1)).first():
        raise conflict("the program has events: delete them first", "programID")
    before = program_json(row)
    subject = subject_of("PROGRAM", row)
    _set_targets(s, "PROGRAM", row.id, ())
    s.delete(row)
    s.flush()
    _written(s, actor, "delete", "PROGRAM", int(before["id"]), before, None, subject)
    return before


def ensure_program(s: Session, name: str, actor: str) -> OadrProgram:
    """The program named ``name``; made (a curtailment program) if there is none."""
    row = s.scalars(select(OadrProgram).where(OadrProgram.program_name == name)).first()
    if row is not None:
        return row
    return create_program(
        s,
        {
            "programName": name,
            "payloadDescriptors": [
                {
                    "objectType": "EVENT_PAYLOAD_DESCRIPTOR",
                    "payloadType": CURTAILMENT_PAYLOAD,
                    "units": "KW",
                },
                *(
                    {
                        "objectType": "REPORT_PAYLOAD_DESCRIPTOR",
                        "payloadType": d["payloadType"],
                        "readingType": d["readingType"],
                        "units": d["units"],
                    }
                    for d in REPORT_DESCRIPTORS
                ),
            ],
        },
        actor,
    )


# -- events ------------------------------------------------------------------------------


def _event_program(s: Session, body: dict[str, Any]) -> int:
    program_id = parse_id(str(body["programID"]))
    if program_id is None or s.get(OadrProgram, program_id) is None:
        raise bad_request(
            f"no program with id {body['programID']}",
            [{"field": "programID", "message": "no such program"}],
        )
    return program_id


def _event_body(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "programID"}


def create_event(
    s: Session,
    body: dict[str, Any],
    actor: str,
    *,
    site_id: int | None = None,
    key: str | None = None,
) -> OadrEvent:
    body = check("eventRequest", body)
    program_id = _event_program(s, body)
    now = _now()
    row = OadrEvent(
        program_id=program_id,
        site_id=site_id,
        key=key,
        priority=body.get("priority"),
        body=_event_body(body),
        created_at=now,
        modified_at=now,
    )
    s.add(row)
    s.flush()
    _set_targets(s, "EVENT", row.id, body.get("targets"))
    _version(s, row, actor)
    _written(s, actor, "create", "EVENT", row.id, None, event_json(row), subject_of("EVENT", row))
    return row


def limits_json(row: Any) -> list[list[Any]]:
    """An event's curtailment limits (:func:`interval_limits_kw`) as JSON: [start ISO
    UTC, seconds or None, kW]."""
    return [
        [iso(t), None if d is None else d.total_seconds(), kw]
        for t, d, kw in interval_limits_kw(row)
    ]


def _version(s: Session, row: OadrEvent, actor: str) -> OadrEventVersion:
    """Record the event's content as its next published version, published when the
    event was written (its ``modified_at``): what compliance holds the site to."""
    last = s.scalar(
        select(func.max(OadrEventVersion.version)).where(OadrEventVersion.event_id == row.id)
    )
    version = OadrEventVersion(
        event_id=row.id,
        version=int(last or 0) + 1,
        site_id=row.site_id,
        published_at=row.modified_at,
        body=row.body,
        limits=limits_json(row),
        published_by=actor,
    )
    s.add(version)
    s.flush()
    return version


def update_event(s: Session, row: OadrEvent, body: dict[str, Any], actor: str) -> OadrEvent:
    body = check("eventRequest", body)
    program_id = _event_program(s, body)
    before, was = event_json(row), subject_of("EVENT", row)
    row.program_id = program_id
    row.priority = body.get("priority")
    row.body = _event_body(body)
    row.modified_at = _now()
    s.flush()
    _set_targets(s, "EVENT", row.id, body.get("targets"))
    _version(s, row, actor)
    after = event_json(row)
    _written(s, actor, "update", "EVENT", row.id, before, after, subject_of("EVENT", row), was)
    return row


def delete_event(s: Session, row: OadrEvent, actor: str) -> dict[str, Any]:
    before = event_json(row)
    subject = subject_of("EVENT", row)
    _set_targets(s, "EVENT", row.id, ())
    s.delete(row)
    s.flush()
    _written(s, actor, "delete", "EVENT", int(before["id"]), before, None, subject)
    return before


def curtailment_body(
    program: OadrProgram,
    ven_name: str,
    intervals: Sequence[tuple[dt.datetime, dt.timedelta, int]],
    priority: int | None,
    event_name: str | None,
) -> dict[str, Any]:
    """An eventRequest: the allowed import (KW) per interval for one VEN, asking for
    USAGE and DEMAND reports per interval."""
    if not intervals:
        raise ValueError("an event needs at least one interval")
    out = []
    for i, (start, duration, limit_kw) in enumerate(sorted(intervals, key=lambda x: x[0])):
        if start.tzinfo is None:
            raise ValueError("interval starts must be timezone-aware (UTC)")
        if int(limit_kw) != limit_kw or limit_kw < 0:
            raise ValueError(f"limit_kw must be a whole number of kW >= 0: {limit_kw}")
        out.append(
            {
                "id": i,
                "intervalPeriod": {"start": iso(start), "duration": iso_duration(duration)},
                "payloads": [{"type": CURTAILMENT_PAYLOAD, "values": [int(limit_kw)]}],
            }
        )
    body: dict[str, Any] = {
        "programID": str(program.id),
        "eventName": event_name,
        "priority": priority,
        "targets": [ven_name],
        "payloadDescriptors": [
            {
                "objectType": "EVENT_PAYLOAD_DESCRIPTOR",
                "payloadType": CURTAILMENT_PAYLOAD,
                "units": "KW",
            }
        ],
        "reportDescriptors": [{**d, "targets": [ven_name]} for d in REPORT_DESCRIPTORS],
        "intervalPeriod": {"start": out[0]["intervalPeriod"]["start"]},
        "intervals": out,
    }
    return check("eventRequest", body)


def upsert_event(
    s: Session,
    *,
    key: str,
    site_id: int,
    intervals: Sequence[tuple[dt.datetime, dt.timedelta, int]],
    priority: int | None = None,
    event_name: str | None = None,
    program: str = CURTAILMENT_PROGRAM,
    actor: str,
) -> OadrEvent:
    """Create or update the curtailment event ``key`` for one site (VEN).

    ``intervals`` are ``(start_utc, duration, limit_kw)``: the allowed import in kW
    (integer; convert MW with megawatt.ops.ledger.to_kw) from each start for its
    duration. The event targets the VEN by its venName (the site's name), carries
    ``IMPORT_CAPACITY_LIMIT`` payloads in KW, ``priority`` (lower is more urgent) and
    report descriptors asking for USAGE (KWH) and DEMAND (KW) per interval. The program
    ``program`` is made if missing. Same key, same content: nothing is written (no
    audit, no notification); changed content: an UPDATE (audited, notified). In the
    caller's transaction; notice rules are the caller's (schedule.py)."""
    site = s.get(Site, site_id)
    if site is None or s.scalar(select(exists().where(Licence.site_id == site_id))) is not True:
        raise ValueError(f"site {site_id} is not a VEN (no such site, or never licensed)")
    prog = ensure_program(s, program, actor)
    body = curtailment_body(prog, site.name, intervals, priority, event_name)
    row = s.scalars(select(OadrEvent).where(OadrEvent.key == key)).first()
    if row is None:
        return create_event(s, body, actor, site_id=site_id, key=key)
    if row.site_id != site_id:
        raise ValueError(f"event key {key!r} belongs to site {row.site_id}, not {site_id}")
    if row.program_id == prog.id and row.body == _event_body(body):
        return row
    return update_event(s, row, body, actor)


def cancel_event(s: Session, *, key: str, actor: str) -> bool:
    """Delete the event ``key`` (VENs subscribed to DELETE are notified); False when
    there is no such event (cancelling twice is harmless)."""
    row = s.scalars(select(OadrEvent).where(OadrEvent.key == key)).first()
    if row is None:
        return False
    delete_event(s, row, actor)
    return True


def events_with_keys(s: Session, prefix: str) -> list[OadrEvent]:
    """The events whose key starts with ``prefix`` (a schedule's day), oldest first."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return list(
        s.scalars(
            select(OadrEvent)
            .where(OadrEvent.key.like(escaped + "%", escape="\\"))
            .order_by(OadrEvent.id)
        )
    )


def interval_limits_kw(row: OadrEvent) -> list[tuple[dt.datetime, dt.timedelta | None, int]]:
    """The (start, duration or None, kW) of an event's ``IMPORT_CAPACITY_LIMIT``
    intervals, timed by :func:`interval_periods`. An interval whose start cannot be
    known, or that carries no numeric limit, is left out (an event edited by hand into
    another shape must not break the schedule, compliance or invoices that read it)."""
    out = []
    for iv, t, duration in interval_periods(row.body or {}):
        values = [
            p.get("values")
            for p in iv.get("payloads") or []
            if isinstance(p, dict) and p.get("type") == CURTAILMENT_PAYLOAD
        ]
        value = values[0][0] if values and values[0] else None
        if t is None or isinstance(value, bool) or not isinstance(value, int | float):
            continue
        out.append((t, duration, int(value)))
    return out


_DURATION = re.compile(
    r"^(-?)P(?=\d|T\d)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)([DW]))?"
    r"(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$"
)
#: "P9999Y" (or longer) means "no end" (User Guide).
FOREVER = dt.timedelta(days=9999 * 365)


def _parse_duration(text: str | None) -> dt.timedelta | None:
    """An ISO 8601 duration (years as 365 days, months as 30); None if absent or bad."""
    m = _DURATION.match(text or "")
    if not m:
        return None
    sign, y, mo, d, unit, h, mi, se = m.groups()
    days = int(y or 0) * 365 + int(mo or 0) * 30 + int(d or 0) * (7 if unit == "W" else 1)
    out = dt.timedelta(days=days, hours=int(h or 0), minutes=int(mi or 0), seconds=float(se or 0))
    return -out if sign else out


def _parse_time(text: str | None) -> dt.datetime | None:
    if not text or text.startswith("0001-01-01"):  # "0001-01-01": now (User Guide)
        return None
    try:
        t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def interval_periods(
    body: dict[str, Any],
) -> list[tuple[dict[str, Any], dt.datetime | None, dt.timedelta | None]]:
    """Each interval of an event with its start and duration: its own
    ``intervalPeriod`` where it has one, else the event's, the intervals following one
    another (the spec's reading; None where that cannot be known)."""
    period = body.get("intervalPeriod") or {}
    start = _parse_time(period.get("start"))
    step = _parse_duration(period.get("duration"))
    out = []
    for i, iv in enumerate(body.get("intervals") or []):
        own = iv.get("intervalPeriod") or {}
        t = _parse_time(own.get("start")) if own.get("start") else None
        if t is None and start is not None and step is not None:
            t = start + i * step
        out.append((iv, t, _parse_duration(own.get("duration")) if own.get("duration") else step))
    return out


def event_end(body: dict[str, Any]) -> dt.datetime | None:
    """When the event's last interval ends; None when that is unknown or never (such an
    event counts as active)."""
    end: dt.datetime | None = None
    for _, t, d in interval_periods(body):
        if t is None or d is None or d >= FOREVER:
            return None
        end = max(end, t + d) if end is not None else t + d
    return end


def is_active(row: OadrEvent, now: dt.datetime | None = None) -> bool:
    """Not transpired: the ``active`` filter of GET /events."""
    end = event_end(row.body)
    return end is None or end > (now or _now())


# -- reports -----------------------------------------------------------------------------


def _report_event(s: Session, who: Principal, body: dict[str, Any]) -> OadrEvent:
    event_id = parse_id(str(body["eventID"]))
    row = s.get(OadrEvent, event_id) if event_id is not None else None
    if row is None or not can_see(s, who, subject_of("EVENT", row)):
        raise bad_request(
            f"no event with id {body['eventID']}",
            [{"field": "eventID", "message": "no such event"}],
        )
    return row


def create_report(s: Session, who: Principal, body: dict[str, Any]) -> OadrReport:
    body = check("reportRequest", body)
    event = _report_event(s, who, body)
    now = _now()
    row = OadrReport(
        event_id=event.id,
        program_id=event.program_id,
        client_id=who.client_id,
        site_id=who.site_id,
        client_name=body["clientName"],
        body=body,
        created_at=now,
        modified_at=now,
    )
    s.add(row)
    s.flush()
    _written(
        s, who.actor, "create", "REPORT", row.id, None, report_json(row), subject_of("REPORT", row)
    )
    return row


def update_report(s: Session, who: Principal, row: OadrReport, body: dict[str, Any]) -> OadrReport:
    body = check("reportRequest", body)
    event = _report_event(s, who, body)
    before = report_json(row)
    row.event_id = event.id
    row.program_id = event.program_id
    row.client_name = body["clientName"]
    row.body = body
    row.modified_at = _now()
    s.flush()
    _written(
        s,
        who.actor,
        "update",
        "REPORT",
        row.id,
        before,
        report_json(row),
        subject_of("REPORT", row),
    )
    return row


def delete_report(s: Session, who: Principal, row: OadrReport) -> dict[str, Any]:
    before = report_json(row)
    subject = subject_of("REPORT", row)
    s.delete(row)
    s.flush()
    _written(s, who.actor, "delete", "REPORT", int(before["id"]), before, None, subject)
    return before


# -- subscriptions -----------------------------------------------------------------------


def _subscription_program(s: Session, body: dict[str, Any]) -> int | None:
    if body.get("programID") is None:
        return None
    program_id = parse_id(str(body["programID"]))
    if program_id is None or s.get(OadrProgram, program_id) is None:
        raise bad_request(
            f"no program with id {body['programID']}",
            [{"field": "programID", "message": "no such program"}],
        )
    return program_id


def _check_callbacks(body: dict[str, Any]) -> None:
    for i, op in enumerate(body["objectOperations"]):
        if not re.match(r"^https?://[^\s/]+", op["callbackUrl"]):
            raise bad_request(
                "callbackUrl must be an http(s) URL",
                [{"field": f"objectOperations.{i}.callbackUrl", "message": "http(s) URL"}],
            )


def create_subscription(s: Session, who: Principal, body: dict[str, Any]) -> OadrSubscription:
    body = check("subscriptionRequest", body)
    _check_callbacks(body)
    now = _now()
    row = OadrSubscription(
        client_id=who.client_id,
        role=who.role,
        operator_id=who.operator_id,
        site_id=who.site_id,
        program_id=_subscription_program(s, body),
        client_name=body["clientName"],
        body=body,
        created_at=now,
        modified_at=now,
    )
    s.add(row)
    s.flush()
    after = subscription_json(row)
    _written(
        s, who.actor, "create", "SUBSCRIPTION", row.id, None, after, subject_of("SUBSCRIPTION", row)
    )
    return row


def update_subscription(
    s: Session, who: Principal, row: OadrSubscription, body: dict[str, Any]
) -> OadrSubscription:
    body = check("subscriptionRequest", body)
    _check_callbacks(body)
    before = subscription_json(row)
    row.program_id = _subscription_program(s, body)
    row.client_name = body["clientName"]
    row.body = body
    row.modified_at = _now()
    s.flush()
    after = subscription_json(row)
    _written(
        s,
        who.actor,
        "update",
        "SUBSCRIPTION",
        row.id,
        before,
        after,
        subject_of("SUBSCRIPTION", row),
    )
    return row


def delete_subscription(s: Session, who: Principal, row: OadrSubscription) -> dict[str, Any]:
    before = subscription_json(row)
    subject = subject_of("SUBSCRIPTION", row)
    s.execute(
        update(OutboxEntry)
        .where(OutboxEntry.subscription_id == row.id, OutboxEntry.status == "pending")
        .values(status="dead", last_error="subscription deleted")
    )
    s.delete(row)
    s.flush()
    _written(s, who.actor, "delete", "SUBSCRIPTION", int(before["id"]), before, None, subject)
    return before


# -- VENs and resources ------------------------------------------------------------------


def _ven_subject(site: Site, extras_targets: Sequence[str] | None) -> Subject:
    return Subject("VEN", (site.name, *(extras_targets or ())), site.id)


def put_ven(s: Session, site: Site, body: dict[str, Any], actor: str, *, create: bool) -> None:
    """Set what OpenADR adds to a licensed site (targets, attributes, clientID) from a
    BL_VEN_REQUEST. The venName is the site's name: renaming is done in the registry."""
    body = check("venRequest", body)
    if body.get("objectType") != "BL_VEN_REQUEST":
        raise bad_request(
            "only the business logic writes VENs here: objectType BL_VEN_REQUEST",
            [{"field": "objectType", "message": "BL_VEN_REQUEST required"}],
        )
    if body["venName"] != site.name:
        raise conflict(
            "venName is the site's name; rename the site in the registry (PATCH /sites)",
            "venName",
        )
    extras = s.get(OadrVen, site.id)
    if create and extras is not None:
        raise conflict(f"VEN {site.name!r} is already registered (id {site.id})", "venName")
    before = ven_json(s, site) if not create else None
    now = _now()
    stored = {k: body.get(k) for k in ("targets", "attributes") if body.get(k) is not None}
    if extras is None:
        extras = OadrVen(site_id=site.id, created_at=now)
        s.add(extras)
    extras.client_id = body["clientID"]
    extras.body = stored
    extras.modified_at = now
    s.flush()
    _set_targets(s, "VEN", site.id, body.get("targets"))
    after = ven_json(s, site)
    _written(
        s,
        actor,
        "create" if create else "update",
        "VEN",
        site.id,
        before,
        after,
        _ven_subject(site, body.get("targets")),
    )


def clear_ven(s: Session, site: Site, actor: str) -> dict[str, Any]:
    """DELETE /vens/{id}: forget what OpenADR added (targets, attributes, clientID). The
    VEN itself is the licensed site and stays while the registry has it."""
    before = ven_json(s, site)
    extras = s.get(OadrVen, site.id)
    if extras is not None:
        s.delete(extras)
    _set_targets(s, "VEN", site.id, ())
    s.flush()
    _written(
        s, actor, "delete", "VEN", site.id, before, None, _ven_subject(site, before["targets"])
    )
    return before


def _resource_site(s: Session, body: dict[str, Any]) -> Site:
    site = get_ven_site(s, str(body["venID"]))
    if site is None:
        raise bad_request(
            f"no VEN with id {body['venID']}", [{"field": "venID", "message": "no such VEN"}]
        )
    return site


def _resource_body(body: dict[str, Any]) -> dict[str, Any]:
    keep = ("targets", "attributes")
    return {k: body[k] for k in keep if body.get(k) is not None}


def create_resource(s: Session, body: dict[str, Any], actor: str) -> OadrResource:
    body = check("resourceRequest", body)
    site = _resource_site(s, body)
    exists_ = s.scalars(
        select(OadrResource.id).where(
            OadrResource.site_id == site.id, OadrResource.resource_name == body["resourceName"]
        )
    ).first()
    if exists_ is not None:
        raise conflict(f"VEN {site.id} has a resource {body['resourceName']!r}", "resourceName")
    now = _now()
    row = OadrResource(
        site_id=site.id,
        resource_name=body["resourceName"],
        client_id=body.get("clientID") or _ven_client_id(s, site, s.get(OadrVen, site.id)),
        body=_resource_body(body),
        created_at=now,
        modified_at=now,
    )
    s.add(row)
    s.flush()
    _set_targets(s, "RESOURCE", row.id, body.get("targets"))
    _written(
        s,
        actor,
        "create",
        "RESOURCE",
        row.id,
        None,
        resource_json(row),
        subject_of("RESOURCE", row),
    )
    return row


def update_resource(
    s: Session, row: OadrResource, body: dict[str, Any], actor: str
) -> OadrResource:
    body = check("resourceRequest", body)
    site = _resource_site(s, body)
    clash = s.scalars(
        select(OadrResource.id).where(
            OadrResource.site_id == site.id,
            OadrResource.resource_name == body["resourceName"],
            OadrResource.id != row.id,
        )
    ).first()
    if clash is not None:
        raise conflict(f"VEN {site.id} has a resource {body['resourceName']!r}", "resourceName")
    before = resource_json(row)
    row.site_id = site.id
    row.resource_name = body["resourceName"]
    row.client_id = body.get("clientID") or row.client_id
    row.body = _resource_body(body)
    row.modified_at = _now()
    s.flush()
    _set_targets(s, "RESOURCE", row.id, body.get("targets"))
    _written(
        s,
        actor,
        "update",
        "RESOURCE",
        row.id,
        before,
        resource_json(row),
        subject_of("RESOURCE", row),
    )
    return row


def delete_resource(s: Session, row: OadrResource, actor: str) -> dict[str, Any]:
    before = resource_json(row)
    subject = subject_of("RESOURCE", row)
    _set_targets(s, "RESOURCE", row.id, ())
    s.delete(row)
    s.flush()
    _written(s, actor, "delete", "RESOURCE", int(before["id"]), before, None, subject)
    return before


def outbox_counts(s: Session) -> dict[str, int]:
    """Outbox rows per status (for tests and monitoring)."""
    rows = s.execute(select(OutboxEntry.status, func.count()).group_by(OutboxEntry.status))
    return {status: int(n) for status, n in rows}
