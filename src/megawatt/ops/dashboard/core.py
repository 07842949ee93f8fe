"""The dashboard's plumbing: templates, the logged-in principal, CSRF, tables that sort
and page in the database, and times in the program's time zone."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from megawatt.ops import access, users
from megawatt.ops.metering import PROGRAM_TZ
from megawatt.ops.problems import Problem

PREFIX = "/ui"
HERE = Path(__file__).resolve().parent
COOKIE = "megawatt_session"
LOGIN_COOKIE = "megawatt_login"
PAGE_SIZE = 50
MAX_FORM_BYTES = 64 * 1024

#: (path, label, who may see it): the navigation; the pages check the same rules.
NAV: tuple[tuple[str, str, Any], ...] = (
    ("/", "Overview", None),
    ("/sites", "Sites & licences", None),
    ("/ledger", "Allocation ledger", None),
    ("/events", "Events", None),
    ("/metering", "Metering", None),
    ("/compliance", "Compliance", None),
    ("/invoices", "Invoices", None),
    ("/audit", "Audit log", access.is_overseer),
)


def _aware(ts: dt.datetime | str | None) -> dt.datetime | None:
    """A time, or an ISO 8601 text of one (the JSON records carry text)."""
    if isinstance(ts, str):
        return dt.datetime.fromisoformat(ts.replace("Z", "+00:00"))
    return ts


def local(ts: dt.datetime | str | None) -> str:
    ts = _aware(ts)
    return "" if ts is None else ts.astimezone(PROGRAM_TZ).strftime("%Y-%m-%d %H:%M")


def utc(ts: dt.datetime | str | None) -> str:
    ts = _aware(ts)
    return "" if ts is None else ts.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


ENV = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.filters["local"] = local
ENV.filters["utc"] = utc
ENV.globals["version"] = __import__("megawatt").__version__
ENV.filters["tojson_attr"] = lambda v: json.dumps(v, separators=(",", ":"), default=str)


#: Every dashboard page's headers: not cached, not framed, no script but our own.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"
    ),
}


class LoginRequired(Exception):
    """Raised by a page for a request without a live session: answered with a redirect
    to the login form (megawatt.ops.dashboard installs the handler)."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


@contextmanager
def tx(request: Request) -> Iterator[Session]:
    factory: sessionmaker[Session] = request.app.state.sessions
    with factory() as session, session.begin():
        yield session


def current_login(request: Request, s: Session, touch: bool = True) -> users.Login:
    """The request's live session, or LoginRequired. ``touch=False``: a request the
    page makes by itself (the events table's refresh) does not count as activity."""
    login = users.current(s, request.cookies.get(COOKIE), touch=touch)
    if login is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    return login


def nav_for(login: users.Login) -> list[tuple[str, str]]:
    return [(p, label) for p, label, rule in NAV if rule is None or rule(login.principal)]


def render(
    request: Request,
    template: str,
    login: users.Login | None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    messages = list(context.pop("messages", []))
    flash = request.query_params.get("ok")
    if flash:
        messages.append(("ok", flash[:300]))
    html = ENV.get_template(template).render(
        prefix=PREFIX,
        login=login,
        nav=nav_for(login) if login else [],
        active=context.pop("active", None),
        tz=str(PROGRAM_TZ),
        messages=messages,
        charts=context.pop("charts", False),
        **context,
    )
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def problem_page(request: Request, problem: Problem, login: users.Login | None) -> HTMLResponse:
    body = problem.body(str(request.url.path))
    return render(
        request,
        "error.html",
        login,
        status=problem.status,
        title=body.get("title", "Error"),
        code=problem.status,
        heading=body.get("title", "Error"),
        detail=body.get("detail", ""),
        errors=body.get("errors", []),
    )


def redirect(path: str, ok: str | None = None) -> RedirectResponse:
    url = PREFIX + path
    if ok:
        url += ("&" if "?" in url else "?") + urlencode({"ok": ok})
    return RedirectResponse(url, status_code=303)


def safe_next(value: str | None) -> str:
    """A post-login target inside the dashboard only (no open redirect)."""
    if not value:
        return PREFIX + "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not parts.path.startswith(PREFIX) or "\\" in value:
        return PREFIX + "/"
    return value


async def form(request: Request) -> dict[str, str]:
    """An urlencoded form's fields (first value each); 413/415 problems otherwise."""
    return {k: v[0] for k, v in (await form_lists(request)).items()}


def _too_large() -> Problem:
    return Problem(
        413, "Content too large", "a form is at most 64 KiB", [{"field": "body", "message": ""}]
    )


async def form_lists(request: Request) -> dict[str, list[str]]:
    """An urlencoded form's fields with every value (a multiple select); the body is
    refused by its Content-Length, or once more than 64 KiB have arrived, before it is
    all read."""
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    if kind != "application/x-www-form-urlencoded":
        raise Problem(
            415,
            "Unsupported media type",
            "forms are application/x-www-form-urlencoded",
            [{"field": "Content-Type", "message": "application/x-www-form-urlencoded"}],
        )
    try:
        declared = int(request.headers.get("content-length") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_FORM_BYTES:
        raise _too_large()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise _too_large()
    return parse_qs(body.decode("utf-8", "replace"))


def check_csrf(request: Request, login: users.Login, fields: Mapping[str, str]) -> None:
    """Every form carries the session's CSRF token; a cross-site Origin is refused."""
    origin = request.headers.get("origin")
    if origin and origin != "null":
        host = request.headers.get("host", "")
        if urlsplit(origin).netloc != host:
            raise _csrf_refused("the form was posted from another origin")
    if not users.csrf_ok(login.csrf, fields.get("csrf")):
        raise _csrf_refused("the form's CSRF token is missing or stale: reload the page")


def _csrf_refused(detail: str) -> Problem:
    return Problem(403, "Forbidden", detail, [{"field": "csrf", "message": detail}])


@dataclass
class Table:
    """A table that sorts and pages in the database: ``?sort=KEY&dir=asc|desc&page=N``
    (unknown keys are a 400 naming the parameter); at most PAGE_SIZE rows reach the
    browser."""

    request: Request
    sortable: dict[str, Any]
    default: str
    default_asc: bool = False
    size: int = PAGE_SIZE
    sort: str = ""
    asc: bool = True
    page: int = 1
    total: int = 0
    rows: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        q = self.request.query_params
        self.sort = q.get("sort", self.default)
        if self.sort not in self.sortable:
            raise _bad_param("sort", f"one of {', '.join(self.sortable)}")
        direction = q.get("dir", "asc" if self.default_asc else "desc")
        if direction not in ("asc", "desc"):
            raise _bad_param("dir", "asc or desc")
        self.asc = direction == "asc"
        try:
            self.page = int(q.get("page", "1"))
        except ValueError:
            raise _bad_param("page", "a whole number from 1") from None
        if not 1 <= self.page <= 10**7:
            raise _bad_param("page", "a whole number from 1")

    def fetch(self, s: Session, stmt: Any, tiebreak: Any) -> list[Any]:
        """One page of ``stmt``'s rows in the requested order (``tiebreak`` last)."""
        self.total = s.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
        column = self.sortable[self.sort]
        order = [column.asc() if self.asc else column.desc(), tiebreak]
        self.page = min(self.page, self.pages)
        self.rows = list(
            s.execute(stmt.order_by(*order).limit(self.size).offset((self.page - 1) * self.size))
        )
        return self.rows

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def first(self) -> int:
        return 0 if not self.total else (self.page - 1) * self.size + 1

    @property
    def last(self) -> int:
        return min(self.total, self.page * self.size)

    def url(self, **changes: Any) -> str:
        params = dict(self.request.query_params)
        params.pop("ok", None)
        params.update({k: str(v) for k, v in changes.items()})
        return f"{self.request.url.path}?{urlencode(params)}"


def _bad_param(name: str, allowed: str) -> Problem:
    return Problem(
        400,
        "Bad request",
        f"query parameter {name} must be {allowed}",
        [{"field": name, "message": allowed}],
    )


def query_int(request: Request, name: str, lo: int = 1, hi: int = 2**31 - 1) -> int | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except ValueError:
        raise _bad_param(name, f"a whole number {lo}..{hi}") from None
    if not lo <= value <= hi:
        raise _bad_param(name, f"a whole number {lo}..{hi}")
    return value


def query_date(request: Request, name: str, default: dt.date) -> dt.date:
    raw = request.query_params.get(name)
    if not raw:
        return default
    try:
        value = dt.date.fromisoformat(raw)
    except ValueError:
        raise _bad_param(name, "a date YYYY-MM-DD") from None
    if not 1900 <= value.year <= 9998:
        raise _bad_param(name, "a date between 1900 and 9998")
    return value


def local_input(value: str, name: str) -> dt.datetime:
    """A ``datetime-local`` form value, read in the program's time zone."""
    try:
        naive = dt.datetime.fromisoformat(value)
    except ValueError:
        raise Problem(
            422,
            "Invalid request",
            f"{name} must be a date and time (YYYY-MM-DDTHH:MM)",
            [{"field": name, "message": "a local date and time"}],
        ) from None
    if naive.tzinfo is not None or not 1900 <= naive.year <= 9998:
        raise Problem(
            422,
            "Invalid request",
            f"{name} must be a local date and time between 1900 and 9998",
            [{"field": name, "message": "a local date and time"}],
        )
    return naive.replace(tzinfo=PROGRAM_TZ).astimezone(dt.UTC)


def today() -> dt.date:
    return dt.datetime.now(PROGRAM_TZ).date()
