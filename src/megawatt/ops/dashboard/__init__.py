"""The web dashboard of `megawatt serve` (/ui): server-rendered pages for the program
authority, the system operator, operators and sites, with the API's rules
(megawatt.ops.access) and its actions (docs/dashboard.md)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from megawatt.ops import users
from megawatt.ops.dashboard.core import (
    COOKIE,
    PREFIX,
    LoginRequired,
    problem_page,
    redirect,
)
from megawatt.ops.problems import Problem


def wants_html(request: Request) -> bool:
    return request.url.path == PREFIX or request.url.path.startswith(PREFIX + "/")


def error_page(request: Request, problem: Problem) -> Response:
    """A refused dashboard request as an HTML page (the API answers problem+json)."""
    login = None
    try:
        factory = request.app.state.sessions
        with factory() as s, s.begin():
            login = users.current(s, request.cookies.get(COOKIE))
    except Exception:  # the error page must not fail on the session lookup
        login = None
    return problem_page(request, problem, login)


def install(app: FastAPI) -> None:
    from megawatt.ops.dashboard.pages import build_router

    app.include_router(build_router())

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        from urllib.parse import urlencode

        return RedirectResponse(
            f"{PREFIX}/login?{urlencode({'next': exc.next_url})}", status_code=303
        )

    @app.get(PREFIX, include_in_schema=False)
    def _root() -> Response:
        return redirect("/")


__all__ = ["Session", "error_page", "install", "wants_html"]
