"""The FastAPI application: registry, caps, allocation ledger, audit.

Every request runs in one transaction (committed when the handler returns, rolled back
on any error, so nothing is half-written) and every write adds its audit entry in that
same transaction. Every refused request is an ``application/problem+json`` body
(RFC 9457) whose ``errors`` name the fields at fault.

Access: OAuth2 client credentials (megawatt.ops.auth). The authority reads and
writes everything; an operator client reads its own operator's sites and their
records; a site client reads its own. The audit trail records the client as actor.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
import logging
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Header, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from megawatt.errors import InputError
from megawatt.ops import (
    access,
    audit,
    auth,
    compliance,
    dashboard,
    greenbutton,
    invoicing,
    ledger,
    metering,
    registry,
    schedule,
)
from megawatt.ops.auth import Principal
from megawatt.ops.db import make_engine, session_factory
from megawatt.ops.invoice_html import render as render_invoice
from megawatt.ops.models import (
    Application,
    AuditEntry,
    Base,
    Cap,
    Contract,
    Invoice,
    LedgerEntry,
    Licence,
    Meter,
    Operator,
    Reading,
    Site,
)
from megawatt.ops.problems import Problem, conflict, invalid, not_found
from megawatt.ops.schemas import (
    MAX_ID,
    AllocationOut,
    ApplicationIn,
    ApplicationOut,
    ApplicationPatch,
    AuditOut,
    BlockOut,
    CapIn,
    CapOut,
    ContractIn,
    ContractOut,
    CreditNoteIn,
    EmergencyIn,
    GapOut,
    IngestOut,
    InvoiceIn,
    InvoiceOut,
    LedgerIn,
    LedgerOut,
    LicenceIn,
    LicenceOut,
    LicencePatch,
    MeterIn,
    MeterOut,
    OperatorIn,
    OperatorOut,
    OperatorPatch,
    ProblemOut,
    ReadingOut,
    ScheduleIn,
    ScheduleOut,
    SiteIn,
    SiteOut,
    SitePatch,
    When,
)

log = logging.getLogger(__name__)

PROBLEM = "application/problem+json"
_problem_content = {PROBLEM: {"schema": {"$ref": "#/components/schemas/ProblemOut"}}}
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"description": text, "content": _problem_content}
    for code, text in [
        (400, "The body is not parseable (malformed JSON)"),
        (401, "No, invalid or expired access token"),
        (403, "The client's role may not do this"),
        (404, "Not found"),
        (409, "Conflict (cap exceeded, duplicate, licence)"),
        (422, "Invalid request"),
    ]
}

Limit = Annotated[int, Query(ge=1, le=1000)]
#: The largest readings batch one request may carry (a year of 15-minute readings of
#: ten meters is about 25 MB as CSV); larger: split it (413).
MAX_INGEST_BYTES = 64 * 1024 * 1024


def _too_large(size: int) -> Problem:
    return Problem(
        413,
        "Content too large",
        f"{size:,} bytes; a readings batch may carry at most {MAX_INGEST_BYTES:,}: split it",
        [{"field": "body", "message": f"at most {MAX_INGEST_BYTES} bytes"}],
    )


Offset = Annotated[int, Query(ge=0, le=2**31 - 1)]


def _principal(request: Request, authorization: str | None) -> Principal:
    if not request.app.state.auth:
        return Principal("anonymous", "authority")
    with _tx(request) as s:
        return auth.verify(s, authorization)


def reader(
    request: Request, authorization: Annotated[str | None, Header(max_length=4096)] = None
) -> Principal:
    """Any authenticated client (what it sees is scoped by its role)."""
    return _principal(request, authorization)


def writer(
    request: Request, authorization: Annotated[str | None, Header(max_length=4096)] = None
) -> str:
    """The authority only; the actor name for the audit trail."""
    return access.require_authority(_principal(request, authorization)).actor


def overseer(
    request: Request, authorization: Annotated[str | None, Header(max_length=4096)] = None
) -> Principal:
    """The authority or the system operator (the audit trail, schedules, events)."""
    return access.require_overseer(_principal(request, authorization))


Actor = Annotated[str, Depends(writer)]
Overseer = Annotated[Principal, Depends(overseer)]
Who = Annotated[Principal, Depends(reader)]
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]


def problem_response(problem: Problem, request: Request) -> JSONResponse:
    body = problem.body(str(request.url.path))
    headers = body.pop("_headers", None)
    return JSONResponse(body, status_code=problem.status, media_type=PROBLEM, headers=headers)


@contextmanager
def _tx(request: Request) -> Iterator[Session]:
    factory: sessionmaker[Session] = request.app.state.sessions
    with factory() as session, session.begin():
        yield session


def _get(session: Session, model: type[Base], key: int, field: str = "id") -> Any:
    row = session.get(model, key)
    if row is None:
        raise not_found(model.__tablename__.rstrip("s").replace("_entrie", "_entry"), key, field)
    return row


def _must_exist(session: Session, model: type[Base], key: int | None, field: str) -> None:
    if key is not None and session.get(model, key) is None:
        raise invalid(f"{field} {key} does not exist", field, "no such record")


def _create(session: Session, actor: str, entity: str, row: Base) -> Any:
    session.add(row)
    session.flush()
    audit.record(session, actor, "create", entity, row.id, None, audit.snapshot(row))  # type: ignore[attr-defined]
    return row


def _patch(session: Session, actor: str, entity: str, row: Base, changes: dict[str, Any]) -> Any:
    before = audit.snapshot(row)
    for key, value in changes.items():
        setattr(row, key, value)
    session.flush()
    audit.record(session, actor, "update", entity, row.id, before, audit.snapshot(row))  # type: ignore[attr-defined]
    return row


def _contract_values(body: Any) -> dict[str, Any]:
    values = body.model_dump()
    if body.tou_periods is not None:  # JSON column: prices as exact strings
        values["tou_periods"] = [p.model_dump(mode="json") for p in body.tou_periods]
    return values


def _span(start: dt.datetime, end: dt.datetime, days: int) -> None:
    if end <= start:
        raise invalid("end must be after start", "end", "after start")
    if end - start > dt.timedelta(days=days):
        raise invalid(f"at most {days} days at a time", "end", f"at most {days} days after start")


def _ledger_out(entry: LedgerEntry) -> LedgerOut:
    return LedgerOut(
        id=entry.id,
        site_id=entry.site_id,
        kind=entry.kind,
        effective_from=entry.effective_from,
        delta_mw=ledger.to_mw(entry.delta_kw),
        level_mw=ledger.to_mw(entry.level_kw),
        reason=entry.reason,
        application_id=entry.application_id,
        recorded_at=entry.recorded_at,
        recorded_by=entry.recorded_by,
    )


def _application_out(app: Application) -> ApplicationOut:
    return ApplicationOut(
        id=app.id,
        site_id=app.site_id,
        requested_mw=ledger.to_mw(app.requested_kw),
        application_date=app.application_date,
        status=app.status,
        created_at=app.created_at,
    )


def _page(session: Session, stmt: Any, limit: int, offset: int) -> list[Any]:
    return list(session.scalars(stmt.limit(limit).offset(offset)).all())


def _site_rows(
    s: Session,
    who: Principal,
    model: Any,
    order: tuple[Any, ...],
    site_id: int | None,
    limit: int,
    offset: int,
) -> list[Any]:
    """A page of a site-scoped table's rows the principal may see (one site's if given)."""
    stmt = access.scoped(select(model).order_by(*order), model.site_id, who)
    if site_id is not None:
        stmt = stmt.where(model.site_id == site_id)
    return _page(s, stmt, limit, offset)


def _site_row(s: Session, who: Principal, model: Any, key: int, field: str, entity: str) -> Any:
    """One row of a site-scoped table, 404 when it is missing or outside the scope."""
    row = _get(s, model, key, field)
    access.check_visible(s, who, row.site_id, entity, key)
    return row


def build_router() -> APIRouter:
    r = APIRouter(responses=ERRORS)

    # -- OAuth2 ----------------------------------------------------------------------
    @r.post("/oauth/token", include_in_schema=False)  # the earlier path, kept working
    @r.post(
        "/auth/token",
        tags=["auth"],
        responses={
            200: {"description": "An access token"},
            400: {"description": "Bad grant type or missing field", "content": _problem_content},
            401: {"description": "Invalid client credentials", "content": _problem_content},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": {
                            "type": "object",
                            "required": ["grant_type", "client_id", "client_secret"],
                            "properties": {
                                "grant_type": {"type": "string", "enum": ["client_credentials"]},
                                "client_id": {"type": "string"},
                                "client_secret": {"type": "string"},
                            },
                        }
                    }
                },
            }
        },
    )
    async def token(request: Request) -> Any:
        """OAuth2 client credentials (RFC 6749 4.4): form fields grant_type,
        client_id, client_secret (or HTTP Basic)."""
        raw = (await request.body()).decode("utf-8", "replace")
        client_id, secret = auth.client_credentials(raw, request.headers.get("authorization"))

        def issue() -> dict[str, object]:
            with _tx(request) as s:
                return auth.issue_token(s, client_id, secret)

        body = await run_in_threadpool(issue)
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    # -- operators ---------------------------------------------------------------------
    @r.post("/operators", status_code=201, response_model=OperatorOut, tags=["registry"])
    def create_operator(body: OperatorIn, request: Request, actor: Actor) -> Any:
        with _tx(request) as s:
            return OperatorOut.model_validate(
                _create(s, actor, "operator", Operator(**body.model_dump()))
            )

    @r.get("/operators", response_model=list[OperatorOut], tags=["registry"])
    def list_operators(request: Request, who: Who, limit: Limit = 100, offset: Offset = 0) -> Any:
        with _tx(request) as s:
            stmt = select(Operator).order_by(Operator.id)
            visible = access.visible_sites(who)
            if visible is not None:
                stmt = stmt.where(
                    Operator.id.in_(select(Site.operator_id).where(Site.id.in_(visible)))
                )
            rows = _page(s, stmt, limit, offset)
            return [OperatorOut.model_validate(o) for o in rows]

    @r.get("/operators/{operator_id}", response_model=OperatorOut, tags=["registry"])
    def get_operator(operator_id: PathId, request: Request, who: Who) -> Any:
        with _tx(request) as s:
            row = _get(s, Operator, operator_id, "operator_id")
            visible = access.visible_sites(who)
            if (
                visible is not None
                and not s.scalars(
                    select(Site.id).where(Site.operator_id == operator_id, Site.id.in_(visible))
                ).first()
            ):
                raise not_found("operator", operator_id, "operator_id")
            return OperatorOut.model_validate(row)

    @r.patch("/operators/{operator_id}", response_model=OperatorOut, tags=["registry"])
    def patch_operator(
        operator_id: PathId, body: OperatorPatch, request: Request, actor: Actor
    ) -> Any:
        with _tx(request) as s:
            row = _get(s, Operator, operator_id, "operator_id")
            changes = body.model_dump(exclude_unset=True)
            if "name" in changes and changes["name"] is None:
                raise invalid("name cannot be null", "name", "required")
            return OperatorOut.model_validate(_patch(s, actor, "operator", row, changes))

    # -- sites -------------------------------------------------------------------------
    @r.post("/sites", status_code=201, response_model=SiteOut, tags=["registry"])
    def create_site(body: SiteIn, request: Request, actor: Actor) -> Any:
        with _tx(request) as s:
            _must_exist(s, Operator, body.operator_id, "operator_id")
            ledger.check_place(s, body.zone, body.plant)
            return SiteOut.model_validate(_create(s, actor, "site", Site(**body.model_dump())))

    @r.get("/sites", response_model=list[SiteOut], tags=["registry"])
    def list_sites(
        request: Request,
        who: Who,
        operator_id: QueryId = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> Any:
        with _tx(request) as s:
            stmt = access.scoped(select(Site).order_by(Site.id), Site.id, who)
            if operator_id is not None:
                stmt = stmt.where(Site.operator_id == operator_id)
            return [SiteOut.model_validate(x) for x in _page(s, stmt, limit, offset)]

    @r.get("/sites/{site_id}", response_model=SiteOut, tags=["registry"])
    def get_site(site_id: PathId, request: Request, who: Who) -> Any:
        with _tx(request) as s:
            row = _get(s, Site, site_id, "site_id")
            access.check_visible(s, who, row.id, "site", site_id)
            return SiteOut.model_validate(row)

    @r.patch("/sites/{site_id}", response_model=SiteOut, tags=["registry"])
    def patch_site(site_id: PathId, body: SitePatch, request: Request, actor: Actor) -> Any:
        with _tx(request) as s:
            row = _get(s, Site, site_id, "site_id")
            changes = body.model_dump(exclude_unset=True)
            for required in ("name", "lat", "lon"):
                if required in changes and changes[required] is None:
                    raise invalid(f"{required} cannot be null", required, "required")
            return SiteOut.model_validate(_patch(s, actor, "site", row, changes))

    # -- licences ----------------------------------------------------------------------
    @r.post("/licences", status_code=201, response_model=LicenceOut, tags=["registry"])
    def create_licence(body: LicenceIn, request: Request, actor: Actor) -> Any:
        if body.valid_to is not None and body.valid_to <= body.valid_from:
            raise invalid("valid_to must be after valid_from", "valid_to", "after valid_from")
        with _tx(request) as s:
            _must_exist(s, Site, body.site_id, "site_id")
            row = _create(s, actor, "licence", Licence(**body.model_dump()))
            return LicenceOut.model_validate(row)

    @r.get("/licences", response_model=list[LicenceOut], tags=["registry"])
    def list_licences(
        request: Request,
        who: Who,
        site_id: QueryId = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> Any:
        with _tx(request) as s:
            rows = _site_rows(s, who, Licence, (Licence.id,), site_id, limit, offset)
            return [LicenceOut.model_validate(x) for x in rows]

    @r.get("/licences/{licence_id}", response_model=LicenceOut, tags=["registry"])
    def get_licence(licence_id: PathId, request: Request, who: Who) -> Any:
        with _tx(request) as s:
            row = _site_row(s, who, Licence, licence_id, "licence_id", "licence")
            return LicenceOut.model_validate(row)

    @r.patch("/licences/{licence_id}", response_model=LicenceOut, tags=["registry"])
    def patch_licence(
        licence_id: PathId, body: LicencePatch, request: Request, actor: Actor
    ) -> Any:
        """Suspending or revoking a licence also revokes the site's allocation from now
        on (a revoke entry in the ledger, same transaction) unless another active
        licence covers the site."""
        with _tx(request) as s:
            changes = body.model_dump(exclude_unset=True)
            row = registry.change_licence(s, licence_id, changes, actor)
            return LicenceOut.model_validate(row)

    # -- applications ------------------------------------------------------------------
    @r.post("/applications", status_code=201, response_model=ApplicationOut, tags=["registry"])
    def create_application(body: ApplicationIn, request: Request, actor: Actor) -> Any:
        with _tx(request) as s:
            _must_exist(s, Site, body.site_id, "site_id")
            row = Application(
                site_id=body.site_id,
                requested_kw=ledger.to_kw(body.requested_mw, "requested_mw"),
                application_date=body.application_date,
                status="pending",
            )
            return _application_out(_create(s, actor, "application", row))

    @r.get("/applications", response_model=list[ApplicationOut], tags=["registry"])
    def list_applications(
        request: Request,
        who: Who,
        site_id: QueryId = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> Any:
        """Oldest application first (the plan's tie-break), then by id."""
        with _tx(request) as s:
            order = (Application.application_date, Application.id)
            rows = _site_rows(s, who, Application, order, site_id, limit, offset)
            return [_application_out(x) for x in rows]

    @r.get("/applications/{application_id}", response_model=ApplicationOut, tags=["registry"])
    def get_application(application_id: PathId, request: Request, who: Who) -> Any:
        with _tx(request) as s:
            row = _site_row(s, who, Application, application_id, "application_id", "application")
            return _application_out(row)

    @r.patch("/applications/{application_id}", response_model=ApplicationOut, tags=["registry"])
    def patch_application(
        application_id: PathId, body: ApplicationPatch, request: Request, actor: Actor
    ) -> Any:
        with _tx(request) as s:
            row = _get(s, Application, application_id, "application_id")
            return _application_out(
                _patch(s, actor, "application", row, body.model_dump(exclude_unset=True))
            )

    # -- contracts ---------------------------------------------------------------------
    @r.post("/contracts", status_code=201, response_model=ContractOut, tags=["registry"])
    def create_contract(body: ContractIn, request: Request, actor: Actor) -> Any:
        with _tx(request) as s:
            _must_exist(s, Site, body.site_id, "site_id")
            if body.application_id is not None:
                app = s.get(Application, body.application_id)
                if app is None or app.site_id != body.site_id:
                    raise invalid(
                        "application_id is not an application of this site",
                        "application_id",
                        "no such application for this site",
                    )
            row = _create(s, actor, "contract", Contract(**_contract_values(body)))
            return ContractOut.model_validate(row)

    @r.get("/contracts", response_model=list[ContractOut], tags=["registry"])
    def list_contracts(
        request: Request,
        who: Who,
        site_id: QueryId = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> Any:
        with _tx(request) as s:
            rows = _site_rows(s, who, Contract, (Contract.id,), site_id, limit, offset)
            return [ContractOut.model_validate(x) for x in rows]

    @r.get("/contracts/{contract_id}", response_model=ContractOut, tags=["registry"])
    def get_contract(contract_id: PathId, request: Request, who: Who) -> Any:
        with _tx(request) as s:
            row = _site_row(s, who, Contract, contract_id, "contract_id", "contract")
            return ContractOut.model_validate(row)

    # -- caps and ledger ---------------------------------------------------------------
    @r.get("/caps", response_model=list[CapOut], tags=["ledger"])
    def list_caps(request: Request, who: Who) -> Any:
        with _tx(request) as s:
            caps = s.scalars(select(Cap).order_by(Cap.id)).all()
            return [
                CapOut(
                    id=c.id,
                    scope=c.scope,
                    name=c.name,
                    cap_mw=ledger.to_mw(c.cap_kw),
                    zone=c.zone,
                    peak_allocated_mw=ledger.to_mw(ledger.peak_kw(s, c)),
                )
                for c in caps
            ]

    @r.put("/caps/{scope}/{name}", response_model=CapOut, tags=["ledger"])
    def put_cap(
        scope: Literal["program", "zone", "plant"],
        name: Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")],
        body: CapIn,
        request: Request,
        actor: Actor,
    ) -> Any:
        """Create or change a cap; 409 when more is already allocated under it."""
        with _tx(request) as s:
            cap = ledger.set_cap(s, scope, name, body.cap_mw, actor, body.zone)
            return CapOut(
                id=cap.id,
                scope=cap.scope,
                name=cap.name,
                cap_mw=ledger.to_mw(cap.cap_kw),
                zone=cap.zone,
                peak_allocated_mw=ledger.to_mw(ledger.peak_kw(s, cap)),
            )

    @r.post("/ledger", status_code=201, response_model=LedgerOut, tags=["ledger"])
    def append_entry(body: LedgerIn, request: Request, actor: Actor) -> Any:
        """Append a grant, change or revoke; 409 (problem+json with the cap, what is
        allocated and what is left) when any cap would be exceeded at any time."""
        with _tx(request) as s:
            entry = ledger.append(
                s,
                site_id=body.site_id,
                kind=body.kind,
                effective_from=body.effective_from,
                mw=body.mw,
                reason=body.reason,
                actor=actor,
                application_id=body.application_id,
            )
            return _ledger_out(entry)

    @r.get("/ledger", response_model=list[LedgerOut], tags=["ledger"])
    def list_entries(
        request: Request,
        who: Who,
        site_id: QueryId = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> Any:
        with _tx(request) as s:
            stmt = access.scoped(
                select(LedgerEntry).order_by(LedgerEntry.id), LedgerEntry.site_id, who
            )
            if site_id is not None:
                stmt = stmt.where(LedgerEntry.site_id == site_id)
            return [_ledger_out(e) for e in _page(s, stmt, limit, offset)]

    @r.get("/allocations", response_model=list[AllocationOut], tags=["ledger"])
    def allocations(request: Request, who: Who, at: Annotated[When | None, Query()] = None) -> Any:
        """Every site's allocation at ``at`` (default: now)."""
        when = at or dt.datetime.now(dt.UTC)
        with _tx(request) as s:
            ids = s.scalars(access.scoped(select(Site.id).order_by(Site.id), Site.id, who)).all()
            levels = ledger.levels_kw(s, when)
            licensed = ledger.licensed_sites(s, when)
            return [
                AllocationOut(
                    site_id=i,
                    at=when,
                    mw=ledger.to_mw(levels.get(i, 0)),
                    licensed=i in licensed,
                )
                for i in ids
            ]

    # -- day-ahead schedule and emergencies (published over OpenADR) ------------------
    @r.post("/schedule", response_model=ScheduleOut, tags=["events"])
    def run_schedule(body: ScheduleIn, request: Request, who: Overseer) -> Any:
        """Dispatch a program day on the live allocations (the rolling re-dispatch) and
        publish each site's curtailment as OpenADR events: one per contiguous block, no
        block sooner than the contract's notice after ``published_at``. Idempotent:
        unchanged blocks are kept, changed ones updated, vanished ones cancelled."""
        base = request.app.state.scenario()
        with _tx(request) as s:
            try:
                out = schedule.schedule_day(s, body.day, base, published_at=body.published_at)
            except InputError as exc:
                raise invalid(exc.problem, "day", exc.problem) from None
            rec = schedule.publish(
                schedule.event_sink(s, who.actor),
                body.day,
                out.timezone,
                out.blocks,
                published_at=out.published_at,
            )
            return ScheduleOut(
                day=out.day,
                timezone=out.timezone,
                published_at=out.published_at,
                profile_day=out.profile_day,
                blocks=[BlockOut.model_validate(b.as_dict()) for b in out.blocks],
                uncovered_mwh={k: round(v, 3) for k, v in out.uncovered_mwh.items()},
                no_contract=out.no_contract,
                changes={
                    k: [b.key for b in getattr(rec, k)]
                    for k in ("keep", "update", "create", "cancel")
                },
            )

    @r.post("/emergencies", status_code=201, response_model=BlockOut, tags=["events"])
    def emergency(body: EmergencyIn, request: Request, who: Overseer) -> Any:
        """Curtail a site at once: from ``start`` to ``end`` it may import at most
        ``limit_mw`` (an OpenADR event, priority 0). It overrides the site's scheduled
        blocks where they overlap (those are updated, split or cancelled)."""
        tz = request.app.state.scenario().timezone
        with _tx(request) as s:
            block = schedule.emergency_block(
                s, body.site_id, body.start, body.end, float(body.limit_mw), tz
            )
            schedule.issue_emergency(schedule.event_sink(s, who.actor), block)
            return BlockOut.model_validate(block.as_dict())

    # -- metering ----------------------------------------------------------------------
    @r.post("/meters", status_code=201, response_model=MeterOut, tags=["metering"])
    def create_meter(body: MeterIn, request: Request, actor: Actor) -> Any:
        with _tx(request) as s:
            _must_exist(s, Site, body.site_id, "site_id")
            if s.scalar(select(Meter.id).where(Meter.serial == body.serial)) is not None:
                raise conflict(f"meter {body.serial} exists", "serial", "already exists")
            return MeterOut.model_validate(_create(s, actor, "meter", Meter(**body.model_dump())))

    @r.get("/meters", response_model=list[MeterOut], tags=["metering"])
    def list_meters(
        request: Request,
        who: Who,
        site_id: QueryId = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> Any:
        with _tx(request) as s:
            rows = _site_rows(s, who, Meter, (Meter.id,), site_id, limit, offset)
            return [MeterOut.model_validate(x) for x in rows]

    @r.get("/meters/{meter_id}", response_model=MeterOut, tags=["metering"])
    def get_meter(meter_id: PathId, request: Request, who: Who) -> Any:
        with _tx(request) as s:
            return MeterOut.model_validate(_site_row(s, who, Meter, meter_id, "meter_id", "meter"))

    @r.get("/meters/{meter_id}/gaps", response_model=list[GapOut], tags=["metering"])
    def meter_gaps(
        meter_id: PathId,
        request: Request,
        who: Who,
        start: Annotated[When, Query()],
        end: Annotated[When, Query()],
    ) -> Any:
        """The stretches of [start, end) without a current reading with kWh: never
        received ("no reading") or received as missing ("missing"). At most 400 days."""
        _span(start, end, 400)
        with _tx(request) as s:
            _site_row(s, who, Meter, meter_id, "meter_id", "meter")
            return [
                GapOut(start=g.start, end=g.end, reason=g.reason)
                for g in metering.gaps(s, meter_id, start, end)
            ]

    @r.post(
        "/readings",
        response_model=IngestOut,
        tags=["metering"],
        responses={
            413: {"description": "The batch is too large: split it", "content": _problem_content}
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["readings"],
                            "properties": {
                                "readings": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "required": ["meter", "interval_start", "kwh"],
                                        "properties": {
                                            "meter": {"type": "string"},
                                            "interval_start": {
                                                "type": "string",
                                                "format": "date-time",
                                            },
                                            "minutes": {
                                                "type": "integer",
                                                "enum": [5, 15, 30, 60],
                                            },
                                            "kwh": {"type": ["string", "null"]},
                                            "quality": {
                                                "type": "string",
                                                "enum": ["measured", "estimated", "missing"],
                                            },
                                            "version": {"type": "integer", "minimum": 1},
                                        },
                                    },
                                }
                            },
                        }
                    },
                    "text/csv": {"schema": {"type": "string"}},
                },
            }
        },
    )
    async def ingest_readings(request: Request, who: Who) -> Any:
        """A batch of interval readings, JSON or CSV (``Content-Type: text/csv``: a
        header meter,interval_start,minutes,kwh,quality,version). All or nothing;
        replaying a batch changes nothing; the same key with other values is 409. The
        authority may send any meter's readings, a site client only its own meters'."""
        if who.role not in ("authority", "site"):
            raise Problem(
                403,
                "Forbidden",
                f"a {who.role} client cannot send readings",
                [{"field": "Authorization", "message": "authority or site role required"}],
            )
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_INGEST_BYTES:
            raise _too_large(int(declared))
        raw = bytearray()
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_INGEST_BYTES:
                raise _too_large(len(raw))
        ctype = request.headers.get("content-type", "application/json").split(";")[0].strip()

        def store() -> dict[str, Any]:
            # Parsing a large batch is CPU work: here in the threadpool, not on the
            # event loop that also serves requests and delivers webhooks.
            try:
                data = bytes(raw).decode("utf-8")
            except UnicodeDecodeError:
                raise invalid("the body is not UTF-8", "body", "not UTF-8") from None
            if ctype == "text/csv":
                rows = metering.parse_csv(data, "body")
            else:
                try:
                    body = json.loads(data)
                except json.JSONDecodeError as exc:
                    raise Problem(
                        400,
                        "Bad request",
                        f"malformed JSON: {exc}",
                        [{"field": "body", "message": "malformed JSON"}],
                    ) from None
                rows = metering.parse_json(body)
            with _tx(request) as s:
                return metering.ingest(
                    s, rows, who.actor, who.site_id if who.role == "site" else None
                )

        return IngestOut(**await run_in_threadpool(store))

    @r.get("/readings", response_model=list[ReadingOut], tags=["metering"])
    def list_readings(
        request: Request,
        who: Who,
        start: Annotated[When, Query()],
        end: Annotated[When, Query()],
        site_id: QueryId = None,
        meter_id: QueryId = None,
        versions: Literal["current", "all"] = "current",
        limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
        offset: Offset = 0,
    ) -> Any:
        """Readings with interval_start in [start, end): the current version of each
        interval, or every version (``versions=all``: corrections and what they
        superseded)."""
        with _tx(request) as s:
            meters = access.scoped(select(Meter.id), Meter.site_id, who)
            if site_id is not None:
                meters = meters.where(Meter.site_id == site_id)
            if meter_id is not None:
                meters = meters.where(Meter.id == meter_id)
            if versions == "current":
                stmt = metering.current(meters, start, end)
            else:
                stmt = (
                    select(Reading)
                    .where(
                        Reading.meter_id.in_(meters),
                        Reading.interval_start >= start,
                        Reading.interval_start < end,
                    )
                    .order_by(Reading.meter_id, Reading.interval_start, Reading.version)
                )
            rows = _page(s, stmt, limit, offset)
            info = {
                m.id: m
                for m in s.scalars(select(Meter).where(Meter.id.in_({x.meter_id for x in rows})))
            }
            return [
                ReadingOut(
                    meter_id=x.meter_id,
                    serial=info[x.meter_id].serial,
                    site_id=info[x.meter_id].site_id,
                    interval_start=x.interval_start,
                    minutes=x.minutes,
                    kwh=x.kwh,
                    quality=x.quality,
                    version=x.version,
                    recorded_at=x.recorded_at,
                    recorded_by=x.recorded_by,
                )
                for x in rows
            ]

    @r.get(
        "/sites/{site_id}/greenbutton",
        tags=["metering"],
        response_class=Response,
        responses={200: {"content": {"application/atom+xml": {}}, "description": "ESPI feed"}},
    )
    def site_greenbutton(
        site_id: PathId,
        request: Request,
        who: Who,
        start: Annotated[When, Query()],
        end: Annotated[When, Query()],
    ) -> Any:
        """Green Button (ESPI 3.3) Atom feed of the site's current readings in [start,
        end) (at most 400 days): one MeterReading per meter, one IntervalBlock per
        local day; missing intervals are absent."""
        _span(start, end, 400)
        with _tx(request) as s:
            site = _get(s, Site, site_id, "site_id")
            access.check_visible(s, who, site.id, "site", site_id)
            meters = list(
                s.scalars(select(Meter).where(Meter.site_id == site_id).order_by(Meter.id))
            )
            rows = list(s.scalars(metering.current([m.id for m in meters], start, end)))
            xml = greenbutton.feed(site, meters, rows, str(request.base_url).rstrip("/"))
        return Response(xml, media_type="application/atom+xml")

    # -- compliance --------------------------------------------------------------------
    @r.get("/compliance/events/{event_id}", response_model=dict[str, Any], tags=["compliance"])
    def event_compliance(event_id: PathId, request: Request, who: Who) -> Any:
        """A site's compliance with one curtailment event: the compliance intervals,
        metered against the allowed kW, shortfall, penalty, performance factor, and
        the evidence (publication, webhook deliveries, the site's reports)."""
        from megawatt.ops.openadr.tables import OadrEvent

        with _tx(request) as s:
            event = s.get(OadrEvent, event_id)
            if event is None or event.site_id is None:
                raise not_found("event", event_id, "event_id")
            access.check_visible(s, who, event.site_id, "event", event_id)
            return compliance.as_dict(compliance.event_result(s, event))

    @r.get("/compliance", response_model=list[dict[str, Any]], tags=["compliance"])
    def monthly_compliance(
        request: Request,
        who: Who,
        month: Annotated[str, Query(pattern=r"^(19|[2-9][0-9])[0-9]{2}-(0[1-9]|1[0-2])$")],
        site_id: QueryId = None,
    ) -> Any:
        """Each visible site's compliance record for a local calendar month: its events
        that ended in the month, and their totals. ``source``: ``stored`` (the record
        kept with the month's standing invoice: what was billed, even if readings were
        corrected since) or ``computed`` (no invoice stands: computed now)."""
        with _tx(request) as s:
            stmt = access.scoped(select(Site.id).order_by(Site.id), Site.id, who)
            if site_id is not None:
                stmt = stmt.where(Site.id == site_id)
            out = []
            for sid in s.scalars(stmt).all():
                record = compliance.month_record(s, sid, month)
                if not record["events"] and site_id is None:
                    continue
                out.append(record)
            return out

    # -- invoices ----------------------------------------------------------------------
    @r.post("/invoices", status_code=201, response_model=InvoiceOut, tags=["invoices"])
    def issue_invoice(body: InvoiceIn, request: Request, actor: Actor) -> Any:
        """Issue the invoice of a site for a local calendar month (Asia/Karachi) that
        has ended; 409 while an invoice of that month stands (credit it first)."""
        with _tx(request) as s:
            inv = invoicing.issue(s, body.site_id, body.month, actor)
            return invoicing.as_dict(inv, invoicing.lines_of(s, inv.id))

    @r.post(
        "/invoices/{invoice_id}/credit-note",
        status_code=201,
        response_model=InvoiceOut,
        tags=["invoices"],
    )
    def credit_invoice(
        invoice_id: PathId, body: CreditNoteIn, request: Request, actor: Actor
    ) -> Any:
        """Cancel an issued invoice with a credit note (its lines negated); the month
        may then be invoiced again."""
        with _tx(request) as s:
            note = invoicing.credit_note(s, invoice_id, body.reason, actor)
            return invoicing.as_dict(note, invoicing.lines_of(s, note.id))

    @r.get("/invoices", response_model=list[InvoiceOut], tags=["invoices"])
    def list_invoices(
        request: Request,
        who: Who,
        site_id: QueryId = None,
        month: Annotated[str | None, Query(pattern=r"^[0-9]{4}-[0-9]{2}$")] = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> Any:
        with _tx(request) as s:
            stmt = access.scoped(select(Invoice).order_by(Invoice.id), Invoice.site_id, who)
            if site_id is not None:
                stmt = stmt.where(Invoice.site_id == site_id)
            if month is not None:
                stmt = stmt.where(Invoice.month == month)
            return [
                invoicing.as_dict(x, invoicing.lines_of(s, x.id))
                for x in _page(s, stmt, limit, offset)
            ]

    def _invoice(request: Request, who: Principal, invoice_id: int) -> dict[str, Any]:
        with _tx(request) as s:
            inv = _site_row(s, who, Invoice, invoice_id, "invoice_id", "invoice")
            out = invoicing.as_dict(inv, invoicing.lines_of(s, inv.id))
            out["_site"] = s.get(Site, inv.site_id)
            return out

    @r.get("/invoices/{invoice_id}", response_model=InvoiceOut, tags=["invoices"])
    def get_invoice(invoice_id: PathId, request: Request, who: Who) -> Any:
        out = _invoice(request, who, invoice_id)
        out.pop("_site")
        return out

    @r.get(
        "/invoices/{invoice_id}/csv",
        tags=["invoices"],
        response_class=Response,
        responses={200: {"content": {"text/csv": {}}, "description": "Lines as CSV"}},
    )
    def invoice_csv(invoice_id: PathId, request: Request, who: Who) -> Any:
        """The invoice for accounting systems: one row per line, then the total."""
        inv = _invoice(request, who, invoice_id)
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        head = ("invoice", "kind", "site_id", "month", "currency")
        w.writerow(
            (
                *head,
                "position",
                "line_kind",
                "description",
                "quantity",
                "unit",
                "unit_price",
                "amount",
            )
        )
        fixed = (inv["number"], inv["kind"], inv["site_id"], inv["month"], inv["currency"])
        for x in inv["lines"]:
            w.writerow(
                (
                    *fixed,
                    x["position"],
                    x["kind"],
                    x["description"],
                    x["quantity"],
                    x["unit"],
                    x["unit_price"],
                    x["amount"],
                )
            )
        w.writerow((*fixed, "", "total", "", "", "", "", inv["total"]))
        return Response(buf.getvalue(), media_type="text/csv")

    @r.get(
        "/invoices/{invoice_id}/html",
        tags=["invoices"],
        response_class=HTMLResponse,
        responses={200: {"content": {"text/html": {}}, "description": "The invoice page"}},
    )
    def invoice_html(invoice_id: PathId, request: Request, who: Who) -> Any:
        inv = _invoice(request, who, invoice_id)
        return HTMLResponse(render_invoice(inv, inv.pop("_site")))

    @r.get("/plan-vs-actual", response_model=dict[str, Any], tags=["invoices"])
    def plan_vs_actual(
        request: Request,
        who: Who,
        month: Annotated[str, Query(pattern=r"^(19|[2-9][0-9])[0-9]{2}-(0[1-9]|1[0-2])$")],
        site_id: QueryId = None,
    ) -> Any:
        """Plan against actual for a local calendar month, per visible site (the CLI's
        ``megawatt ops plan-vs-actual``, same figures): energy served and curtailed,
        revenue and penalties as metered and billed, against the plan and the day-ahead
        schedule. The state's margin (``margin``) only for the whole program (every
        site, no ``site_id``). The plan: the server's ``$MEGAWATT_PLAN`` (a ``megawatt
        plan`` output directory); 409 when it has none."""
        import os
        import pathlib

        from megawatt.ops.settlement import plan_vs_actual as compare

        plan = getattr(request.app.state, "plan_dir", None) or os.environ.get("MEGAWATT_PLAN")
        if not plan:
            raise conflict(
                "this server has no plan to compare with: start it with MEGAWATT_PLAN set to "
                "a `megawatt plan` output directory",
                "plan",
                "no plan configured",
            )
        with _tx(request) as s:
            try:
                out = compare(
                    s,
                    pathlib.Path(plan),
                    month,
                    visible=access.visible_sites(who),
                    site_id=site_id,
                )
            except InputError as exc:
                raise conflict(
                    f"the server's plan cannot be read: {exc.problem}", "plan", exc.problem
                ) from None
            return compliance.plain(out)

    # -- audit -------------------------------------------------------------------------
    @r.get("/audit", response_model=list[AuditOut], tags=["audit"])
    def list_audit(
        request: Request,
        overseer: Overseer,
        entity: Annotated[str | None, Query(max_length=50, pattern=r"^[a-z_]+$")] = None,
        entity_id: QueryId = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> Any:
        with _tx(request) as s:
            stmt = select(AuditEntry).order_by(AuditEntry.id)
            if entity is not None:
                stmt = stmt.where(AuditEntry.entity == entity)
            if entity_id is not None:
                stmt = stmt.where(AuditEntry.entity_id == entity_id)
            return [AuditOut.model_validate(a) for a in _page(s, stmt, limit, offset)]

    return r


EXPIRY_SWEEP_SECONDS = 60.0


def _scenario_loader(path: str | None) -> Any:
    """A function returning the scenario (loaded once, on first use)."""
    import functools
    import os

    from megawatt import scenario as scenario_lib

    @functools.cache
    def load() -> Any:
        return scenario_lib.load_or_default(path or os.environ.get("MEGAWATT_SCENARIO"))

    return load


def _sweeper(sessions: sessionmaker[Session], every: float) -> Any:
    """A lifespan that runs :func:`megawatt.ops.ledger.expire` at start and every
    ``every`` seconds (a lapsed licence holds nothing for longer than that even when
    no ledger write comes to sweep it)."""

    def sweep() -> int:
        with sessions() as session, session.begin():
            return len(ledger.expire(session))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async def loop() -> None:
            while True:
                try:
                    await run_in_threadpool(sweep)
                except Exception as exc:  # keep serving; the next pass retries
                    log.warning("licence expiry sweep failed: %s", exc)
                await asyncio.sleep(every)

        task = asyncio.create_task(loop())
        try:
            yield
        finally:
            task.cancel()

    return lifespan


def create_app(
    database_url: str | None = None,
    *,
    auth_required: bool = True,
    expiry_sweep_seconds: float | None = EXPIRY_SWEEP_SECONDS,
    scenario: str | None = None,
) -> FastAPI:
    """The service over ``database_url`` (default: $MEGAWATT_DATABASE_URL or
    ./megawatt.db). The schema must exist: ``megawatt ops --db URL migrate``.

    Every endpoint but /auth/token needs a Bearer token; ``auth_required=False``
    (tests of the domain logic only) treats every request as the authority.
    ``expiry_sweep_seconds``: how often lapsed licences are swept (None: never, only
    on ledger writes). ``scenario``: the scenario file whose grid and hourly inputs the
    day-ahead schedule dispatches (default: the embedded Pakistan FY2025 scenario;
    ``$MEGAWATT_SCENARIO``), loaded on first use."""
    engine = make_engine(database_url)
    sessions = session_factory(engine)
    app = FastAPI(
        lifespan=_sweeper(sessions, expiry_sweep_seconds) if expiry_sweep_seconds else None,
        title="megawatt operations",
        version="0.1.0",
        description="Registry, caps and allocation ledger, audit. OAuth2 client credentials.",
    )
    app.state.engine = engine
    app.state.auth = auth_required
    app.state.sessions = sessions
    app.state.scenario = _scenario_loader(scenario)
    app.include_router(build_router())
    from megawatt.ops.openadr.vtn import install as install_vtn

    install_vtn(app)  # OpenADR 3.1.0 at /openadr3/3.1.0 (issue 14)

    dashboard.install(app)  # the web dashboard at /ui (issue 17)

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> Response:
        if dashboard.wants_html(request):
            return await run_in_threadpool(dashboard.error_page, request, exc)
        return problem_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {
                "field": ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body",
                "message": str(e.get("msg", "invalid")),
            }
            for e in exc.errors()
        ]
        fields = ", ".join(e["field"] for e in errors)
        problem = Problem(422, "Invalid request", f"invalid: {fields}", errors)
        if dashboard.wants_html(request):
            return await run_in_threadpool(dashboard.error_page, request, problem)
        return problem_response(problem, request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "Error")
        field = "path" if exc.status_code in (404, 405) else "request"
        problem = Problem(
            exc.status_code, title, str(exc.detail), [{"field": field, "message": title}]
        )
        if dashboard.wants_html(request):
            return await run_in_threadpool(dashboard.error_page, request, problem)
        response = problem_response(problem, request)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        text = str(exc.orig).lower()
        field = next((f for f in ("name", "number") if f in text), "body")
        return problem_response(
            Problem(
                409,
                "Conflict",
                "the request conflicts with an existing record (duplicate or constraint)",
                [{"field": field, "message": "already exists or violates a constraint"}],
            ),
            request,
        )

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> JSONResponse:
        # A value the database cannot store that validation let through: still the
        # client's request, never a 500.
        return problem_response(
            Problem(
                422,
                "Invalid request",
                "a value cannot be stored: " + str(exc.orig).splitlines()[0],
                [{"field": "body", "message": "value not storable"}],
            ),
            request,
        )

    # Documented problem schema for every error response.
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        components = schema.setdefault("components", {})
        components.setdefault("schemas", {})["ProblemOut"] = ProblemOut.model_json_schema()
        components["securitySchemes"] = {
            "oauth2": {
                "type": "oauth2",
                "flows": {"clientCredentials": {"tokenUrl": "/auth/token", "scopes": {}}},
            }
        }
        schema["security"] = [{"oauth2": []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


#: What ``megawatt serve`` exports for :func:`app_from_env` (each uvicorn worker reads it).
SCENARIO_ENV = "MEGAWATT_SCENARIO"
OUTBOX_WORKER_ENV = "MEGAWATT_OUTBOX_WORKER"
OUTBOX_LEASE_ENV = "MEGAWATT_OUTBOX_LEASE_SECONDS"
#: ``1``: every response carries ``X-Megawatt-Worker-Pid`` (tests and benchmarks that
#: check the requests are spread over several worker processes; off by default).
PID_HEADER_ENV = "MEGAWATT_WORKER_PID_HEADER"
PID_HEADER = "X-Megawatt-Worker-Pid"


def outbox_lease_seconds() -> float | None:
    """``$MEGAWATT_OUTBOX_LEASE_SECONDS`` (None: the default lease); InputError when it
    is not a positive number."""
    raw = os.environ.get(OUTBOX_LEASE_ENV)
    if not raw:
        return None
    try:
        lease = float(raw)
    except ValueError:
        lease = float("nan")
    if not lease > 0 or lease == float("inf"):
        raise InputError(None, OUTBOX_LEASE_ENV, "must be a positive number of seconds", raw, True)
    return lease


def app_from_env() -> FastAPI:
    """The service as ``megawatt serve`` configured it, for uvicorn's
    ``megawatt.ops.app:app_from_env`` (``factory=True``), called once in each worker
    process: the database is ``$MEGAWATT_DATABASE_URL``, the scenario
    ``$MEGAWATT_SCENARIO``; the webhook outbox worker runs unless
    ``$MEGAWATT_OUTBOX_WORKER`` is ``0``, with ``$MEGAWATT_OUTBOX_LEASE_SECONDS`` as its
    lease. ``serve`` checks these before it starts uvicorn."""
    app = create_app(None, scenario=os.environ.get(SCENARIO_ENV) or None)
    app.state.outbox_worker = os.environ.get(OUTBOX_WORKER_ENV, "1") != "0"
    lease = outbox_lease_seconds()
    app.state.outbox_options = {"lease_seconds": lease} if lease else {}
    if os.environ.get(PID_HEADER_ENV) == "1":
        app.add_middleware(_PidHeader)
    return app


class _PidHeader:
    """ASGI middleware: ``X-Megawatt-Worker-Pid: <this process's id>`` on every response."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.value = str(os.getpid()).encode()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_pid(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((PID_HEADER.lower().encode(), self.value))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_pid)


__all__ = ["app_from_env", "create_app"]
