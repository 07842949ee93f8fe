"""The HTTP API on SQLite and PostgreSQL: registry CRUD, the ledger's 409s as
problem+json, the audit trail, and a 4xx problem+json for every bad request."""

from __future__ import annotations

from typing import Any

import pytest

from opsdb import client, db_url, migrated  # noqa: F401  (fixtures)

PROBLEM = "application/problem+json"
WHO: dict[str, str] = {}  # the client fixture is signed in as the authority


def _problem(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith(PROBLEM)
    body = resp.json()
    assert body["status"] == status
    assert body["title"] and body["detail"] and body["type"]
    assert isinstance(body["errors"], list) and body["errors"]
    assert all("field" in e and "message" in e for e in body["errors"])
    return body


def _setup_site(client: Any, plant: str = "sahiwal", name: str = "mine-1") -> int:  # noqa: F811
    op = client.post("/operators", json={"name": f"op {name}"}, headers=WHO)
    assert op.status_code == 201, op.text
    site = client.post(
        "/sites",
        json={
            "operator_id": op.json()["id"],
            "name": name,
            "kind": "btc_miner",
            "zone": "North",
            "plant": plant,
            "lat": 30.66,
            "lon": 73.1,
        },
        headers=WHO,
    )
    assert site.status_code == 201, site.text
    lic = client.post(
        "/licences",
        json={
            "site_id": site.json()["id"],
            "number": f"PVARA-{name}",
            "valid_from": "2026-01-01T00:00:00+05:00",
        },
        headers=WHO,
    )
    assert lic.status_code == 201, lic.text
    assert lic.json()["valid_from"].startswith("2025-12-31T19:00:00")
    return site.json()["id"]


def test_registry_crud_and_audit(client: Any) -> None:  # noqa: F811
    site = _setup_site(client)
    app = client.post(
        "/applications",
        json={"site_id": site, "requested_mw": "120.125", "application_date": "2025-11-03"},
        headers=WHO,
    )
    assert app.status_code == 201 and app.json()["requested_mw"] == "120.125"
    contract = client.post(
        "/contracts",
        json={
            "site_id": site,
            "application_id": app.json()["id"],
            "tariff_scheme": "flat",
            "tariff_local_per_kwh": "22.98",
            "firm_share": "0.1",
            "firm_service_level": "0.95",
            "notice_minutes": 30,
            "ramp_minutes": 10,
            "penalty_local_per_mwh": "1500.000001",
            "start": "2026-01-01",
            "term_months": 36,
            "review_months": 6,
        },
        headers=WHO,
    )
    assert contract.status_code == 201, contract.text
    got = client.get(f"/contracts/{contract.json()['id']}").json()
    assert got["tariff_local_per_kwh"] == "22.980000"
    assert got["penalty_local_per_mwh"] == "1500.000001"
    assert got["firm_share"] == "0.100000"

    patched = client.patch(f"/sites/{site}", json={"substation": "Sahiwal 500 kV"}, headers=WHO)
    assert patched.status_code == 200 and patched.json()["substation"] == "Sahiwal 500 kV"
    trail = client.get("/audit", params={"entity": "site", "entity_id": site}).json()
    assert [a["action"] for a in trail] == ["create", "update"]
    assert trail[1]["before"]["substation"] is None
    assert trail[1]["after"]["substation"] == "Sahiwal 500 kV"
    assert trail[1]["actor"] == "authority:test-authority"
    assert len(client.get("/sites").json()) == 1
    assert client.get("/applications", params={"site_id": site}).json()[0]["status"] == "pending"


def test_ledger_over_http(client: Any) -> None:  # noqa: F811
    a = _setup_site(client, name="a")
    b = _setup_site(client, name="b")
    grant = {"site_id": a, "kind": "grant", "effective_from": "2026-01-01T00:00:00Z"}
    ok = client.post("/ledger", json={**grant, "mw": "1243", "reason": "plan"}, headers=WHO)
    assert ok.status_code == 201, ok.text
    assert ok.json()["level_mw"] == "1243.000"
    over = client.post(
        "/ledger", json={**grant, "site_id": b, "mw": "0.501", "reason": "plan"}, headers=WHO
    )
    body = _problem(over, 409)
    assert body["cap"] == {"scope": "plant", "name": "sahiwal", "cap_mw": "1243.500"}
    assert body["allocated_mw"] == "1243.000" and body["remaining_mw"] == "0.500"
    assert body["errors"][0]["field"] == "mw"
    alloc = client.get("/allocations", params={"at": "2026-06-01T00:00:00Z"}).json()
    assert {x["site_id"]: x["mw"] for x in alloc} == {a: "1243.000", b: "0.000"}
    caps = {(c["scope"], c["name"]): c for c in client.get("/caps").json()}
    assert caps[("program", "program")]["cap_mw"] == "2000.000"
    assert caps[("plant", "sahiwal")]["peak_allocated_mw"] == "1243.000"
    # Lowering a cap below what is allocated is refused.
    _problem(client.put("/caps/plant/sahiwal", json={"cap_mw": "1000"}, headers=WHO), 409)
    entries = client.get("/audit", params={"entity": "ledger_entry"}).json()
    assert len(entries) == 1 and entries[0]["action"] == "grant"


def test_suspending_a_licence_revokes_the_allocation(client: Any) -> None:  # noqa: F811
    a = _setup_site(client, name="a")
    client.post(
        "/ledger",
        json={
            "site_id": a,
            "kind": "grant",
            "effective_from": "2026-01-01T00:00:00Z",
            "mw": "10",
            "reason": "plan",
        },
        headers=WHO,
    )
    lic = client.get("/licences", params={"site_id": a}).json()[0]
    r = client.patch(f"/licences/{lic['id']}", json={"status": "suspended"}, headers=WHO)
    assert r.status_code == 200, r.text
    entries = client.get("/ledger", params={"site_id": a}).json()
    assert [e["kind"] for e in entries] == ["grant", "revoke"]
    assert entries[1]["level_mw"] == "0.000"
    now = client.get("/allocations").json()
    assert now == [{**now[0], "mw": "0.000", "licensed": False}]


def test_a_licence_moved_into_the_past_lapses_at_once(client: Any) -> None:  # noqa: F811
    a = _setup_site(client, name="a")
    grant = {"site_id": a, "kind": "grant", "mw": "10", "reason": "plan"}
    client.post("/ledger", json={**grant, "effective_from": "2026-01-01T00:00:00Z"}, headers=WHO)
    lic = client.get("/licences", params={"site_id": a}).json()[0]
    r = client.patch(
        f"/licences/{lic['id']}", json={"valid_to": "2026-03-01T00:00:00Z"}, headers=WHO
    )
    assert r.status_code == 200, r.text
    entries = client.get("/ledger", params={"site_id": a}).json()
    assert [(e["kind"], e["effective_from"][:10], e["level_mw"]) for e in entries] == [
        ("grant", "2026-01-01", "10.000"),
        ("revoke", "2026-03-01", "0.000"),
    ]
    feb = client.get("/allocations", params={"at": "2026-02-01T00:00:00Z"}).json()
    assert (feb[0]["mw"], feb[0]["licensed"]) == ("10.000", True)
    assert client.get("/allocations").json()[0]["mw"] == "0.000"
    audit = client.get("/audit", params={"entity": "ledger_entry"}).json()
    assert any(x["actor"] == "system:licence-expiry" for x in audit)


def test_serve_sweeps_lapsing_licences(migrated: str) -> None:  # noqa: F811
    """With no request at all, the service's sweeper revokes an allocation whose
    licence runs out (here 1.5 s after the grant; sweep every 0.2 s)."""
    import datetime as dt
    import time

    from fastapi.testclient import TestClient

    from megawatt.ops.app import create_app

    app = create_app(migrated, auth_required=False, expiry_sweep_seconds=0.2)
    with TestClient(app) as c:
        a = _setup_site(c, name="soon")
        lic = c.get("/licences").json()[0]
        end = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1.5)
        c.patch(f"/licences/{lic['id']}", json={"valid_to": end.isoformat()})
        c.post(
            "/ledger",
            json={
                "site_id": a,
                "kind": "grant",
                "mw": "3",
                "reason": "r",
                "effective_from": "2026-01-01T00:00:00Z",
            },
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            kinds = [e["kind"] for e in c.get("/ledger").json()]
            if kinds == ["grant", "revoke"]:
                break
            time.sleep(0.2)
        assert kinds == ["grant", "revoke"]
        assert c.get("/ledger").json()[1]["effective_from"].startswith(end.isoformat()[:19])


BAD_REQUESTS = [
    ("post", "/operators", {}, "name"),
    ("post", "/operators", {"name": ""}, "name"),
    ("post", "/operators", {"name": "x", "surprise": 1}, "surprise"),
    ("post", "/operators", {"name": "\x00"}, "name"),
    ("get", "/audit?entity=%00", None, "entity"),
    ("post", "/operators", {"name": "x", "contact_email": "nope"}, "contact_email"),
    ("post", "/sites", {"operator_id": 1, "name": "s", "kind": "gold_mine"}, "kind"),
    ("post", "/licences", {"site_id": 1, "number": "L", "valid_from": "2026-01-01T00:00"}, None),
    ("post", "/applications", {"site_id": 1, "requested_mw": "-1"}, "requested_mw"),
    ("post", "/applications", {"site_id": 1, "requested_mw": "1.0001"}, "requested_mw"),
    ("post", "/ledger", {"site_id": 1, "kind": "grant", "mw": "1"}, "effective_from"),
    ("post", "/ledger", "not json", None),
    ("get", "/operators/abc", None, "operator_id"),
    ("get", "/operators/999", None, "operator_id"),
    ("get", "/sites?limit=0", None, "limit"),
    ("get", "/allocations?at=yesterday", None, "at"),
    ("get", "/allocations?at=0001-01-01T00:00:00%2B00:01", None, "at"),
    (
        "post",
        "/ledger",
        {"site_id": 1, "kind": "grant", "mw": "1", "effective_from": "0001-01-01T00:00:00+00:01"},
        "effective_from",
    ),
    ("get", "/nowhere", None, "path"),
    ("delete", "/operators", None, "path"),
    ("put", "/caps/galaxy/x", {"cap_mw": "1"}, "scope"),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), BAD_REQUESTS)
def test_every_bad_request_is_a_problem(
    client: Any,  # noqa: F811
    method: str,
    path: str,
    body: Any,
    field: str | None,
) -> None:
    kwargs: dict[str, Any] = {}
    if isinstance(body, str):
        kwargs = {"content": body, "headers": {"content-type": "application/json"}}
    elif body is not None:
        kwargs = {"json": body}
    resp = client.request(method, path, **kwargs)
    assert 400 <= resp.status_code < 500, resp.text
    problem = _problem(resp, resp.status_code)
    if field is not None:
        assert any(field in e["field"] for e in problem["errors"]), problem


def test_references_and_duplicates_are_4xx_and_nothing_half_written(client: Any) -> None:  # noqa: F811
    site = _setup_site(client)
    before = len(client.get("/audit").json())
    missing = client.post(
        "/sites",
        json={
            "operator_id": 999,
            "name": "x",
            "kind": "btc_miner",
            "zone": "z",
            "lat": 0,
            "lon": 0,
        },
    )
    assert _problem(missing, 422)["errors"][0]["field"] == "operator_id"
    dup = client.post("/operators", json={"name": "op mine-1"})
    assert _problem(dup, 409)["errors"][0]["field"] == "name"
    unknown_site = client.post(
        "/ledger",
        json={
            "site_id": 999,
            "kind": "grant",
            "effective_from": "2026-01-01T00:00:00Z",
            "mw": "1",
            "reason": "r",
        },
    )
    _problem(unknown_site, 404)
    wrong_app = client.post(
        "/contracts",
        json={
            "site_id": site,
            "application_id": 999,
            "tariff_scheme": "flat",
            "tariff_local_per_kwh": "1",
            "firm_share": "0",
            "firm_service_level": "1",
            "notice_minutes": 0,
            "ramp_minutes": 0,
            "penalty_local_per_mwh": "0",
            "start": "2026-01-01",
            "term_months": 1,
            "review_months": 1,
        },
    )
    _problem(wrong_app, 422)
    assert len(client.get("/audit").json()) == before
    assert len(client.get("/operators").json()) == 1
    assert client.get("/contracts").json() == []


def test_openapi(client: Any) -> None:  # noqa: F811
    spec = client.get("/openapi.json").json()
    assert {"/operators", "/sites", "/licences", "/ledger", "/caps", "/audit"} <= set(spec["paths"])
    assert "ProblemOut" in spec["components"]["schemas"]


def test_a_site_must_name_a_capped_plant_in_its_zone(client: Any) -> None:  # noqa: F811
    """The seeded plant caps carry their generator's zone (sahiwal: North): a site in
    another zone, or at a misspelt plant that would escape its cap, is a 422."""
    op = client.post("/operators", json={"name": "op z"}).json()["id"]
    site = {
        "operator_id": op,
        "name": "z",
        "kind": "btc_miner",
        "zone": "North",
        "lat": 30,
        "lon": 73,
    }
    caps = {c["name"]: c["zone"] for c in client.get("/caps").json() if c["scope"] == "plant"}
    assert caps == {"sahiwal": "North", "port_qasim": "South", "china_power_hub": "South"}
    body = _problem(client.post("/sites", json={**site, "zone": "South", "plant": "sahiwal"}), 422)
    assert body["errors"][0]["field"] == "zone" and "'North'" in body["detail"]
    body = _problem(client.post("/sites", json={**site, "plant": "Sahiwal"}), 422)
    assert body["errors"][0]["field"] == "plant" and "sahiwal" in body["detail"]
    assert client.post("/sites", json={**site, "plant": "sahiwal"}).status_code == 201
    assert client.post("/sites", json={**site, "name": "z2", "zone": "Far"}).status_code == 201
    # Moving the plant cap to another zone while sites sit there: 409.
    r = client.put("/caps/plant/sahiwal", json={"cap_mw": "1243.5", "zone": "South"})
    assert _problem(r, 409)["errors"][0]["field"] == "zone"
    assert _problem(client.put("/caps/zone/North", json={"cap_mw": "5", "zone": "x"}), 422)
