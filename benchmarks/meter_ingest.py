"""Benchmark: bulk ingest of interval readings, its replay, and a monthly invoice run.

--meters meters (one site each) x --days days of 15-minute readings (default 10 x 365 =
350,400 readings) as one CSV batch, on SQLite (a file) and PostgreSQL (a fresh database
on 127.0.0.1:5432, dropped at the end):

* parse: the CSV text to checked rows (megawatt.ops.metering.parse_csv);
* ingest: megawatt.ops.metering.ingest in one transaction (PostgreSQL: binary COPY
  into a staging table, one pass against the stored readings, then a plain INSERT ...
  SELECT on a first load; SQLite: executemany into a staging table and the same
  queries; docs/operations.md, "Interval readings", bulk path);
* replay: the same batch again (every reading already stored: nothing inserted);
* the named peer, "naive": the same readings inserted one INSERT statement per row
  through SQLAlchemy (one transaction), on the first --naive-rows readings, as a rate;
* invoices: one invoice per site for one local month (the first full one).

Run:  python benchmarks/meter_ingest.py [--meters 10] [--days 365] [--naive-rows 20000]
      [--only sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
import tempfile
import time
import uuid
from pathlib import Path

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
T0 = dt.datetime(2025, 12, 31, 19, 0, tzinfo=dt.UTC)  # 2026-01-01 00:00 PKT


def make_csv(meters: int, days: int) -> str:
    lines = ["meter,interval_start,minutes,kwh,quality,version"]
    per_day = 96
    for m in range(meters):
        for i in range(days * per_day):
            start = T0 + dt.timedelta(minutes=15 * i)
            kwh = f"{2500 + (i * 37 + m * 11) % 500}.{(i * 7919) % 1_000_000:06d}"
            lines.append(f"BM-{m},{start.strftime('%Y-%m-%dT%H:%M:%SZ')},15,{kwh},measured,1")
    return "\n".join(lines) + "\n"


def setup(url: str, meters: int) -> None:
    from megawatt.ops import db
    from megawatt.ops.models import Contract, Meter, Operator, Site

    db.migrate(url)
    engine = db.make_engine(url)
    try:
        with db.transaction(db.session_factory(engine)) as s:
            op = Operator(name="bench")
            s.add(op)
            s.flush()
            for m in range(meters):
                site = Site(operator_id=op.id, name=f"bench-{m}", kind="btc_miner", zone="North")
                s.add(site)
                s.flush()
                s.add(Meter(site_id=site.id, serial=f"BM-{m}"))
                s.add(
                    Contract(
                        site_id=site.id,
                        tariff_scheme="time_of_use",
                        tariff_local_per_kwh=20,
                        tou_periods=[
                            {"name": "peak", "hours": [18, 19, 20, 21], "local_per_kwh": "30"}
                        ],
                        firm_share=0,
                        firm_service_level=0,
                        notice_minutes=30,
                        ramp_minutes=10,
                        penalty_local_per_mwh=0,
                        start=dt.date(2026, 1, 1),
                        term_months=36,
                        review_months=6,
                        tax_rate="0.18",
                    )
                )
    finally:
        engine.dispose()


def run(url: str, label: str, text: str, meters: int, naive_rows: int) -> dict[str, float]:
    from sqlalchemy import insert, select

    from megawatt.ops import db, invoicing, metering
    from megawatt.ops.models import Meter, Reading, Site

    setup(url, meters)
    engine = db.make_engine(url)
    factory = db.session_factory(engine)
    out: dict[str, float] = {}
    try:
        t = time.perf_counter()
        rows = metering.parse_csv(text, "bench.csv")
        out["parse_s"] = time.perf_counter() - t
        out["rows"] = len(rows)
        t = time.perf_counter()
        with db.transaction(factory) as s:
            done = metering.ingest(s, rows, "bench")
        out["ingest_s"] = time.perf_counter() - t
        assert done["inserted"] == len(rows), done
        t = time.perf_counter()
        with db.transaction(factory) as s:
            again = metering.ingest(s, rows, "bench")
        out["replay_s"] = time.perf_counter() - t
        assert again["inserted"] == 0 and again["unchanged"] == len(rows), again
        # Invoices: every site, January 2026 (local).
        with db.transaction(factory) as s:
            sites = list(s.scalars(select(Site.id).order_by(Site.id)))
        t = time.perf_counter()
        now = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
        with db.transaction(factory) as s:
            for site in sites:
                invoicing.issue(s, site, "2026-01", "bench", now=now)
        out["invoices_s"] = time.perf_counter() - t
        out["invoices"] = len(sites)
        # The peer: one INSERT per row (version 2 rows, so nothing collides).
        with db.transaction(factory) as s:
            ids = dict(s.execute(select(Meter.serial, Meter.id)).all())
        sample = rows[:naive_rows]
        t = time.perf_counter()
        with db.transaction(factory) as s:
            conn = s.connection()
            for r in sample:
                conn.execute(
                    insert(Reading).values(
                        meter_id=ids[r.meter],
                        interval_start=r.start,
                        version=2,
                        minutes=r.minutes,
                        kwh=r.kwh,
                        quality=r.quality,
                        recorded_at=dt.datetime.now(dt.UTC),
                        recorded_by="naive",
                    )
                )
        out["naive_s"] = time.perf_counter() - t
        out["naive_rows"] = len(sample)
    finally:
        engine.dispose()
    print(f"{label}: done", file=sys.stderr)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--meters", type=int, default=10)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--naive-rows", type=int, default=20000)
    ap.add_argument("--only", choices=["sqlite", "postgresql"])
    ap.add_argument("--pg-admin", default=PG_ADMIN)
    args = ap.parse_args()

    text = make_csv(args.meters, args.days)
    results: dict[str, dict[str, float]] = {}
    if args.only != "postgresql":
        with tempfile.TemporaryDirectory() as tmp:
            results["SQLite"] = run(
                f"sqlite:///{Path(tmp) / 'bench.db'}", "SQLite", text, args.meters, args.naive_rows
            )
    if args.only != "sqlite":
        import psycopg
        from sqlalchemy.engine import make_url

        admin_url = make_url(args.pg_admin)
        conninfo = (
            f"host={admin_url.host} port={admin_url.port or 5432} dbname={admin_url.database}"
        )
        if admin_url.username:
            conninfo += f" user={admin_url.username}"
        name = f"megawatt_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(conninfo, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
            try:
                url = admin_url.set(database=name).render_as_string(hide_password=False)
                results["PostgreSQL"] = run(url, "PostgreSQL", text, args.meters, args.naive_rows)
            finally:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    print(
        f"# meter ingest: {args.meters} meters x {args.days} days x 96 = "
        f"{args.meters * args.days * 96:,} readings"
    )
    print(f"# {platform.platform()}, Python {platform.python_version()}")
    print(
        "| database | parse (rows/s) | ingest s | ingest rows/s | replay s | replay rows/s "
        "| naive rows/s (sample) | invoices (n, s) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for label, r in results.items():
        n = r["rows"]
        print(
            f"| {label} | {n / r['parse_s']:,.0f} | {r['ingest_s']:.2f} | "
            f"{n / r['ingest_s']:,.0f} | "
            f"{r['replay_s']:.2f} | {n / r['replay_s']:,.0f} | "
            f"{r['naive_rows'] / r['naive_s']:,.0f} ({r['naive_rows']:,.0f}) | "
            f"{r['invoices']:.0f}, {r['invoices_s']:.2f} |"
        )
    if len(results) == 2:
        pg, lite = results["PostgreSQL"], results["SQLite"]
        print(
            "\ningest time SQLite executemany / PostgreSQL COPY: "
            f"{lite['ingest_s'] / pg['ingest_s']:.2f}"
        )
        for label, r in results.items():
            bulk = r["rows"] / r["ingest_s"]
            naive = r["naive_rows"] / r["naive_s"]
            print(f"{label}: bulk vs naive row-by-row INSERT: {bulk / naive:.1f}x")


if __name__ == "__main__":
    main()
