"""No reading lost, none counted twice (issue 16 part 6): a real `megawatt serve` is
killed (SIGKILL) while it ingests a batch, restarted, and the batch replayed: the stored
readings equal the source exactly. The same for an invoice run killed midway: the rerun
issues the rest and bills no site twice. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from megawatt.cli import app
from megawatt.ops import db
from megawatt.ops.models import Invoice, Meter, Operator, Reading, Site
from opsdb import db_url, migrated  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow

T0 = dt.datetime(2026, 3, 31, 19, 0, tzinfo=dt.UTC)  # 1 April 2026 00:00 PKT


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "megawatt", "serve", "--db", url, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "NO_COLOR": "1"},
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{base}/openapi.json", timeout=1).status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    pytest.fail("megawatt serve did not start")


def _token(base: str, secret: str) -> dict[str, str]:
    form = {"grant_type": "client_credentials", "client_id": "k", "client_secret": secret}
    got = httpx.post(f"{base}/auth/token", data=form)
    assert got.status_code == 200, got.text
    return {"Authorization": f"Bearer {got.json()['access_token']}"}


def _world(url: str, sites: int) -> None:
    engine = db.make_engine(url)
    try:
        with db.transaction(db.session_factory(engine)) as s:
            op = Operator(name="k")
            s.add(op)
            s.flush()
            for i in range(sites):
                site = Site(operator_id=op.id, name=f"k{i}", kind="btc_miner", zone="North")
                s.add(site)
                s.flush()
                s.add(Meter(site_id=site.id, serial=f"K-{i}"))
    finally:
        engine.dispose()


def _source(meters: int, n: int) -> list[tuple[str, dt.datetime, Decimal]]:
    return [
        (
            f"K-{m}",
            T0 + dt.timedelta(minutes=15 * i),
            Decimal(f"{100 + (i * 7 + m) % 900}.{i % 997:03d}"),
        )
        for m in range(meters)
        for i in range(n)
    ]


def _stored(url: str) -> list[tuple[str, dt.datetime, Decimal]]:
    engine = db.make_engine(url)
    try:
        with db.transaction(db.session_factory(engine)) as s:
            rows = s.execute(
                select(Meter.serial, Reading.interval_start, Reading.kwh, Reading.version)
                .join(Meter, Meter.id == Reading.meter_id)
                .order_by(Meter.serial, Reading.interval_start)
            ).all()
    finally:
        engine.dispose()
    assert all(r[3] == 1 for r in rows)
    return sorted((r[0], r[1], r[2]) for r in rows)


def test_ingest_killed_mid_batch_then_replayed(migrated: str) -> None:  # noqa: F811
    _world(migrated, 8)
    source = _source(8, 25_000)  # 200,000 readings: several seconds of work
    body = "meter,interval_start,kwh\n" + "".join(
        f"{m},{t.strftime('%Y-%m-%dT%H:%M:%SZ')},{k}\n" for m, t, k in source
    )
    out = CliRunner().invoke(
        app, ["ops", "--db", migrated, "client", "add", "k", "--role", "authority"]
    )
    secret = json.loads(out.output)["client_secret"]
    proc, base = _serve(migrated)
    result: dict[str, Any] = {}

    def post() -> None:
        try:
            r = httpx.post(
                f"{base}/readings",
                content=body,
                headers={**_token(base, secret), "Content-Type": "text/csv"},
                timeout=300,
            )
            result["status"] = r.status_code
        except httpx.HTTPError as exc:
            result["error"] = exc

    try:
        sender = threading.Thread(target=post)
        sender.start()
        time.sleep(1.5)  # the body is sent; the server is parsing or writing it
        assert "status" not in result, "the batch finished before the kill: make it larger"
        os.kill(proc.pid, signal.SIGKILL)
        sender.join(timeout=60)
        assert "error" in result  # the client saw the connection die
    finally:
        proc.kill()
        proc.wait(timeout=30)
    # All or nothing: the killed transaction left no reading.
    assert _stored(migrated) == []
    proc, base = _serve(migrated)
    try:
        h = {**_token(base, secret), "Content-Type": "text/csv"}
        first = httpx.post(f"{base}/readings", content=body, headers=h, timeout=300)
        assert first.status_code == 200 and first.json()["inserted"] == len(source), first.text
        again = httpx.post(f"{base}/readings", content=body, headers=h, timeout=300)
        assert again.json()["inserted"] == 0 and again.json()["unchanged"] == len(source)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert _stored(migrated) == sorted(source)


def test_invoice_run_killed_midway_then_rerun(migrated: str, tmp_path: Path) -> None:  # noqa: F811
    sites = 24
    _world(migrated, sites)
    source = _source(sites, 2880)  # April 2026 (local), 30 days x 96
    engine = db.make_engine(migrated)
    try:
        with db.transaction(db.session_factory(engine)) as s:
            from megawatt.ops import metering
            from megawatt.ops.models import Contract

            rows = [metering.Row(m, t, 15, k, "measured", 1, "test") for m, t, k in source]
            metering.ingest(s, rows, "test")
            for site_id in s.scalars(select(Site.id)):
                s.add(
                    Contract(
                        site_id=site_id,
                        tariff_scheme="flat",
                        tariff_local_per_kwh=Decimal("22.98"),
                        firm_share=0,
                        firm_service_level=0,
                        notice_minutes=30,
                        ramp_minutes=10,
                        penalty_local_per_mwh=0,
                        start=dt.date(2026, 1, 1),
                        term_months=36,
                        review_months=6,
                        tax_rate=Decimal("0.18"),
                    )
                )
    finally:
        engine.dispose()

    def issued() -> int:
        """Invoices so far, read without taking SQLite's write lock (the service's
        engine begins every transaction IMMEDIATE, which would wait for the run)."""
        if migrated.startswith("sqlite"):
            import sqlite3

            con = sqlite3.connect(migrated.removeprefix("sqlite:///"), timeout=60)
            try:
                return int(con.execute("SELECT count(*) FROM invoices").fetchone()[0])
            finally:
                con.close()
        e = db.make_engine(migrated)
        try:
            with e.connect() as c:
                return int(c.execute(select(func.count()).select_from(Invoice)).scalar_one())
        finally:
            e.dispose()

    run = [
        sys.executable,
        "-m",
        "megawatt",
        "ops",
        "--db",
        migrated,
        "invoice-run",
        "--month",
        "2026-04",
    ]
    proc = subprocess.Popen(run, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            if issued() >= 2:
                break
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    midway = issued()
    assert 2 <= midway < sites, f"the run was not killed midway ({midway} of {sites})"
    done = subprocess.run(run, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert f"{sites - midway} invoices issued, {midway} already standing" in done.stdout
    # Every site billed exactly once, for exactly its readings.
    e = db.make_engine(migrated)
    try:
        with db.transaction(db.session_factory(e)) as s:
            invoices = list(s.scalars(select(Invoice).order_by(Invoice.site_id)))
            serial = dict(s.execute(select(Meter.site_id, Meter.serial)).all())
    finally:
        e.dispose()
    assert len(invoices) == sites == len({i.site_id for i in invoices})
    for inv in invoices:
        kwh = sum(k for m, _, k in source if m == serial[inv.site_id])
        energy = (kwh * Decimal("22.98")).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
        tax = (energy * Decimal("0.18")).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
        assert (inv.energy_kwh, inv.total) == (kwh, energy + tax)
