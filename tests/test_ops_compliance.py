"""Compliance per event (docs/operations.md, "Compliance per event"): a site that
complies, one late by one interval, one that ignores the event, one with missing data,
a late notice that shortens the compliance window, the firm-service-level floor, the
evidence, the monthly record, and penalties on the invoice; SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from megawatt.ops import db
from megawatt.ops.openadr.objects import upsert_event
from megawatt.ops.openadr.tables import OadrEvent, OadrReport
from opsdb import add_client, client, db_url, migrated, new_site, token  # noqa: F401  (fixtures)

START = dt.datetime(2026, 6, 10, 12, 0, tzinfo=dt.UTC)  # 17:00 PKT
PUBLISHED = START - dt.timedelta(hours=1)


def site(http: Any, name: str, fsl: str = "0") -> dict[str, Any]:
    op, sid = new_site(http, name)
    for path, body in (
        (
            "/contracts",
            {
                "site_id": sid,
                "tariff_scheme": "flat",
                "tariff_local_per_kwh": "20",
                "firm_share": fsl,
                "firm_service_level": fsl,
                "notice_minutes": 30,
                "ramp_minutes": 15,
                "penalty_local_per_mwh": "1500",
                "start": "2026-01-01",
                "term_months": 36,
                "review_months": 6,
            },
        ),
        (
            "/ledger",
            {
                "site_id": sid,
                "kind": "grant",
                "effective_from": "2026-01-01T00:00:00Z",
                "mw": "4",
                "reason": "test",
            },
        ),
        ("/meters", {"site_id": sid, "serial": f"M-{name}"}),
    ):
        r = http.post(path, json=body)
        assert r.status_code == 201, (path, r.text)
    return {"id": sid, "operator": op, "serial": f"M-{name}"}


def event(url: str, site_id: int, published: dt.datetime = PUBLISHED, limit_kw: int = 1000) -> int:
    """A one-hour event from START (two 30-minute intervals at ``limit_kw``), its
    publication time set to ``published``."""
    engine = db.make_engine(url)
    try:
        with db.transaction(db.session_factory(engine)) as s:
            row = upsert_event(
                s,
                key=f"test-{site_id}-{published.isoformat()}",
                site_id=site_id,
                intervals=[
                    (START, dt.timedelta(minutes=30), limit_kw),
                    (START + dt.timedelta(minutes=30), dt.timedelta(minutes=30), limit_kw),
                ],
                actor="test",
            )
            row.modified_at = published
            row.created_at = published
            return row.id
    finally:
        engine.dispose()


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
