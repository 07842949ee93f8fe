"""The authorization matrix: every endpoint of the OpenAPI document x every role x
own/other object -> the exact status, on SQLite and PostgreSQL.

The world: operators A and B, each with one site (A on plant sahiwal, B on port_qasim),
a licence, an application, a contract and a grant. Roles: no token, the authority, the
system operator, the operator of A, the operator of B, the site client of A and the
site client of B. "own" targets A's records, "other" B's. The rule
(docs/operations.md, "Access"): no token is 401; the authority may do everything; the
system operator reads everything (audit included) and writes nothing here (403); any
other client reads only its own records (404 for anyone else's, never 403, so existence
is not disclosed; lists are filtered), may read all caps, and may not write or read the
audit trail (403).

An endpoint added to the app without an entry in ``MATRIX`` fails ``test_every_endpoint
_has_a_matrix_entry``.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

import pytest

from opsdb import add_client, client, db_url, migrated, token  # noqa: F401  (fixtures)

ROLES = (
    "none",
    "authority",
    "system_operator",
    "operator_own",
    "operator_other",
    "site_own",
    "site_other",
)
TARGETS = ("own", "other")
_seq = itertools.count(1)


class World:
    """Ids, names and Authorization headers of the fixture world."""

    def __init__(self, http: Any, url: str) -> None:
        self.http = http
        self.op: dict[str, int] = {}
        self.site: dict[str, int] = {}
        self.licence: dict[str, int] = {}
        self.application: dict[str, int] = {}
        self.contract: dict[str, int] = {}
        self.ledger: dict[str, int] = {}
        self.meter: dict[str, int] = {}
        self.serial: dict[str, str] = {}
        self.invoice: dict[str, int] = {}
        self.plant = {"own": "sahiwal", "other": "port_qasim"}
        self.zone = {"own": "North", "other": "South"}
        self.names = {
            "own": ("operator-alpha-3f1", "site-alpha-7c2"),
            "other": ("operator-bravo-9d4", "site-bravo-2e8"),
        }
        for t in TARGETS:
            op_name, site_name = self.names[t]
            self.op[t] = self._post("/operators", {"name": op_name})
            self.site[t] = self._post(
                "/sites",
                {
                    "operator_id": self.op[t],
                    "name": site_name,
                    "kind": "btc_miner",
                    "zone": self.zone[t],
                    "plant": self.plant[t],
                    "lat": 30,
                    "lon": 73,
                },
            )
            self.licence[t] = self._post(
                "/licences",
                {
                    "site_id": self.site[t],
                    "number": f"L-{site_name}",
                    "valid_from": "2026-01-01T00:00:00Z",
                },
            )
            self.application[t] = self._post(
                "/applications",
                {"site_id": self.site[t], "requested_mw": "5", "application_date": "2026-01-01"},
            )
            self.contract[t] = self._post("/contracts", self.contract_body(t))
            self.ledger[t] = self._post("/ledger", self.grant_body(t))
            self.serial[t] = f"MTR-{site_name}"
            self.meter[t] = self._post(
                "/meters", {"site_id": self.site[t], "serial": self.serial[t]}
            )
            r = http.post("/readings", json=self.readings_body(t))
            assert r.status_code == 200, r.text
            self.invoice[t] = self._post("/invoices", {"site_id": self.site[t], "month": "2026-01"})
        self.event = {t: self._event(url, t) for t in TARGETS}
        self.headers: dict[str, dict[str, str]] = {"none": {"Authorization": ""}}
        self.headers["authority"] = dict(http.headers)
        scoped = {
            "system_operator": ("system_operator", {}),
            "operator_own": ("operator", {"operator_id": self.op["own"]}),
            "operator_other": ("operator", {"operator_id": self.op["other"]}),
            "site_own": ("site", {"site_id": self.site["own"]}),
            "site_other": ("site", {"site_id": self.site["other"]}),
        }
        self.secrets: dict[str, str] = {}
        for role, (kind, scope) in scoped.items():
            self.secrets[role] = add_client(url, f"c-{role}", kind, **scope)
            self.headers[role] = token(http, f"c-{role}", self.secrets[role])

    def _post(self, path: str, body: dict[str, Any]) -> int:
        r = self.http.post(path, json=body)
        assert r.status_code == 201, (path, r.text)
        return int(r.json()["id"])

    def plan(self, t: str) -> dict[str, int]:
        """The server's plan (made once, a small plan output: test_ops_settlement's);
        the query names the target's site."""
        if getattr(self.http.app.state, "plan_dir", None) is None:
            import shutil
            import tempfile
            import weakref
            from pathlib import Path

            from test_ops_settlement import plan_dir

            tmp = tempfile.mkdtemp(prefix="authz-plan-")
            weakref.finalize(self, shutil.rmtree, tmp, True)
            out, _ = plan_dir(Path(tmp), self.names["own"][1])
            self.http.app.state.plan_dir = str(out)
        return {"site_id": self.site[t]}

    def contract_body(self, t: str) -> dict[str, Any]:
        return {
            "site_id": self.site[t],
            "application_id": self.application[t],
            "tariff_scheme": "flat",
            "tariff_local_per_kwh": "22.98",
            "firm_share": "0.1",
            "firm_service_level": "0.95",
            "notice_minutes": 30,
            "ramp_minutes": 10,
            "penalty_local_per_mwh": "1500",
            "start": "2026-01-01",
            "term_months": 36,
            "review_months": 6,
        }

    def grant_body(self, t: str) -> dict[str, Any]:
        return {
            "site_id": self.site[t],
            "kind": "grant",
            "effective_from": "2026-02-01T00:00:00Z",
            "mw": "0.5",
            "reason": "matrix",
        }

    def _event(self, url: str, t: str) -> int:
        """A curtailment event for the target's site (the VTN's upsert_event)."""
        import datetime as dt

        from megawatt.ops import db
        from megawatt.ops.openadr.objects import upsert_event

        engine = db.make_engine(url)
        try:
            with db.transaction(db.session_factory(engine)) as s:
                start = dt.datetime(2026, 1, 10, 0, 0, tzinfo=dt.UTC)
                row = upsert_event(
                    s,
                    key=f"matrix-{t}",
                    site_id=self.site[t],
                    intervals=[(start, dt.timedelta(hours=1), 500)],
                    actor="test",
                )
                return int(row.id)
        finally:
            engine.dispose()

    def readings_body(self, t: str) -> dict[str, Any]:
        return {
            "readings": [
                {"meter": self.serial[t], "interval_start": f"2026-01-10T0{h}:00:00Z", "kwh": "100"}
                for h in range(4)
            ]
        }

    def sees(self, role: str, t: str) -> bool:
        """Whether ``role`` may read the records of target ``t``'s site."""
        if role in ("authority", "system_operator"):
            return True
        return role.endswith("_own") == (t == "own")


# A request for one cell: (method, url, kwargs) built from the world and the target.
Build = Callable[[World, str], tuple[str, dict[str, Any]]]
# Kinds: "read" (visible 200, invisible 404), "list" (200 for any client, filtered),
# "write" (authority 2xx, others 403), "audit" (authority and system operator 2xx, others
# 403: the audit trail, the schedule, emergencies),
# "public" (every client 200: caps), "token" (the token endpoint, no bearer needed),
# "ingest" (readings: the authority any meter's, a site client its own meters' (another
# site's meter is an unknown meter: 422), everyone else 403).


JANUARY = {"start": "2026-01-01T00:00:00Z", "end": "2026-02-01T00:00:00Z"}


def _u() -> str:
    return f"x{next(_seq)}"


MATRIX: dict[tuple[str, str], tuple[str, int, Build]] = {
    ("post", "/auth/token"): ("token", 200, lambda w, t: ("/auth/token", {})),
    ("post", "/operators"): (
        "write",
        201,
        lambda w, t: ("/operators", {"json": {"name": f"op-{_u()}"}}),
    ),
    ("get", "/operators"): ("list", 200, lambda w, t: ("/operators", {})),
    ("get", "/operators/{operator_id}"): (
        "read",
        200,
        lambda w, t: (f"/operators/{w.op[t]}", {}),
    ),
    ("patch", "/operators/{operator_id}"): (
        "write",
        200,
        lambda w, t: (f"/operators/{w.op[t]}", {"json": {"contact_email": f"{_u()}@x.pk"}}),
    ),
    ("post", "/sites"): (
        "write",
        201,
        lambda w, t: (
            "/sites",
            {
                "json": {
                    "operator_id": w.op[t],
                    "name": f"site-{_u()}",
                    "kind": "ai_datacenter",
                    "zone": w.zone[t],
                    "plant": w.plant[t],
                    "lat": 30,
                    "lon": 73,
                }
            },
        ),
    ),
    ("get", "/sites"): (
        "list",
        200,
        lambda w, t: ("/sites", {"params": {"operator_id": w.op[t]}}),
    ),
    ("get", "/sites/{site_id}"): ("read", 200, lambda w, t: (f"/sites/{w.site[t]}", {})),
    ("patch", "/sites/{site_id}"): (
        "write",
        200,
        lambda w, t: (f"/sites/{w.site[t]}", {"json": {"substation": _u()}}),
    ),
    ("post", "/licences"): (
        "write",
        201,
        lambda w, t: (
            "/licences",
            {
                "json": {
                    "site_id": w.site[t],
                    "number": f"L-{_u()}",
                    "valid_from": "2026-01-01T00:00:00Z",
                }
            },
        ),
    ),
    ("get", "/licences"): (
        "list",
        200,
        lambda w, t: ("/licences", {"params": {"site_id": w.site[t]}}),
    ),
    ("get", "/licences/{licence_id}"): (
        "read",
        200,
        lambda w, t: (f"/licences/{w.licence[t]}", {}),
    ),
    ("patch", "/licences/{licence_id}"): (
        "write",
        200,
        lambda w, t: (
            f"/licences/{w.licence[t]}",
            {"json": {"valid_to": f"2099-01-{next(_seq) % 28 + 1:02d}T00:00:00Z"}},
        ),
    ),
    ("post", "/applications"): (
        "write",
        201,
        lambda w, t: (
            "/applications",
            {"json": {"site_id": w.site[t], "requested_mw": "1", "application_date": "2026-03-01"}},
        ),
    ),
    ("get", "/applications"): (
        "list",
        200,
        lambda w, t: ("/applications", {"params": {"site_id": w.site[t]}}),
    ),
    ("get", "/applications/{application_id}"): (
        "read",
        200,
        lambda w, t: (f"/applications/{w.application[t]}", {}),
    ),
    ("patch", "/applications/{application_id}"): (
        "write",
        200,
        lambda w, t: (f"/applications/{w.application[t]}", {"json": {"status": "granted"}}),
    ),
    ("post", "/contracts"): (
        "write",
        201,
        lambda w, t: ("/contracts", {"json": w.contract_body(t)}),
    ),
    ("get", "/contracts"): (
        "list",
        200,
        lambda w, t: ("/contracts", {"params": {"site_id": w.site[t]}}),
    ),
    ("get", "/contracts/{contract_id}"): (
        "read",
        200,
        lambda w, t: (f"/contracts/{w.contract[t]}", {}),
    ),
    ("get", "/caps"): ("public", 200, lambda w, t: ("/caps", {})),
    ("put", "/caps/{scope}/{name}"): (
        "write",
        200,
        lambda w, t: (f"/caps/plant/{w.plant[t]}", {"json": {"cap_mw": "1000"}}),
    ),
    ("post", "/ledger"): ("write", 201, lambda w, t: ("/ledger", {"json": w.grant_body(t)})),
    ("get", "/ledger"): (
        "list",
        200,
        lambda w, t: ("/ledger", {"params": {"site_id": w.site[t]}}),
    ),
    ("get", "/allocations"): (
        "list",
        200,
        lambda w, t: ("/allocations", {"params": {"at": "2026-06-01T00:00:00Z"}}),
    ),
    ("get", "/audit"): ("audit", 200, lambda w, t: ("/audit", {})),
    # The day-ahead schedule and emergencies: the system operator's writes (and the
    # authority's); published over OpenADR.
    ("post", "/schedule"): (
        "audit",
        200,
        lambda w, t: ("/schedule", {"json": {"day": "2026-03-01"}}),
    ),
    ("post", "/emergencies"): (
        "audit",
        201,
        lambda w, t: (
            "/emergencies",
            {
                "json": {
                    "site_id": w.site[t],
                    "start": f"2026-03-0{1 + next(_seq) % 9}T10:00:00Z",
                    "end": "2026-03-10T12:00:00Z",
                    "limit_mw": "0.1",
                }
            },
        ),
    ),
    ("get", "/compliance"): (
        "list",
        200,
        lambda w, t: ("/compliance", {"params": {"month": "2026-01", "site_id": w.site[t]}}),
    ),
    ("get", "/compliance/events/{event_id}"): (
        "read",
        200,
        lambda w, t: (f"/compliance/events/{w.event[t]}", {}),
    ),
    ("post", "/meters"): (
        "write",
        201,
        lambda w, t: ("/meters", {"json": {"site_id": w.site[t], "serial": f"m-{_u()}"}}),
    ),
    ("get", "/meters"): ("list", 200, lambda w, t: ("/meters", {"params": {"site_id": w.site[t]}})),
    ("get", "/meters/{meter_id}"): ("read", 200, lambda w, t: (f"/meters/{w.meter[t]}", {})),
    ("get", "/meters/{meter_id}/gaps"): (
        "read",
        200,
        lambda w, t: (f"/meters/{w.meter[t]}/gaps", {"params": JANUARY}),
    ),
    ("post", "/readings"): (
        "ingest",
        200,
        lambda w, t: ("/readings", {"json": w.readings_body(t)}),
    ),
    ("get", "/readings"): (
        "list",
        200,
        lambda w, t: ("/readings", {"params": {**JANUARY, "site_id": w.site[t]}}),
    ),
    ("get", "/sites/{site_id}/greenbutton"): (
        "read",
        200,
        lambda w, t: (f"/sites/{w.site[t]}/greenbutton", {"params": JANUARY}),
    ),
    ("post", "/invoices"): (
        "write",
        201,
        lambda w, t: (
            "/invoices",
            {"json": {"site_id": w.site[t], "month": f"2026-{next(_seq) % 10 + 2:02d}"}},
        ),
    ),
    ("get", "/invoices"): (
        "list",
        200,
        lambda w, t: ("/invoices", {"params": {"site_id": w.site[t]}}),
    ),
    ("get", "/invoices/{invoice_id}"): (
        "read",
        200,
        lambda w, t: (f"/invoices/{w.invoice[t]}", {}),
    ),
    ("get", "/invoices/{invoice_id}/csv"): (
        "read",
        200,
        lambda w, t: (f"/invoices/{w.invoice[t]}/csv", {}),
    ),
    ("get", "/invoices/{invoice_id}/html"): (
        "read",
        200,
        lambda w, t: (f"/invoices/{w.invoice[t]}/html", {}),
    ),
    ("get", "/plan-vs-actual"): (
        "list",
        200,
        lambda w, t: ("/plan-vs-actual", {"params": {"month": "2026-06", **w.plan(t)}}),
    ),
    ("post", "/invoices/{invoice_id}/credit-note"): (
        "write",
        201,
        lambda w, t: (
            f"/invoices/{w.invoice[t]}/credit-note",
            {"json": {"reason": "matrix"}},
        ),
    ),
}


def _endpoints(app: Any) -> list[tuple[str, str]]:
    methods = {"get", "post", "put", "patch", "delete", "head", "options", "trace"}
    return [
        (m, path) for path, item in app.openapi()["paths"].items() for m in item if m in methods
    ]


def expected(kind: str, ok: int, role: str, world: World, t: str) -> int:
    if kind == "token":
        return ok
    if role == "none":
        return 401
    if kind == "write":
        return ok if role == "authority" else 403
    if kind == "audit":
        return ok if role in ("authority", "system_operator") else 403
    if kind == "read":
        return ok if world.sees(role, t) else 404
    if kind == "ingest":
        if role == "authority":
            return ok
        if role.startswith("site_"):
            return ok if world.sees(role, t) else 422
        return 403
    return ok  # list, public


def _ids(body: Any, key: str) -> set[Any]:
    """Every value of ``key`` anywhere in a JSON body."""
    found: set[Any] = set()
    if isinstance(body, dict):
        for k, v in body.items():
            if k == key and not isinstance(v, (dict, list)):
                found.add(v)
            found |= _ids(v, key)
    elif isinstance(body, list):
        for v in body:
            found |= _ids(v, key)
    return found


def _check_no_leak(world: World, role: str, method: str, path: str, body: Any) -> None:
    """A scoped client's 2xx body names no record of the site it cannot see."""
    if role in ("none", "authority", "system_operator"):
        return
    hidden = "other" if role.endswith("_own") else "own"
    text = body if isinstance(body, str) else json.dumps(body)
    for name in world.names[hidden]:
        assert name not in text, (role, method, path, name)
    assert world.site[hidden] not in _ids(body, "site_id"), (role, method, path)
    assert world.op[hidden] not in _ids(body, "operator_id"), (role, method, path)
    if path.startswith("/sites"):
        assert world.site[hidden] not in _ids(body, "id"), (role, method, path)
    if path.startswith("/operators"):
        assert world.op[hidden] not in _ids(body, "id"), (role, method, path)


def test_every_endpoint_has_a_matrix_entry(client: Any) -> None:  # noqa: F811
    endpoints = _endpoints(client.app)
    assert set(endpoints) == set(MATRIX), {
        "missing from MATRIX": sorted(set(endpoints) - set(MATRIX)),
        "not in the app": sorted(set(MATRIX) - set(endpoints)),
    }


def test_authorization_matrix(client: Any, migrated: str) -> None:  # noqa: F811
    world = World(client, migrated)
    failures = []
    cells = 0
    for method, path in _endpoints(client.app):
        assert (method, path) in MATRIX, f"{method.upper()} {path} has no matrix entry"
        kind, ok, build = MATRIX[(method, path)]
        for role, t in itertools.product(ROLES, TARGETS):
            url, kwargs = build(world, t)
            want = expected(kind, ok, role, world, t)
            if kind == "token":
                # The token endpoint takes credentials, not a bearer token.
                if role == "none":
                    cid, secret, want = "nobody", "wrong", 401
                elif role == "authority":
                    cid, secret = "", ""
                    want = 400
                else:
                    cid, secret = f"c-{role}", world.secrets[role]
                form = {"grant_type": "client_credentials", "client_id": cid}
                form["client_secret"] = secret
                kwargs = {"data": form}
                headers = {"Authorization": ""}
            else:
                headers = world.headers[role]
            r = client.request(method.upper(), url, headers=headers, **kwargs)
            cells += 1
            if r.status_code != want:
                failures.append(
                    f"{method.upper()} {url} as {role} ({t}): {r.status_code} != {want}"
                )
                continue
            if r.status_code >= 400:
                assert r.headers["content-type"].startswith("application/problem+json")
            elif kind != "token":
                json_body = "json" in r.headers["content-type"]
                _check_no_leak(world, role, method, path, r.json() if json_body else r.text)
    assert not failures, "\n".join(failures)
    assert cells == len(MATRIX) * len(ROLES) * len(TARGETS)


@pytest.mark.parametrize("role", ["operator_own", "site_own"])
def test_lists_are_filtered_to_own(client: Any, migrated: str, role: str) -> None:  # noqa: F811
    """Every list a scoped client reads names only its own site, and reading with the
    other's id as filter is an empty list (not 403 or 404)."""
    world = World(client, migrated)
    h = world.headers[role]
    own, other = world.site["own"], world.site["other"]
    for path in ("/licences", "/applications", "/contracts", "/ledger", "/meters", "/invoices"):
        assert {x["site_id"] for x in client.get(path, headers=h).json()} == {own}, path
        assert client.get(path, headers=h, params={"site_id": other}).json() == [], path
    assert [x["id"] for x in client.get("/sites", headers=h).json()] == [own]
    assert client.get("/sites", headers=h, params={"operator_id": world.op["other"]}).json() == []
    assert [x["id"] for x in client.get("/operators", headers=h).json()] == [world.op["own"]]
    allocations = client.get("/allocations", headers=h).json()
    assert [x["site_id"] for x in allocations] == [own]


def test_someone_elses_record_is_indistinguishable_from_none(client: Any, migrated: str) -> None:  # noqa: F811
    """The 404 for another site's record is the 404 for an id that does not exist."""
    world = World(client, migrated)
    missing = 2_000_000_000
    for role in ("operator_own", "site_own"):
        h = world.headers[role]
        for path, ids in (
            ("/operators", world.op),
            ("/sites", world.site),
            ("/licences", world.licence),
            ("/applications", world.application),
            ("/contracts", world.contract),
            ("/meters", world.meter),
            ("/invoices", world.invoice),
        ):
            hidden = client.get(f"{path}/{ids['other']}", headers=h)
            absent = client.get(f"{path}/{missing}", headers=h)
            assert hidden.status_code == absent.status_code == 404
            body = hidden.json()
            body.pop("instance", None)
            other = absent.json()
            other.pop("instance", None)
            text = json.dumps(body).replace(str(ids["other"]), "ID")
            assert text == json.dumps(other).replace(str(missing), "ID"), (role, path)
            assert hidden.headers.keys() == absent.headers.keys()
