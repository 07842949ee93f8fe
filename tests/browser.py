"""Headless Debian Chromium for the report tests (Playwright drives it; no download)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from needs import IN_CI

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
LOCAL_SCHEMES = ("file:", "data:", "about:", "blob:")

#: Skip without Chromium, except under CI=true (tests/needs.py): there the test runs and
#: fails on the missing browser, so a missing install step is not hidden.
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None and not IN_CI,
    reason="Debian chromium not installed (make test installs it)",
)


@dataclass
class Visit:
    """A loaded page and what it logged: console errors and every URL it requested."""

    page: Any
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    @property
    def remote_requests(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(LOCAL_SCHEMES)]


@contextmanager
def open_page(url: str, settle_ms: int = 1500) -> Iterator[Visit]:
    """Load ``url`` in headless Chromium (no network services), wait for plots to draw."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
            ],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        visit = Visit(page)
        page.on("console", lambda m: visit.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: visit.errors.append(str(exc)))
        page.on("request", lambda req: visit.requests.append(req.url))
        page.goto(url, wait_until="load")
        page.wait_for_timeout(settle_ms)
        try:
            yield visit
        finally:
            browser.close()
