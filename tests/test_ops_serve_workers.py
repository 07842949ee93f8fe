"""`megawatt serve --workers N`: several uvicorn worker processes on one port.

On PostgreSQL, a real ``megawatt serve --workers 2``: requests are answered by both
workers; 50 clients race for the last MW of a plant across them and no cap is exceeded
at any effective time (recomputed from the raw ledger rows); the webhook outbox, run by
both workers at once, sends every notification exactly once; SIGTERM to the parent
stops every worker. On SQLite more than one worker is refused, and so is a count out of
1..64. On both databases, concurrent licence-expiry sweeps (one per worker) write one
revoke.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from megawatt.cli import app
from megawatt.ops import db, ledger
from megawatt.ops.models import Cap, LedgerEntry, Site
from megawatt.ops.openadr.tables import OutboxEntry
from opsdb import add_client, client, db_url, migrated, new_site  # noqa: F401  (fixtures)
from vtnkit import B, curtail, subscription_body

PID = "x-megawatt-worker-pid"
#: The server fixture runs on PostgreSQL only: more than one worker is refused on SQLite.
ON_POSTGRESQL = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # type: ignore[no-any-return]


def _workers(pid: int) -> set[int]:
    """The uvicorn workers of the server ``pid``: its children started by
    multiprocessing's spawn (not its resource tracker), from /proc."""
    out = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid and b"spawn_main" in cmdline:
                out.add(int(entry.name))
    return out


@dataclass
class Pool:
    """``megawatt serve --workers 2`` on loopback and the authority's headers."""

    url: str
    base: str
    proc: subprocess.Popen[bytes]
    log: Path
    headers: dict[str, str] = field(default_factory=dict)

    def workers(self) -> set[int]:
        return _workers(self.proc.pid)


@pytest.fixture
def pool(migrated: str, tmp_path: Path) -> Iterator[Pool]:  # noqa: F811
    secret = add_client(migrated, "racer", "authority")
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "megawatt", "serve", "--db", migrated),
                *("--port", str(port), "--workers", "2"),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NO_COLOR": "1", "MEGAWATT_WORKER_PID_HEADER": "1"},
        )
    srv = Pool(migrated, f"http://127.0.0.1:{port}", proc, log)
    try:
        deadline = time.monotonic() + 60
        while len(srv.workers()) < 2 or not _answers(srv.base):
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "megawatt serve --workers 2 did not start"
            time.sleep(0.1)
        form = {"grant_type": "client_credentials", "client_id": "racer", "client_secret": secret}
        got = httpx.post(f"{srv.base}/auth/token", data=form)
        assert got.status_code == 200, got.text
        srv.headers["Authorization"] = f"Bearer {got.json()['access_token']}"
        yield srv
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=60)


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/openapi.json", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def test_workers_must_be_1_to_64_and_1_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    runner = CliRunner()
    for bad in ("0", "65", "two"):
        r = runner.invoke(app, ["serve", "--db", url, "--workers", bad])
        assert r.exit_code == 2 and "--workers" in r.output, r.output
        assert len(r.output.strip().splitlines()) == 1, r.output
    r = runner.invoke(app, ["serve", "--db", url, "--workers", "2"])
    assert r.exit_code == 2, r.output
    assert "--workers" in r.output and "PostgreSQL" in r.output, r.output


@pytest.mark.slow
@ON_POSTGRESQL
def test_requests_are_served_by_both_workers(pool: Pool) -> None:
    workers = pool.workers()
    assert len(workers) == 2
    seen: Counter[int] = Counter()
    for _ in range(200):  # a new connection each time: the kernel hands it to either
        resp = httpx.get(f"{pool.base}/caps", headers=pool.headers)
        assert resp.status_code == 200, resp.text
        seen[int(resp.headers[PID])] += 1
        if len(seen) == 2 and min(seen.values()) >= 3:
            break
    assert set(seen) == workers, (seen, workers)


def _caps_exceeded(url: str) -> list[str]:
    """Every cap against the total under it at every effective time, from the raw
    ledger rows (not the service's own sums): the caps exceeded."""
    engine = db.make_engine(url)
    try:
        with db.transaction(db.session_factory(engine)) as s:
            where = {i: (z, p) for i, z, p in s.execute(select(Site.id, Site.zone, Site.plant))}
            deltas: dict[tuple[str, str], dict[dt.datetime, int]] = defaultdict(
                lambda: defaultdict(int)
            )
            rows = s.execute(
                select(LedgerEntry.site_id, LedgerEntry.effective_from, LedgerEntry.delta_kw)
            )
            for site, when, delta in rows:
                zone, plant = where[site]
                for key in (("zone", zone), ("plant", plant)):
                    deltas[key][when] += delta
                for cap in s.scalars(select(Cap).where(Cap.scope == "program")):
                    deltas[("program", cap.name)][when] += delta
            exceeded = []
            for cap in s.scalars(select(Cap)):
                total = 0
                for when in sorted(deltas[(cap.scope, cap.name)]):
                    total += deltas[(cap.scope, cap.name)][when]
                    if total > cap.cap_kw:
                        exceeded.append(f"{cap.scope} {cap.name} at {when}: {total} kW")
            return exceeded
    finally:
        engine.dispose()


@pytest.mark.slow
@ON_POSTGRESQL
def test_fifty_clients_race_for_the_last_mw_across_workers(pool: Pool) -> None:
    with httpx.Client(base_url=pool.base, headers=pool.headers, timeout=120) as c:
        ids = [new_site(c, f"s{i}", plant="port_qasim", zone="South")[1] for i in range(51)]
        first = {"kind": "grant", "effective_from": "2026-01-01T00:00:00Z", "reason": "plan"}
        r = c.post("/ledger", json={**first, "site_id": ids[0], "mw": "1244"})
        assert r.status_code == 201, r.text

    barrier = threading.Barrier(50)
    answers: list[tuple[int, int, Any]] = []

    def race(site: int) -> None:
        with httpx.Client(base_url=pool.base, headers=pool.headers, timeout=300) as c:
            barrier.wait()
            resp = c.post("/ledger", json={**first, "site_id": site, "mw": "1"})
            answers.append((resp.status_code, int(resp.headers[PID]), resp.json()))

    threads = [threading.Thread(target=race, args=(s,)) for s in ids[1:]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert sorted(a[0] for a in answers) == [201] + [409] * 49
    assert {a[1] for a in answers} == pool.workers()  # both workers took part
    for status, _, body in answers:
        if status == 409:
            assert body["cap"]["name"] == "port_qasim" and body["remaining_mw"] == "0.000"
    assert _caps_exceeded(pool.url) == []
    with httpx.Client(base_url=pool.base, headers=pool.headers) as c:
        caps = {(x["scope"], x["name"]): x for x in c.get("/caps").json()}
        assert caps[("plant", "port_qasim")]["peak_allocated_mw"] == "1245.000"


class Deliveries:
    """A loopback webhook receiver that counts each notification id and notes which
    process sent it (the owner of the connection's client socket, from /proc)."""

    def __init__(self, senders: set[int], hold: float) -> None:
        self.ids: Counter[str] = Counter()
        self.by: Counter[int] = Counter()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length") or 0))
                sender = _socket_owner(self.client_address[1], senders)
                with receiver.lock:
                    receiver.ids[self.headers["x-notification-id"]] += 1
                    receiver.by[sender] += 1
                time.sleep(hold)
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            # The workers open up to 250 connections at once each: with the default
            # backlog (5) SYNs are dropped, a connect can outlast the 10 s timeout and
            # the notification is retried (at least once, but not what is tested here).
            request_queue_size = 1024
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def total(self) -> int:
        with self.lock:
            return sum(self.ids.values())

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _socket_owner(port: int, pids: set[int]) -> int:
    """Which of ``pids`` holds the TCP socket bound to 127.0.0.1:``port`` (0: none)."""
    local = f"0100007F:{port:04X}"
    inode = ""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        cols = line.split()
        if cols[1] == local:
            inode = cols[9]
            break
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):  # an fd closed meanwhile
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                        return pid
    return 0


@pytest.mark.slow
@ON_POSTGRESQL
def test_outbox_in_two_workers_sends_each_webhook_once(pool: Pool) -> None:
    workers = pool.workers()
    receiver = Deliveries(workers, hold=0.05)
    try:
        with httpx.Client(base_url=pool.base, headers=pool.headers, timeout=60) as c:
            program = c.post(f"{B}/programs", json={"programName": "curtailment"})
            assert program.status_code == 201, program.text
            for _ in range(10):
                sub = c.post(
                    f"{B}/subscriptions",
                    json=subscription_body(receiver.url, objects=("EVENT",)),
                )
                assert sub.status_code == 201, sub.text

        # 40 events from 8 connections at once: both workers commit some and are woken.
        def post_events(k: int) -> None:
            with httpx.Client(base_url=pool.base, headers=pool.headers, timeout=60) as c:
                for i in range(5):
                    body = curtail(program.json()["id"], f"ven-{k}-{i}")
                    resp = c.post(f"{B}/events", json=body)
                    assert resp.status_code == 201, resp.text

        threads = [threading.Thread(target=post_events, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        expected = 40 * 10
        deadline = time.monotonic() + 60
        while len(receiver.ids) < expected and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(3)  # both workers poll every second: time for a duplicate to show
        engine = db.make_engine(pool.url)
        try:
            with db.transaction(db.session_factory(engine)) as s:
                rows = s.scalars(select(OutboxEntry)).all()
        finally:
            engine.dispose()
        retried = [(r.notification_id, r.attempts, r.last_error) for r in rows if r.attempts != 1]
        assert len(rows) == expected
        assert {r.status for r in rows} == {"delivered"} and not retried, retried[:3]
        assert len(receiver.ids) == expected
        assert receiver.total() == expected, receiver.ids.most_common(3)  # none twice
        assert set(receiver.by) == workers, receiver.by  # both workers delivered
    finally:
        receiver.close()


@pytest.mark.slow
@ON_POSTGRESQL
def test_sigterm_stops_every_worker(pool: Pool) -> None:
    workers = pool.workers()
    assert len(workers) == 2
    pool.proc.send_signal(signal.SIGTERM)
    assert pool.proc.wait(timeout=60) == 0
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists(), f"worker {pid} outlived the parent"
    log = pool.log.read_text()
    assert log.count("Application shutdown complete") == 2, log
    assert "Traceback" not in log, log


def test_concurrent_expiry_sweeps_write_one_revoke(client: Any, migrated: str) -> None:  # noqa: F811
    """What every worker's sweeper does at once: the first sweeper under the program cap
    lock writes the revoke, the others find nothing (both databases)."""
    _, site = new_site(client, "lapsing", licensed=False)
    soon = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=2)
    licence = {"site_id": site, "number": "L-lapsing", "valid_from": "2026-01-01T00:00:00Z"}
    resp = client.post("/licences", json={**licence, "valid_to": soon.isoformat()})
    assert resp.status_code == 201, resp.text
    grant = {"site_id": site, "kind": "grant", "mw": "5", "reason": "plan"}
    resp = client.post("/ledger", json={**grant, "effective_from": "2026-01-01T00:00:00Z"})
    assert resp.status_code == 201, resp.text
    time.sleep(max(0.0, (soon - dt.datetime.now(dt.UTC)).total_seconds()) + 0.2)

    engine = db.make_engine(migrated)
    sessions = db.session_factory(engine)
    barrier = threading.Barrier(4)
    written: list[int] = []

    def sweep() -> None:
        barrier.wait()
        with db.transaction(sessions) as s:
            written.append(len(ledger.expire(s)))

    try:
        threads = [threading.Thread(target=sweep) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert sorted(written) == [0, 0, 0, 1]
        with db.transaction(sessions) as s:
            rows = s.execute(
                select(LedgerEntry.kind, LedgerEntry.delta_kw, LedgerEntry.effective_from)
                .where(LedgerEntry.site_id == site)
                .order_by(LedgerEntry.id)
            ).all()
        assert [(k, d) for k, d, _ in rows] == [("grant", 5000), ("revoke", -5000)]
        assert rows[1][2] == soon  # revoked exactly at the lapse
    finally:
        engine.dispose()
