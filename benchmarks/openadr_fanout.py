"""Benchmark: one OpenADR event targeted at N VENs, each with its own webhook receiver on
loopback; the time from the event's POST to each receipt (p50, p99, max).

Sets up a fresh database (SQLite in a temporary directory, or --db URL of an empty
PostgreSQL database) with N licensed sites, each subscribed to EVENT CREATE with its own
callback port, starts a real ``megawatt serve`` (its outbox worker on), POSTs one event
targeted at all N venNames as the authority, and waits for every receipt. The goal of
issue 14: p99 under 1 s (an OpenADR 2.0b VEN polling sees an event 1-2 s late at best).

Run:  python benchmarks/openadr_fanout.py [--vens 500] [--db URL] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

B = "/openadr3/3.1.0"


class Receivers:
    """N loopback HTTP/1.1 listeners (one port per VEN) in one asyncio thread; each
    records the monotonic time of the first receipt of each notification id."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.ports: list[int] = []
        self.first: dict[str, float] = {}
        self.lock = threading.Lock()
        self.ready = threading.Event()
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self._run, daemon=True).start()
        self.ready.wait(30)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start())
        self.ready.set()
        self.loop.run_forever()

    async def _start(self) -> None:
        for _ in range(self.n):
            server = await asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=64)
            self.ports.append(server.sockets[0].getsockname()[1])

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                headers = {}
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                await reader.readexactly(int(headers.get("content-length", "0")))
                now = time.monotonic()
                key = headers.get("x-notification-id", "")
                with self.lock:
                    self.first.setdefault(key, now)
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def count(self) -> int:
        with self.lock:
            return len(self.first)


def setup(url: str, ports: list[int]) -> str:
    """N licensed sites subscribed to EVENT CREATE, one port each; the authority's
    client secret."""
    from megawatt.ops import auth, db
    from megawatt.ops.auth import Principal
    from megawatt.ops.models import Licence, Operator, Site
    from megawatt.ops.openadr import objects

    db.migrate(url)
    engine = db.make_engine(url)
    try:
        with db.transaction(db.session_factory(engine)) as s:
            secret = auth.add_client(s, "bench", "authority", "bench")
            op = Operator(name="bench")
            s.add(op)
            s.flush()
            start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
            for i, port in enumerate(ports):
                site = Site(operator_id=op.id, name=f"ven-{i:04d}", kind="btc_miner", zone="z")
                s.add(site)
                s.flush()
                s.add(Licence(site_id=site.id, number=f"L{i}", valid_from=start))
                who = Principal(f"ven-{i:04d}", "site", None, site.id)
                objects.create_subscription(
                    s,
                    who,
                    {
                        "clientName": site.name,
                        "objectOperations": [
                            {
                                "objects": ["EVENT"],
                                "operations": ["CREATE"],
                                "callbackUrl": f"http://127.0.0.1:{port}/hook",
                                "bearerToken": f"t{i}",
                            }
                        ],
                    },
                )
            objects.ensure_program(s, "fanout", "bench")
    finally:
        engine.dispose()
    return secret


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vens", type=int, default=500)
    parser.add_argument("--db", default=None, help="an empty database (default: SQLite)")
    parser.add_argument("--rounds", type=int, default=3, help="events, one after another")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="fanout-")
    url = args.db or f"sqlite:///{Path(tmp) / 'fanout.db'}"
    receivers = Receivers(args.vens)
    t = time.perf_counter()
    secret = setup(url, receivers.ports)
    print(f"setup: {args.vens} VENs and subscriptions in {time.perf_counter() - t:.1f} s")

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "megawatt", "serve", "--db", url, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "NO_COLOR": "1"},
    )
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}{B}/auth/server", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        form = {"grant_type": "client_credentials", "client_id": "bench", "client_secret": secret}
        tok = httpx.post(f"{base}{B}/auth/token", data=form).json()["access_token"]
        http = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {tok}"}, timeout=60)
        program = http.get(f"{B}/programs").json()[0]["id"]
        targets = [f"ven-{i:04d}" for i in range(args.vens)]
        for r in range(args.rounds):
            before = set(receivers.first)
            event = {
                "programID": program,
                "targets": targets,
                "intervals": [
                    {"id": 0, "payloads": [{"type": "IMPORT_CAPACITY_LIMIT", "values": [r]}]}
                ],
            }
            t0 = time.monotonic()
            resp = http.post(f"{B}/events", json=event)
            t_commit = time.monotonic() - t0
            assert resp.status_code == 201, resp.text
            deadline = time.monotonic() + 60
            while receivers.count() < len(before) + args.vens and time.monotonic() < deadline:
                time.sleep(0.005)
            with receivers.lock:
                got = sorted(v - t0 for k, v in receivers.first.items() if k not in before)
            if len(got) < args.vens:
                print(f"round {r}: only {len(got)} of {args.vens} received in 60 s")
                continue
            p50 = statistics.median(got)
            p99 = got[min(len(got) - 1, int(0.99 * len(got)))]
            print(
                f"round {r}: {len(got)} VENs; POST answered in {t_commit * 1000:.0f} ms; "
                f"receipt after the POST: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
                f"max {got[-1] * 1000:.0f} ms"
            )
        http.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
