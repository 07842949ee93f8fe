"""`megawatt serve` as a real process on loopback: 50 concurrent HTTP clients race for
the last MW of a plant (SQLite and PostgreSQL); the CLI's database errors are one line."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from typer.testing import CliRunner

from megawatt.cli import app
from opsdb import db_url, migrated  # noqa: F401  (fixtures)

#: Not in the fast subset: starts real servers and races 50 clients (~20 s).
pytestmark = pytest.mark.slow

WHO: dict[str, str] = {}  # filled with the authority's token by the server fixture


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(migrated: str) -> Iterator[str]:  # noqa: F811
    out = CliRunner().invoke(
        app, ["ops", "--db", migrated, "client", "add", "racer", "--role", "authority"]
    )
    assert out.exit_code == 0, out.output
    secret = json.loads(out.output)["client_secret"]
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "megawatt", "serve", "--db", migrated, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "NO_COLOR": "1"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/openapi.json", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("megawatt serve did not start")
        assert httpx.get(f"{base}/sites").status_code == 401
        form = {"grant_type": "client_credentials", "client_id": "racer", "client_secret": secret}
        got = httpx.post(f"{base}/auth/token", data=form)
        assert got.status_code == 200, got.text
        WHO["Authorization"] = f"Bearer {got.json()['access_token']}"
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_fifty_http_clients_race_for_the_last_mw(server: str) -> None:
    with httpx.Client(base_url=server, headers=WHO, timeout=120) as c:
        op = c.post("/operators", json={"name": "racers"}).json()["id"]
        ids = []
        for i in range(51):
            site = c.post(
                "/sites",
                json={
                    "operator_id": op,
                    "name": f"s{i}",
                    "kind": "ai_datacenter",
                    "zone": "South",
                    "plant": "port_qasim",
                    "lat": 24.8,
                    "lon": 67.3,
                },
            ).json()["id"]
            lic = c.post(
                "/licences",
                json={"site_id": site, "number": f"L{i}", "valid_from": "2026-01-01T00:00:00Z"},
            )
            assert lic.status_code == 201
            ids.append(site)
        first = {"kind": "grant", "effective_from": "2026-01-01T00:00:00Z", "reason": "plan"}
        r = c.post("/ledger", json={**first, "site_id": ids[0], "mw": "1244"})
        assert r.status_code == 201, r.text

    barrier = threading.Barrier(50)
    statuses: list[int] = []
    bodies: list[dict] = []

    def race(site: int) -> None:
        with httpx.Client(base_url=server, headers=WHO, timeout=300) as c:
            barrier.wait()
            resp = c.post("/ledger", json={**first, "site_id": site, "mw": "1"})
            statuses.append(resp.status_code)
            if resp.status_code == 409:
                bodies.append(resp.json())

    threads = [threading.Thread(target=race, args=(s,)) for s in ids[1:]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert sorted(statuses) == [201] + [409] * 49
    assert all(b["cap"]["name"] == "port_qasim" and b["remaining_mw"] == "0.000" for b in bodies)
    with httpx.Client(base_url=server, headers=WHO) as c:
        caps = {(x["scope"], x["name"]): x for x in c.get("/caps").json()}
        assert caps[("plant", "port_qasim")]["peak_allocated_mw"] == "1245.000"
        assert caps[("plant", "port_qasim")]["cap_mw"] == "1245.000"


def test_cli_database_errors_are_one_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    runner = CliRunner()
    r = runner.invoke(app, ["ops", "--db", "nonsense://", "migrate"])
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1, r.output
    r = runner.invoke(app, ["serve", "--db", f"sqlite:///{tmp_path / 'empty.db'}"])
    assert r.exit_code == 2 and "megawatt ops migrate" in r.output, r.output
    url = f"sqlite:///{tmp_path / 'm.db'}"
    assert runner.invoke(app, ["ops", "--db", url, "migrate", "--revision", "0001"]).exit_code == 0
    r = runner.invoke(app, ["serve", "--db", url])
    assert r.exit_code == 2 and "revision 0001" in r.output, r.output
    r = runner.invoke(app, ["ops", "--db", url, "migrate", "--revision", "bogus"])
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1, r.output
    assert runner.invoke(app, ["ops", "--db", url, "migrate"]).exit_code == 0
    r = runner.invoke(app, ["ops", "--db", url, "seed-caps"])
    assert r.exit_code == 0 and "sahiwal" in r.output and "2000.000" in r.output
