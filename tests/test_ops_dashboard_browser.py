"""The dashboard in a real browser: Debian's Chromium driven by Playwright (no browser
download) against a real `megawatt serve` on loopback. Logs in as each role through
the form (by keyboard for one), sees what the role may see and nothing else, issues an
emergency event and watches a site's status change as its readings arrive, is refused
a grant over the cap, issues invoices and opens one; every page at 1440 px and on a
tablet, with a screenshot of each written to $MEGAWATT_SCREENSHOTS (default
build/screenshots; the README shows two of them)."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

import dashkit
from browser import CHROMIUM, LOCAL_SCHEMES, needs_chromium
from megawatt.cli import app
from megawatt.ops.metering import PROGRAM_TZ

pytestmark = [pytest.mark.slow, needs_chromium]

ROOT = Path(__file__).resolve().parents[1]
SHOTS = Path(os.environ.get("MEGAWATT_SCREENSHOTS", ROOT / "build" / "screenshots"))
NAV = {
    "Overview": "/ui/",
    "Sites & licences": "/ui/sites",
    "Allocation ledger": "/ui/ledger",
    "Events": "/ui/events",
    "Metering": "/ui/metering",
    "Compliance": "/ui/compliance",
    "Invoices": "/ui/invoices",
    "Audit log": "/ui/audit",
}
WIDE = {"width": 1440, "height": 1000}
TABLET = {"width": 820, "height": 1180}  # an iPad Air in portrait


class Http:
    """The authority's API client (what a head-end or the test's setup uses)."""

    def __init__(self, base: str, token: str) -> None:
        self.c = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"})

    def post(self, path: str, json: Any) -> httpx.Response:
        return self.c.post(path, json=json)

    def get(self, path: str) -> httpx.Response:
        return self.c.get(path)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dashkit.World, Http]]:
    """A migrated SQLite database with the dashkit program, served by a real process."""
    url = f"sqlite:///{tmp_path_factory.mktemp('dash') / 'megawatt.db'}"
    runner = CliRunner()
    for args in (["migrate"], ["seed-caps"]):
        out = runner.invoke(app, ["ops", "--db", url, *args])
        assert out.exit_code == 0, out.output
    out = runner.invoke(app, ["ops", "--db", url, "client", "add", "setup", "--role", "authority"])
    assert out.exit_code == 0, out.output
    secret = json.loads(out.output)["client_secret"]
    port = _port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "megawatt", "serve", "--db", url, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/ui/login", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("megawatt serve did not start")
        got = httpx.post(
            f"{base}/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "setup",
                "client_secret": secret,
            },
        )
        http = Http(base, got.json()["access_token"])
        world = dashkit.build(http, url)
        yield base, world, http
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--no-first-run",
                "--disable-sync",
                "--disable-component-update",
            ],
        )
        yield browser
        browser.close()


class Visit:
    """A browser context logged in as one user; records console errors and every
    request that leaves loopback (there must be none: every asset is bundled)."""

    def __init__(self, chromium: Any, base: str, viewport: dict[str, int]) -> None:
        self.base = base
        self.context = chromium.new_context(viewport=viewport, timezone_id="UTC")
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.remote: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("request", self._request)

    def _request(self, req: Any) -> None:
        if not req.url.startswith((self.base, *LOCAL_SCHEMES)):
            self.remote.append(req.url)

    def login(self, username: str, keyboard: bool = False) -> None:
        self.page.goto(f"{self.base}/ui/")
        assert "/ui/login" in self.page.url  # redirected to the form
        if keyboard:
            self.page.keyboard.type(username)  # the username field has focus
            self.page.keyboard.press("Tab")
            self.page.keyboard.type(dashkit.PASSWORD)
            self.page.keyboard.press("Enter")
        else:
            self.page.fill("#username", username)
            self.page.fill("#password", dashkit.PASSWORD)
            self.page.click("button[type=submit]")
        self.page.wait_for_url(f"{self.base}/ui/")

    def go(self, path: str) -> Any:
        response = self.page.goto(self.base + path)
        self.page.wait_for_load_state("load")
        return response

    def shot(self, name: str) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def fits(self) -> bool:
        """Nothing wider than the window (tables scroll inside their own box)."""
        return bool(
            self.page.evaluate(
                "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
            )
        )

    def close(self) -> None:
        self.context.close()


def _nav(page: Any) -> list[str]:
    return page.locator("header.top nav a").all_inner_texts()


@pytest.mark.parametrize("role", dashkit.ROLES)
def test_each_role_sees_its_pages(role: str, served: Any, chromium: Any) -> None:
    base, world, _ = served
    v = Visit(chromium, base, WIDE)
    try:
        v.login(world.users[role], keyboard=role == "site")
        overseer = role in ("authority", "system_operator")
        expected_nav = [k for k in NAV if overseer or k != "Audit log"]
        assert _nav(v.page) == expected_nav
        for label in expected_nav:
            response = v.go(NAV[label])
            assert response.status == 200, (role, label)
            if v.page.locator("div.chart[data-figure]").count():
                v.page.wait_for_selector("div.chart[data-drawn]", timeout=20_000)
                assert v.page.locator("div.chart .main-svg").count() > 0  # plotly drew
            assert v.fits(), (role, label, "wider than 1440 px")
            v.shot(f"{role}-{label.split()[0].lower()}")
        shown = (
            set(
                v.page.locator("table[data-testid=sites] tr[data-site]").evaluate_all(
                    "rows => rows.map(r => r.dataset.site)"
                )
            )
            if v.go("/ui/sites")
            else set()
        )
        assert shown == world.site_names_for(role)
        assert v.errors == [], v.errors
        assert v.remote == [], v.remote
        if not overseer:
            assert v.go("/ui/audit").status == 403
            other = (set(world.sites) - world.site_names_for(role)).pop()
            assert v.go(f"/ui/metering?site_id={world.sites[other]}").status == 404
            v.shot(f"{role}-refused")
    finally:
        v.close()


def test_tablet_layout(served: Any, chromium: Any) -> None:
    base, world, _ = served
    v = Visit(chromium, base, TABLET)
    try:
        v.login(world.users["authority"])
        for label in ("Overview", "Sites & licences", "Allocation ledger", "Events"):
            v.go(NAV[label])
            assert v.fits(), (label, "wider than the tablet")
            v.shot(f"tablet-{label.split()[0].lower()}")
        # Times are local with UTC on hover.
        v.go("/ui/ledger")
        t = v.page.locator("table[data-testid=ledger] time").first
        assert t.get_attribute("title").startswith("UTC ")
        assert t.get_attribute("datetime").endswith("Z")
    finally:
        v.close()


def test_grant_over_the_cap_is_refused(served: Any, chromium: Any) -> None:
    base, world, _ = served
    v = Visit(chromium, base, WIDE)
    try:
        v.login(world.users["authority"])
        v.go("/ui/ledger")
        v.page.select_option("#g-site", str(world.sites["beta"]))
        v.page.select_option("#g-kind", "change")
        v.page.fill("#g-mw", "99999")
        v.page.fill("#g-from", "2026-07-01T00:00")
        v.page.fill("#g-reason", "more than the plant can give")
        v.page.click("form[data-testid=grant-form] button[type=submit]")
        alert = v.page.locator("div.msg.error[role=alert]")
        alert.wait_for()
        text = alert.inner_text()
        assert "Refused (409" in text and "cap" in text, text
        assert v.page.input_value("#g-mw") == "99999"  # what was typed is kept
        v.shot("authority-ledger-refused")
        # The same form within the cap lands (and is listed first).
        v.page.fill("#g-mw", "4.5")
        v.page.click("form[data-testid=grant-form] button[type=submit]")
        v.page.locator("div.msg.ok").wait_for()
        first = v.page.locator("table[data-testid=ledger] tbody tr").first.inner_text()
        assert "beta" in first and "4.5" in first
    finally:
        v.close()


def test_emergency_event_and_live_status(served: Any, chromium: Any) -> None:
    """The system operator issues an emergency event for gamma (reviewing the sites it
    will hit first); the events page shows gamma late (no reading for the quarter hour
    that ended); readings arrive from the head-end; the row turns to under the limit
    without a reload."""
    base, world, http = served
    v = Visit(chromium, base, WIDE)
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    start = (now - dt.timedelta(minutes=45)).astimezone(PROGRAM_TZ)
    end = (now + dt.timedelta(minutes=75)).astimezone(PROGRAM_TZ)
    try:
        v.login(world.users["system_operator"])
        v.go(f"/ui/events?day={start:%Y-%m-%d}")
        v.page.select_option("#e-sites", [str(world.sites["gamma"])])
        v.page.fill("#e-start", f"{start:%Y-%m-%dT%H:%M}")
        v.page.fill("#e-end", f"{end:%Y-%m-%dT%H:%M}")
        v.page.fill("#e-limit", "1")
        v.page.click("form[data-testid=emergency-form] button[type=submit]")
        sites = v.page.locator("table[data-testid=emergency-sites]").inner_text()
        assert "gamma" in sites and "alpha" not in sites
        v.shot("system_operator-emergency-confirm")
        v.page.click("text=Issue the emergency event to 1 site(s)")
        row = v.page.locator("tr[data-site=gamma] td[data-testid=live-status]")
        row.wait_for()
        assert "late" in row.inner_text()
        first = start.astimezone(dt.UTC).replace(minute=start.minute // 15 * 15)
        quarters = int((now - first) / dt.timedelta(minutes=15))
        dashkit.readings(http, "M-gamma", first, ["150"] * quarters)  # 600 kW < 1000 kW
        # The page refreshes the table itself every 5 s (the page's CSP allows no
        # eval, so the test polls the row's text from outside).
        for _ in range(100):
            if "under the limit" in row.inner_text():
                break
            v.page.wait_for_timeout(200)
        assert "600 kW vs limit 1000 kW" in row.inner_text()
        v.shot("system_operator-events-live")
        assert v.errors == [], v.errors
    finally:
        v.close()


def test_issue_invoices_and_open_one(served: Any, chromium: Any) -> None:
    base, world, http = served
    may = dt.datetime(2026, 5, 10, tzinfo=dt.UTC)
    dashkit.readings(http, "M-alpha", may, ["250", "250.25"])
    v = Visit(chromium, base, WIDE)
    try:
        v.login(world.users["authority"])
        v.go("/ui/invoices")
        v.page.fill("#i-month", "2026-05")
        v.page.click("form[data-testid=invoice-run] button[type=submit]")
        ok = v.page.locator("div.msg.ok").inner_text()
        assert "3 issued" in ok, ok
        v.shot("authority-invoices")
        v.page.locator("table[data-testid=invoices] tr", has_text="alpha").get_by_text(
            "Open"
        ).click()
        v.page.wait_for_load_state("load")
        body = v.page.inner_text("body")
        # 500.25 kWh x 20 PKR/kWh = 10,005.00 PKR.
        assert "500.25" in body and "10005.00" in body, body
        v.shot("authority-invoice-alpha")
    finally:
        v.close()
    # The site's own user opens it too; the operator of beta does not see it.
    for role, visible in (("site", True), ("operator", False)):
        u = Visit(chromium, base, WIDE)
        try:
            u.login(world.users[role])
            u.go("/ui/invoices")
            assert (
                u.page.locator("table[data-testid=invoices] tr", has_text="alpha").count() > 0
            ) == visible
        finally:
            u.close()


def test_suspend_licence_after_confirmation(served: Any, chromium: Any) -> None:
    """Last in the module (it revokes gamma's allocation): Suspend shows what it will do,
    nothing changes until confirmed; then the licence is flagged and gamma holds 0 MW."""
    base, world, http = served
    v = Visit(chromium, base, WIDE)
    try:
        v.login(world.users["authority"])
        v.go("/ui/sites")
        v.page.locator("tr[data-site=gamma] button", has_text="Suspend").click()
        consequence = v.page.locator("[data-testid=consequence]").inner_text()
        assert "4.000 MW" in consequence, consequence
        v.shot("authority-suspend-confirm")
        v.page.get_by_text("Cancel").click()
        assert "active" in v.page.locator("tr[data-site=gamma]").inner_text()
        v.page.locator("tr[data-site=gamma] button", has_text="Suspend").click()
        v.page.locator("button", has_text="Yes, set licence L-gamma to suspended").click()
        row = v.page.locator("tr[data-site=gamma]").inner_text()
        assert "suspended" in row and "0.000" in row, row
    finally:
        v.close()
    levels = {a["site_id"]: a["mw"] for a in http.get("/allocations").json()}
    assert levels[world.sites["gamma"]] == "0.000"
