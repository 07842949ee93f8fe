"""Benchmark: the operations service's allocation ledger under contention, and API latency.

(a) Grants per second under one plant cap: --threads threads, each with its own
    session, grant --grant-mw at a time to sites of the same plant (cap --cap-mw) through
    the ledger service function (`megawatt.ops.ledger.append`), then the same through
    HTTP (POST /ledger) on a second plant. Successes and 409s (cap exceeded) are counted;
    at the end every cap is checked, from the raw ledger rows, at every effective time.
(b) API latency at --clients concurrent clients (asyncio + httpx, keep-alive) on
    loopback against a real `megawatt serve` subprocess (uvicorn, one process): a read
    (GET /allocations) and a write (POST /ledger grant), p50/p99 each.

Peers, measured in the same run: the same requests against SQLite (a file database
served the same way), and the raw SQL round trip of `SELECT 1` on each database as
the floor.

Run:  python benchmarks/ops_ledger.py [--db URL] [--clients 200] [--seconds 20]
Default --db: a fresh PostgreSQL database on 127.0.0.1:5432 (created, then dropped).
Prints a results table.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from pgtemp import FreshPostgres

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CONTENDED, HTTP_PLANT, LATENCY_PLANT = "sahiwal", "port_qasim", "china_power_hub"
SITES_PER_PLANT = 10
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


# -- databases ---------------------------------------------------------------------------
def setup(url: str, cap_mw: Decimal) -> dict[str, object]:
    """Schema, caps (program cap lifted so plant caps bind), an operator, sites on three
    plants with licences, and an authority client; returns the site ids and the secret."""
    from megawatt import scenario
    from megawatt.ops import auth, db, ledger
    from megawatt.ops.models import Licence, Operator, Site
    from megawatt.ops.seed import seed_caps

    db.migrate(url)
    engine = db.make_engine(url)
    sites: dict[str, list[int]] = {}
    try:
        with db.transaction(db.session_factory(engine)) as s:
            seed_caps(s, scenario.load_default(), actor="bench")
            ledger.set_cap(s, "program", "program", Decimal("1000000"), "bench")
            ledger.set_cap(s, "plant", CONTENDED, cap_mw, "bench")
            ledger.set_cap(s, "plant", HTTP_PLANT, cap_mw, "bench")
            ledger.set_cap(s, "plant", LATENCY_PLANT, Decimal("1000000"), "bench")
            ledger.set_cap(s, "zone", "North", Decimal("1000000"), "bench")
            op = Operator(name="bench-operator")
            s.add(op)
            s.flush()
            for plant in (CONTENDED, HTTP_PLANT, LATENCY_PLANT):
                sites[plant] = []
                for i in range(SITES_PER_PLANT):
                    site = Site(
                        operator_id=op.id,
                        name=f"{plant}-{i}",
                        kind="btc_miner",
                        zone="North",
                        plant=plant,
                        lat=30,
                        lon=73,
                    )
                    s.add(site)
                    s.flush()
                    s.add(Licence(site_id=site.id, number=f"L-{site.id}", valid_from=T0))
                    sites[plant].append(site.id)
            secret = auth.add_client(s, "bench", "authority", "bench")
    finally:
        engine.dispose()
    return {"sites": sites, "secret": secret}


def select1_floor(url: str, n: int = 2000) -> float:
    """Median seconds of `SELECT 1` on one pooled connection."""
    from sqlalchemy import text

    from megawatt.ops import db

    engine = db.make_engine(url)
    times = []
    try:
        with engine.connect() as c:
            for _ in range(n):
                t = time.perf_counter()
                c.execute(text("SELECT 1")).scalar()
                times.append(time.perf_counter() - t)
    finally:
        engine.dispose()
    return statistics.median(times)


def verify_caps(url: str) -> tuple[int, int]:
    """Every cap against the total allocated under it at every effective time, from
    the raw ledger rows; returns (caps checked, caps exceeded)."""
    from sqlalchemy import select

    from megawatt.ops import db
    from megawatt.ops.models import Cap, LedgerEntry, Site

    engine = db.make_engine(url)
    try:
        with db.transaction(db.session_factory(engine)) as s:
            where = {
                sid: (zone, plant)
                for sid, zone, plant in s.execute(select(Site.id, Site.zone, Site.plant))
            }
            rows = s.execute(
                select(LedgerEntry.site_id, LedgerEntry.effective_from, LedgerEntry.delta_kw)
            ).all()
            caps = s.scalars(select(Cap)).all()
            deltas: dict[tuple[str, str], dict[dt.datetime, int]] = defaultdict(
                lambda: defaultdict(int)
            )
            for sid, when, delta in rows:
                zone, plant = where[sid]
                for key in (("program", "program"), ("zone", zone), ("plant", plant)):
                    deltas[key][when] += delta
            exceeded = 0
            for cap in caps:
                total = 0
                for when in sorted(deltas[(cap.scope, cap.name)]):
                    total += deltas[(cap.scope, cap.name)][when]
                    if total > cap.cap_kw:
                        exceeded += 1
                        break
            return len(caps), exceeded
    finally:
        engine.dispose()


# -- (a) contention ----------------------------------------------------------------------
def _effective(i: int) -> dt.datetime:
    """Effective times spread over a year so that caps are checked at many times."""
    return T0 + dt.timedelta(days=30 * (i % 12))


def contention_service(
    url: str, sites: list[int], threads: int, seconds: float, mw: Decimal
) -> dict[str, float]:
    from megawatt.ops import db, ledger
    from megawatt.ops.problems import Problem

    engine = db.make_engine(url)
    factory = db.session_factory(engine)
    counts: dict[str, float] = defaultdict(int)
    lock = threading.Lock()
    start = time.perf_counter()
    stop = start + seconds

    def work(k: int) -> None:
        mine: dict[str, float] = defaultdict(int)
        i = k
        with factory() as session:  # each thread its own session
            while time.perf_counter() < stop:
                i += threads
                try:
                    with session.begin():
                        ledger.append(
                            session,
                            site_id=sites[i % len(sites)],
                            kind="grant",
                            effective_from=_effective(i),
                            mw=mw,
                            reason="bench",
                            actor="authority:bench",
                        )
                    mine["ok"] += 1
                    mine["last"] = max(mine["last"], time.perf_counter() - start)  # type: ignore[call-overload]
                except Problem as exc:
                    mine[str(exc.status)] += 1
                except Exception:  # counted, the run goes on
                    mine["error"] += 1
        with lock:
            for key, v in mine.items():
                if key == "last":
                    counts[key] = max(counts[key], v)
                else:
                    counts[key] += v

    t = time.perf_counter()
    pool = [threading.Thread(target=work, args=(k,), daemon=True) for k in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    elapsed = time.perf_counter() - t
    engine.dispose()
    return {
        "ok": counts["ok"],
        "409": counts["409"],
        "other": sum(v for k, v in counts.items() if k not in ("ok", "409", "last")),
        "others": {k: v for k, v in counts.items() if k not in ("ok", "409", "last")},
        "s": elapsed,
        "fill": counts["last"],
    }


def contention_http(
    base: str, headers: dict[str, str], sites: list[int], threads: int, seconds: float, mw: Decimal
) -> dict[str, float]:
    import httpx

    counts: dict[str, float] = defaultdict(int)
    lock = threading.Lock()
    start = time.perf_counter()
    stop = start + seconds

    def work(k: int) -> None:
        mine: dict[str, float] = defaultdict(int)
        i = k
        with httpx.Client(base_url=base, headers=headers, timeout=120) as http:
            while time.perf_counter() < stop:
                i += threads
                r = http.post(
                    "/ledger",
                    json={
                        "site_id": sites[i % len(sites)],
                        "kind": "grant",
                        "effective_from": _effective(i).isoformat(),
                        "mw": str(mw),
                        "reason": "bench",
                    },
                )
                mine["ok" if r.status_code == 201 else str(r.status_code)] += 1
                if r.status_code == 201:
                    mine["last"] = max(mine["last"], time.perf_counter() - start)  # type: ignore[call-overload]
        with lock:
            for key, v in mine.items():
                if key == "last":
                    counts[key] = max(counts[key], v)
                else:
                    counts[key] += v

    t = time.perf_counter()
    pool = [threading.Thread(target=work, args=(k,), daemon=True) for k in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    elapsed = time.perf_counter() - t
    return {
        "ok": counts["ok"],
        "409": counts["409"],
        "other": sum(v for k, v in counts.items() if k not in ("ok", "409", "last")),
        "others": {k: v for k, v in counts.items() if k not in ("ok", "409", "last")},
        "s": elapsed,
        "fill": counts["last"],
    }


# -- (b) latency -------------------------------------------------------------------------
async def _load(
    base: str, headers: dict[str, str], clients: int, seconds: float, make
) -> dict[str, float]:  # type: ignore[no-untyped-def]
    import httpx

    latencies: list[float] = []
    statuses: dict[int, int] = defaultdict(int)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(
        base_url=base, headers=headers, timeout=120, limits=limits
    ) as http:
        stop = time.perf_counter() + seconds

        async def one(k: int) -> None:
            i = k
            while time.perf_counter() < stop:
                i += clients
                method, path, kwargs = make(i)
                t = time.perf_counter()
                try:
                    r = await http.request(method, path, **kwargs)
                    statuses[r.status_code] += 1
                except httpx.HTTPError:
                    statuses[0] += 1
                    continue
                latencies.append(time.perf_counter() - t)

        t = time.perf_counter()
        await asyncio.gather(*(one(k) for k in range(clients)))
        elapsed = time.perf_counter() - t
    ok = sum(v for k, v in statuses.items() if 200 <= k < 300)
    return {
        "n": len(latencies),
        "ok": ok,
        "bad": sum(statuses.values()) - ok,
        "others": {k: v for k, v in statuses.items() if not 200 <= k < 300},
        "rps": len(latencies) / elapsed,
        "p50": _pct(latencies, 0.50),
        "p99": _pct(latencies, 0.99),
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Serve:
    """`megawatt serve` in a subprocess on a free loopback port."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Serve:
        import httpx

        cmd = [sys.executable, "-c", "from megawatt.cli import main; main()", "serve"]
        cmd += ["--db", self.url, "--port", str(self.port)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                httpx.get(f"{self.base}/openapi.json", timeout=1)
                return self
            except httpx.HTTPError:
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"megawatt serve exited with {self.proc.returncode}"
                    ) from None
                time.sleep(0.2)
        raise RuntimeError("megawatt serve did not start")

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def token(self, secret: str) -> dict[str, str]:
        import httpx

        r = httpx.post(
            f"{self.base}/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "bench",
                "client_secret": secret,
            },
        )
        r.raise_for_status()
        return {"Authorization": f"Bearer {r.json()['access_token']}"}


def run_backend(label: str, url: str, args: argparse.Namespace) -> dict[str, object]:
    print(f"[{label}] setting up {url.split('@')[-1]}", flush=True)
    world = setup(url, Decimal(args.cap_mw))
    sites: dict[str, list[int]] = world["sites"]  # type: ignore[assignment]
    mw = Decimal(args.grant_mw)
    out: dict[str, object] = {"floor": select1_floor(url)}
    print(f"[{label}] (a) ledger.append, {args.threads} threads", flush=True)
    out["service"] = contention_service(url, sites[CONTENDED], args.threads, args.seconds, mw)
    with Serve(url) as srv:
        headers = srv.token(str(world["secret"]))
        print(f"[{label}] (a) POST /ledger, {args.threads} threads", flush=True)
        out["http"] = contention_http(
            srv.base, headers, sites[HTTP_PLANT], args.threads, args.seconds, mw
        )
        lat = sites[LATENCY_PLANT]

        def read(i: int) -> tuple[str, str, dict[str, object]]:
            return "GET", "/allocations", {}

        def write(i: int) -> tuple[str, str, dict[str, object]]:
            body = {
                "site_id": lat[i % len(lat)],
                "kind": "grant",
                "effective_from": _effective(i).isoformat(),
                "mw": "0.001",
                "reason": "bench",
            }
            return "POST", "/ledger", {"json": body}

        serial = min(args.seconds, 3.0)
        for key, make, clients, seconds in (
            ("read1", read, 1, serial),
            ("write1", write, 1, serial),
            ("read", read, args.clients, args.seconds),
            ("write", write, args.clients, args.seconds),
        ):
            print(f"[{label}] (b) {key.rstrip('1')}, {clients} client(s)", flush=True)
            out[key] = asyncio.run(_load(srv.base, headers, clients, seconds, make))
    out["caps"] = verify_caps(url)
    return out


def main() -> None:
    # SIGTERM unwinds like Ctrl-C, so the fresh database is dropped and serve stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", help="database URL (default: a fresh PostgreSQL database)")
    p.add_argument("--admin", default=PG_ADMIN, help="PostgreSQL URL used to create the fresh db")
    p.add_argument("--clients", type=int, default=200, help="concurrent API clients in (b)")
    p.add_argument("--threads", type=int, default=32, help="granting threads in (a)")
    p.add_argument("--seconds", type=float, default=20, help="duration of each phase")
    p.add_argument("--cap-mw", default="20", help="the contended plant cap (MW)")
    p.add_argument("--grant-mw", default="0.1", help="MW per grant in (a)")
    p.add_argument("--no-sqlite", action="store_true", help="skip the SQLite peer")
    args = p.parse_args()

    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )
    print(
        f"{args.threads} granting threads, {args.clients} API clients, {args.seconds:g} s a phase, "
        f"plant cap {args.cap_mw} MW, grants of {args.grant_mw} MW"
    )
    results: dict[str, dict[str, object]] = {}
    if args.db:
        results["main"] = run_backend("db", args.db, args)
    else:
        with FreshPostgres(args.admin) as url:
            results["postgresql"] = run_backend("postgresql", url, args)
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            results["sqlite"] = run_backend("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", args)
    print_table(results)


def print_table(results: dict[str, dict[str, object]]) -> None:
    names = list(results)
    w = 14
    print()
    print(f"{'':48}" + "".join(f"{n:>{w}}" for n in names))

    def row(label: str, values: list[str]) -> None:
        print(f"{label:48}" + "".join(f"{v:>{w}}" for v in values))

    for key, title in (("service", "ledger.append"), ("http", "POST /ledger (threads)")):
        r = [results[n][key] for n in names]  # type: ignore[index]
        row(
            f"(a) {title}: grants/s",
            [f"{x['ok'] / x['fill']:.0f}" if x["fill"] else "-" for x in r],  # type: ignore[index]
        )
        row("    last grant at (s; cap full if 409s)", [f"{x['fill']:.2f}" for x in r])  # type: ignore[index]
        row("    decisions/s (grant or 409)", [f"{(x['ok'] + x['409']) / x['s']:.0f}" for x in r])  # type: ignore[index]
        row("    granted / 409 / other", [f"{x['ok']}/{x['409']}/{x['other']}" for x in r])  # type: ignore[index]
    row(
        "(a) caps exceeded at any time (of checked)",
        [f"{results[n]['caps'][1]} of {results[n]['caps'][0]}" for n in names],
    )  # type: ignore[index]
    row("SELECT 1 round trip p50 (ms)", [f"{results[n]['floor'] * 1e3:.3f}" for n in names])  # type: ignore[operator]
    for key, title in (
        ("read1", "GET /allocations, 1 client"),
        ("write1", "POST /ledger, 1 client"),
        ("read", "GET /allocations"),
        ("write", "POST /ledger"),
    ):
        r = [results[n][key] for n in names]  # type: ignore[index]
        row(f"(b) {title}: req/s", [f"{x['rps']:.0f}" for x in r])  # type: ignore[index]
        row("    p50 (ms)", [f"{x['p50'] * 1e3:.1f}" for x in r])  # type: ignore[index]
        row("    p99 (ms)", [f"{x['p99'] * 1e3:.1f}" for x in r])  # type: ignore[index]
        row("    2xx / other", [f"{x['ok']}/{x['bad']}" for x in r])  # type: ignore[index]
        row(
            "    p50 / SELECT 1",
            [f"{x['p50'] / results[n]['floor']:.0f}x" for x, n in zip(r, names, strict=True)],
        )  # type: ignore[index,operator]
    for n in names:
        for key in ("service", "http", "read1", "write1", "read", "write"):
            others = results[n][key]["others"]  # type: ignore[index]
            if others:
                print(f"{n} {key}: non-success statuses {others} (0 = transport error)")
    if "sqlite" in results and len(names) > 1:
        first = names[0]
        print()
        for key, title in (("read", "GET /allocations"), ("write", "POST /ledger")):
            a, b = results[first][key], results["sqlite"][key]  # type: ignore[index]
            print(
                f"{first}/sqlite {title}: p50 {a['p50'] / b['p50']:.2f}x, "  # type: ignore[index]
                f"p99 {a['p99'] / b['p99']:.2f}x, req/s {a['rps'] / b['rps']:.2f}x"  # type: ignore[index]
            )
        for key, title in (("service", "ledger.append"), ("http", "POST /ledger")):
            a, b = results[first][key], results["sqlite"][key]  # type: ignore[index]
            ra = a["ok"] / a["fill"] if a["fill"] else 0  # type: ignore[index]
            rb = b["ok"] / b["fill"] if b["fill"] else 0  # type: ignore[index]
            print(f"{first}/sqlite (a) {title} grants/s: {ra / rb:.2f}x" if rb else "")


if __name__ == "__main__":
    main()
