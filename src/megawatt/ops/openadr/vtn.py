"""The OpenADR 3.1.0 VTN at ``/openadr3/3.1.0`` of ``megawatt serve``.

A sub-application mounted in the service (create_app calls :func:`install`), sharing
its database, its OAuth2 clients and tokens (megawatt.ops.auth) and its audit trail;
its own error handler answers the spec's ``problem`` (400 for a malformed request, as
the spec says, where the rest of the service says 422). Bodies are validated against
the spec file (megawatt.ops.openadr.spec); ``GET /openadr3/3.1.0/openapi.json`` serves
that file. Each request is one transaction: the change, its audit entry and its
webhook notifications commit together (megawatt.ops.openadr.objects, .outbox).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, TypeVar

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from megawatt.ops import auth
from megawatt.ops.auth import SEE_ALL, Principal
from megawatt.ops.models import Client, Site
from megawatt.ops.openadr import objects as o
from megawatt.ops.openadr import spec
from megawatt.ops.openadr.outbox import Deliverer
from megawatt.ops.openadr.tables import (
    OadrEvent,
    OadrProgram,
    OadrReport,
    OadrResource,
    OadrSubscription,
    OadrTarget,
)
from megawatt.ops.problems import Problem

Row = TypeVar("Row")

PREFIX = "/openadr3/3.1.0"
log = logging.getLogger("megawatt.vtn")
T = TypeVar("T")

Skip = Annotated[int, Query(ge=0, le=2**31 - 1)]
Limit = Annotated[int, Query(ge=0, le=50)]
ObjectID = Annotated[str | None, Query(min_length=1, max_length=128, pattern=r"^[a-zA-Z0-9_-]*$")]
Name = Annotated[str | None, Query(min_length=1, max_length=128)]
Targets = Annotated[list[Annotated[str, Query(min_length=1, max_length=128)]] | None, Query()]


def _problem(problem: Problem, request: Request) -> JSONResponse:
    body = problem.body(str(request.url))
    headers = body.pop("_headers", None)
    return JSONResponse(body, status_code=problem.status, headers=headers)


def _read_scope(who: Principal, specific: str) -> None:
    o.require(who, specific, "read_all")


def _page(rows: list[T], skip: int, limit: int) -> list[T]:
    return rows[skip : skip + limit]


def create_vtn(parent: FastAPI) -> FastAPI:
    """The VTN sub-application over ``parent``'s database and clients."""
    vtn = FastAPI(
        title="megawatt OpenADR 3.1.0 VTN",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )

    def sessions() -> sessionmaker[Session]:
        return parent.state.sessions  # type: ignore[no-any-return]

    def deliverer() -> Deliverer | None:
        return getattr(parent.state, "outbox", None)

    async def run(request: Request, fn: Callable[[Session, Principal], T]) -> T:
        """``fn(session, principal)`` in one transaction, in a worker thread."""
        header = request.headers.get("authorization")

        def work() -> T:
            with sessions()() as s, s.begin():
                if parent.state.auth:
                    who = auth.verify(s, header)
                else:
                    who = Principal("anonymous", "authority")
                return fn(s, who)

        result = await run_in_threadpool(work)
        if request.method != "GET":
            d = deliverer()
            if d is not None:
                d.wake()
        return result

    async def body_of(request: Request) -> Any:
        raw = await request.body()
        try:
            import json

            return json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise o.bad_request(
                "the body is not JSON", [{"field": "body", "message": "invalid JSON"}]
            ) from None

    # -- errors --------------------------------------------------------------------------
    @vtn.exception_handler(Problem)
    async def _p(request: Request, exc: Problem) -> JSONResponse:
        return _problem(exc, request)

    @vtn.exception_handler(RequestValidationError)
    async def _v(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "field": ".".join(str(p) for p in e.get("loc", ()) if p not in ("body", "query"))
                or "request",
                "message": str(e.get("msg", "invalid")),
            }
            for e in exc.errors()
        ]
        detail = "invalid: " + ", ".join(e["field"] for e in errors)
        return _problem(Problem(400, "Bad Request", detail, errors), request)

    @vtn.exception_handler(StarletteHTTPException)
    async def _h(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = {404: "Not Found", 405: "Method Not Allowed"}.get(exc.status_code, "Error")
        return _problem(
            Problem(exc.status_code, title, str(exc.detail), [{"field": "path", "message": title}]),
            request,
        )

    @vtn.exception_handler(IntegrityError)
    async def _i(request: Request, exc: IntegrityError) -> JSONResponse:
        return _problem(
            o.conflict("the request conflicts with an existing object", "body"), request
        )

    @vtn.exception_handler(DataError)
    async def _d(request: Request, exc: DataError) -> JSONResponse:
        return _problem(
            Problem(
                400,
                "Bad Request",
                "a value cannot be stored",
                [{"field": "body", "message": "value not storable"}],
            ),
            request,
        )

    # -- the spec, auth ------------------------------------------------------------------
    @vtn.get("/openapi.json", include_in_schema=False)
    def openapi_doc(request: Request) -> Any:
        doc = copy.deepcopy(spec.spec())
        doc["servers"] = [{"url": str(request.base_url).rstrip("/") + PREFIX}]
        return doc

    @vtn.get("/auth/server")
    def auth_server(request: Request) -> Any:
        url = str(request.url).split("?")[0].rsplit("/server", 1)[0] + "/token"
        return {"tokenURL": url}

    @vtn.post("/auth/token")
    async def token(request: Request) -> Any:
        """Client credentials (form fields or HTTP Basic): the service's own token
        (megawatt.ops.auth.issue_token) with the role's OpenADR scopes."""
        raw = (await request.body()).decode("utf-8", "replace")
        client_id, secret = auth.client_credentials(raw, request.headers.get("authorization"))

        def issue() -> dict[str, object]:
            with sessions()() as s, s.begin():
                out = auth.issue_token(s, client_id, secret)
                role = s.scalars(select(Client.role).where(Client.client_id == client_id)).one()
                return {**out, "scope": " ".join(o.scopes(role))}

        body = await run_in_threadpool(issue)
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    @vtn.get("/notifiers")
    async def notifiers(request: Request) -> Any:
        def fn(s: Session, who: Principal) -> Any:
            return {"WEBHOOK": True}

        return await run(request, fn)

    # -- programs ------------------------------------------------------------------------
    def _visible(s: Session, who: Principal, model: type[Row], kind: str, key: str) -> Row:
        """The ``kind`` object with id ``key`` if ``who`` may see it; else the same 404
        as for an id that does not exist (existence is not disclosed)."""
        oid = o.parse_id(key)
        row = s.get(model, oid) if oid is not None else None
        if row is None or not o.can_see(s, who, o.subject_of(kind, row)):
            raise o.not_found(kind.lower(), key)
        return row

    def _program(s: Session, who: Principal, key: str) -> OadrProgram:
        return _visible(s, who, OadrProgram, "PROGRAM", key)

    @vtn.get("/programs")
    async def search_programs(
        request: Request, targets: Targets = None, skip: Skip = 0, limit: Limit = 50
    ) -> Any:
        def fn(s: Session, who: Principal) -> Any:
            _read_scope(who, "read_targets")
            stmt = select(OadrProgram).order_by(OadrProgram.id)
            sites = o.visible_sites(s, who)
            if sites is not None:
                stmt = stmt.where(o.targeted_at("PROGRAM", OadrProgram.id, o.target_set(s, sites)))
            for cond in o.with_all_targets("PROGRAM", OadrProgram.id, targets or []):
                stmt = stmt.where(cond)
            rows = s.scalars(stmt.offset(skip).limit(limit))
            return [o.program_json(r) for r in rows]

        return await run(request, fn)

    @vtn.post("/programs", status_code=201)
    async def create_program(request: Request) -> Any:
        body = await body_of(request)

        def fn(s: Session, who: Principal) -> Any:
            o.require(who, "write_programs")
            return o.program_json(o.create_program(s, body, who.actor))

        return JSONResponse(await run(request, fn), status_code=201)

    @vtn.get("/programs/{programID}")
    async def get_program(request: Request, programID: str) -> Any:
        def fn(s: Session, who: Principal) -> Any:
            _read_scope(who, "read_targets")
            return o.program_json(_program(s, who, programID))

        return await run(request, fn)

    @vtn.put("/programs/{programID}")
    async def put_program(request: Request, programID: str) -> Any:
        body = await body_of(request)

        def fn(s: Session, who: Principal) -> Any:
            o.require(who, "write_programs")
            return o.program_json(o.update_program(s, _program(s, who, programID), body, who.actor))

        return await run(request, fn)

    @vtn.delete("/programs/{programID}")
    async def delete_program(request: Request, programID: str) -> Any:
        def fn(s: Session, who: Principal) -> Any:
            o.require(who, "write_programs")
            return o.delete_program(s, _program(s, who, programID), who.actor)

        return await run(request, fn)

    # -- events --------------------------------------------------------------------------
    def _event(s: Session, who: Principal, key: str) -> OadrEvent:
        return _visible(s, who, OadrEvent, "EVENT", key)

    @vtn.get("/events")
    async def search_events(
        request: Request,
        programID: ObjectID = None,
        targets: Targets = None,
        skip: Skip = 0,
        limit: Limit = 50,
        active: bool | None = None,
    ) -> Any:
        def fn(s: Session, who: Principal) -> Any:
            _read_scope(who, "read_targets")
            stmt = select(OadrEvent).order_by(OadrEvent.id)
            sites = o.visible_sites(s, who)
            if sites is not None:
                stmt = stmt.where(o.targeted_at("EVENT", OadrEvent.id, o.target_set(s, sites)))
            if programID is not None:
                stmt = stmt.where(OadrEvent.program_id == (o.parse_id(programID) or 0))
            for cond in o.with_all_targets("EVENT", OadrEvent.id, targets or []):
                stmt = stmt.where(cond)
            if active:  # "ignore events that have transpired": decided from the intervals
                rows = _page([r for r in s.scalars(stmt) if o.is_active(r)], skip, limit)
            else:
                rows = list(s.scalars(stmt.offset(skip).limit(limit)))
            return [o.event_json(r) for r in rows]

        return await run(request, fn)

    @vtn.post("/events", status_code=201)
    async def create_event(request: Request) -> Any:
        body = await body_of(request)

        def fn(s: Session, who: Principal) -> Any:
            o.require(who, "write_events")
            return o.event_json(o.create_event(s, body, who.actor))

        return JSONResponse(await run(request, fn), status_code=201)

    @vtn.get("/events/{eventID}")
    async def get_event(request: Request, eventID: str) -> Any:
        def fn(s: Session, who: Principal) -> Any:
            _read_scope(who, "read_targets")
            return o.event_json(_event(s, who, eventID))

        return await run(request, fn)

    @vtn.put("/events/{eventID}")
    async def put_event(request: Request, eventID: str) -> Any:
        body = await body_of(request)

        def fn(s: Session, who: Principal) -> Any:
            o.require(who, "write_events")
            return o.event_json(o.update_event(s, _event(s, who, eventID), body, who.actor))

        return await run(request, fn)

    @vtn.delete("/events/{eventID}")
    async def delete_event(request: Request, eventID: str) -> Any:
        def fn(s: Session, who: Principal) -> Any:
            o.require(who, "write_events")
            return o.delete_event(s, _event(s, who, eventID), who.actor)

        return await run(request, fn)

    # -- reports -------------------------------------------------------------------------
    def _report(s: Session, who: Principal, key: str) -> OadrReport:
        return _visible(s, who, OadrReport, "REPORT", key)

    @vtn.get("/reports")
    async def search_reports(
        request: Request,
        programID: ObjectID = None,
        eventID: ObjectID = None,
        clientName: Name = None,
        skip: Skip = 0,
        limit: Limit = 50,
    ) -> Any:
        def fn(s: Session, who: Principal) -> Any:
            _read_scope(who, "read_ven_objects")
            stmt = select(OadrReport).order_by(OadrReport.id)
            sites = o.visible_sites(s, who)
            if sites is not None:
                stmt = stmt.where(OadrReport.site_id.in_(sites))
            if programID is not None:
                stmt = stmt.where(OadrReport.program_id == (o.parse_id(programID) or 0))
            if eventID is not None:
                stmt = stmt.where(OadrReport.event_id == (o.parse_id(eventID) or 0))
            if clientName is not None:
                stmt = stmt.where(OadrReport.client_name == clientName)
            return [o.report_json(r) for r in s.scalars(stmt.offset(skip).limit(limit))]

        return await run(request, fn)

    @vtn.post("/reports", status_code=201)
    async def create_report(request: Request) -> Any:
        body = await body_of(request)

        def fn(s: Session, who: Principal) -> Any:
            o.require(who, "write_reports")
            return o.report_json(o.create_report(s, who, body))

        return JSONResponse(await run(request, fn), status_code=201)

    @vtn.get("/reports/{reportID}")
    async def get_report(request: Request, reportID: str) -> Any:
        def fn(s: Session, who: Principal) -> Any:
            _read_scope(who, "read_ven_objects")
            return o.report_json(_report(s, who, reportID))

        return await run(request, fn)

    @vtn.put("/reports/{reportID}")
    async def put_report(request: Request, reportID: str) -> Any:
        body = await body_of(request)

        def fn(s: Session, who: Principal) -> Any:
            o.require(who, "write_reports")
            return o.report_json(o.update_report(s, who, _report(s, who, reportID), body))

        return await run(request, fn)

    @vtn.delete("/reports/{reportID}")
    async def delete_report(request: Request, reportID: str) -> Any:
        def fn(s: Session, who: Principal) -> Any:
            o.require(who, "write_reports")
            return o.delete_report(s, who, _report(s, who, reportID))

        return await run(request, fn)

    # -- subscriptions -------------------------------------------------------------------
    def _subscription(s: Session, who: Principal, key: str) -> OadrSubscription:
        return _visible(s, who, OadrSubscription, "SUBSCRIPTION", key)

    @vtn.get("/subscriptions")
    async def search_subscriptions(
        request: Request,
        programID: ObjectID = None,
        clientName: Name = None,
        objects: Annotated[list[str] | None, Query()] = None,
        skip: Skip = 0,
        limit: Limit = 50,
    ) -> Any:
        kinds = set(spec.spec()["components"]["schemas"]["objectTypes"]["enum"])
        for x in objects or []:
            if x not in kinds:
                raise o.bad_request(
                    f"objects: {x!r} is not an object type",
                    [{"field": "objects", "message": "one of " + ", ".join(sorted(kinds))}],
                )

        def fn(s: Session, who: Principal) -> Any:
            _read_scope(who, "read_ven_objects")
            stmt = select(OadrSubscription).order_by(OadrSubscription.id)
            if who.role == "site":
                stmt = stmt.where(OadrSubscription.site_id == who.site_id)
            elif who.role not in SEE_ALL:
                stmt = stmt.where(OadrSubscription.client_id == who.client_id)
            if programID is not None:
                stmt = stmt.where(OadrSubscription.program_id == (o.parse_id(programID) or 0))
            if clientName is not None:
                stmt = stmt.where(OadrSubscription.client_name == clientName)
            rows = list(s.scalars(stmt))
            if objects:
                wanted = set(objects)
                rows = [
                    r
                    for r in rows
                    if any(wanted & set(op["objects"]) for op in r.body["objectOperations"])
                ]
            return [o.subscription_json(r) for r in _page(rows, skip, limit)]

        return await run(request, fn)

    @vtn.post("/subscriptions", status_code=201)
    async def create_subscription(request: Request) -> Any:
        body = await body_of(request)

        def fn(s: Session, who: Principal) -> Any:
            o.require(who, "write_subscriptions")
            return o.subscription_json(o.create_subscription(s, who, body))

        return JSONResponse(await run(request, fn), status_code=201)

    @vtn.get("/subscriptions/{subscriptionID}")
    async def get_subscription(request: Request, subscriptionID: str) -> Any:
        def fn(s: Session, who: Principal) -> Any:
            _read_scope(who, "read_ven_objects")
            return o.subscription_json(_subscription(s, who, subscriptionID))

        return await run(request, fn)

    @vtn.put("/subscriptions/{subscriptionID}")
    async def put_subscription(request: Request, subscriptionID: str) -> Any:
        body = await body_of(request)

        def fn(s: Session, who: Principal) -> Any:
            o.require(who, "write_subscriptions")
            row = _subscription(s, who, subscriptionID)
            return o.subscription_json(o.update_subscription(s, who, row, body))

        return await run(request, fn)

    @vtn.delete("/subscriptions/{subscriptionID}")
    async def delete_subscription(request: Request, subscriptionID: str) -> Any:
        def fn(s: Session, who: Principal) -> Any:
            o.require(who, "write_subscriptions")
            return o.delete_subscription(s, who, _subscription(s, who, subscriptionID))

        return await run(request, fn)

    # -- vens ----------------------------------------------------------------------------
    def _ven(s: Session, who: Principal, key: str) -> Site:
        site = o.get_ven_site(s, key)
        sites = o.visible_sites(s, who)
        if site is None or (sites is not None and site.id not in sites):
            raise o.not_found("ven", key)
        return site

    @vtn.get("/vens")
    async def search_vens(
        request: Request,
        venName: Name = None,
        targets: Targets = None,
        skip: Skip = 0,
        limit: Limit = 50,
    ) -> Any:
        def fn(s: Session, who: Principal) -> Any:
            _read_scope(who, "read_ven_objects")
            stmt = select(Site).where(Site.id.in_(o.licensed_sites())).order_by(Site.id)
            sites = o.visible_sites(s, who)
            if sites is not None:
                stmt = stmt.where(Site.id.in_(sites))
            if venName is not None:
                stmt = stmt.where(Site.name == venName)
            for t in targets or []:
                # venName is one of a VEN's targets; the others are in oadr_targets.
                stmt = stmt.where(
                    (Site.name == t)
                    | Site.id.in_(
                        select(OadrTarget.object_id).where(
                            OadrTarget.object_type == "VEN", OadrTarget.target == t
                        )
                    )
                )
            return [o.ven_json(s, x) for x in s.scalars(stmt.offset(skip).limit(limit))]

        return await run(request, fn)

    @vtn.post("/vens", status_code=201)
    async def create_ven(request: Request) -> Any:
        body = await body_of(request)

        def fn(s: Session, who: Principal) -> Any:
            o.require(who, "write_vens")
            req = o.check("venRequest", body)
            site = s.scalars(
                select(Site).where(Site.name == req["venName"], Site.id.in_(o.licensed_sites()))
            ).first()
            if site is None:
                raise o.bad_request(
                    f"no licensed site named {req['venName']!r}: a VEN is a licensed site "
                    "(POST /sites and /licences first)",
                    [{"field": "venName", "message": "no licensed site with this name"}],
                )
            o.put_ven(s, site, req, who.actor, create=True)
            return o.ven_json(s, site)

        return JSONResponse(await run(request, fn), status_code=201)

    @vtn.get("/vens/{venID}")
    async def get_ven(request: Request, venID: str) -> Any:
        def fn(s: Session, who: Principal) -> Any:
            _read_scope(who, "read_ven_objects")
            return o.ven_json(s, _ven(s, who, venID))

        return await run(request, fn)

    @vtn.put("/vens/{venID}")
    async def put_ven(request: Request, venID: str) -> Any:
        body = await body_of(request)

        def fn(s: Session, who: Principal) -> Any:
            o.require(who, "write_vens")
            site = _ven(s, who, venID)
            o.put_ven(s, site, body, who.actor, create=False)
            return o.ven_json(s, site)

        return await run(request, fn)

    @vtn.delete("/vens/{venID}")
    async def delete_ven(request: Request, venID: str) -> Any:
        def fn(s: Session, who: Principal) -> Any:
            o.require(who, "write_vens")
            return o.clear_ven(s, _ven(s, who, venID), who.actor)

        return await run(request, fn)

    # -- resources -----------------------------------------------------------------------
    def _resource(s: Session, who: Principal, key: str) -> OadrResource:
        return _visible(s, who, OadrResource, "RESOURCE", key)

    @vtn.get("/resources")
    async def search_resources(
        request: Request,
        resourceName: Name = None,
        venID: ObjectID = None,
        targets: Targets = None,
        skip: Skip = 0,
        limit: Limit = 50,
    ) -> Any:
        def fn(s: Session, who: Principal) -> Any:
            _read_scope(who, "read_ven_objects")
            stmt = select(OadrResource).order_by(OadrResource.id)
            sites = o.visible_sites(s, who)
            if sites is not None:
                stmt = stmt.where(OadrResource.site_id.in_(sites))
            if resourceName is not None:
                stmt = stmt.where(OadrResource.resource_name == resourceName)
            if venID is not None:
                stmt = stmt.where(OadrResource.site_id == (o.parse_id(venID) or 0))
            for cond in o.with_all_targets("RESOURCE", OadrResource.id, targets or []):
                stmt = stmt.where(cond)
            return [o.resource_json(r) for r in s.scalars(stmt.offset(skip).limit(limit))]

        return await run(request, fn)

    @vtn.post("/resources", status_code=201)
    async def create_resource(request: Request) -> Any:
        body = await body_of(request)

        def fn(s: Session, who: Principal) -> Any:
            o.require(who, "write_vens")
            return o.resource_json(o.create_resource(s, body, who.actor))

        return JSONResponse(await run(request, fn), status_code=201)

    @vtn.get("/resources/{resourceID}")
    async def get_resource(request: Request, resourceID: str) -> Any:
        def fn(s: Session, who: Principal) -> Any:
            _read_scope(who, "read_ven_objects")
            return o.resource_json(_resource(s, who, resourceID))

        return await run(request, fn)

    @vtn.put("/resources/{resourceID}")
    async def put_resource(request: Request, resourceID: str) -> Any:
        body = await body_of(request)

        def fn(s: Session, who: Principal) -> Any:
            o.require(who, "write_vens")
            row = _resource(s, who, resourceID)
            return o.resource_json(o.update_resource(s, row, body, who.actor))

        return await run(request, fn)

    @vtn.delete("/resources/{resourceID}")
    async def delete_resource(request: Request, resourceID: str) -> Any:
        def fn(s: Session, who: Principal) -> Any:
            o.require(who, "write_vens")
            return o.delete_resource(s, _resource(s, who, resourceID), who.actor)

        return await run(request, fn)

    return vtn


def install(app: FastAPI) -> None:
    """Mount the VTN at /openadr3/3.1.0 and, when ``app.state.outbox_worker`` is true at
    startup (``megawatt serve`` sets it), run the webhook delivery loop in the server's
    event loop. Tests run passes with megawatt.ops.openadr.outbox.deliver_once."""
    app.mount(PREFIX, create_vtn(app))
    app.state.outbox = None
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        async with inner(a) as state:
            task = None
            if getattr(app.state, "outbox_worker", False):
                options = getattr(app.state, "outbox_options", {})
                app.state.outbox = Deliverer(app.state.sessions, **options)
                task = asyncio.create_task(app.state.outbox.run())
                log.info("webhook outbox worker started")
            try:
                yield state
            finally:
                if task is not None:
                    app.state.outbox.stop()
                    with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                        await asyncio.wait_for(task, timeout=5)

    app.router.lifespan_context = lifespan
