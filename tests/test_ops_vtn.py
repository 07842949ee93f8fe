"""The OpenADR 3.1.0 VTN in process (issue 14 parts 1-3), on SQLite and PostgreSQL:
spec-checked objects, scopes, VEN isolation, the registry as VENs, curtailment events
from Python, and the webhook outbox (one pass at a time; the real server's worker and
the kill tests are in test_ops_vtn_serve.py)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import make_url

from megawatt.ops import db
from megawatt.ops.app import create_app
from megawatt.ops.models import AuditEntry
from megawatt.ops.openadr import SCOPES, cancel_event, interval_limits_kw, spec, upsert_event
from megawatt.ops.openadr.outbox import Deliverer, RetryPolicy, deliver_once
from megawatt.ops.openadr.tables import OutboxEntry
from opsdb import add_client, db_url, migrated, token  # noqa: F401  (fixtures)
from vtnkit import (
    B,
    curtail,
    problem,
    receiver,
    registry,
    report_body,
    subscription_body,
    valid,
)


class World:
    """The app over a database with the registry of vtnkit, VEN clients of A and B, an
    operator client of A, their tokens, and a program."""

    def __init__(
        self, url: str, app: Any, http: TestClient, state: dict[str, Any] | None = None
    ) -> None:
        self.url = url
        self.app = app
        self.http = http
        state = state or self._build(url, http)
        self.ids, self.secrets, self.h = state["ids"], state["secrets"], state["h"]
        self.program: str = state["program"]
        http.headers.update(self.h["bl"])

    @staticmethod
    def _build(url: str, http: TestClient) -> dict[str, Any]:
        ids = registry(http)
        secrets = {
            "ven_a": add_client(url, "ven-a", "site", site_id=ids["site_a"]),
            "ven_b": add_client(url, "ven-b", "site", site_id=ids["site_b"]),
            "op_a": add_client(url, "op-a", "operator", operator_id=ids["op_a"]),
        }
        h = {"bl": dict(http.headers)}
        for who, cid in (("ven_a", "ven-a"), ("ven_b", "ven-b"), ("op_a", "op-a")):
            resp = http.post(
                f"{B}/auth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": cid,
                    "client_secret": secrets[who],
                },
            )
            assert resp.status_code == 200, resp.text
            h[who] = {"Authorization": f"Bearer {resp.json()['access_token']}"}
        program = valid(
            http.post(f"{B}/programs", json={"programName": "curtailment"}), "program", 201
        )["id"]
        return {"ids": ids, "secrets": secrets, "h": h, "program": program}

    def state(self) -> dict[str, Any]:
        return {"ids": self.ids, "secrets": self.secrets, "h": self.h, "program": self.program}

    def as_(self, who: str, method: str, path: str, **kw: Any) -> Any:
        headers = {**self.h[who], **kw.pop("headers", {})}
        return self.http.request(method, B + path, headers=headers, **kw)

    def sessions(self) -> Any:
        return self.app.state.sessions


def _fresh_world(url: str) -> Iterator[World]:
    secret = add_client(url, "bl", "authority")
    app = create_app(url)
    with TestClient(app) as c:
        c.headers.update(token(c, "bl", secret))
        yield World(url, app, c)
    app.state.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The SQLite world built once (migrations, caps, registry, clients, tokens); each
    test gets a copy of its file (the fast subset runs these tests on SQLite only)."""
    from megawatt import scenario
    from megawatt.ops.seed import seed_caps

    path = tmp_path_factory.mktemp("vtn-world") / "world.db"
    url = f"sqlite:///{path}"
    db.migrate(url)
    engine = db.make_engine(url)
    with db.transaction(db.session_factory(engine)) as s:
        seed_caps(s, scenario.load_default(), actor="test")
    engine.dispose()
    for w in _fresh_world(url):
        state = w.state()
    return path, state


@pytest.fixture
def world(db_url: str, request: pytest.FixtureRequest) -> Iterator[World]:  # noqa: F811
    if not db_url.startswith("sqlite"):
        yield from _fresh_world(request.getfixturevalue("migrated"))
        return
    template, state = request.getfixturevalue("sqlite_world")
    src, dst = sqlite3.connect(template), sqlite3.connect(make_url(db_url).database or "")
    with dst:
        src.backup(dst)
    src.close()
    dst.close()
    app = create_app(db_url)
    with TestClient(app) as c:
        yield World(db_url, app, c, state)
    app.state.engine.dispose()


# -- auth ----------------------------------------------------------------------------------


def test_auth_server_and_token_with_the_roles_scopes(world: World) -> None:
    info = valid(world.http.get(f"{B}/auth/server", headers={}), "authServerInfo")
    assert info["tokenURL"].endswith("/openadr3/3.1.0/auth/token")
    for cid, who, role in (("ven-a", "ven_a", "site"), ("op-a", "op_a", "operator")):
        resp = world.http.post(
            f"{B}/auth/token",
            auth=(cid, world.secrets[who]),
            data={"grant_type": "client_credentials"},
        )
        body = valid(resp, "clientCredentialResponse")
        assert body["scope"].split() == list(SCOPES[role])
        assert body["token_type"] == "Bearer"
    bad = world.http.post(
        f"{B}/auth/token",
        data={"grant_type": "client_credentials", "client_id": "ven-a", "client_secret": "x"},
    )
    assert problem(bad, 401)["error"] == "invalid_client"
    assert problem(world.http.post(f"{B}/auth/token", data={"grant_type": "password"}), 400)
    # The token is the service's own: it works on the registry API too.
    assert (
        world.http.get(f"/sites/{world.ids['site_a']}", headers=world.h["ven_a"]).status_code == 200
    )
    assert problem(world.http.get(f"{B}/events", headers={"Authorization": "Bearer x"}), 401)
    assert problem(world.http.get(f"{B}/events", headers={"Authorization": ""}), 401)


def test_scopes_refuse_writes_outside_the_role(world: World) -> None:
    ev = curtail(world.program, "mine-a")
    assert problem(world.as_("ven_a", "POST", "/events", json=ev), 403)
    assert problem(world.as_("ven_a", "POST", "/programs", json={"programName": "x"}), 403)
    assert problem(world.as_("op_a", "POST", "/events", json=ev), 403)
    bl = valid(world.as_("bl", "POST", "/events", json=ev), "event", 201)
    # Only VENs write reports (the spec's write_reports).
    assert problem(world.as_("bl", "POST", "/reports", json=report_body(bl["id"], "x")), 403)
    ven = {"objectType": "BL_VEN_REQUEST", "venName": "mine-a", "clientID": "ven-a"}
    assert problem(world.as_("ven_a", "PUT", f"/vens/{world.ids['site_a']}", json=ven), 403)


# -- the registry as VENs ------------------------------------------------------------------


def test_a_licensed_site_is_a_ven(world: World) -> None:
    vens = valid(world.as_("bl", "GET", "/vens"), "ven")
    assert [(v["id"], v["venName"]) for v in vens] == [
        (str(world.ids["site_a"]), "mine-a"),
        (str(world.ids["site_b"]), "mine-b"),
    ]
    assert vens[0]["clientID"] == "ven-a"
    # A site that gets a licence becomes a VEN in the same transaction (no second copy).
    lic = world.http.post(
        "/licences",
        json={
            "site_id": world.ids["site_unlicensed"],
            "number": "L-late",
            "valid_from": "2026-01-01T00:00:00Z",
        },
    )
    assert lic.status_code == 201
    names = [v["venName"] for v in valid(world.as_("bl", "GET", "/vens"), "ven")]
    assert names == ["mine-a", "mine-b", "mine-unlicensed"]
    # Renaming the site renames the VEN.
    assert (
        world.http.patch(f"/sites/{world.ids['site_a']}", json={"name": "mine-a2"}).status_code
        == 200
    )
    got = valid(world.as_("bl", "GET", f"/vens/{world.ids['site_a']}"), "ven")
    assert got["venName"] == "mine-a2"
    assert valid(world.as_("bl", "GET", "/vens?venName=mine-b"), "ven")[0]["venName"] == "mine-b"


def test_ven_registration_targets_and_resources(world: World) -> None:
    a = world.ids["site_a"]
    body = {
        "objectType": "BL_VEN_REQUEST",
        "venName": "mine-a",
        "clientID": "ven-a",
        "targets": ["group-north"],
        "attributes": [{"type": "LOCATION", "values": [30.0, 73.0]}],
    }
    ven = valid(world.as_("bl", "POST", "/vens", json=body), "ven", 201)
    assert ven["id"] == str(a) and ven["targets"] == ["group-north"]
    assert problem(world.as_("bl", "POST", "/vens", json=body), 409)
    nobody = {**body, "venName": "no-such-site"}
    assert problem(world.as_("bl", "POST", "/vens", json=nobody), 400)
    assert problem(world.as_("bl", "PUT", f"/vens/{a}", json={**body, "venName": "x"}), 409)
    assert valid(world.as_("bl", "GET", "/vens?targets=group-north"), "ven")[0]["id"] == str(a)
    # An event for the group reaches A (its VEN targets) and not B.
    ev = valid(
        world.as_("bl", "POST", "/events", json=curtail(world.program, "group-north")), "event", 201
    )
    assert [e["id"] for e in valid(world.as_("ven_a", "GET", "/events"), "event")] == [ev["id"]]
    assert valid(world.as_("ven_b", "GET", "/events"), "event") == []
    # Resources: a fleet of A.
    res = {
        "objectType": "BL_RESOURCE_REQUEST",
        "clientID": "ven-a",
        "resourceName": "fleet-1",
        "venID": str(a),
    }
    r = valid(world.as_("bl", "POST", "/resources", json=res), "resource", 201)
    assert problem(world.as_("bl", "POST", "/resources", json=res), 409)
    assert valid(world.as_("ven_a", "GET", "/resources"), "resource")[0]["id"] == r["id"]
    assert valid(world.as_("ven_b", "GET", "/resources"), "resource") == []
    problem(world.as_("ven_b", "GET", f"/resources/{r['id']}"), 404)
    got = valid(
        world.as_("bl", "PUT", f"/resources/{r['id']}", json={**res, "targets": ["t"]}), "resource"
    )
    assert got["targets"] == ["t"]
    assert valid(world.as_("bl", "GET", "/resources?targets=t"), "resource")[0]["id"] == r["id"]
    valid(world.as_("bl", "DELETE", f"/resources/{r['id']}"), "resource")
    problem(world.as_("bl", "GET", f"/resources/{r['id']}"), 404)
    cleared = valid(world.as_("bl", "DELETE", f"/vens/{a}"), "ven")
    assert cleared["targets"] == ["group-north"]
    assert valid(world.as_("bl", "GET", f"/vens/{a}"), "ven")["targets"] is None


# -- programs, events, paging, filters -----------------------------------------------------


def test_events_crud_paging_and_filters(world: World) -> None:
    p2 = valid(world.as_("bl", "POST", "/programs", json={"programName": "second"}), "program", 201)
    ids = []
    for i in range(7):
        prog = world.program if i % 2 == 0 else p2["id"]
        ids.append(
            valid(
                world.as_("bl", "POST", "/events", json=curtail(prog, "mine-a", 1000 + i)),
                "event",
                201,
            )["id"]
        )
    page = valid(world.as_("bl", "GET", "/events?skip=2&limit=3"), "event")
    assert [e["id"] for e in page] == ids[2:5]
    by_prog = valid(world.as_("bl", "GET", f"/events?programID={p2['id']}"), "event")
    assert [e["id"] for e in by_prog] == ids[1::2]
    assert valid(world.as_("bl", "GET", "/events?targets=mine-a&targets=nope"), "event") == []
    assert len(valid(world.as_("bl", "GET", "/events?targets=mine-a"), "event")) == 7
    problem(world.as_("bl", "GET", "/events?limit=51"), 400)
    problem(world.as_("bl", "GET", "/events?skip=-1"), 400)
    problem(world.as_("bl", "GET", "/events/nope"), 404)
    problem(world.as_("bl", "GET", "/events/99999"), 404)
    upd = curtail(world.program, "mine-a", 42)
    got = valid(world.as_("bl", "PUT", f"/events/{ids[0]}", json=upd), "event")
    assert got["intervals"][0]["payloads"][0]["values"] == [42]
    assert got["modificationDateTime"] >= got["createdDateTime"]
    valid(world.as_("bl", "DELETE", f"/events/{ids[0]}"), "event")
    problem(world.as_("bl", "GET", f"/events/{ids[0]}"), 404)
    # A program with events cannot go; without, it can.
    problem(world.as_("bl", "DELETE", f"/programs/{world.program}"), 409)
    p3 = valid(world.as_("bl", "POST", "/programs", json={"programName": "third"}), "program", 201)
    problem(world.as_("bl", "POST", "/programs", json={"programName": "third"}), 409)
    renamed = valid(
        world.as_("bl", "PUT", f"/programs/{p3['id']}", json={"programName": "3rd"}), "program"
    )
    assert renamed["programName"] == "3rd"
    valid(world.as_("bl", "DELETE", f"/programs/{p3['id']}"), "program")


def test_bodies_are_checked_against_the_spec(world: World) -> None:
    bad = world.as_("bl", "POST", "/events", json={"programID": "1 2", "priority": -1})
    errs = {e["field"] for e in problem(bad, 400)["errors"]}
    assert {"programID", "priority"} <= errs
    problem(
        world.as_(
            "bl",
            "POST",
            "/events",
            content=b"{nope",
            headers={"content-type": "application/json"},
        ),
        400,
    )
    problem(world.as_("bl", "POST", "/events", json=curtail("99999", None)), 400)
    problem(world.as_("bl", "POST", "/programs", json={"programName": ""}), 400)
    # The client library's GET/POST/PUT operations are not the spec's.
    sub = subscription_body("http://127.0.0.1:9/x")
    sub["objectOperations"][0]["operations"] = ["POST"]
    problem(world.as_("ven_a", "POST", "/subscriptions", json=sub), 400)
    problem(world.as_("bl", "GET", "/subscriptions?objects=NOPE"), 400)


def test_writes_are_audited(world: World) -> None:
    ev = valid(
        world.as_("bl", "POST", "/events", json=curtail(world.program, "mine-a")), "event", 201
    )
    rep = valid(
        world.as_("ven_a", "POST", "/reports", json=report_body(ev["id"], "mine-a")), "report", 201
    )
    audit = world.http.get("/audit?entity=oadr_event").json()
    assert [(a["action"], a["entity_id"], a["actor"]) for a in audit] == [
        ("create", int(ev["id"]), "authority:bl")
    ]
    assert audit[0]["after"]["intervals"] == ev["intervals"]
    audit = world.http.get("/audit?entity=oadr_report").json()
    assert [(a["action"], a["actor"], a["entity_id"]) for a in audit] == [
        ("create", "site:ven-a", int(rep["id"]))
    ]


# -- isolation -----------------------------------------------------------------------------


def test_a_ven_sees_only_what_targets_it_and_its_own_objects(world: World) -> None:
    ev_a = valid(
        world.as_("bl", "POST", "/events", json=curtail(world.program, "mine-a")), "event", 201
    )
    ev_b = valid(
        world.as_("bl", "POST", "/events", json=curtail(world.program, "mine-b")), "event", 201
    )
    ev_all = valid(
        world.as_("bl", "POST", "/events", json=curtail(world.program, None)), "event", 201
    )
    prog_b = valid(
        world.as_("bl", "POST", "/programs", json={"programName": "b-only", "targets": ["mine-b"]}),
        "program",
        201,
    )

    def ids(who: str, path: str, schema: str) -> list[str]:
        return [x["id"] for x in valid(world.as_(who, "GET", path), schema)]

    assert ids("ven_a", "/events", "event") == [ev_a["id"], ev_all["id"]]
    assert ids("ven_b", "/events", "event") == [ev_b["id"], ev_all["id"]]
    assert ids("op_a", "/events", "event") == [ev_a["id"], ev_all["id"]]
    assert ids("ven_a", "/events?targets=mine-b", "event") == []
    assert prog_b["id"] not in ids("ven_a", "/programs", "program")
    assert prog_b["id"] in ids("ven_b", "/programs", "program")
    problem(world.as_("ven_a", "GET", f"/programs/{prog_b['id']}"), 404)
    # Another VEN's event: 404, the same as one that does not exist.
    missing = problem(world.as_("ven_a", "GET", "/events/99999"), 404)
    other = problem(world.as_("ven_a", "GET", f"/events/{ev_b['id']}"), 404)
    assert other["detail"].replace(ev_b["id"], "N") == missing["detail"].replace("99999", "N")
    # Reports: a VEN cannot report on an event it cannot see, nor see others' reports.
    problem(world.as_("ven_a", "POST", "/reports", json=report_body(ev_b["id"], "mine-a")), 400)
    rep_a = valid(
        world.as_("ven_a", "POST", "/reports", json=report_body(ev_a["id"], "mine-a")),
        "report",
        201,
    )
    rep_b = valid(
        world.as_("ven_b", "POST", "/reports", json=report_body(ev_all["id"], "mine-b")),
        "report",
        201,
    )
    assert rep_a["clientID"] == "ven-a"
    assert ids("ven_a", "/reports", "report") == [rep_a["id"]]
    assert ids("ven_b", "/reports", "report") == [rep_b["id"]]
    assert ids("bl", "/reports", "report") == [rep_a["id"], rep_b["id"]]
    assert ids("bl", "/reports?clientName=mine-b", "report") == [rep_b["id"]]
    assert ids("bl", f"/reports?eventID={ev_a['id']}", "report") == [rep_a["id"]]
    assert ids("bl", f"/reports?programID={world.program}", "report") == [rep_a["id"], rep_b["id"]]
    for method in ("GET", "PUT", "DELETE"):
        kw = {"json": report_body(ev_all["id"], "x")} if method == "PUT" else {}
        problem(world.as_("ven_a", method, f"/reports/{rep_b['id']}", **kw), 404)
    # Subscriptions.
    sub_a = valid(
        world.as_(
            "ven_a", "POST", "/subscriptions", json=subscription_body("http://127.0.0.1:9/a")
        ),
        "subscription",
        201,
    )
    sub_b = valid(
        world.as_(
            "ven_b", "POST", "/subscriptions", json=subscription_body("http://127.0.0.1:9/b")
        ),
        "subscription",
        201,
    )
    assert ids("ven_a", "/subscriptions", "subscription") == [sub_a["id"]]
    assert ids("bl", "/subscriptions", "subscription") == [sub_a["id"], sub_b["id"]]
    assert ids("bl", "/subscriptions?objects=EVENT", "subscription") == [sub_a["id"], sub_b["id"]]
    for method in ("GET", "PUT", "DELETE"):
        kw = {"json": subscription_body("http://127.0.0.1:9/x")} if method == "PUT" else {}
        problem(world.as_("ven_a", method, f"/subscriptions/{sub_b['id']}", **kw), 404)
    # VENs.
    assert ids("ven_a", "/vens", "ven") == [str(world.ids["site_a"])]
    problem(world.as_("ven_a", "GET", f"/vens/{world.ids['site_b']}"), 404)
    problem(world.as_("bl", "GET", f"/vens/{world.ids['site_unlicensed']}"), 404)
    # No 2xx body a VEN gets names the other VEN.
    for path in ("/events", "/programs", "/reports", "/subscriptions", "/vens", "/resources"):
        assert "mine-b" not in world.as_("ven_a", "GET", path).text, path


# -- curtailment events from Python (the schedule's entry point) ---------------------------


def test_upsert_event_is_idempotent_and_speaks_kw(world: World) -> None:
    start = dt.datetime(2026, 12, 4, 12, tzinfo=dt.UTC)
    q = dt.timedelta(minutes=15)
    intervals = [(start + i * q, q, 1_243_500 - 1000 * i) for i in range(4)]
    with db.transaction(world.sessions()) as s:
        ev = upsert_event(
            s,
            key="2026-12-04/a/0",
            site_id=world.ids["site_a"],
            intervals=intervals,
            priority=0,
            actor="test",
        )
        event_id = ev.id
    got = valid(world.as_("ven_a", "GET", f"/events/{event_id}"), "event")
    assert got["targets"] == ["mine-a"] and got["priority"] == 0
    assert got["payloadDescriptors"][0] == {
        "objectType": "EVENT_PAYLOAD_DESCRIPTOR",
        "payloadType": "IMPORT_CAPACITY_LIMIT",
        "units": "KW",
    }
    assert {d["payloadType"] for d in got["reportDescriptors"]} == {"USAGE", "DEMAND"}
    assert [iv["payloads"][0]["values"][0] for iv in got["intervals"]] == [
        1243500,
        1242500,
        1241500,
        1240500,
    ]
    assert got["intervals"][1]["intervalPeriod"] == {
        "start": "2026-12-04T12:15:00Z",
        "duration": "PT15M",
    }
    problem(world.as_("ven_b", "GET", f"/events/{event_id}"), 404)
    programs = valid(world.as_("bl", "GET", "/programs"), "program")
    assert "megawatt-curtailment" in [p["programName"] for p in programs]

    def audits() -> int:
        with db.transaction(world.sessions()) as s:
            return len(s.scalars(select(AuditEntry).where(AuditEntry.entity == "oadr_event")).all())

    before = audits()
    with db.transaction(world.sessions()) as s:
        same = upsert_event(
            s,
            key="2026-12-04/a/0",
            site_id=world.ids["site_a"],
            intervals=intervals,
            priority=0,
            actor="test",
        )
        assert same.id == event_id
    assert audits() == before  # unchanged: nothing written
    with db.transaction(world.sessions()) as s:
        changed = upsert_event(
            s,
            key="2026-12-04/a/0",
            site_id=world.ids["site_a"],
            intervals=intervals[:2],
            priority=0,
            actor="test",
        )
        assert [kw for _, _, kw in interval_limits_kw(changed)] == [1243500, 1242500]
    assert audits() == before + 1
    with db.transaction(world.sessions()) as s:
        assert cancel_event(s, key="2026-12-04/a/0", actor="test") is True
        assert cancel_event(s, key="2026-12-04/a/0", actor="test") is False
    problem(world.as_("bl", "GET", f"/events/{event_id}"), 404)
    with pytest.raises(ValueError, match="not a VEN"), db.transaction(world.sessions()) as s:
        upsert_event(
            s, key="x", site_id=world.ids["site_unlicensed"], intervals=intervals, actor="t"
        )


# -- webhooks ------------------------------------------------------------------------------


def test_webhooks_reach_only_subscribers_who_may_see_the_object(world: World) -> None:
    with receiver() as ra, receiver() as rb, receiver() as rbl:
        valid(
            world.as_("ven_a", "POST", "/subscriptions", json=subscription_body(ra.url, "tok-a")),
            "subscription",
            201,
        )
        valid(
            world.as_("ven_b", "POST", "/subscriptions", json=subscription_body(rb.url, "tok-b")),
            "subscription",
            201,
        )
        bl_sub = {
            "clientName": "bl",
            "programID": world.program,
            "objectOperations": [
                {"objects": ["REPORT"], "operations": ["CREATE"], "callbackUrl": rbl.url}
            ],
        }
        valid(world.as_("bl", "POST", "/subscriptions", json=bl_sub), "subscription", 201)
        ev_a = valid(
            world.as_("bl", "POST", "/events", json=curtail(world.program, "mine-a")), "event", 201
        )
        valid(
            world.as_("bl", "POST", "/events", json=curtail(world.program, "mine-b")), "event", 201
        )
        valid(
            world.as_("ven_a", "POST", "/reports", json=report_body(ev_a["id"], "mine-a")),
            "report",
            201,
        )
        assert not ra.got  # nothing is sent inside the request: only the outbox is written
        assert deliver_once(world.sessions()) > 0
        got_a = list(ra.unique().values())
        kinds = [(n["objectType"], n["operation"]) for n in got_a]
        assert ("EVENT", "CREATE") in kinds and ("REPORT", "CREATE") in kinds
        assert all("mine-b" not in str(n) for n in got_a)
        assert [n["object"]["targets"] for n in got_a if n["objectType"] == "EVENT"] == [["mine-a"]]
        assert {h["Authorization"] for h, _ in ra.got} == {"Bearer tok-a"}
        assert all(not spec.errors("notification", n) for n in got_a)
        assert [
            n["object"]["targets"] for n in rb.unique().values() if n["objectType"] == "EVENT"
        ] == [["mine-b"]]
        assert all(n["objectType"] != "REPORT" for n in rb.unique().values())
        assert [n["objectType"] for n in rbl.unique().values()] == ["REPORT"]
        assert deliver_once(world.sessions()) == 0  # all delivered, nothing twice


def test_failed_webhooks_are_retried_with_backoff(world: World) -> None:
    with receiver(fail=2) as r:
        body = subscription_body(r.url, objects=("EVENT",))
        valid(world.as_("ven_a", "POST", "/subscriptions", json=body), "subscription", 201)
        valid(
            world.as_("bl", "POST", "/events", json=curtail(world.program, "mine-a")), "event", 201
        )
        policy = RetryPolicy(base_seconds=0.0, jitter=0.0)
        assert deliver_once(world.sessions(), policy=policy) == 1
        with db.transaction(world.sessions()) as s:
            row = s.scalars(select(OutboxEntry)).one()
            assert (row.status, row.attempts, row.last_error) == ("pending", 1, "HTTP 500")
        deliver_once(world.sessions(), policy=policy)
        deliver_once(world.sessions(), policy=policy)
        with db.transaction(world.sessions()) as s:
            row = s.scalars(select(OutboxEntry)).one()
            assert (row.status, row.attempts) == ("delivered", 3)
        ids = {h["X-Notification-Id"] for h, _ in r.got}
        assert len(r.got) == 3 and len(ids) == 1  # the same id on every retry
    p = RetryPolicy(jitter=0.0)
    assert [p.backoff(n) for n in (1, 2, 3, 12, 13)] == [1, 2, 4, 2048, 3600]


def test_an_unreachable_receiver_is_dead_after_the_last_attempt(world: World) -> None:
    body = subscription_body("http://127.0.0.1:9/closed", objects=("EVENT",))  # refused
    valid(world.as_("ven_a", "POST", "/subscriptions", json=body), "subscription", 201)
    valid(world.as_("bl", "POST", "/events", json=curtail(world.program, "mine-a")), "event", 201)
    policy = RetryPolicy(base_seconds=0.0, jitter=0.0, max_attempts=2)
    deliver_once(world.sessions(), policy=policy)
    deliver_once(world.sessions(), policy=policy)
    with db.transaction(world.sessions()) as s:
        row = s.scalars(select(OutboxEntry)).one()
        assert row.status == "dead" and row.attempts == 2 and "Connect" in (row.last_error or "")


def test_a_claimed_but_unsent_notification_is_sent_after_the_lease(world: World) -> None:
    """A worker that claimed a row and died before sending: the row waits for its lease,
    then the next worker sends it (same notification id)."""
    with receiver() as r:
        valid(
            world.as_(
                "ven_a", "POST", "/subscriptions", json=subscription_body(r.url, objects=("EVENT",))
            ),
            "subscription",
            201,
        )
        valid(
            world.as_("bl", "POST", "/events", json=curtail(world.program, "mine-a")), "event", 201
        )
        dead = Deliverer(world.sessions(), lease_seconds=0.3)
        claimed = dead.claim()  # ... and the process dies here
        assert len(claimed) == 1
        assert deliver_once(world.sessions()) == 0  # leased: not sent twice at once
        import time

        time.sleep(0.4)
        assert deliver_once(world.sessions()) == 1
        assert list(r.unique()) == [claimed[0][3]]


def test_a_rolled_back_change_notifies_nobody(world: World) -> None:
    with receiver() as r:
        valid(
            world.as_(
                "ven_a", "POST", "/subscriptions", json=subscription_body(r.url, objects=("EVENT",))
            ),
            "subscription",
            201,
        )
        with pytest.raises(RuntimeError), db.transaction(world.sessions()) as s:
            upsert_event(
                s,
                key="k",
                site_id=world.ids["site_a"],
                intervals=[(dt.datetime(2026, 12, 4, tzinfo=dt.UTC), dt.timedelta(hours=1), 10)],
                actor="t",
            )
            raise RuntimeError("boom")
        with db.transaction(world.sessions()) as s:
            assert s.scalars(select(OutboxEntry)).all() == []


def test_deleting_a_subscription_stops_its_pending_notifications(world: World) -> None:
    sub = valid(
        world.as_(
            "ven_a", "POST", "/subscriptions", json=subscription_body("http://127.0.0.1:9/x")
        ),
        "subscription",
        201,
    )
    valid(world.as_("bl", "POST", "/events", json=curtail(world.program, "mine-a")), "event", 201)
    valid(world.as_("ven_a", "DELETE", f"/subscriptions/{sub['id']}"), "subscription")
    assert deliver_once(world.sessions()) == 0


def test_a_ven_that_loses_an_event_is_told_delete_and_nothing_of_the_new(world: World) -> None:
    with receiver() as ra, receiver() as rb:
        for who, r in (("ven_a", ra), ("ven_b", rb)):
            body = subscription_body(r.url, objects=("EVENT",))
            valid(world.as_(who, "POST", "/subscriptions", json=body), "subscription", 201)
        ev = valid(
            world.as_("bl", "POST", "/events", json=curtail(world.program, "mine-a", 111)),
            "event",
            201,
        )
        moved = curtail(world.program, "mine-b", 222)
        valid(world.as_("bl", "PUT", f"/events/{ev['id']}", json=moved), "event")
        deliver_once(world.sessions())
        got_a = [(n["operation"], n["object"]["targets"]) for n in ra.unique().values()]
        got_b = [(n["operation"], n["object"]["targets"]) for n in rb.unique().values()]
        assert sorted(got_a) == [("CREATE", ["mine-a"]), ("DELETE", ["mine-a"])]
        assert got_b == [("UPDATE", ["mine-b"])]
        limits = [
            n["object"]["intervals"][0]["payloads"][0]["values"] for n in ra.unique().values()
        ]
        assert limits == [[111], [111]]  # nothing of the event as it is now for B


def test_active_ignores_events_that_have_transpired(world: World) -> None:
    past = curtail(world.program, "mine-a")
    past["intervalPeriod"] = {"start": "2020-01-01T00:00:00Z", "duration": "PT1H"}
    future = curtail(world.program, "mine-a")
    future["intervalPeriod"] = {"start": "2099-01-01T00:00:00Z", "duration": "PT1H"}
    forever = curtail(world.program, "mine-a")
    forever["intervalPeriod"] = {"start": "2020-01-01T00:00:00Z", "duration": "P9999Y"}
    ids = [
        valid(world.as_("bl", "POST", "/events", json=b), "event", 201)["id"]
        for b in (past, future, forever)
    ]
    active = valid(world.as_("ven_a", "GET", "/events?active=true"), "event")
    assert [e["id"] for e in active] == ids[1:]
    assert len(valid(world.as_("ven_a", "GET", "/events?active=false"), "event")) == 3
    assert [
        e["id"] for e in valid(world.as_("ven_a", "GET", "/events?active=true&skip=1"), "event")
    ] == ids[2:]
    from megawatt.ops.openadr.objects import event_end

    two = {
        "intervalPeriod": {"start": "2026-12-04T12:00:00Z", "duration": "PT15M"},
        "intervals": [{"id": 0, "payloads": []}, {"id": 1, "payloads": []}],
    }
    assert event_end(two) == dt.datetime(2026, 12, 4, 12, 30, tzinfo=dt.UTC)
    assert event_end({"intervals": [{"id": 0, "payloads": []}]}) is None


def test_interval_limits_read_any_spec_valid_shape() -> None:
    """Intervals that inherit the event's period (the spec allows it), a payload of
    another type and a missing value: read or skipped, never a KeyError."""
    import datetime as dt

    from megawatt.ops.openadr.objects import interval_limits_kw
    from megawatt.ops.openadr.tables import OadrEvent

    body = {
        "intervalPeriod": {"start": "2026-07-15T13:00:00Z", "duration": "PT1H"},
        "intervals": [
            {"id": 0, "payloads": [{"type": "IMPORT_CAPACITY_LIMIT", "values": [5000]}]},
            {"id": 1, "payloads": [{"type": "PRICE", "values": [0.1]}]},
            {
                "id": 2,
                "intervalPeriod": {"start": "2026-07-15T16:00:00Z", "duration": "PT30M"},
                "payloads": [{"type": "IMPORT_CAPACITY_LIMIT", "values": [2500]}],
            },
            {"id": 3, "payloads": [{"type": "IMPORT_CAPACITY_LIMIT", "values": []}]},
        ],
    }
    t = dt.datetime(2026, 7, 15, 13, tzinfo=dt.UTC)
    assert interval_limits_kw(OadrEvent(body=body)) == [
        (t, dt.timedelta(hours=1), 5000),
        (t + dt.timedelta(hours=3), dt.timedelta(minutes=30), 2500),
    ]
    assert interval_limits_kw(OadrEvent(body={"intervals": [{"id": 0, "payloads": []}]})) == []
