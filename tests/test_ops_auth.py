"""OAuth2 client credentials and role scoping, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from opsdb import add_client, client, db_url, migrated, new_site, token  # noqa: F401  (fixtures)

PROBLEM = "application/problem+json"


def _site(client: Any, name: str) -> tuple[int, int]:  # noqa: F811
    return new_site(client, name)


def test_no_or_bad_token_is_401(client: Any) -> None:  # noqa: F811
    for headers in (
        {"Authorization": ""},
        {"Authorization": "Bearer nonsense"},
        {"Authorization": "Bearer a.b.c"},
    ):
        r = client.get("/sites", headers=headers)
        assert r.status_code == 401 and r.headers["content-type"].startswith(PROBLEM)
        assert r.headers["www-authenticate"].startswith("Bearer")
    good = client.headers["Authorization"]
    head, claims, sig = good.split()[1].split(".")
    forged = f"{head}.{claims}.{sig[:-2]}AA"
    assert client.get("/sites", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_token_endpoint(client: Any, migrated: str) -> None:  # noqa: F811
    secret = add_client(migrated, "basic-user", "authority")
    wrong = client.post(
        "/auth/token",
        data={"grant_type": "client_credentials", "client_id": "basic-user", "client_secret": "x"},
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    bad_grant = client.post("/auth/token", data={"grant_type": "password"})
    assert bad_grant.status_code == 400
    basic = base64.b64encode(f"basic-user:{secret}".encode()).decode()
    ok = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert ok.status_code == 200 and ok.json()["token_type"] == "Bearer"
    # The earlier path still answers (unlisted in the OpenAPI document).
    assert client.post("/oauth/token", data={"grant_type": "password"}).status_code == 400
    assert "/oauth/token" not in client.get("/openapi.json").json()["paths"]
    assert ok.headers["cache-control"] == "no-store"


def test_operator_and_site_clients_see_only_their_own(client: Any, migrated: str) -> None:  # noqa: F811
    op_a, site_a = _site(client, "a")
    _, site_b = _site(client, "b")
    grant = {"kind": "grant", "effective_from": "2026-01-01T00:00:00Z", "mw": "5", "reason": "r"}
    assert client.post("/ledger", json={**grant, "site_id": site_a}).status_code == 201
    assert client.post("/ledger", json={**grant, "site_id": site_b}).status_code == 201

    op_headers = token(client, "op-a", add_client(migrated, "op-a", "operator", operator_id=op_a))
    site_headers = token(client, "site-b", add_client(migrated, "site-b", "site", site_id=site_b))

    for headers, mine, other in ((op_headers, site_a, site_b), (site_headers, site_b, site_a)):
        assert [s["id"] for s in client.get("/sites", headers=headers).json()] == [mine]
        assert client.get(f"/sites/{other}", headers=headers).status_code == 404
        assert client.get(f"/sites/{mine}", headers=headers).status_code == 200
        assert {e["site_id"] for e in client.get("/ledger", headers=headers).json()} == {mine}
        assert {x["site_id"] for x in client.get("/licences", headers=headers).json()} == {mine}
        assert [x["site_id"] for x in client.get("/allocations", headers=headers).json()] == [mine]
        assert len(client.get("/operators", headers=headers).json()) == 1
        # No writes, no audit trail, for anyone but the authority.
        r = client.post("/ledger", json={**grant, "site_id": mine}, headers=headers)
        assert r.status_code == 403 and r.headers["content-type"].startswith(PROBLEM)
        assert (
            client.patch(f"/sites/{mine}", json={"name": "x"}, headers=headers).status_code == 403
        )
        assert client.get("/audit", headers=headers).status_code == 403
    audit = client.get("/audit", params={"entity": "ledger_entry"}).json()
    assert {a["actor"] for a in audit} == {"authority:test-authority"}


@pytest.mark.parametrize(
    "role, scope", [("operator", {}), ("site", {}), ("authority", {"site_id": 1})]
)
def test_client_scope_is_checked(migrated: str, role: str, scope: dict) -> None:  # noqa: F811
    from megawatt.ops.problems import Problem

    with pytest.raises(Problem):
        add_client(migrated, "bad", role, **scope)


def _cli(*args: str) -> str:
    from typer.testing import CliRunner

    from megawatt.cli import app

    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_disable_rotate_and_retire_from_the_cli(client: Any, migrated: str) -> None:  # noqa: F811
    """`ops client disable|enable|rotate` and `ops key rotate [--retire-old]`: what each
    does to existing tokens and to the secret. JWT iat has whole seconds, so the test
    waits a second between a token and the command that should refuse it."""
    import json
    import time

    from fastapi.testclient import TestClient

    out = _cli("ops", "--db", migrated, "client", "add", "svc", "--role", "authority")
    secret = json.loads(out)["client_secret"]
    http = TestClient(client.app)
    old = token(http, "svc", secret)
    assert http.get("/sites", headers=old).status_code == 200
    time.sleep(1.1)

    _cli("ops", "--db", migrated, "client", "disable", "svc")
    assert http.get("/sites", headers=old).status_code == 401
    assert (
        http.post(
            "/auth/token",
            data={"grant_type": "client_credentials", "client_id": "svc", "client_secret": secret},
        ).status_code
        == 401
    )
    listed = [json.loads(x) for x in _cli("ops", "--db", migrated, "client", "list").splitlines()]
    assert {c["client_id"]: c["disabled_at"] is not None for c in listed}["svc"] is True
    assert all("secret" not in k for c in listed for k in c)
    _cli("ops", "--db", migrated, "client", "enable", "svc")
    assert http.get("/sites", headers=old).status_code == 401  # issued before the disable
    fresh = token(http, "svc", secret)
    assert http.get("/sites", headers=fresh).status_code == 200
    time.sleep(1.1)

    new_secret = json.loads(_cli("ops", "--db", migrated, "client", "rotate", "svc"))[
        "client_secret"
    ]
    assert new_secret != secret
    assert http.get("/sites", headers=fresh).status_code == 401
    bad = {"grant_type": "client_credentials", "client_id": "svc", "client_secret": secret}
    assert http.post("/auth/token", data=bad).status_code == 401
    signed_by_first_key = token(http, "svc", new_secret)

    kid = json.loads(_cli("ops", "--db", migrated, "key", "rotate"))["kid"]
    assert http.get("/sites", headers=signed_by_first_key).status_code == 200
    second = token(http, "svc", new_secret)
    header = second["Authorization"].split()[1].split(".")[0]
    assert json.loads(base64.urlsafe_b64decode(header + "==="))["kid"] == kid
    _cli("ops", "--db", migrated, "key", "rotate", "--retire-old")
    assert http.get("/sites", headers=signed_by_first_key).status_code == 401
    assert http.get("/sites", headers=second).status_code == 401
    now = token(http, "svc", new_secret)
    assert http.get("/sites", headers=now).status_code == 200
    audit = http.get("/audit", params={"entity": "client"}, headers=now).json()
    assert [a["action"] for a in audit].count("update") == 3
    assert all("secret_hash" not in (a["after"] or {}) for a in audit)
    with pytest.raises(AssertionError):
        _cli("ops", "--db", migrated, "client", "disable", "nobody")
