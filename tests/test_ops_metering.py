"""Interval metering: bulk ingest (JSON, CSV, CLI), replay, corrections, gaps, on
SQLite and PostgreSQL (the PostgreSQL bulk path is COPY into a staging table)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from megawatt.cli import app as cli
from megawatt.ops import db, metering
from megawatt.ops.models import Reading
from opsdb import add_client, client, db_url, migrated, new_site, token  # noqa: F401  (fixtures)

T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def world(http: Any, serials: tuple[str, ...] = ("M-1",), name: str = "s1") -> dict[str, Any]:
    op, site = new_site(http, name, licensed=False)
    meters = {}
    for serial in serials:
        r = http.post("/meters", json={"site_id": site, "serial": serial})
        assert r.status_code == 201, r.text
        meters[serial] = r.json()["id"]
    return {"operator": op, "site": site, "meters": meters}


def batch(
    serial: str, n: int, start: dt.datetime = T0, version: int = 1, kwh: str = "250.5"
) -> list[dict[str, Any]]:
    return [
        {
            "meter": serial,
            "interval_start": (start + dt.timedelta(minutes=15 * i)).isoformat(),
            "minutes": 15,
            "kwh": kwh,
            "quality": "measured",
            "version": version,
        }
        for i in range(n)
    ]


def stored(url: str) -> list[tuple[int, dt.datetime, int, Decimal | None, str]]:
    from sqlalchemy import select

    engine = db.make_engine(url)
    try:
        with db.transaction(db.session_factory(engine)) as s:
            rows = s.scalars(
                select(Reading).order_by(Reading.meter_id, Reading.interval_start, Reading.version)
            )
            return [(r.meter_id, r.interval_start, r.version, r.kwh, r.quality) for r in rows]
    finally:
        engine.dispose()


def test_ingest_is_idempotent_and_corrections_keep_both(client: Any, migrated: str) -> None:  # noqa: F811
    world(client)
    body = {"readings": batch("M-1", 96)}
    first = client.post("/readings", json=body)
    assert first.status_code == 200, first.text
    assert first.json() | {"audit_id": 0} == {
        "received": 96,
        "inserted": 96,
        "unchanged": 0,
        "superseded": 0,
        "audit_id": 0,
    }
    before = stored(migrated)
    again = client.post("/readings", json=body)
    assert again.json()["inserted"] == 0 and again.json()["unchanged"] == 96
    assert stored(migrated) == before
    # The same key with another value is refused: a change must be a new version.
    changed = batch("M-1", 1, kwh="1")
    r = client.post("/readings", json={"readings": changed})
    assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["field"] == "readings[0].version"
    # A correction (version 2) supersedes; both versions stay.
    fix = batch("M-1", 1, version=2, kwh="240.000001")
    r = client.post("/readings", json={"readings": fix})
    assert r.json()["superseded"] == 1 and r.json()["inserted"] == 1
    rows = stored(migrated)
    assert len(rows) == 97
    assert [x[2:4] for x in rows if x[1] == T0] == [
        (1, Decimal("250.5")),
        (2, Decimal("240.000001")),
    ]
    current = client.get(
        "/readings",
        params={"start": T0.isoformat(), "end": (T0 + dt.timedelta(hours=1)).isoformat()},
    ).json()
    assert [(x["version"], x["kwh"]) for x in current] == [(2, "240.000001")] + [
        (1, "250.500000")
    ] * 3
    every = client.get(
        "/readings",
        params={
            "start": T0.isoformat(),
            "end": (T0 + dt.timedelta(minutes=15)).isoformat(),
            "versions": "all",
        },
    ).json()
    assert [x["version"] for x in every] == [1, 2]
    # The audit entry of the correction names the old and the new value.
    audit = client.get("/audit", params={"entity": "readings"}).json()
    assert len(audit) == 3
    correction = audit[-1]["after"]["corrections"]
    assert correction == [
        {
            "meter": "M-1",
            "interval_start": T0.isoformat(),
            "version": 2,
            "kwh": "240.000001",
            "quality": "measured",
            "supersedes": [{"version": 1, "kwh": "250.500000", "quality": "measured"}],
        }
    ]


def test_gaps_are_listed_not_filled(client: Any, migrated: str) -> None:  # noqa: F811
    world(client)
    rows = batch("M-1", 8)
    del rows[2:4]  # 00:30 and 00:45 never arrive
    rows[3] = {**rows[3], "kwh": None, "quality": "missing"}  # 01:15 missing
    assert client.post("/readings", json={"readings": rows}).status_code == 200
    meter = client.get("/meters").json()[0]["id"]
    end = T0 + dt.timedelta(hours=3)
    gaps = client.get(
        f"/meters/{meter}/gaps", params={"start": T0.isoformat(), "end": end.isoformat()}
    ).json()
    assert gaps == [
        {"start": "2026-03-01T00:30:00Z", "end": "2026-03-01T01:00:00Z", "reason": "no reading"},
        {"start": "2026-03-01T01:15:00Z", "end": "2026-03-01T01:30:00Z", "reason": "missing"},
        {"start": "2026-03-01T02:00:00Z", "end": "2026-03-01T03:00:00Z", "reason": "no reading"},
    ]
    # Nothing was filled: 6 rows stored, the missing one without kWh.
    assert [x[3] for x in stored(migrated)].count(None) == 1 and len(stored(migrated)) == 6


def test_csv_errors_name_row_and_column(client: Any, migrated: str) -> None:  # noqa: F811
    world(client)
    good = (
        "meter,interval_start,minutes,kwh,quality,version\n"
        "M-1,2026-03-01T00:00:00Z,15,1.5,measured,1\n"
    )
    r = client.post("/readings", content=good, headers={"Content-Type": "text/csv"})
    assert r.status_code == 200 and r.json()["inserted"] == 1
    cases = {
        "M-1,2026-03-01T00:15:00Z,15,abc,measured,1": ("kwh", 3),
        "M-1,2026-03-01T00:20:00Z,15,1,measured,1": ("interval_start", 3),
        "M-1,2026-03-01T00:15:00,15,1,measured,1": ("interval_start", 3),
        "M-1,2026-03-01T00:15:00Z,7,1,measured,1": ("minutes", 3),
        "M-1,2026-03-01T00:15:00Z,15,1,guessed,1": ("quality", 3),
        "M-1,2026-03-01T00:15:00Z,15,,measured,1": ("kwh", 3),
        "M-1,2026-03-01T00:15:00Z,15,-1,measured,1": ("kwh", 3),
        "M-1,2026-03-01T00:15:00Z,15,1.0000001,measured,1": ("kwh", 3),
        "M-1,2026-03-01T00:15:00Z,15,1,measured,0": ("version", 3),
    }
    for line, (column, row) in cases.items():
        text = good + line + "\n"
        r = client.post("/readings", content=text, headers={"Content-Type": "text/csv"})
        assert r.status_code == 422, (line, r.text)
        body = r.json()
        assert (body["row"], body["column"], body["file"]) == (row, column, "body"), line
        assert body["errors"][0]["field"] == f"body: row {row}, column {column}"
    r = client.post(
        "/readings",
        content=good + "NOPE,2026-03-01T00:15:00Z,15,1,measured,1\n",
        headers={"Content-Type": "text/csv"},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body: row 3, column meter"
    r = client.post(
        "/readings", json={"readings": [{"meter": "M-1", "interval_start": "x", "kwh": "1"}]}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "readings[0].interval_start"
    r = client.post(
        "/readings",
        json={"readings": [{"meter": "M-1", "interval_start": T0.isoformat(), "kwh": 1.5}]},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "readings[0].kwh"
    # Nothing of a refused batch was stored.
    assert len(stored(migrated)) == 1


def test_a_site_sends_only_its_own_meters(client: Any, migrated: str) -> None:  # noqa: F811
    a = world(client, ("A-1",), "site-a")
    world(client, ("B-1",), "site-b")
    h = token(client, "site-a", add_client(migrated, "site-a", "site", site_id=a["site"]))
    assert (
        client.post("/readings", json={"readings": batch("A-1", 4)}, headers=h).status_code == 200
    )
    r = client.post("/readings", json={"readings": batch("B-1", 4)}, headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "readings[0].meter"
    seen = client.get(
        "/readings",
        params={"start": T0.isoformat(), "end": (T0 + dt.timedelta(days=1)).isoformat()},
        headers=h,
    ).json()
    assert {x["serial"] for x in seen} == {"A-1"}
    ho = token(client, "op-a", add_client(migrated, "op-a", "operator", operator_id=a["operator"]))
    assert (
        client.post("/readings", json={"readings": batch("A-1", 4)}, headers=ho).status_code == 403
    )


def test_cli_ingest_bulk_and_replay(client: Any, migrated: str, tmp_path: Path) -> None:  # noqa: F811
    """A month of two meters through the bulk path (COPY on PostgreSQL), CSV and JSON,
    replayed: the stored readings equal the source exactly."""
    world(client, ("C-1", "C-2"))
    rows = batch("C-1", 2976) + batch("C-2", 2976, kwh="0.000001")
    rows[10] = {**rows[10], "quality": "estimated", "kwh": "12.345678"}
    rows[11] = {**rows[11], "quality": "missing", "kwh": None}
    csv_path = tmp_path / "readings.csv"
    lines = ["meter,interval_start,minutes,kwh,quality,version"]
    lines += [
        ",".join("" if r[k] is None else str(r[k]) for k in metering.COLUMNS) for r in rows[:3000]
    ]
    csv_path.write_text("\n".join(lines) + "\n")
    json_path = tmp_path / "readings.json"
    json_path.write_text(json.dumps({"readings": rows[3000:]}))
    runner = CliRunner()
    for path in (csv_path, json_path, csv_path, json_path):
        done = runner.invoke(cli, ["ops", "--db", migrated, "ingest", str(path)])
        assert done.exit_code == 0, done.output
    assert "0 new" in done.output
    got = stored(migrated)
    assert len(got) == len(rows)
    ids = dict(zip(("C-1", "C-2"), sorted({g[0] for g in got}), strict=True))
    want = sorted(
        (
            ids[r["meter"]],
            dt.datetime.fromisoformat(r["interval_start"]),
            1,
            None if r["kwh"] is None else Decimal(r["kwh"]),
            r["quality"],
        )
        for r in rows
    )
    assert got == want
    bad = tmp_path / "bad.csv"
    bad.write_text("meter,interval_start,kwh\nC-1,2026-03-01T00:00:00Z,oops\n")
    done = runner.invoke(cli, ["ops", "--db", migrated, "ingest", str(bad)])
    assert done.exit_code == 2 and "row 2, column kwh" in done.output


def test_an_oversized_batch_is_413_and_stores_nothing(client, monkeypatch) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """A batch above the limit is refused before it is parsed (413 problem+json)."""
    from megawatt.ops import app as app_module

    monkeypatch.setattr(app_module, "MAX_INGEST_BYTES", 100)
    body = (
        "meter,interval_start,minutes,kwh,quality,version\\n"
        + "m,2026-01-01T00:00:00Z,15,1,measured,1\\n" * 10
    )
    r = client.post("/readings", content=body, headers={"Content-Type": "text/csv"})
    assert r.status_code == 413, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["field"] == "body"


def test_a_meter_keeps_one_interval_length(client: Any, migrated: str) -> None:  # noqa: F811
    """A 60-minute reading at 00:00 and 15-minute ones at 00:15..00:45 would count the
    same energy twice: the second length is refused (422 naming the row's minutes),
    in a later batch and within one batch; nothing is stored by the refused batch."""
    world(client)
    hour = {**batch("M-1", 1)[0], "minutes": 60, "kwh": "1000"}
    assert client.post("/readings", json={"readings": [hour]}).status_code == 200
    later = batch("M-1", 3, start=T0 + dt.timedelta(minutes=15))
    r = client.post("/readings", json={"readings": later})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"].endswith(".minutes") and "60-minute" in r.json()["detail"]
    world(client, ("M-2",), name="s2")
    mixed = [
        *batch("M-2", 2),
        {**batch("M-2", 1, start=T0 + dt.timedelta(hours=1))[0], "minutes": 60},
    ]
    assert client.post("/readings", json={"readings": mixed}).status_code == 422
    assert len(stored(migrated)) == 1


def test_the_three_merge_paths_count_exactly(client: Any, migrated: str) -> None:  # noqa: F811
    """The merge takes one of three paths (docs/operations.md, "Interval readings"):
    a first load (nothing stored at any staged interval; a row repeated with the same
    values inside the batch counts once), a pure replay (every key stored: nothing
    written), and a mixed batch (a replayed reading, a correction and a new interval:
    only the new keys are written, the correction is named)."""
    world(client)
    first = batch("M-1", 4)
    r = client.post("/readings", json={"readings": [*first, first[0]]})
    assert r.status_code == 200, r.text
    assert (r.json()["inserted"], r.json()["unchanged"], r.json()["superseded"]) == (4, 1, 0)
    before = stored(migrated)
    r = client.post("/readings", json={"readings": first})
    assert (r.json()["inserted"], r.json()["unchanged"], r.json()["superseded"]) == (0, 4, 0)
    assert stored(migrated) == before
    mixed = [
        first[1],  # stored as is
        *batch("M-1", 1, start=T0 + dt.timedelta(minutes=30), version=3, kwh="7"),  # corrects
        *batch("M-1", 2, start=T0 + dt.timedelta(hours=1), kwh="1.25"),  # new intervals
    ]
    r = client.post("/readings", json={"readings": mixed})
    assert (r.json()["inserted"], r.json()["unchanged"], r.json()["superseded"]) == (3, 1, 1)
    rows = stored(migrated)
    assert len(rows) == 7
    assert sum(x[3] for x in rows if x[3] is not None) == Decimal("250.5") * 4 + 7 + Decimal("2.5")
    # The replay of the mixed batch: nothing more.
    r = client.post("/readings", json={"readings": mixed})
    assert (r.json()["inserted"], r.json()["unchanged"], r.json()["superseded"]) == (0, 4, 0)
    assert stored(migrated) == rows


def test_a_reading_names_a_meter_that_exists(client: Any, migrated: str) -> None:  # noqa: F811
    """The reading -> meter reference holds for any writer, not only the ingest: on
    SQLite by the foreign key, on PostgreSQL by the statement trigger of migration
    0008 (the bulk merge checks each meter once, not each row): an unknown meter fails
    the INSERT, a meter with readings cannot be deleted or renumbered, one without can
    be deleted."""
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    w = world(client, ("M-1", "M-2"))
    r = client.post("/readings", json={"readings": batch("M-1", 2)})
    assert r.status_code == 200, r.text
    m1, m2 = w["meters"]["M-1"], w["meters"]["M-2"]
    engine = db.make_engine(migrated)
    insert = text(
        "INSERT INTO readings (meter_id, interval_start, version, minutes, kwh, quality, "
        "recorded_at, recorded_by) VALUES (:m, :t, 1, 15, 1, 'measured', :t, 'test')"
    )
    try:
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(insert, {"m": m2 + 1000, "t": T0})
        for statement in (
            "DELETE FROM meters WHERE id = :m",
            "UPDATE meters SET id = 999 WHERE id = :m",
        ):
            with pytest.raises(IntegrityError), engine.begin() as conn:
                conn.execute(text(statement), {"m": m1})
        with engine.begin() as conn:
            conn.execute(insert, {"m": m2, "t": T0})  # a known meter: stored
            conn.execute(text("UPDATE meters SET serial = 'M-1b' WHERE id = :m"), {"m": m1})
        with engine.begin() as conn:
            conn.execute(
                text("INSERT INTO meters (site_id, serial, created_at) VALUES (:s, 'M-3', :t)"),
                {"s": w["site"], "t": T0},
            )
            conn.execute(text("DELETE FROM meters WHERE serial = 'M-3'"))
    finally:
        engine.dispose()
    assert len(stored(migrated)) == 3
