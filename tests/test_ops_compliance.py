"""Compliance per event (docs/operations.md, "Compliance per event"): a site that
complies, one late by one interval, one that ignores the event, one with missing data,
a late notice that shortens the compliance window, the firm-service-level floor, the
evidence, the monthly record, and penalties on the invoice; SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from megawatt.ops import db
from megawatt.ops.openadr.tables import OadrEvent, OadrReport
from opsdb import (  # noqa: F401  (fixtures)
    add_client,
    client,
    contracted_site,
    db_url,
    migrated,
    new_site,
    publish,
    token,
)

START = dt.datetime(2026, 6, 10, 12, 0, tzinfo=dt.UTC)  # 17:00 PKT
PUBLISHED = START - dt.timedelta(hours=1)


def site(http: Any, name: str, fsl: str = "0", **terms: Any) -> dict[str, Any]:
    """opsdb.contracted_site with notice 30 and ramp 15 minutes."""
    return contracted_site(http, name, fsl, notice_minutes=30, ramp_minutes=15, **terms)


def event(url: str, site_id: int, published: dt.datetime = PUBLISHED, limit_kw: int = 1000) -> int:
    """A one-hour event from START (two 30-minute intervals at ``limit_kw``), published
    at ``published``."""
    half = dt.timedelta(minutes=30)
    return publish(
        url,
        site_id,
        f"test-{site_id}-{published.isoformat()}",
        published,
        [(START, half, limit_kw), (START + half, half, limit_kw)],
    )


def readings(http: Any, serial: str, kwh: list[str | None], start: dt.datetime = START) -> None:
    rows = []
    for i, k in enumerate(kwh):
        if k == "absent":
            continue
        t = (start + dt.timedelta(minutes=15 * i)).isoformat()
        rows.append(
            {
                "meter": serial,
                "interval_start": t,
                "kwh": k,
                "quality": "missing" if k is None else "measured",
            }
        )
    r = http.post("/readings", json={"readings": rows})
    assert r.status_code == 200, r.text


def result(http: Any, event_id: int, **kw: Any) -> dict[str, Any]:
    r = http.get(f"/compliance/events/{event_id}", **kw)
    assert r.status_code == 200, r.text
    return r.json()


def summary(x: dict[str, Any]) -> tuple[Any, ...]:
    return (
        x["status"],
        x["compliance_intervals"],
        x["compliant_intervals"],
        x["flagged_intervals"],
        x["shortfall_kwh"],
        x["penalty_pkr"],
        x["performance_factor"],
    )


def test_the_four_cases(client: Any, migrated: str) -> None:  # noqa: F811
    """Limit 1000 kW = 250 kWh per 15 minutes; four compliance intervals 12:00-13:00 UTC
    (published 11:00, notice 30 + ramp 15 minutes: the window opens 11:45)."""
    cases = {
        "complies": ["200", "200", "200", "200"],
        "late-by-one": ["400", "250", "200", "200"],
        "ignores": ["800", "800", "800", "800"],
        "missing-data": ["200", None, "absent", "200"],
    }
    got = {}
    for name, kwh in cases.items():
        s = site(client, name)
        readings(client, s["serial"], kwh)
        got[name] = result(client, event(migrated, s["id"]))
    assert summary(got["complies"]) == ("compliant", 4, 4, 0, "0.000000", "0.00", "1.000000")
    # 150 kWh over in the first interval: 0.15 MWh x 1500 = 225.00; PF (250/400 + 3) / 4.
    assert summary(got["late-by-one"]) == (
        "non-compliant",
        4,
        3,
        0,
        "150.000000",
        "225.00",
        "0.906250",
    )
    # 4 x 550 kWh = 2.2 MWh x 1500 = 3300.00; PF 250/800.
    assert summary(got["ignores"]) == (
        "non-compliant",
        4,
        0,
        0,
        "2200.000000",
        "3300.00",
        "0.312500",
    )
    # Missing (sent as missing, or never sent) is flagged, never compliant, no penalty.
    assert summary(got["missing-data"]) == (
        "incomplete data",
        4,
        2,
        2,
        "0.000000",
        "0.00",
        "0.500000",
    )
    assert [i["quality"] for i in got["missing-data"]["intervals"]] == [
        "measured",
        "missing",
        "missing",
        "measured",
    ]
    first = got["late-by-one"]["intervals"][0]
    assert (first["start"], first["allowed_kw"], first["kwh"], first["metered_kw"]) == (
        "2026-06-10T12:00:00Z",
        "1000",
        "400.000000",
        "1600.000000",
    )
    assert got["complies"]["window_start"] == "2026-06-10T12:00:00Z"  # max(start, 11:45)
    assert got["complies"]["published_at"] == "2026-06-10T11:00:00Z"

    # The month's record: every event that ended in June (local), with totals.
    june = client.get("/compliance", params={"month": "2026-06"}).json()
    assert [(x["events"], x["compliant_events"], x["penalty_pkr"]) for x in june] == [
        (1, 1, "0.00"),
        (1, 0, "225.00"),
        (1, 0, "3300.00"),
        (1, 0, "0.00"),
    ]
    # The penalty is a line of June's invoice.
    late = june[1]["site_id"]
    inv = client.post("/invoices", json={"site_id": late, "month": "2026-06"}).json()
    lines = [(x["kind"], x["amount"]) for x in inv["lines"]]
    assert lines == [("energy", str(Decimal("1050") * 20) + ".00"), ("penalty", "225.00")]
    assert inv["total"] == "21225.00"


def test_late_notice_and_the_firm_floor(client: Any, migrated: str) -> None:  # noqa: F811
    """Published 11:30: the window opens 12:15, so 12:00 is not a compliance interval
    (the site could not have known). A firm service level of 0.5 of 4 MW = 2000 kW
    raises a 1000 kW limit to 2000 kW (500 kWh per interval)."""
    s = site(client, "late-notice")
    readings(client, s["serial"], ["900", "240", "240", "240"])
    r = result(client, event(migrated, s["id"], published=START - dt.timedelta(minutes=30)))
    assert r["window_start"] == "2026-06-10T12:15:00Z"
    assert summary(r) == ("compliant", 3, 3, 0, "0.000000", "0.00", "1.000000")
    f = site(client, "firm", fsl="0.5")
    readings(client, f["serial"], ["500", "500.000001", "100", "100"])
    r = result(client, event(migrated, f["id"]))
    assert [i["allowed_kw"] for i in r["intervals"]] == ["2000.000000"] * 4
    assert summary(r)[:5] == ("non-compliant", 4, 3, 0, "0.000001")


def test_evidence_and_scope(client: Any, migrated: str) -> None:  # noqa: F811
    a = site(client, "ev-a")
    b = site(client, "ev-b")
    readings(client, a["serial"], ["1", "1", "1", "1"])
    ea, eb = event(migrated, a["id"]), event(migrated, b["id"])
    engine = db.make_engine(migrated)
    try:
        with db.transaction(db.session_factory(engine)) as s:
            s.add(
                OadrReport(
                    event_id=ea,
                    program_id=s.get(OadrEvent, ea).program_id,
                    client_id="site-a",
                    site_id=a["id"],
                    client_name="ven-a",
                    body={"reportName": "usage"},
                )
            )
    finally:
        engine.dispose()
    evidence = result(client, ea)["evidence"]
    assert evidence["event_published_at"].startswith("2026-06-10T11:00:00")
    assert [x["client_name"] for x in evidence["reports"]] == ["ven-a"]
    assert evidence["webhook_deliveries"] == []  # no subscription: nothing was sent
    h = token(client, "c-ev-a", add_client(migrated, "c-ev-a", "site", site_id=a["id"]))
    assert client.get(f"/compliance/events/{ea}", headers=h).status_code == 200
    hidden = client.get(f"/compliance/events/{eb}", headers=h)
    assert (
        hidden.status_code == 404 and hidden.headers["content-type"] == "application/problem+json"
    )
    mine = client.get("/compliance", params={"month": "2026-06"}, headers=h).json()
    assert [x["site_id"] for x in mine] == [a["id"]]


def test_each_version_has_its_own_notice(client: Any, migrated: str) -> None:  # noqa: F811
    """The worked example of docs/settlement.md, "Which version's limit applies": an
    event 12:00-14:00 UTC published at 10:00 at 2000 kW throughout, changed at 12:30
    to 3000 kW for 12:30-13:00 (loosened) and 1000 kW for 13:00-14:00 (tightened);
    notice 30 + ramp 15 minutes. The loosening holds at once (12:30, 12:45: 750 kWh
    allowed), the tightening only from 12:30 + 45 min = 13:15 (13:00 still 500 kWh).
    Two intervals over: 12:15 by 100 kWh and 13:15 by 50 kWh: 0.15 MWh x 1500 =
    225.00 PKR. Under the old reading (publication = last change, 12:30) the window
    would have opened at 13:15 and the penalty been 75.00 PKR."""
    s = site(client, "versions")
    readings(client, s["serial"], ["500", "600", "700", "700", "400", "300", "250", "200"])
    half = dt.timedelta(minutes=30)
    key = f"test-versions-{s['id']}"

    def limits(kws: list[int]) -> list[tuple[dt.datetime, dt.timedelta, int]]:
        return [(START + k * half, half, kw) for k, kw in enumerate(kws)]

    ten = START - dt.timedelta(hours=2)
    eid = publish(migrated, s["id"], key, ten, limits([2000, 2000, 2000, 2000]))
    assert publish(migrated, s["id"], key, START + half, limits([2000, 3000, 1000, 1000])) == eid
    r = result(client, eid)
    assert [(i["start"][11:16], i["allowed_kw"], i["limit_version"]) for i in r["intervals"]] == [
        ("12:00", "2000", 1),
        ("12:15", "2000", 1),
        ("12:30", "3000", 2),
        ("12:45", "3000", 2),
        ("13:00", "2000", 1),
        ("13:15", "1000", 2),
        ("13:30", "1000", 2),
        ("13:45", "1000", 2),
    ]
    # PF: (6 + 500/600 + 250/300) / 8.
    assert summary(r) == ("non-compliant", 8, 6, 0, "150.000000", "225.00", "0.958333")
    assert (r["published_at"], r["versions"], r["window_start"]) == (
        "2026-06-10T10:00:00Z",
        2,
        "2026-06-10T12:00:00Z",
    )
    assert [
        (v["version"], v["published_at"][11:16], [x["kw"] for x in v["limits"]])
        for v in r["evidence"]["event_versions"]
    ] == [(1, "10:00", [2000] * 4), (2, "12:30", [2000, 3000, 1000, 1000])]
    # The same content published again restarts nothing (12:00 stays 2000 kW).
    publish(
        migrated, s["id"], key, START + dt.timedelta(minutes=40), limits([2000, 3000, 1000, 999])
    )
    again = result(client, eid)
    assert [i["allowed_kw"] for i in again["intervals"]][:6] == [
        "2000",
        "2000",
        "3000",
        "3000",
        "2000",
        "1000",
    ]
    # 13:30 and 13:45: 999 kW, a tightening published 12:40, in force from 13:25.
    assert [i["allowed_kw"] for i in again["intervals"]][6:] == ["999", "999"]


def test_events_before_versions_get_one_at_their_last_change(db_url: str) -> None:  # noqa: F811
    """Migration 0007 gives each existing event one version published at its
    ``modified_at`` (the publication the rule used until then: no result changes),
    and the versions are append-only."""
    import pytest
    from sqlalchemy import select, text
    from sqlalchemy.exc import DBAPIError

    from megawatt.ops.openadr.tables import OadrEventVersion

    db.migrate(db_url, "0006")
    engine = db.make_engine(db_url)
    body = (
        '{"eventName": "old", "intervalPeriod": {"start": "2026-06-10T12:00:00Z", '
        '"duration": "PT30M"}, "intervals": [{"id": 0, "payloads": [{"type": '
        '"IMPORT_CAPACITY_LIMIT", "values": [1000]}]}]}'
    )
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO oadr_programs (program_name, body, created_at, modified_at) "
                    "VALUES ('p', '{}', :c, :c)"
                ),
                {"c": dt.datetime(2026, 6, 1)},
            )
            conn.execute(
                text(
                    "INSERT INTO oadr_events (program_id, body, created_at, modified_at) "
                    "VALUES (1, :b, :c, :m)"
                ),
                {"b": body, "c": dt.datetime(2026, 6, 1), "m": dt.datetime(2026, 6, 10, 11)},
            )
        db.migrate(db_url)
        with db.transaction(db.session_factory(engine)) as s:
            (v,) = s.scalars(select(OadrEventVersion))
            assert (v.event_id, v.version, v.published_at) == (
                1,
                1,
                dt.datetime(2026, 6, 10, 11, tzinfo=dt.UTC),
            )
            assert v.limits == [["2026-06-10T12:00:00Z", 1800.0, 1000]]
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text("UPDATE oadr_event_versions SET version = 2"))
    finally:
        engine.dispose()


def test_the_billed_record_is_kept_and_reconciles(client: Any, migrated: str) -> None:  # noqa: F811
    """June's compliance record is stored with June's invoice (same transaction): its
    penalty equals the invoice's penalty lines to the paisa; a reading corrected after
    billing changes the event's computed result, not the stored record; once the
    invoice is credited the record is computed again, and the reissued invoice keeps
    the new one. Two events: late by one interval (225.00 PKR) and 0.333333 kWh over
    in one interval (0.333333 / 1000 x 1500 = 0.4999995 -> 0.50 PKR)."""
    s = site(client, "billed")
    readings(client, s["serial"], ["400", "250", "200", "200"])
    day2 = START + dt.timedelta(days=1)
    readings(client, s["serial"], ["250.333333", "250", "250", "250"], start=day2)
    first = event(migrated, s["id"])
    half = dt.timedelta(minutes=30)
    publish(
        migrated, s["id"], "billed-2", PUBLISHED, [(day2, half, 1000), (day2 + half, half, 1000)]
    )
    june = {"month": "2026-06", "site_id": s["id"]}
    (before,) = client.get("/compliance", params=june).json()
    assert (before["source"], before["penalty_pkr"], before["invoice_id"]) == (
        "computed",
        "225.50",
        None,
    )
    inv = client.post("/invoices", json={"site_id": s["id"], "month": "2026-06"}).json()
    penalty_lines = [Decimal(x["amount"]) for x in inv["lines"] if x["kind"] == "penalty"]
    assert penalty_lines == [Decimal("225.00"), Decimal("0.50")]
    (kept,) = client.get("/compliance", params=june).json()
    assert kept["source"] == "stored" and kept["invoice_id"] == inv["id"]
    assert Decimal(kept["penalty_pkr"]) == sum(penalty_lines) == Decimal("225.50")
    energy = sum(Decimal(x["amount"]) for x in inv["lines"] if x["kind"] == "energy")
    assert Decimal(inv["total"]) == energy + Decimal(kept["penalty_pkr"])
    assert {k: kept[k] for k in before if k not in ("source", "invoice_id", "recorded_at")} == {
        k: before[k] for k in before if k not in ("source", "invoice_id", "recorded_at")
    }
    assert (kept["events"], kept["compliant_events"], kept["shortfall_kwh"]) == (
        2,
        0,
        "150.333333",
    )
    # The first interval corrected to 250 kWh (version 2): the event now complies ...
    fix = [
        {
            "meter": s["serial"],
            "interval_start": START.isoformat(),
            "kwh": "250",
            "version": 2,
        }
    ]
    assert client.post("/readings", json={"readings": fix}).status_code == 200
    assert summary(result(client, first))[:6] == ("compliant", 4, 4, 0, "0.000000", "0.00")
    # ... but the record that was billed stays.
    (still,) = client.get("/compliance", params=june).json()
    assert (still["source"], still["penalty_pkr"], still["results"][0]["penalty_pkr"]) == (
        "stored",
        "225.50",
        "225.00",
    )
    # Credited: computed again; reissued: the new record is kept with the new invoice.
    note = client.post(f"/invoices/{inv['id']}/credit-note", json={"reason": "reading fixed"})
    assert note.status_code == 201, note.text
    (now,) = client.get("/compliance", params=june).json()
    assert (now["source"], now["penalty_pkr"], now["compliant_events"]) == ("computed", "0.50", 1)
    again = client.post("/invoices", json={"site_id": s["id"], "month": "2026-06"}).json()
    assert [x["amount"] for x in again["lines"] if x["kind"] == "penalty"] == ["0.50"]
    (kept2,) = client.get("/compliance", params=june).json()
    assert (kept2["source"], kept2["invoice_id"], kept2["penalty_pkr"]) == (
        "stored",
        again["id"],
        "0.50",
    )
    # The listing of every site shows the stored record too.
    listed = client.get("/compliance", params={"month": "2026-06"}).json()
    assert [(x["site_id"], x["source"]) for x in listed] == [(s["id"], "stored")]


def test_penalties_are_taxed_only_if_the_contract_says_so(client: Any, migrated: str) -> None:  # noqa: F811
    """Tax 18%; 1,050 kWh at 20 PKR = 21,000.00 and a 225.00 PKR penalty (late by one
    interval). Default (tax_penalties false): tax 0.18 x 21,000.00 = 3,780.00, total
    25,005.00. tax_penalties true: 0.18 x 21,225.00 = 3,820.50, total 25,045.50."""
    totals = {}
    for taxed in (False, True):
        s = site(client, f"tax-{taxed}", tax_rate="0.18", tax_penalties=taxed)
        readings(client, s["serial"], ["400", "250", "200", "200"])
        event(migrated, s["id"])
        inv = client.post("/invoices", json={"site_id": s["id"], "month": "2026-06"}).json()
        totals[taxed] = (
            [(x["kind"], x["quantity"], x["amount"]) for x in inv["lines"]],
            inv["total"],
        )
    assert totals[False] == (
        [
            ("energy", "1050.000000", "21000.00"),
            ("penalty", "1.000000", "225.00"),
            ("tax", "21000.000000", "3780.00"),
        ],
        "25005.00",
    )
    assert totals[True] == (
        [
            ("energy", "1050.000000", "21000.00"),
            ("penalty", "1.000000", "225.00"),
            ("tax", "21225.000000", "3820.50"),
        ],
        "25045.50",
    )
    contracts = client.get("/contracts").json()
    assert sorted(c["tax_penalties"] for c in contracts) == [False, True]


def test_versions_of_a_deleted_event_do_not_join_a_new_one(client: Any, migrated: str) -> None:  # noqa: F811
    """SQLite gives a deleted last row's id to the next event; the versions the first
    event left behind (they outlive it) are not the new event's."""
    from megawatt.ops import compliance

    _, site_id = new_site(client, "reuse")
    hour = dt.timedelta(hours=1)
    first = publish(migrated, site_id, "a", PUBLISHED - hour, [(START, hour, 100)])
    engine = db.make_engine(migrated)
    try:
        with db.transaction(db.session_factory(engine)) as s:
            s.delete(s.get(OadrEvent, first))
        second = publish(migrated, site_id, "b", PUBLISHED, [(START, hour, 3000)])
        with db.transaction(db.session_factory(engine)) as s:
            versions = compliance.versions_of(s, s.get(OadrEvent, second))
    finally:
        engine.dispose()
    assert [v.limits[0][2] for v in versions] == [3000]
