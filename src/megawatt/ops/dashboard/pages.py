"""The dashboard's routes under /ui: login, the pages, the actions.

Every page resolves the session to a :class:`~megawatt.ops.auth.Principal` and asks
megawatt.ops.access, exactly as the API does; every action calls the function the API
endpoint calls (ledger.append, registry.change_licence, schedule.issue_emergency,
invoicing.run), in one transaction with its audit entry.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
import time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from megawatt.ops import access, audit, compliance, invoicing, ledger, registry, schedule, users
from megawatt.ops.dashboard import views
from megawatt.ops.dashboard.core import (
    COOKIE,
    HERE,
    LOGIN_COOKIE,
    PREFIX,
    SECURITY_HEADERS,
    LoginRequired,
    Table,
    check_csrf,
    current_login,
    form,
    form_lists,
    local_input,
    query_date,
    query_int,
    redirect,
    render,
    safe_next,
    today,
    tx,
)
from megawatt.ops.invoice_html import render as render_invoice
from megawatt.ops.metering import PROGRAM_TZ
from megawatt.ops.models import AuditEntry, Invoice, LedgerEntry, Licence, Operator, Site
from megawatt.ops.openadr.tables import OadrEvent
from megawatt.ops.problems import Problem, invalid, not_found
from megawatt.ops.schemas import MAX_ID

log = logging.getLogger(__name__)
STATIC = HERE / "static"
PathId = Annotated[int, PathParam(ge=1, le=MAX_ID)]
#: How long today's dispatch (the overview's expected-surplus chart) is reused.
EXPECTED_TTL = 600.0
#: Sites per compliance page (each computed month reads the site's events and readings).
COMPLIANCE_PAGE = 20


def _plotly_js() -> Path:
    import plotly

    return Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


def _cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    # Secure whenever the request came over TLS (uvicorn's proxy headers make a
    # TLS-terminating proxy's requests https): never sent over plain HTTP beyond it.
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path=PREFIX,
    )


def build_router() -> APIRouter:
    r = APIRouter(prefix=PREFIX, include_in_schema=False)

    # -- assets ------------------------------------------------------------------------
    @r.get("/static/{name}")
    def static(name: str) -> Response:
        files = {
            "dashboard.css": STATIC / "dashboard.css",
            "dashboard.js": STATIC / "dashboard.js",
            "plotly.min.js": _plotly_js(),
        }
        if name not in files:
            raise not_found("asset", name, "path")
        return FileResponse(files[name], headers={"Cache-Control": "public, max-age=86400"})

    # -- login -------------------------------------------------------------------------
    @r.get("/login")
    def login_form(request: Request) -> Response:
        token = secrets.token_urlsafe(24)
        response = render(
            request,
            "login.html",
            None,
            title="Log in",
            csrf=token,
            next=safe_next(request.query_params.get("next")),
            username="",
        )
        _cookie(response, request, LOGIN_COOKIE, token, 3600)
        return response

    @r.post("/login")
    async def login(request: Request) -> Response:
        fields = await form(request)
        expected = request.cookies.get(LOGIN_COOKIE)
        if not expected or not users.csrf_ok(expected, fields.get("csrf")):
            raise Problem(
                403,
                "Forbidden",
                "the login form is stale or was posted from elsewhere: reload it",
                [{"field": "csrf", "message": "missing or stale"}],
            )
        name, password = fields.get("username", ""), fields.get("password", "")

        def check() -> tuple[str | None, str]:
            with tx(request) as s:
                user, why = users.authenticate(s, name, password)
                if user is None:
                    return None, why
                users.end_session(s, request.cookies.get(COOKIE))  # no second live session
                return users.start_session(s, user), ""

        # argon2 takes tens of milliseconds of CPU: off the event loop.
        token, why = await run_in_threadpool(check)
        if token is None:
            return render(
                request,
                "login.html",
                None,
                status=401,
                title="Log in",
                csrf=expected,
                next=safe_next(fields.get("next")),
                username=name,
                messages=[("error", why)],
            )
        response = RedirectResponse(safe_next(fields.get("next")), status_code=303)
        _cookie(response, request, COOKIE, token, users.SESSION_HOURS * 3600)
        response.delete_cookie(LOGIN_COOKIE, path=PREFIX)
        return response

    @r.post("/logout")
    async def logout(request: Request) -> Response:
        fields = await form(request)
        with tx(request) as s:
            login = current_login(request, s)
            check_csrf(request, login, fields)
            users.end_session(s, request.cookies.get(COOKIE))
            audit.record(s, login.principal.actor, "logout", "user", login.user_id, None, None)
        response = RedirectResponse(PREFIX + "/login", status_code=303)
        response.delete_cookie(COOKIE, path=PREFIX)
        return response

    # -- overview ----------------------------------------------------------------------
    @r.get("/")
    def overview(request: Request) -> Response:
        now = dt.datetime.now(dt.UTC)
        with tx(request) as s:
            login = current_login(request, s)
            who = login.principal
            cap_rows = views.caps(s, now)
            figure = views.allocation_figure(s, who, now)
            sites = views.visible_site_options(s, who)
            levels = ledger.levels_kw(s, now)
            held = sum(levels.get(i, 0) for i, _ in sites)
        # The whole program's hours are the overseers' (the API gives the schedule only
        # to them); operators and sites see their own sites' figures.
        expected, note = _expected_today(request) if access.is_overseer(who) else (None, "")
        return render(
            request,
            "overview.html",
            login,
            title="Overview",
            active="/",
            charts=True,
            caps=cap_rows,
            program=next((c for c in cap_rows if c.scope == "program"), None),
            sites=len(sites),
            held_mw=ledger.to_mw(held),
            overseer=access.is_overseer(who),
            allocation_figure=figure,
            expected_figure=expected,
            expected_note=note,
            now=now,
        )

    expected_lock = threading.Lock()

    def _expected_today(request: Request) -> tuple[dict[str, Any] | None, str]:
        """Today's dispatch on the live ledger, computed once per process and reused
        for EXPECTED_TTL seconds and until the ledger changes. While it is recomputed
        after a change, pages show the previous figure (saying so) instead of waiting;
        a cold process computes it once while concurrent requests wait for it."""
        day = today()
        app_state = request.app.state
        with tx(request) as s:
            last = s.scalar(select(LedgerEntry.id).order_by(LedgerEntry.id.desc()).limit(1))
        if last is None:
            return None, "No allocations yet: nothing to dispatch."
        cache = app_state.__dict__.setdefault("dashboard_expected", {})

        def fresh() -> Any:
            hit = cache.get("today")
            ok = hit and hit[0] == (day, last) and time.monotonic() - hit[1] < EXPECTED_TTL
            return hit if ok else None

        def compute() -> None:
            try:
                with app_state.sessions() as s, s.begin():
                    out = schedule.schedule_day(s, day, app_state.scenario())
                figure: dict[str, Any] | None = views.expected_figure(out)
                note = (
                    f"The rolling re-dispatch of {day} on the scenario's hourly inputs of "
                    f"{out.profile_day} and the ledger up to entry {last} "
                    f"({out.solve_s:.2f} s)."
                )
            except Exception:  # the page stays up; the reason goes to the log
                log.exception("today's dispatch for the overview failed")
                figure, note = None, "Today's dispatch could not run (see the server log)."
            cache["today"] = ((day, last), time.monotonic(), figure, note)

        hit = fresh()
        if hit:
            return hit[2], hit[3]
        stale = cache.get("today")
        if stale and stale[0][0] == day and stale[2] is not None:
            if expected_lock.acquire(blocking=False):

                def refresh() -> None:
                    try:
                        compute()
                    finally:
                        expected_lock.release()

                threading.Thread(target=refresh, daemon=True).start()
            return stale[2], stale[3] + " Recomputing for the latest ledger."
        with expected_lock:
            if not fresh():
                compute()
        hit = cache["today"]
        return hit[2], hit[3]

    # -- sites and licences ------------------------------------------------------------
    @r.get("/sites")
    def sites_page(request: Request) -> Response:
        now = dt.datetime.now(dt.UTC)
        with tx(request) as s:
            login = current_login(request, s)
            who = login.principal
            table = Table(
                request,
                {"name": Site.name, "zone": Site.zone, "plant": Site.plant, "id": Site.id},
                default="name",
                default_asc=True,
            )
            stmt = access.scoped(
                select(Site, Operator.name).join(Operator, Operator.id == Site.operator_id),
                Site.id,
                who,
            )
            rows = table.fetch(s, stmt, Site.id)
            ids = [site.id for site, _ in rows]
            lic = views.latest_licences(s, ids)
            levels = ledger.levels_kw(s, now)
            out = [
                views.SiteRow(
                    site,
                    op,
                    lic.get(site.id),
                    ledger.to_mw(levels.get(site.id, 0)),
                    views.licence_flag(lic.get(site.id), now),
                )
                for site, op in rows
            ]
        return render(
            request,
            "sites.html",
            login,
            title="Sites & licences",
            active="/sites",
            table=table,
            rows=out,
            can_write=access.is_authority(login.principal),
            expiring_days=views.EXPIRING_DAYS,
        )

    @r.post("/licences/{licence_id}/status")
    async def licence_status(licence_id: PathId, request: Request) -> Response:
        fields = await form(request)
        with tx(request) as s:  # the token before anything else is looked at
            check_csrf(request, current_login(request, s), fields)
        status = fields.get("status", "")
        if status not in ("suspended", "active", "revoked"):
            raise invalid("status must be suspended, active or revoked", "status", "")

        if fields.get("confirm") != "yes":  # step one: what it will do; nothing written
            now = dt.datetime.now(dt.UTC)
            with tx(request) as s:
                login = current_login(request, s)
                check_csrf(request, login, fields)
                access.require_authority(login.principal)
                lic = s.get(Licence, licence_id)
                if lic is None:
                    raise not_found("licence", licence_id, "licence_id")
                site = s.get(Site, lic.site_id)
                held = ledger.to_mw(ledger.level_kw(s, lic.site_id, now))
            return render(
                request,
                "licence_confirm.html",
                login,
                title="Confirm licence change",
                active="/sites",
                licence=lic,
                site=site,
                new_status=status,
                held_mw=held,
            )

        def act() -> str:
            with tx(request) as s:
                login = current_login(request, s)
                check_csrf(request, login, fields)
                access.require_authority(login.principal)
                row = registry.change_licence(
                    s, licence_id, {"status": status}, login.principal.actor
                )
                return f"licence {row.number} is now {row.status}"

        return redirect("/sites", ok=await run_in_threadpool(act))

    # -- ledger ------------------------------------------------------------------------
    def _ledger_page(
        request: Request,
        messages: list[tuple[str, str]],
        status: int = 200,
        values: dict[str, str] | None = None,
    ) -> Response:
        with tx(request) as s:
            login = current_login(request, s)
            who = login.principal
            table = Table(
                request,
                {
                    "id": LedgerEntry.id,
                    "effective": LedgerEntry.effective_from,
                    "site": Site.name,
                    "kind": LedgerEntry.kind,
                },
                default="id",
            )
            stmt = access.scoped(
                select(LedgerEntry, Site.name).join(Site, Site.id == LedgerEntry.site_id),
                LedgerEntry.site_id,
                who,
            )
            site_id = query_int(request, "site_id")
            if site_id is not None:
                stmt = stmt.where(LedgerEntry.site_id == site_id)
            rows = table.fetch(s, stmt, LedgerEntry.id)
            options = views.visible_site_options(s, who)
        return render(
            request,
            "ledger.html",
            login,
            status=status,
            title="Allocation ledger",
            active="/ledger",
            table=table,
            rows=rows,
            sites=options,
            site_id=site_id,
            can_write=access.is_authority(who),
            messages=messages,
            values=values or {},
            mw=ledger.to_mw,
        )

    @r.get("/ledger")
    def ledger_page(request: Request) -> Response:
        return _ledger_page(request, [])

    @r.post("/ledger")
    async def ledger_write(request: Request) -> Response:
        fields = await form(request)

        def act() -> str:
            with tx(request) as s:
                login = current_login(request, s)
                check_csrf(request, login, fields)
                access.require_authority(login.principal)
                kind = fields.get("kind", "")
                if kind not in ("grant", "change", "revoke"):
                    raise invalid("kind must be grant, change or revoke", "kind", "")
                site_id = _int(fields.get("site_id"), "site_id")
                mw = None if kind == "revoke" else _mw(fields.get("mw"))
                when = local_input(fields.get("effective_from", ""), "effective_from")
                reason = (fields.get("reason") or "").strip()
                if not reason:
                    raise invalid("a reason is required (it goes in the ledger)", "reason", "")
                entry = ledger.append(
                    s,
                    site_id=site_id,
                    kind=kind,
                    effective_from=when,
                    mw=mw,
                    reason=reason[:1000],
                    actor=login.principal.actor,
                )
                return f"ledger entry {entry.id}: {kind} to {ledger.to_mw(entry.level_kw)} MW"

        try:
            message = await run_in_threadpool(act)
        except Problem as p:
            if p.status in (401, 403):
                raise
            body = p.body("/ui/ledger")
            detail = body.get("detail", "")
            fields_at_fault = ", ".join(e["field"] for e in body.get("errors", []))
            text = f"Refused ({p.status} {body.get('title')}): {detail}"
            if fields_at_fault:
                text += f" [{fields_at_fault}]"
            return _ledger_page(request, [("error", text)], status=p.status, values=fields)
        return redirect("/ledger", ok=message)

    # -- events ------------------------------------------------------------------------
    def _events(
        request: Request, touch: bool = True
    ) -> tuple[users.Login, dt.date, Table, int | None]:
        day = query_date(request, "day", today())
        now = dt.datetime.now(dt.UTC)
        table = Table(request, {"start": None}, default="start", default_asc=True)
        site_id = query_int(request, "site_id")
        with tx(request) as s:
            login = current_login(request, s, touch=touch)
            table.rows, table.total = views.day_events(
                s, login.principal, day, now, site_id, table.page, table.size, table.asc
            )
        return login, day, table, site_id

    @r.get("/events")
    def events_page(request: Request) -> Response:
        login, day, table, site_id = _events(request)
        with tx(request) as s:
            options = views.visible_site_options(s, login.principal)
        now_local = dt.datetime.now(PROGRAM_TZ).replace(second=0, microsecond=0)
        return render(
            request,
            "events.html",
            login,
            title="Events",
            active="/events",
            day=day,
            table=table,
            rows=table.rows,
            sites=options,
            site_id=site_id,
            live_url=table.url(),
            can_issue=access.is_overseer(login.principal),
            start_default=(now_local + dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"),
            end_default=(now_local + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        )

    @r.get("/events/rows")
    def events_rows(request: Request) -> Response:
        """The events table's rows alone (what the page refreshes every 5 s). Not
        activity (an open tab still ends its session when idle) and a 401, not a
        redirect to the login form, once the session has ended."""
        try:
            login, _, table, _ = _events(request, touch=False)
        except LoginRequired:
            return Response(status_code=401, headers={"Cache-Control": "no-store"})
        return render(request, "_event_rows.html", login, rows=table.rows)

    def _emergency_terms(s: Any, fields: dict[str, str]) -> dict[str, Any]:
        ids = sorted({_int(v, "site_ids") for v in fields.get("site_ids", "").split(",") if v})
        if not ids:
            raise invalid("choose at least one site", "site_ids", "one or more sites")
        start = local_input(fields.get("start", ""), "start")
        end = local_input(fields.get("end", ""), "end")
        limit = _mw(fields.get("limit_mw"), allow_zero=True)
        now = dt.datetime.now(dt.UTC)
        targets = []
        for i in ids:
            site = s.get(Site, i)
            if site is None:
                raise invalid(f"site {i} does not exist", "site_ids", "no such site")
            targets.append((site, ledger.to_mw(ledger.level_kw(s, i, now))))
        return {"sites": targets, "start": start, "end": end, "limit_mw": limit}

    @r.post("/emergencies/confirm")
    async def emergency_confirm(request: Request) -> Response:
        """Step one: what the event will do, to whom; nothing is written."""
        multi = await form_lists(request)
        fields = {k: v[0] for k, v in multi.items()}
        fields["site_ids"] = ",".join(multi.get("site_ids", []))
        with tx(request) as s:
            login = current_login(request, s)
            check_csrf(request, login, fields)
            access.require_overseer(login.principal)
            terms = _emergency_terms(s, fields)
            tz = request.app.state.scenario().timezone
            for site, _ in terms["sites"]:  # what step two would refuse, refused now
                schedule.emergency_block(
                    s, site.id, terms["start"], terms["end"], float(terms["limit_mw"]), tz
                )
        return render(
            request,
            "emergency_confirm.html",
            login,
            title="Confirm emergency event",
            active="/events",
            terms=terms,
            fields=fields,
        )

    @r.post("/emergencies")
    async def emergency_issue(request: Request) -> Response:
        """Step two (confirmed): one priority-0 event per site, in one transaction."""
        fields = await form(request)
        tz = request.app.state.scenario().timezone

        def act() -> str:
            with tx(request) as s:
                login = current_login(request, s)
                check_csrf(request, login, fields)
                access.require_overseer(login.principal)
                if fields.get("confirm") != "yes":
                    raise invalid("confirm the event first", "confirm", "yes")
                terms = _emergency_terms(s, fields)
                sink = schedule.event_sink(s, login.principal.actor)
                for site, _ in terms["sites"]:
                    block = schedule.emergency_block(
                        s, site.id, terms["start"], terms["end"], float(terms["limit_mw"]), tz
                    )
                    schedule.issue_emergency(sink, block)
                names = ", ".join(site.name for site, _ in terms["sites"])
                return f"emergency event issued to {names}"

        message = await run_in_threadpool(act)
        day = local_input(fields.get("start", ""), "start").astimezone(PROGRAM_TZ).date()
        return redirect(f"/events?day={day}", ok=message)

    # -- metering ----------------------------------------------------------------------
    @r.get("/metering")
    def metering_page(request: Request) -> Response:
        end_day = query_date(request, "end", today())
        days = query_int(request, "days", 1, views.MAX_CHART_DAYS) or 1
        with tx(request) as s:
            login = current_login(request, s)
            options = views.visible_site_options(s, login.principal)
            site_id = query_int(request, "site_id") or (options[0][0] if options else None)
            figure = summary = None
            site = None
            if site_id is not None:
                site = s.get(Site, site_id)
                if site is None:
                    raise not_found("site", site_id, "site_id")
                access.check_visible(s, login.principal, site.id, "site", site_id)
                end = dt.datetime.combine(
                    end_day + dt.timedelta(days=1), dt.time(), PROGRAM_TZ
                ).astimezone(dt.UTC)
                figure, summary = views.metering_figure(s, site, end - dt.timedelta(days=days), end)
        return render(
            request,
            "metering.html",
            login,
            title="Metering",
            active="/metering",
            charts=True,
            sites=options,
            site=site,
            end_day=end_day,
            days=days,
            figure=figure,
            summary=summary,
        )

    # -- compliance --------------------------------------------------------------------
    @r.get("/compliance")
    def compliance_page(request: Request) -> Response:
        """Each visible site's record of the month (compliance.month_record, what the
        API's GET /compliance answers: stored with the month's invoice, else computed
        now), for the sites that have events, 20 sites a page."""
        month = request.query_params.get("month") or _last_month()
        _check_month(month)
        with tx(request) as s:
            login = current_login(request, s)
            table = Table(request, {"site": Site.name}, default="site", default_asc=True)
            table.size = COMPLIANCE_PAGE
            with_events = select(OadrEvent.site_id).where(OadrEvent.site_id.is_not(None))
            stmt = access.scoped(
                select(Site.id, Site.name).where(Site.id.in_(with_events)),
                Site.id,
                login.principal,
            )
            sites = table.fetch(s, stmt, Site.id)
            rows = [
                (name, compliance.month_record(s, sid, month, evidence=False))
                for sid, name in sites
            ]
        return render(
            request,
            "compliance.html",
            login,
            title="Compliance",
            active="/compliance",
            month=month,
            rows=rows,
            table=table,
        )

    # -- invoices ----------------------------------------------------------------------
    @r.get("/invoices")
    def invoices_page(request: Request) -> Response:
        with tx(request) as s:
            login = current_login(request, s)
            table = Table(
                request,
                {
                    "id": Invoice.id,
                    "month": Invoice.month,
                    "site": Site.name,
                    "issued": Invoice.issued_at,
                },
                default="id",
            )
            stmt = access.scoped(
                select(Invoice, Site.name).join(Site, Site.id == Invoice.site_id),
                Invoice.site_id,
                login.principal,
            )
            month = request.query_params.get("month")
            if month:
                _check_month(month)
                stmt = stmt.where(Invoice.month == month)
            rows = table.fetch(s, stmt, Invoice.id)
        return render(
            request,
            "invoices.html",
            login,
            title="Invoices",
            active="/invoices",
            table=table,
            rows=rows,
            month=month or "",
            run_month=_last_month(),
            can_write=access.is_authority(login.principal),
        )

    @r.get("/invoices/{invoice_id}")
    def invoice_page(invoice_id: PathId, request: Request) -> Response:
        with tx(request) as s:
            login = current_login(request, s)
            inv = s.get(Invoice, invoice_id)
            if inv is None:
                raise not_found("invoice", invoice_id, "invoice_id")
            access.check_visible(s, login.principal, inv.site_id, "invoice", invoice_id)
            out = invoicing.as_dict(inv, invoicing.lines_of(s, inv.id))
            return HTMLResponse(
                render_invoice(out, s.get(Site, inv.site_id)), headers=SECURITY_HEADERS
            )

    @r.post("/invoices/run")
    async def invoice_run(request: Request) -> Response:
        fields = await form(request)
        with tx(request) as s:
            login = current_login(request, s)
            check_csrf(request, login, fields)
            access.require_authority(login.principal)
        month = fields.get("month", "")
        _check_month(month, field="month")
        factory = request.app.state.sessions
        out = await run_in_threadpool(invoicing.run, factory, month, login.principal.actor)
        return redirect(
            f"/invoices?month={month}",
            ok=(
                f"invoice run {month}: {len(out['issued'])} issued, "
                f"{len(out['standing'])} already standing, "
                f"{len(out['no_contract'])} sites without a contract"
            ),
        )

    # -- audit -------------------------------------------------------------------------
    @r.get("/audit")
    def audit_page(request: Request) -> Response:
        with tx(request) as s:
            login = current_login(request, s)
            access.require_overseer(login.principal)
            table = Table(
                request,
                {"id": AuditEntry.id, "actor": AuditEntry.actor, "entity": AuditEntry.entity},
                default="id",
            )
            stmt = select(AuditEntry)
            entity = request.query_params.get("entity")
            if entity:
                stmt = stmt.where(AuditEntry.entity == entity[:100])
            actor = request.query_params.get("actor")
            if actor:
                stmt = stmt.where(AuditEntry.actor == actor[:200])
            rows = table.fetch(s, stmt, AuditEntry.id)
            entities = sorted(
                e for e in s.scalars(select(AuditEntry.entity).distinct()) if e is not None
            )
        return render(
            request,
            "audit.html",
            login,
            title="Audit log",
            active="/audit",
            table=table,
            rows=[row[0] for row in rows],
            entity=entity or "",
            actor=actor or "",
            entities=entities,
        )

    return r


def _int(value: str | None, field: str) -> int:
    try:
        out = int(value or "")
    except ValueError:
        raise invalid(f"{field} must be a whole number", field, "a whole number") from None
    if not 1 <= out <= 2**31 - 1:
        raise invalid(f"{field} is out of range", field, "1..2147483647")
    return out


def _mw(value: str | None, allow_zero: bool = False) -> Decimal:
    try:
        out = Decimal((value or "").strip())
    except InvalidOperation:
        raise invalid("MW must be a number", "mw", "a number of MW") from None
    if not out.is_finite() or out < 0 or (out == 0 and not allow_zero) or out > 100_000:
        raise invalid("MW must be above 0 and at most 100000", "mw", "0 < MW <= 100000")
    if out != out.quantize(Decimal("0.001")):
        raise invalid("MW has at most three decimals (kW)", "mw", "at most 3 decimals")
    return out


def _last_month() -> str:
    first = today().replace(day=1)
    prev = first - dt.timedelta(days=1)
    return f"{prev:%Y-%m}"


def _check_month(month: str, field: str = "month") -> None:
    import re

    if not re.fullmatch(r"(19|[2-9][0-9])[0-9]{2}-(0[1-9]|1[0-2])", month):
        raise invalid("month must be YYYY-MM", field, "YYYY-MM")


__all__ = ["Licence", "build_router"]
