"""Benchmark: issue 17's load test on loopback: VENs polling their events plus dashboard
users loading pages, against a real ``megawatt serve --workers N`` on PostgreSQL, and
the same load against ``--workers 1`` (the peer) in the same run.

Setup (once, in a fresh PostgreSQL database created next to --admin and dropped at the
end): ``megawatt ops migrate`` and ``seed-caps`` (CLI), an authority client (CLI);
--vens site clients (the CLI's ``megawatt.ops.auth.add_client`` in one transaction: 500
CLI processes would take minutes); then over the API of the first server: one operator,
--vens licensed sites, 1 MW granted to each of the first 200 (so the ledger and the
allocations have rows), the OpenADR program and one event per site targeted at its VEN,
and one access token per VEN (POST /auth/token with its own secret).

Load, for --duration seconds per server (default 60):

* **VEN polls**: each VEN polls ``GET /openadr3/3.1.0/events`` with its own bearer
  token every --poll seconds (default 10; the first poll at a random offset, then every
  poll +-10 % jitter), on its own keep-alive connection (uvicorn closes one idle for 5
  s, so a 10 s poller mostly reconnects: the latency includes that connect, as a real
  VEN's would).
* **Dashboard users** (--users, default 20): each loads a page, thinks 1-3 s, loads the
  next one (round robin over --pages from a random start), on its own connection. With
  the dashboard (``GET /ui/login`` answers), users are made with ``megawatt ops user
  add NAME --role authority --password-stdin`` and log in through the form (the hidden
  ``csrf`` input and the cookie of ``GET /ui/login``, then ``POST /ui/login`` -> 303
  with the ``megawatt_session`` cookie; all users log in at once before the window, and
  the slowest login is printed); a page counts as served when it answers 200
  (its HTML only, no assets). ``{site}`` in a page is a site id. Before the window the
  first page (the overview, which computes today's dispatch and caches it in each
  process for 10 minutes) is loaded once in every worker, one request at a time;
  --no-warmup leaves that cold start in the window. Without the dashboard
  (``/ui/login`` is a 404) the script says so and loads the API's pages instead (``GET
  /sites``, ``/allocations``, ``/ledger`` with the authority's token; --api-pages does
  that anyway).

A request is timed from just before it is written (a connect included when needed) to
the last byte of the response; only requests started within the window count, and
throughput is those completed / the window. Reported per kind (VEN poll, page) and per
server: count, errors, throughput, p50/p95/p99/max; the worker processes' CPU seconds
(from /proc) and this generator's; the ratio N vs 1. The load generator is one asyncio
process with a minimal HTTP/1.1 client (httpx costs ~ms of CPU a request); it shares the
machine with the server, so on few cores it takes CPU the server could use: its CPU
seconds are printed beside the server's, and so are the CPU seconds every other process
of the machine used in the window (from /proc/stat: other work skews a comparison).

Run:  python benchmarks/dashboard_load.py [--workers 2] [--duration 60] [--vens 500]
      [--users 20] [--poll 10] [--pages /ui/,/ui/sites,...] [--api-pages] [--json FILE]
Needs PostgreSQL (--admin, default postgresql+psycopg://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from pgtemp import FreshPostgres

B = "/openadr3/3.1.0"
PG_ADMIN = os.environ.get("MEGAWATT_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
UI_PAGES = (
    "/ui/,/ui/sites,/ui/ledger,/ui/events,/ui/metering?site_id={site},"
    "/ui/compliance,/ui/invoices,/ui/audit"
)
API_PAGES = ("/sites", "/allocations", "/ledger")
PID_HEADER = "x-megawatt-worker-pid"
GRANTED_SITES = 200


# -- a minimal HTTP/1.1 client ---------------------------------------------------------
@dataclass
class Response:
    status: int
    headers: dict[str, str]
    cookies: dict[str, str]
    body: bytes


class Conn:
    """One keep-alive HTTP/1.1 connection to 127.0.0.1:port; reconnects when the server
    closed it (idle timeout) and retries a request once on a connection that was idle."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.cookies: dict[str, str] = {}

    async def _connect(self) -> None:
        self.close()
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(
        self,
        method: str,
        path: str,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        content_type: str | None = None,
    ) -> Response:
        reused = self.reader is not None and not self.reader.at_eof()
        if not reused:
            await self._connect()
        try:
            return await self._once(method, path, headers or {}, body, content_type)
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            if not reused:
                raise
            await self._connect()  # the server closed the idle connection meanwhile
            return await self._once(method, path, headers or {}, body, content_type)

    async def _once(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes,
        content_type: str | None,
    ) -> Response:
        assert self.reader is not None and self.writer is not None
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body)}")
            lines.append(f"Content-Type: {content_type or 'application/json'}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        parts = status_line.split()
        if len(parts) < 2 or not parts[1].isdigit():
            raise ValueError(f"not an HTTP response: {status_line[:80]!r}")
        got: dict[str, str] = {}
        cookies: dict[str, str] = {}
        for line in header_lines:
            if ":" not in line:
                continue
            k, v = line.split(":", 1)
            k, v = k.strip().lower(), v.strip()
            if k == "set-cookie":
                name, _, rest = v.partition("=")
                cookies[name.strip()] = rest.split(";", 1)[0]
            got[k] = v
        if got.get("transfer-encoding", "").lower() == "chunked":
            data = bytearray()
            while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                data += await self.reader.readexactly(size)
                await self.reader.readexactly(2)
            while await self.reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                pass
        else:
            data = bytearray(await self.reader.readexactly(int(got.get("content-length", "0"))))
        self.cookies.update(cookies)
        if got.get("connection", "").lower() == "close":
            self.close()
        return Response(int(parts[1]), got, cookies, bytes(data))

    async def json(self, method: str, path: str, token: str, payload: Any = None) -> Any:
        body = b"" if payload is None else json.dumps(payload).encode()
        resp = await self.request(method, path, {"Authorization": f"Bearer {token}"}, body)
        if resp.status >= 300:
            raise RuntimeError(f"{method} {path}: {resp.status} {resp.body[:300]!r}")
        return json.loads(resp.body)


async def in_parallel(port: int, jobs: list[Any], width: int = 8) -> list[Any]:
    """Run ``job(conn)`` coroutine functions on ``width`` connections; results in order."""
    results: list[Any] = [None] * len(jobs)
    queue = list(enumerate(jobs))

    async def lane() -> None:
        conn = Conn(port)
        try:
            while queue:
                i, job = queue.pop()
                results[i] = await job(conn)
        finally:
            conn.close()

    await asyncio.gather(*(lane() for _ in range(width)))
    return results


# -- the database, the server ----------------------------------------------------------
def cli(*args: str, stdin: str | None = None) -> str:
    """``megawatt ARGS`` in a subprocess (this interpreter, this environment)."""
    done = subprocess.run(
        [sys.executable, "-m", "megawatt", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    if done.returncode != 0:
        raise RuntimeError(f"megawatt {' '.join(args)}: {done.stderr.strip() or done.stdout}")
    return done.stdout


class Server:
    """``megawatt serve --workers N`` on a free loopback port, its log in a file."""

    def __init__(self, url: str, workers: int, log: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.workers = workers
        self.log = log
        command = [sys.executable, "-m", "megawatt", "serve", "--db", url]
        command += ["--port", str(self.port), "--workers", str(workers)]
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "NO_COLOR": "1", "MEGAWATT_WORKER_PID_HEADER": "1"},
            )

    async def wait(self) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"megawatt serve exited: see {self.log}")
            if len(self.pids()) >= self.workers:
                try:
                    conn = Conn(self.port)
                    resp = await conn.request("GET", f"{B}/auth/server")
                    conn.close()
                    if resp.status == 200:
                        return
                except OSError:
                    pass
            await asyncio.sleep(0.2)
        raise RuntimeError("megawatt serve did not start in 120 s")

    def pids(self) -> list[int]:
        """The processes that serve: the workers (N > 1) or the server itself."""
        if self.workers == 1:
            return [self.proc.pid]
        out = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            ppid = int(stat.rpartition(")")[2].split()[1])
            if ppid == self.proc.pid and b"spawn_main" in cmdline:
                out.append(int(entry.name))
        return out

    def cpu_seconds(self) -> float:
        """User + system CPU seconds of the serving processes so far."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])
        return total / tick

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# -- setup -----------------------------------------------------------------------------
@dataclass
class World:
    authority_secret: str
    ven_secrets: list[str]
    sites: list[int] = field(default_factory=list)
    ven_tokens: list[str] = field(default_factory=list)
    authority_token: str = ""
    users: list[tuple[str, str]] = field(default_factory=list)


def setup_database(url: str) -> World:
    cli("ops", "--db", url, "migrate")
    cli("ops", "--db", url, "seed-caps")
    authority = json.loads(cli("ops", "--db", url, "client", "add", "bench", "--role", "authority"))
    return World(authority["client_secret"], [])


def add_ven_clients(url: str, sites: list[int]) -> list[str]:
    from megawatt.ops import auth, db

    engine = db.make_engine(url)
    try:
        with db.transaction(db.session_factory(engine)) as s:
            return [
                auth.add_client(s, f"ven-{i:04d}", "site", "bench", site_id=site)
                for i, site in enumerate(sites)
            ]
    finally:
        engine.dispose()


async def token(conn: Conn, client_id: str, secret: str) -> str:
    form = urlencode(
        {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    )
    resp = await conn.request(
        "POST", "/auth/token", body=form.encode(), content_type="application/x-www-form-urlencoded"
    )
    if resp.status != 200:
        raise RuntimeError(f"token for {client_id}: {resp.status} {resp.body[:200]!r}")
    return str(json.loads(resp.body)["access_token"])


async def setup_registry(port: int, world: World, vens: int) -> None:
    """Sites, licences, grants, the program and one event per site, over the API."""
    conn = Conn(port)
    world.authority_token = await token(conn, "bench", world.authority_secret)
    tok = world.authority_token
    op = (await conn.json("POST", "/operators", tok, {"name": "bench-operator"}))["id"]
    program = (await conn.json("POST", f"{B}/programs", tok, {"programName": "curtailment"}))["id"]
    conn.close()

    def site_job(i: int) -> Any:
        async def job(c: Conn) -> int:
            body = {
                "operator_id": op,
                "name": f"ven-{i:04d}",
                "kind": "btc_miner",
                "zone": "North",
                "plant": "sahiwal",
                "lat": 30,
                "lon": 73,
            }
            site = (await c.json("POST", "/sites", tok, body))["id"]
            licence = {
                "site_id": site,
                "number": f"L-{i:04d}",
                "valid_from": "2026-01-01T00:00:00Z",
            }
            await c.json("POST", "/licences", tok, licence)
            if i < GRANTED_SITES:
                grant = {
                    "site_id": site,
                    "kind": "grant",
                    "effective_from": "2026-01-01T00:00:00Z",
                    "mw": "1",
                    "reason": "benchmark",
                }
                await c.json("POST", "/ledger", tok, grant)
            start = dt.datetime(2026, 12, 4, 12, tzinfo=dt.UTC) + dt.timedelta(hours=i % 24)
            event = {
                "programID": program,
                "eventName": f"curtail ven-{i:04d}",
                "priority": 1,
                "targets": [f"ven-{i:04d}"],
                "intervalPeriod": {"start": start.isoformat(), "duration": "PT1H"},
                "intervals": [
                    {"id": 0, "payloads": [{"type": "IMPORT_CAPACITY_LIMIT", "values": [5000]}]}
                ],
            }
            await c.json("POST", f"{B}/events", tok, event)
            return int(site)

        return job

    world.sites = await in_parallel(port, [site_job(i) for i in range(vens)])


async def ven_tokens(port: int, world: World) -> None:
    jobs = [
        (lambda c, i=i, s=s: token(c, f"ven-{i:04d}", s)) for i, s in enumerate(world.ven_secrets)
    ]
    world.ven_tokens = await in_parallel(port, jobs)


async def has_dashboard(port: int) -> bool:
    conn = Conn(port)
    try:
        resp = await conn.request("GET", "/ui/login")
    finally:
        conn.close()
    if resp.status == 404:
        return False
    if resp.status != 200:
        raise RuntimeError(f"GET /ui/login answered {resp.status}")
    return True


def add_users(url: str, n: int) -> list[tuple[str, str]]:
    users = []
    for i in range(n):
        name, password = f"bench-user-{i:02d}", uuid.uuid4().hex
        cli("ops", "--db", url, "user", "add", name, "--role", "authority", "--password-stdin",
            stdin=password + "\n")  # fmt: skip
        users.append((name, password))
    return users


CSRF = re.compile(r"<input\b[^>]*\bname=[\"']csrf[\"'][^>]*>", re.I)
VALUE = re.compile(r"\bvalue=[\"']([^\"']*)[\"']", re.I)


async def log_in(conn: Conn, name: str, password: str) -> None:
    page = await conn.request("GET", "/ui/login")
    tag = CSRF.search(page.body.decode("utf-8", "replace"))
    value = VALUE.search(tag.group(0)) if tag else None
    if page.status != 200 or value is None:
        raise RuntimeError(f"GET /ui/login: {page.status}, no hidden csrf input")
    form = urlencode({"username": name, "password": password, "csrf": value.group(1)})
    resp = await conn.request(
        "POST", "/ui/login", body=form.encode(), content_type="application/x-www-form-urlencoded"
    )
    if resp.status != 303 or "megawatt_session" not in conn.cookies:
        raise RuntimeError(f"POST /ui/login as {name}: {resp.status}, no megawatt_session cookie")


async def warm_up(server: Server, world: World, pages: list[str]) -> float:
    """Load the first page (the overview, which caches today's dispatch in each process)
    once in every worker, one request at a time, before the window; the seconds taken."""
    t = time.perf_counter()
    conn = Conn(server.port)
    await log_in(conn, *world.users[0])
    seen: set[str] = set()
    for _ in range(50 * server.workers):
        conn.close()  # a new connection: the kernel hands it to any worker
        resp = await conn.request("GET", pages[0].replace("{site}", str(world.sites[0])))
        seen.add(resp.headers.get(PID_HEADER, "?"))
        if len(seen) >= server.workers:
            break
    conn.close()
    return time.perf_counter() - t


# -- the load --------------------------------------------------------------------------
@dataclass
class Sample:
    kind: str
    start: float  # seconds since the window opened
    ms: float
    ok: bool
    pid: str
    path: str


@dataclass
class Load:
    port: int
    world: World
    pages: list[str]
    dashboard: bool
    poll: float
    duration: float
    users: int
    samples: list[Sample] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)

    async def timed(
        self, kind: str, conn: Conn, path: str, headers: dict[str, str], t0: float
    ) -> None:
        began = time.perf_counter()
        try:
            resp = await asyncio.wait_for(conn.request("GET", path, headers), timeout=60)
            ok = resp.status == 200
            if not ok:
                self.errors[f"{kind} {resp.status}"] += 1
            pid = resp.headers.get(PID_HEADER, "?")
        except (OSError, asyncio.IncompleteReadError, ValueError, TimeoutError) as exc:
            conn.close()
            ok, pid = False, "?"
            self.errors[f"{kind} {type(exc).__name__}"] += 1
        ms = (time.perf_counter() - began) * 1000
        self.samples.append(Sample(kind, began - t0, ms, ok, pid, path.split("?")[0]))

    async def ven(self, i: int, t0: float) -> None:
        conn = Conn(self.port)
        headers = {"Authorization": f"Bearer {self.world.ven_tokens[i]}"}
        due = t0 + random.uniform(0, self.poll)
        try:
            while due - t0 < self.duration:
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                await self.timed("ven", conn, f"{B}/events", headers, t0)
                # A poll that took longer than the period is not made up for: the next
                # one starts at once (an overloaded server is not sent a backlog).
                due = max(due + self.poll * random.uniform(0.9, 1.1), time.perf_counter())
        finally:
            conn.close()

    async def user(self, conn: Conn, t0: float) -> None:
        headers: dict[str, str] = {}
        if not self.dashboard:
            headers["Authorization"] = f"Bearer {self.world.authority_token}"
        k = random.randrange(len(self.pages))
        await asyncio.sleep(random.uniform(0, 2))
        try:
            while time.perf_counter() - t0 < self.duration:
                page = self.pages[k % len(self.pages)].replace(
                    "{site}", str(random.choice(self.world.sites))
                )
                await self.timed("page", conn, page, headers, t0)
                k += 1
                think = random.uniform(1, 3)
                if time.perf_counter() + think - t0 >= self.duration:
                    return
                await asyncio.sleep(think)
        finally:
            conn.close()

    async def progress(self, t0: float, label: str) -> None:
        seen = 0
        while True:
            await asyncio.sleep(10)
            now = self.samples[seen:]
            seen += len(now)
            parts = []
            for kind in ("ven", "page"):
                ms = sorted(s.ms for s in now if s.kind == kind)
                p95 = f"{pct(ms, 95):.0f} ms" if ms else "-"
                parts.append(f"{kind} {len(ms)} (p95 {p95})")
            errors = sum(self.errors.values())
            print(
                f"  [{label}] {time.perf_counter() - t0:5.0f} s: last 10 s "
                + ", ".join(parts)
                + f"; errors so far {errors}",
                flush=True,
            )

    async def log_in_all(self, conns: list[Conn]) -> list[float]:
        """Every user logs in (at once) before the window; each login's seconds."""

        async def one(conn: Conn, user: tuple[str, str]) -> float:
            t = time.perf_counter()
            await log_in(conn, *user)
            return time.perf_counter() - t

        pairs = zip(conns, self.world.users, strict=True)
        return await asyncio.gather(*(one(c, u) for c, u in pairs))

    async def run(self, label: str) -> list[float]:
        """The window; returns the seconds of each user's login (made before it)."""
        conns = [Conn(self.port) for _ in range(self.users)]
        logins = await self.log_in_all(conns) if self.dashboard else []
        t0 = time.perf_counter()
        ticker = asyncio.create_task(self.progress(t0, label))
        try:
            await asyncio.gather(
                *(self.ven(i, t0) for i in range(len(self.world.ven_tokens))),
                *(self.user(conn, t0) for conn in conns),
            )
        finally:
            ticker.cancel()
        return logins


def machine_busy_seconds() -> float:
    """CPU seconds all processes of the machine have used (from /proc/stat)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    idle = int(fields[3]) + int(fields[4])  # idle, iowait
    return (sum(int(f) for f in fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def pct(sorted_ms: list[float], q: float) -> float:
    if not sorted_ms:
        return float("nan")
    k = min(len(sorted_ms) - 1, max(0, round(q / 100 * len(sorted_ms) + 0.5) - 1))
    return sorted_ms[k]


def summarise(load: Load, duration: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind in ("ven", "page"):
        done = [s for s in load.samples if s.kind == kind and s.start < duration]
        ms = sorted(s.ms for s in done if s.ok)
        out[kind] = {
            "requests": len(done),
            "errors": sum(1 for s in done if not s.ok),
            "throughput_per_s": round(len(ms) / duration, 2),
            "p50_ms": round(pct(ms, 50), 1),
            "p95_ms": round(pct(ms, 95), 1),
            "p99_ms": round(pct(ms, 99), 1),
            "max_ms": round(ms[-1], 1) if ms else None,
            "by_worker_pid": dict(Counter(s.pid for s in done)),
        }
    out["errors"] = dict(load.errors)
    pages: dict[str, list[float]] = {}
    for s in load.samples:
        if s.kind == "page" and s.start < duration and s.ok:
            pages.setdefault(s.path, []).append(s.ms)
    out["by_page"] = {}
    for path, ms in sorted(pages.items()):
        ms.sort()
        out["by_page"][path] = {
            "requests": len(ms),
            "p50_ms": round(pct(ms, 50), 1),
            "p95_ms": round(pct(ms, 95), 1),
        }
    return out


async def measure(
    url: str, world: World, workers: int, args: argparse.Namespace, log: Path, label: str
) -> dict[str, Any]:
    server = Server(url, workers, log)
    try:
        await server.wait()
        if not world.ven_tokens:  # the first server: build the registry
            t = time.perf_counter()
            await setup_registry(server.port, world, args.vens)
            world.ven_secrets = add_ven_clients(url, world.sites)
            await ven_tokens(server.port, world)
            print(f"setup over the API: {len(world.sites)} sites, licences, events and VEN")
            print(f"  tokens in {time.perf_counter() - t:.0f} s")
        dashboard = not args.api_pages and await has_dashboard(server.port)
        if dashboard and not world.users:
            world.users = add_users(url, args.users)
        pages = args.pages.split(",") if dashboard else list(API_PAGES)
        if not dashboard and not args.api_pages:
            print(
                f"  [{label}] no dashboard (GET /ui/login is a 404): loading the API's pages "
                f"{', '.join(API_PAGES)} with the authority's token instead"
            )
        warm = 0.0
        if dashboard and not args.no_warmup:
            warm = await warm_up(server, world, pages)
            print(f"  [{label}] warm-up: {pages[0]} loaded once in every worker in {warm:.1f} s")
        load = Load(server.port, world, pages, dashboard, args.poll, args.duration, args.users)
        cpu0, gen0, all0 = server.cpu_seconds(), time.process_time(), machine_busy_seconds()
        logins = await load.run(label)
        if logins:
            print(f"  [{label}] {len(logins)} logins before the window, at once: "
                  f"slowest {max(logins):.2f} s")  # fmt: skip
        cpu1, gen1, all1 = server.cpu_seconds(), time.process_time(), machine_busy_seconds()
        result = summarise(load, args.duration)
        result.update(
            workers=workers,
            dashboard=dashboard,
            pages=pages,
            server_cpu_s=round(cpu1 - cpu0, 1),
            generator_cpu_s=round(gen1 - gen0, 1),
            other_cpu_s=round((all1 - all0) - (cpu1 - cpu0) - (gen1 - gen0), 1),
            warm_up_s=round(warm, 1),
            login_max_s=round(max(logins), 2) if logins else None,
            load_average=round(os.getloadavg()[0], 2),
        )
        return result
    finally:
        server.stop()


def print_table(results: dict[str, dict[str, Any]], duration: float) -> None:
    names = list(results)
    w = 16
    print()
    print(f"{'':34}" + "".join(f"{n:>{w}}" for n in names))
    for kind, title in (("ven", "VEN polls (GET /events)"), ("page", "pages")):
        print(title)
        for key, label in (
            ("requests", "requests started"),
            ("errors", "errors"),
            ("throughput_per_s", "throughput [req/s]"),
            ("p50_ms", "p50 [ms]"),
            ("p95_ms", "p95 [ms]"),
            ("p99_ms", "p99 [ms]"),
            ("max_ms", "max [ms]"),
        ):
            print(f"  {label:32}" + "".join(f"{results[n][kind][key]!s:>{w}}" for n in names))
    print(f"  {'server CPU [s]':32}" + "".join(f"{results[n]['server_cpu_s']:>{w}}" for n in names))
    for key, label in (
        ("generator_cpu_s", "load generator CPU [s]"),
        ("other_cpu_s", "other processes' CPU [s]"),
        ("load_average", "load average at the end"),
    ):
        print(f"  {label:32}" + "".join(f"{results[n][key]!s:>{w}}" for n in names))
    print(f"  (window {duration:g} s; the machine has {os.cpu_count()} CPUs for both)")
    print("pages one by one: requests, p50 / p95 [ms]")
    for path in sorted({p for n in names for p in results[n]["by_page"]}):
        cells = []
        for n in names:
            x = results[n]["by_page"].get(path)
            cells.append(f"{x['requests']}, {x['p50_ms']:.0f} / {x['p95_ms']:.0f}" if x else "-")
        print(f"  {path:32}" + "".join(f"{c:>{w}}" for c in cells))
    if len(names) == 2:
        a, b = (results[n] for n in names)
        for kind in ("ven", "page"):
            ratio_p95 = a[kind]["p95_ms"] / b[kind]["p95_ms"] if b[kind]["p95_ms"] else 0
            ratio_tp = (
                a[kind]["throughput_per_s"] / b[kind]["throughput_per_s"]
                if b[kind]["throughput_per_s"]
                else 0
            )
            print(
                f"{names[0]} vs {names[1]}, {kind}: p95 x{ratio_p95:.2f}, "
                f"throughput x{ratio_tp:.2f}"
            )


async def run(url: str, args: argparse.Namespace, log: Path) -> dict[str, dict[str, Any]]:
    t = time.perf_counter()
    world = setup_database(url)
    print(f"setup: migrate, seed-caps, authority client in {time.perf_counter() - t:.0f} s")
    results: dict[str, dict[str, Any]] = {}
    order = [args.workers] + ([1] if args.workers != 1 and not args.no_peer else [])
    for workers in order:
        label = f"--workers {workers}"
        print(f"{label}: {args.vens} VENs every {args.poll:g} s, {args.users} users, "
              f"{args.duration:g} s", flush=True)  # fmt: skip
        results[label] = await measure(url, world, workers, args, log, label)
    return results


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workers", type=int, default=2, help="worker processes of the server")
    p.add_argument("--no-peer", action="store_true", help="skip the --workers 1 peer")
    p.add_argument("--duration", type=float, default=60, help="seconds of load per server")
    p.add_argument("--vens", type=int, default=500)
    p.add_argument("--poll", type=float, default=10, help="seconds between a VEN's polls")
    p.add_argument("--users", type=int, default=20, help="dashboard users")
    p.add_argument("--pages", default=UI_PAGES, help="dashboard pages, comma-separated")
    p.add_argument(
        "--no-warmup", action="store_true", help="measure the dashboard's cold start too"
    )
    p.add_argument(
        "--api-pages", action="store_true", help="load the API's pages even with the dashboard"
    )
    p.add_argument("--admin", default=PG_ADMIN, help="PostgreSQL URL to create the database")
    p.add_argument("--json", type=Path, help="write the results to this file")
    args = p.parse_args()
    if not 1 <= args.workers <= 64 or args.vens < 1 or args.users < 0 or args.duration <= 0:
        p.error("--workers 1..64, --vens >= 1, --users >= 0, --duration > 0")

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.2f}, Python {platform.python_version()}"
    )
    log = Path(tempfile.mkdtemp(prefix="dashboard-load-")) / "serve.log"
    with FreshPostgres(args.admin) as url:
        results = asyncio.run(run(url, args, log))
    print_table(results, args.duration)
    print(f"server log: {log}")
    if args.json:
        meta = {
            "vens": args.vens,
            "poll_s": args.poll,
            "users": args.users,
            "duration_s": args.duration,
            "cpus": os.cpu_count(),
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        args.json.write_text(json.dumps({"setup": meta, "results": results}, indent=2) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
