"""The dashboard over HTTP (in process), on SQLite and PostgreSQL: login and sessions,
each role sees what the API's authorization matrix lets it see and nothing else, CSRF,
the guarded actions (a grant over the cap refused with the ledger's message, a licence
suspended, an emergency issued after confirmation, invoices issued) and their audit
entries, server-side paging. The browser tests (test_ops_dashboard_browser.py) drive
the same pages in Chromium."""

# ruff: noqa: F811  (pytest fixtures imported from opsdb are redefined as arguments)
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

import dashkit
from megawatt.ops import db, users
from megawatt.ops.app import create_app
from megawatt.ops.models import AuditEntry, LedgerEntry, User, WebSession
from opsdb import add_client, client, db_url, migrated, publish, token  # noqa: F401

PAGES = (
    "/ui/",
    "/ui/sites",
    "/ui/ledger",
    "/ui/events",
    "/ui/metering",
    "/ui/compliance",
    "/ui/invoices",
)


@pytest.fixture
def world(client: Any, migrated: str) -> dashkit.World:
    return dashkit.build(client, migrated)


@pytest.fixture
def browser_of(migrated: str) -> Iterator[Any]:
    """A factory of logged-in in-process clients (one per user, own cookies)."""
    app = create_app(migrated, expiry_sweep_seconds=None)
    opened: list[TestClient] = []

    def make(username: str) -> TestClient:
        c = TestClient(app, base_url="http://testserver")
        c.__enter__()
        opened.append(c)
        r = dashkit.login(c, username)
        assert r.status_code == 303, r.text
        return c

    yield make
    for c in opened:
        c.__exit__(None, None, None)
    app.state.engine.dispose()


def _count(url: str, stmt: Any) -> int:
    engine = db.make_engine(url)
    try:
        with db.transaction(db.session_factory(engine)) as s:
            return int(s.scalar(stmt) or 0)
    finally:
        engine.dispose()


def _sites_shown(html: str) -> set[str]:
    return set(re.findall(r'<tr data-site="([^"]+)"', html))


def test_pages_need_a_login(world: dashkit.World, migrated: str) -> None:
    app = create_app(migrated, expiry_sweep_seconds=None)
    with TestClient(app) as anon:
        for path in (*PAGES, "/ui/audit", "/ui/invoices/1"):
            r = anon.get(path, follow_redirects=False)
            assert r.status_code == 303, path
            assert r.headers["location"].startswith("/ui/login?next="), path
        # The API is untouched: still a Bearer token, still problem+json.
        r = anon.get("/sites")
        assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
    app.state.engine.dispose()


def test_login_wrong_password_lock_and_logout(world: dashkit.World, migrated: str) -> None:
    app = create_app(migrated, expiry_sweep_seconds=None)
    with TestClient(app) as c:
        bad = dashkit.login(c, "ada", "wrong password!")
        assert bad.status_code == 401 and "wrong username or password" in bad.text
        unknown = dashkit.login(c, "nobody", "wrong password!")
        assert unknown.status_code == 401 and "wrong username or password" in unknown.text
        for _ in range(users.LOCK_AFTER - 1):
            dashkit.login(c, "ada", "wrong password!")
        locked = dashkit.login(c, "ada")  # the right password, but locked now
        # Locked: the same answer as a wrong password (a lock does not tell the name
        # exists); the audit log says why.
        assert locked.status_code == 401 and "wrong username or password" in locked.text
        # A stale login form (no login cookie) is refused.
        c.cookies.clear()
        r = c.post("/ui/login", data={"username": "sol", "password": dashkit.PASSWORD, "csrf": "x"})
        assert r.status_code == 403
        ok = dashkit.login(c, "sol")
        assert ok.status_code == 303 and ok.headers["location"] == "/ui/"
        cookie = ok.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/ui" in cookie
        page = c.get("/ui/")
        assert page.status_code == 200 and "sol · system operator" in page.text
        out = c.post(
            "/ui/logout", data={"csrf": dashkit.csrf_of(page.text)}, follow_redirects=False
        )
        assert out.status_code == 303
        assert c.get("/ui/", follow_redirects=False).status_code == 303
    app.state.engine.dispose()
    assert _count(migrated, select(func.count()).where(AuditEntry.action == "login-failed")) == 6
    assert _count(migrated, select(func.count()).where(AuditEntry.action == "login")) == 1
    assert _count(migrated, select(func.count()).where(AuditEntry.action == "login-refused")) == 1
    assert _count(migrated, select(func.count()).where(AuditEntry.action == "logout")) == 1
    # The cookie's token is stored only as its SHA-256.
    token = cookie.split("megawatt_session=")[1].split(";")[0]
    assert _count(migrated, select(func.count()).where(WebSession.token_sha256 == token)) == 0
    assert (
        _count(migrated, select(func.count(User.id)).where(User.password_hash.like("$argon2id$%")))
        == 4
    )


@pytest.mark.parametrize("role", dashkit.ROLES)
def test_each_role_sees_its_own(role: str, world: dashkit.World, browser_of: Any) -> None:
    """The same rule as the API's authorization matrix: a site user sees its site, an
    operator user its operator's, the authority and the system operator all; the audit
    log only the overseers; someone else's record is a 404, not a 403."""
    c = browser_of(world.users[role])
    for path in PAGES:
        r = c.get(path)
        assert r.status_code == 200, (role, path, r.text[:500])
    shown = _sites_shown(c.get("/ui/sites").text)
    assert shown == world.site_names_for(role)
    # The API, asked by a client of the same role and scope, lists the same sites.
    scope = {
        "authority": {},
        "system_operator": {},
        "operator": {"operator_id": world.operators["beta"]},
        "site": {"site_id": world.sites["alpha"]},
    }[role]
    secret = add_client(world.url, f"api-{role}", role, **scope)
    api = c.get("/sites", headers=token(c, f"api-{role}", secret)).json()
    assert {x["name"] for x in api} == shown
    overseer = role in ("authority", "system_operator")
    audit = c.get("/ui/audit")
    assert audit.status_code == (200 if overseer else 403)
    assert ('href="/ui/audit"' in c.get("/ui/").text) == overseer
    hidden = set(world.sites) - world.site_names_for(role)
    for name in hidden:
        r = c.get(f"/ui/metering?site_id={world.sites[name]}")
        assert r.status_code == 404, (role, name)
    # A site's own metering page works.
    mine = next(iter(world.site_names_for(role)))
    assert c.get(f"/ui/metering?site_id={world.sites[mine]}").status_code == 200
    # Forms only for the roles that may act.
    ledger = c.get("/ui/ledger").text
    assert ('data-testid="grant-form"' in ledger) == (role == "authority")
    events = c.get("/ui/events").text
    assert ('data-testid="emergency-form"' in events) == overseer


def test_csrf_and_roles_guard_every_action(
    world: dashkit.World, browser_of: Any, migrated: str
) -> None:
    ada = browser_of("ada")
    csrf = dashkit.csrf_of(ada.get("/ui/ledger").text)
    grant = {
        "site_id": str(world.sites["alpha"]),
        "kind": "change",
        "mw": "5",
        "effective_from": "2026-06-01T00:00",
        "reason": "more",
    }
    before = _count(migrated, select(func.count(LedgerEntry.id)))
    assert ada.post("/ui/ledger", data=grant).status_code == 403  # no token
    assert ada.post("/ui/ledger", data={**grant, "csrf": "forged"}).status_code == 403
    assert (
        ada.post(
            "/ui/ledger", data={**grant, "csrf": csrf}, headers={"Origin": "http://evil.example"}
        ).status_code
        == 403
    )
    # Another user's token is not this session's.
    sol = browser_of("sol")
    sol_csrf = dashkit.csrf_of(sol.get("/ui/events").text)
    assert ada.post("/ui/ledger", data={**grant, "csrf": sol_csrf}).status_code == 403
    # The system operator may not write the ledger (403, as in the API).
    assert sol.post("/ui/ledger", data={**grant, "csrf": sol_csrf}).status_code == 403
    site = browser_of("alpha")
    site_csrf = dashkit.csrf_of(site.get("/ui/").text)
    r = site.post(
        "/ui/emergencies/confirm",
        data={
            "csrf": site_csrf,
            "site_ids": str(world.sites["alpha"]),
            "start": "2026-06-01T10:00",
            "end": "2026-06-01T11:00",
            "limit_mw": "0",
        },
    )
    assert r.status_code == 403
    r = site.post("/ui/invoices/run", data={"csrf": site_csrf, "month": "2026-05"})
    assert r.status_code == 403
    assert _count(migrated, select(func.count(LedgerEntry.id))) == before
    ok = ada.post("/ui/ledger", data={**grant, "csrf": csrf}, follow_redirects=False)
    assert ok.status_code == 303
    assert _count(migrated, select(func.count(LedgerEntry.id))) == before + 1
    actor = _count(
        migrated,
        select(func.count()).where(
            AuditEntry.actor == "authority:user:ada", AuditEntry.entity == "ledger_entry"
        ),
    )
    assert actor == 1


def test_grant_over_the_cap_is_refused_with_the_ledgers_message(
    world: dashkit.World,
    browser_of: Any,
    migrated: str,
) -> None:
    """The Sahiwal plant cap is the scenario's (sites alpha and beta hold 4 MW each): a
    change to 100,000 MW is refused with the 409's message, and nothing is written."""
    ada = browser_of("ada")
    csrf = dashkit.csrf_of(ada.get("/ui/ledger").text)
    before = _count(migrated, select(func.count(LedgerEntry.id)))
    r = ada.post(
        "/ui/ledger",
        data={
            "csrf": csrf,
            "site_id": str(world.sites["alpha"]),
            "kind": "change",
            "mw": "99999",
            "effective_from": "2026-06-01T00:00",
            "reason": "too much",
        },
    )
    assert r.status_code == 409
    assert "Refused (409" in r.text and "cap" in r.text
    assert 'value="99999"' in r.text  # the form keeps what was typed
    assert _count(migrated, select(func.count(LedgerEntry.id))) == before
    bad = ada.post(
        "/ui/ledger",
        data={
            "csrf": csrf,
            "site_id": str(world.sites["alpha"]),
            "kind": "change",
            "mw": "abc",
            "effective_from": "2026-06-01T00:00",
            "reason": "x",
        },
    )
    assert bad.status_code == 422 and "[mw]" in bad.text


def test_suspend_licence_revokes_and_is_audited(
    world: dashkit.World, browser_of: Any, migrated: str
) -> None:
    ada = browser_of("ada")
    page = ada.get("/ui/sites").text
    lic = re.search(r'action="/ui/licences/(\d+)/status"', page)
    assert lic is not None
    step1 = ada.post(
        f"/ui/licences/{lic.group(1)}/status",
        data={"csrf": dashkit.csrf_of(page), "status": "suspended"},
    )
    assert step1.status_code == 200 and "holds <strong>4.000 MW</strong>" in step1.text
    assert (
        _count(migrated, select(func.count(LedgerEntry.id)).where(LedgerEntry.kind == "revoke"))
        == 0
    )  # nothing written before the confirmation
    r = ada.post(
        f"/ui/licences/{lic.group(1)}/status",
        data={"csrf": dashkit.csrf_of(page), "status": "suspended", "confirm": "yes"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    shown = ada.get(r.headers["location"]).text
    assert "is now suspended" in shown and "suspended</span>" in shown
    revokes = _count(
        migrated, select(func.count(LedgerEntry.id)).where(LedgerEntry.kind == "revoke")
    )
    assert revokes == 1
    assert (
        _count(
            migrated,
            select(func.count()).where(
                AuditEntry.entity == "licence", AuditEntry.actor == "authority:user:ada"
            ),
        )
        == 1
    )


def test_emergency_needs_confirmation_and_shows_live_status(
    world: dashkit.World,
    browser_of: Any,
    client: Any,
    migrated: str,
) -> None:
    """Step one lists the sites it will hit and writes nothing; step two publishes one
    event per site; the events page then reads each site's meter: late while the
    quarter hour that ended has no reading, under the limit once it arrives."""
    sol = browser_of("sol")
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    from megawatt.ops.metering import PROGRAM_TZ

    start = (now - dt.timedelta(minutes=45)).astimezone(PROGRAM_TZ)
    end = (now + dt.timedelta(minutes=60)).astimezone(PROGRAM_TZ)
    fields = {
        "csrf": dashkit.csrf_of(sol.get("/ui/events").text),
        "site_ids": str(world.sites["alpha"]),
        "start": f"{start:%Y-%m-%dT%H:%M}",
        "end": f"{end:%Y-%m-%dT%H:%M}",
        "limit_mw": "1",
    }
    confirm = sol.post("/ui/emergencies/confirm", data=fields)
    assert confirm.status_code == 200
    assert "alpha" in confirm.text and "Issue the emergency event to 1 site(s)" in confirm.text
    assert "gamma" not in confirm.text
    assert 'data-event="' not in sol.get("/ui/events").text  # nothing written yet
    unconfirmed = sol.post("/ui/emergencies", data=fields)
    assert unconfirmed.status_code == 422
    issued = sol.post("/ui/emergencies", data={**fields, "confirm": "yes"}, follow_redirects=False)
    assert issued.status_code == 303
    rows = sol.get(f"/ui/events/rows?day={start:%Y-%m-%d}").text
    assert 'data-site="alpha"' in rows and "emergency" in rows
    assert (
        _count(
            migrated,
            select(func.count()).where(
                AuditEntry.actor == "system_operator:user:sol", AuditEntry.entity == "oadr_event"
            ),
        )
        == 1
    )
    assert "late: no reading" in rows
    # Readings arrive for the quarter hours since the start: 200 kWh = 800 kW < 1000.
    first = start.astimezone(dt.UTC).replace(minute=start.minute // 15 * 15)
    quarters = int((now - first) / dt.timedelta(minutes=15))
    dashkit.readings(client, "M-alpha", first, ["200"] * quarters)
    rows = sol.get(f"/ui/events/rows?day={start:%Y-%m-%d}").text
    assert "under the limit: 800 kW vs limit 1000 kW" in rows
    # The site's own user sees its event; beta's operator does not.
    assert (
        'data-site="alpha"' in browser_of("alpha").get(f"/ui/events/rows?day={start:%Y-%m-%d}").text
    )
    assert (
        'data-site="alpha"'
        not in browser_of("op-beta").get(f"/ui/events/rows?day={start:%Y-%m-%d}").text
    )


def test_invoice_run_and_open(
    world: dashkit.World, browser_of: Any, client: Any, migrated: str
) -> None:
    """Readings in May 2026 (PKT) for alpha; the authority issues May's invoices; the
    site user opens its own invoice and cannot open beta's."""
    may = dt.datetime(2026, 5, 10, 0, 0, tzinfo=dt.UTC)
    dashkit.readings(client, "M-alpha", may, ["100", "100.5", "99.25", "100"])
    dashkit.readings(client, "M-beta", may, ["10"])
    ada = browser_of("ada")
    page = ada.get("/ui/invoices").text
    r = ada.post(
        "/ui/invoices/run",
        data={"csrf": dashkit.csrf_of(page), "month": "2026-05"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    listed = ada.get(r.headers["location"]).text
    assert "3 issued" in listed
    ids = {
        name: int(i)
        for name, i in re.findall(
            r"<td>(alpha|beta|gamma)</td><td>2026-05</td>.*?href=\"/ui/invoices/(\d+)\"",
            listed.replace("\n", ""),
        )
    }
    assert set(ids) == {"alpha", "beta", "gamma"}
    alpha = browser_of("alpha")
    own = alpha.get(f"/ui/invoices/{ids['alpha']}")
    assert own.status_code == 200
    # 399.75 kWh x 20 PKR = 7,995.00 PKR (flat tariff, no tax configured).
    assert "399.75" in own.text and "7995.00" in own.text
    assert alpha.get(f"/ui/invoices/{ids['beta']}").status_code == 404
    again = ada.post(
        "/ui/invoices/run",
        data={"csrf": dashkit.csrf_of(page), "month": "2026-05"},
        follow_redirects=False,
    )
    assert "0 issued, 3 already standing" in ada.get(again.headers["location"]).text
    assert (
        _count(
            migrated,
            select(func.count()).where(
                AuditEntry.actor == "authority:user:ada", AuditEntry.action == "issue"
            ),
        )
        == 3
    )


def test_tables_sort_and_page_in_the_database(
    world: dashkit.World, browser_of: Any, client: Any
) -> None:
    """More ledger entries than a page: at most 50 rows reach the browser, the pager
    says how many there are, sorting is by the requested column; bad parameters are a
    400 naming the parameter."""
    for k in range(60):
        r = client.post(
            "/ledger",
            json={
                "site_id": world.sites["gamma"],
                "kind": "change",
                "effective_from": f"2026-02-01T{k // 60:02d}:{k % 60:02d}:00Z",
                "mw": str(1 + k / 1000),
                "reason": f"step {k}",
            },
        )
        assert r.status_code == 201, r.text
    ada = browser_of("ada")
    page = ada.get("/ui/ledger").text
    assert page.count('<tr><td class="n">') == 50
    assert "1–50 of 63" in page
    second = ada.get("/ui/ledger?sort=id&dir=desc&page=2").text
    assert "51–63 of 63" in second and second.count('<tr><td class="n">') == 13
    oldest = ada.get("/ui/ledger?sort=id&dir=asc").text
    first_id = re.search(r'<tr><td class="n">(\d+)</td>', oldest)
    assert first_id is not None and first_id.group(1) == "1"
    for bad, name in (
        ("sort=secret", "sort"),
        ("dir=up", "dir"),
        ("page=0", "page"),
        ("site_id=x", "site_id"),
    ):
        r = ada.get(f"/ui/ledger?{bad}")
        assert r.status_code == 400 and f"<code>{name}</code>" in r.text, bad


def test_expiring_licences_are_flagged(world: dashkit.World, browser_of: Any, client: Any) -> None:
    """A licence that lapses within 30 days is flagged "expiring"; one that lapses
    later is not; a suspended one says so."""
    now = dt.datetime.now(dt.UTC)
    licences = {x["site_id"]: x["id"] for x in client.get("/licences").json()}
    for name, days in (("alpha", 10), ("beta", 40)):
        r = client.patch(
            f"/licences/{licences[world.sites[name]]}",
            json={"valid_to": (now + dt.timedelta(days=days)).isoformat()},
        )
        assert r.status_code == 200, r.text
    r = client.patch(f"/licences/{licences[world.sites['gamma']]}", json={"status": "suspended"})
    assert r.status_code == 200, r.text
    page = browser_of("ada").get("/ui/sites").text
    rows = {
        name: row for name, row in re.findall(r'<tr data-site="([^"]+)">(.*?)</tr>', page, re.S)
    }
    assert 'class="flag warn">expiring' in rows["alpha"]
    assert "flag" not in rows["beta"]
    assert 'class="flag bad">suspended' in rows["gamma"]


def test_cli_user_add_checks_and_never_shows_the_hash(migrated: str) -> None:
    from typer.testing import CliRunner

    from megawatt.cli import app

    def run(*args: str, password: str = "") -> Any:
        return CliRunner().invoke(
            app, ["ops", "--db", migrated, "user", *args], input=password + "\n"
        )

    for args, password, message in (
        (("add", "ada", "--role", "authority"), "short", "a password has 12 to 1024"),
        (("add", "ada", "--role", "boss"), dashkit.PASSWORD, "role must be one of"),
        (("add", "ada", "--role", "site"), dashkit.PASSWORD, "a site user needs an existing"),
    ):
        r = run(*args, "--password-stdin", password=password)
        assert r.exit_code == 2 and message in r.output, r.output
    ok = run("add", "ada", "--role", "authority", "--password-stdin", password=dashkit.PASSWORD)
    assert ok.exit_code == 0, ok.output
    again = run("add", "ada", "--role", "authority", "--password-stdin", password=dashkit.PASSWORD)
    assert again.exit_code == 2 and "exists" in again.output
    listed = run("list")
    assert '"username": "ada"' in listed.output and "argon2" not in listed.output
    assert run("disable", "ada").exit_code == 0
    assert run("password", "ada", "--password-stdin", password="x" * 12).exit_code == 0
    assert run("enable", "nobody").exit_code == 2


def test_compliance_page_is_the_apis_record(
    world: dashkit.World, browser_of: Any, client: Any, migrated: str
) -> None:
    """An event for alpha in May 2026 (limit 1000 kW = 250 kWh a quarter hour) and
    readings 300, 200, 250, 260 kWh: two intervals over, shortfall 50 + 10 = 60 kWh,
    penalty 60 / 1000 x 1500 = 90.00 PKR. The page shows the API's record: computed
    before the invoice, stored with it after."""
    start = dt.datetime(2026, 5, 12, 10, 0, tzinfo=dt.UTC)
    publish(
        migrated,
        world.sites["alpha"],
        "test-may",
        start - dt.timedelta(hours=2),
        [(start, dt.timedelta(hours=1), 1000)],
    )
    dashkit.readings(client, "M-alpha", start, ["300", "200", "250", "260"])
    api = client.get("/compliance", params={"month": "2026-05", "site_id": world.sites["alpha"]})
    record = api.json()[0]
    assert (record["shortfall_kwh"], record["penalty_pkr"], record["source"]) == (
        "60.000000",
        "90.00",
        "computed",
    )
    ada = browser_of("ada")

    def shown() -> str:
        page = ada.get("/ui/compliance?month=2026-05").text
        row = re.search(r'<tr data-site="alpha">(.*?)</tr>', page, re.S)
        assert row is not None, page
        return re.sub(r"<[^>]+>", "|", row.group(1))

    assert "|computed|" in shown() and "|60.000000|" in shown() and "|90.00|" in shown()
    r = client.post("/invoices", json={"site_id": world.sites["alpha"], "month": "2026-05"})
    assert r.status_code == 201, r.text
    assert "|stored (invoice " in shown() and "|90.00|" in shown()
    # Beta's operator sees no alpha row.
    assert 'data-site="alpha"' not in browser_of("op-beta").get("/ui/compliance?month=2026-05").text


def test_review_regressions(world: dashkit.World, browser_of: Any, migrated: str) -> None:
    """Huge ids are a 422 page, not a 500; the events table's refresh is a 401 (not the
    login form) once the session ends, and does not keep the session alive; the
    overview's whole-program hours are the overseers'; an emergency the server would
    refuse is refused at the review step; a form is refused by its declared size."""
    alpha = browser_of("alpha")
    for path in ("/ui/invoices/99999999999999999999", "/ui/invoices/0"):
        assert alpha.get(path).status_code == 422
    assert 'id="chart-expected"' not in alpha.get("/ui/").text
    assert "Allocated now (all sites)" not in alpha.get("/ui/").text
    sol = browser_of("sol")
    assert 'id="chart-expected"' in sol.get("/ui/").text
    csrf = dashkit.csrf_of(sol.get("/ui/events").text)
    # 5 MW limit on a 4 MW site curtails nothing: refused before the review page.
    r = sol.post(
        "/ui/emergencies/confirm",
        data={
            "csrf": csrf,
            "site_ids": str(world.sites["alpha"]),
            "start": "2026-06-01T10:00",
            "end": "2026-06-01T11:00",
            "limit_mw": "5",
        },
    )
    assert r.status_code == 422 and "does not curtail" in r.text
    big = sol.post(
        "/ui/ledger",
        content=b"x",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Content-Length": "999999999",
        },
    )
    assert big.status_code == 413
    engine = db.make_engine(migrated)
    try:
        with db.transaction(db.session_factory(engine)) as s:
            users.set_disabled(s, "sol", True, "test")
    finally:
        engine.dispose()
    rows = sol.get("/ui/events/rows", follow_redirects=False)
    assert rows.status_code == 401


def test_a_refresh_is_not_activity(world: dashkit.World, browser_of: Any, migrated: str) -> None:
    ada = browser_of("ada")
    engine = db.make_engine(migrated)
    old = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=30)
    try:
        with db.transaction(db.session_factory(engine)) as s:
            for w in s.scalars(select(WebSession)):
                w.seen_at = old
        assert ada.get("/ui/events/rows").status_code == 200
        with db.transaction(db.session_factory(engine)) as s:
            assert all(w.seen_at == old for w in s.scalars(select(WebSession)))
        assert ada.get("/ui/events").status_code == 200  # a page the user opened is
        with db.transaction(db.session_factory(engine)) as s:
            assert all(w.seen_at > old for w in s.scalars(select(WebSession)))
    finally:
        engine.dispose()


def test_client_ids_cannot_pose_as_users(migrated: str) -> None:
    with pytest.raises(Exception, match="reserved"):
        add_client(migrated, "user:ada", "authority")
