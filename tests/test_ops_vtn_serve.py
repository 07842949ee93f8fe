"""The VTN in a real ``megawatt serve`` on loopback, on SQLite and PostgreSQL:

- the ElaadNL ``openadr3-client`` (2.4.2, in its own Python >= 3.12 virtual environment,
  made once under ~/.cache/megawatt) is the business logic and the VEN: the business
  logic creates the program, registers the VEN and creates the events; the VEN fetches
  a token, lists programs, reads the events targeted at it, posts a report and
  subscribes; the business logic reads the report; the VTN's worker then POSTs the VEN
  a webhook on a loopback receiver;
- a change committed by a server whose worker never sent it, then killed (SIGKILL), is
  delivered by the next server;
- a server killed while its webhook is in flight: the next server sends it again with
  the same notification id, so a receiver that de-duplicates sees it once.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

import needs
from megawatt.ops import db
from megawatt.ops.openadr.tables import OutboxEntry
from opsdb import add_client, db_url, migrated  # noqa: F401  (fixtures)
from vtnkit import B, curtail, receiver, registry, subscription_body

#: Real servers, a client in another Python, kills and restarts: not the fast subset.
pytestmark = pytest.mark.slow

CLIENT_VERSION = "2.4.2"
VEN_SCRIPT = Path(__file__).resolve().parent / "openadr3_ven.py"
BL_SCRIPT = Path(__file__).resolve().parent / "openadr3_bl.py"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # type: ignore[no-any-return]


class Server:
    """``megawatt serve`` on a loopback port (the same port across restarts)."""

    def __init__(self, url: str, **env: str) -> None:
        self.url = url
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, **env: str) -> Server:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "megawatt", "serve", "--db", self.url, "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "NO_COLOR": "1", **self.env, **env},
        )
        for _ in range(300):
            try:
                if httpx.get(f"{self.base}{B}/auth/server", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError("megawatt serve did not start")

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, nothing is flushed."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
            self.proc = None


@pytest.fixture
def server(migrated: str) -> Iterator[Server]:  # noqa: F811
    srv = Server(migrated)
    try:
        yield srv
    finally:
        srv.stop()


def _token(base: str, client_id: str, secret: str) -> dict[str, str]:
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    resp = httpx.post(f"{base}{B}/auth/token", data=form)
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


def _world(srv: Server) -> tuple[httpx.Client, dict[str, Any]]:
    """The authority's HTTP client, the registry of vtnkit, the VEN clients of A and B."""
    secret = add_client(srv.url, "bl", "authority")
    http = httpx.Client(base_url=srv.base, headers=_token(srv.base, "bl", secret), timeout=60)
    ids = registry(http)
    ids["secret_a"] = add_client(srv.url, "ven-a", "site", site_id=ids["site_a"])
    ids["secret_b"] = add_client(srv.url, "ven-b", "site", site_id=ids["site_b"])
    resp = http.post(f"{B}/programs", json={"programName": "curtailment"})
    assert resp.status_code == 201, resp.text
    ids["program"] = resp.json()["id"]
    return http, ids


def _outbox(url: str) -> list[tuple[str, str, int]]:
    engine = db.make_engine(url)
    try:
        with db.transaction(db.session_factory(engine)) as s:
            rows = s.scalars(select(OutboxEntry).order_by(OutboxEntry.id))
            return [(r.notification_id, r.status, r.attempts) for r in rows]
    finally:
        engine.dispose()


# -- the openadr3-client VEN ---------------------------------------------------------------


def _python312() -> str | None:
    found = [shutil.which(n) for n in ("python3.13", "python3.12")]
    found += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.1[23]*/bin/python3")))
    for exe in filter(None, found):
        ok = subprocess.run(
            [exe, "-c", "import sys; assert sys.version_info >= (3, 12)"], capture_output=True
        )
        if ok.returncode == 0:
            return exe
    return None


@pytest.fixture(scope="session")
def ven_python() -> str:
    """A Python with openadr3-client (which needs >= 3.12; megawatt runs on 3.11):
    $MEGAWATT_OPENADR3_PYTHON, else a virtual environment made once in the cache."""
    if os.environ.get("MEGAWATT_OPENADR3_PYTHON"):
        return os.environ["MEGAWATT_OPENADR3_PYTHON"]
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    venv = cache / "megawatt" / f"openadr3-client-{CLIENT_VERSION}"
    python = venv / "bin" / "python"
    check = [str(python), "-c", "import openadr3_client"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return str(python)
    base = _python312()
    if base is None:
        needs.missing("no Python >= 3.12 for the openadr3-client VEN")
    subprocess.run([base, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", f"openadr3-client=={CLIENT_VERSION}"],
        check=True,
    )
    return str(python)


def _client312(python: str, script: Path, job: dict[str, Any]) -> dict[str, Any]:
    """Run ``script`` (an openadr3-client program) on ``job``; its JSON answer."""
    run = subprocess.run(
        [python, str(script)], input=json.dumps(job).encode(), capture_output=True, timeout=120
    )
    assert run.returncode == 0, run.stderr.decode()[-3000:]
    return json.loads(run.stdout)  # type: ignore[no-any-return]


def test_openadr3_client_is_a_ven_end_to_end(server: Server, ven_python: str) -> None:
    """openadr3-client on both sides: its business logic client (an authority client)
    creates the program, registers the VEN and creates the events; its VEN client reads
    the events targeted at it and posts a report; the business logic reads that report."""
    server.start()
    bl_secret = add_client(server.url, "bl", "authority")
    http = httpx.Client(
        base_url=server.base, headers=_token(server.base, "bl", bl_secret), timeout=60
    )
    ids = registry(http)  # the registry (operators, sites, licences): megawatt's own API
    secret_a = add_client(server.url, "ven-a", "site", site_id=ids["site_a"])
    oadr = {"base": server.base + B, "token_url": f"{server.base}{B}/auth/token"}
    bl = {**oadr, "client_id": "bl", "client_secret": bl_secret}
    setup = _client312(
        ven_python,
        BL_SCRIPT,
        {
            **bl,
            "do": "setup",
            "program": "curtailment",
            "ven": "mine-a",
            "ven_client_id": "ven-a",
            "events": [
                {k: v for k, v in curtail("-", t, kw).items() if k != "programID"}
                for t, kw in (("mine-b", 7000), ("mine-a", 5000))
            ],
        },
    )
    assert setup["ven"] == {"id": str(ids["site_a"]), "name": "mine-a", "client_id": "ven-a"}
    ev_b, ev_a = setup["events"]
    assert [ev_b["targets"], ev_a["targets"]] == [["mine-b"], ["mine-a"]]
    with receiver() as hook:
        out = _client312(
            ven_python,
            VEN_SCRIPT,
            {
                **oadr,
                "client_id": "ven-a",
                "client_secret": secret_a,
                "ven_name": "mine-a",
                "callback": hook.url,
                "hook_token": "a-hook-token",
            },
        )
        assert out["programs"] == ["curtailment"]
        assert out["events"] == [{"id": ev_a["id"], "targets": ["mine-a"], "limits": [[5000]]}]
        assert ev_b["id"] not in out["all_events"]  # B's event: not even listed
        assert out["vens"] == ["mine-a"]
        assert out["report"]["client_id"] == "ven-a"
        assert out["subscription"]["status"] == 201, out["subscription"]
        # The business logic reads the VEN's report, with openadr3-client too.
        read = _client312(ven_python, BL_SCRIPT, {**bl, "do": "reports", "client_name": "mine-a"})
        assert read["reports"] == [
            {
                "id": out["report"]["id"],
                "client_name": "mine-a",
                "event_id": ev_a["id"],
                "values": [4200.0],
            }
        ]
        # A new event for B, then one for A: the VEN is told of A's only, with its token.
        program = setup["program"]
        http.post(f"{B}/events", json=curtail(program, "mine-b", 1))
        t0 = time.monotonic()
        new = http.post(f"{B}/events", json=curtail(program, "mine-a", 2500)).json()
        hook.wait(1, timeout=10)
        latency = time.monotonic() - t0
        (headers, note), *_ = hook.got
        assert note["operation"] == "CREATE" and note["object"]["id"] == new["id"]
        assert {k.lower(): v for k, v in headers.items()}["authorization"] == "Bearer a-hook-token"
        assert latency < 5, latency
        time.sleep(1.0)
        assert len(hook.unique()) == 1  # nothing about B's event
    http.close()


# -- never lost ----------------------------------------------------------------------------


def test_a_change_committed_before_a_crash_is_delivered_after_restart(server: Server) -> None:
    with receiver() as hook:
        server.start(MEGAWATT_OUTBOX_WORKER="0")  # commits changes, never sends
        http, ids = _world(server)
        ven = {"Authorization": _token(server.base, "ven-a", ids["secret_a"])["Authorization"]}
        body = subscription_body(hook.url, objects=("EVENT",))
        assert http.post(f"{B}/subscriptions", json=body, headers=ven).status_code == 201
        ev = http.post(f"{B}/events", json=curtail(ids["program"], "mine-a")).json()
        http.close()
        server.kill()
        assert [s for _, s, _ in _outbox(server.url)] == ["pending"]
        time.sleep(0.5)
        assert hook.got == []
        server.start()  # a new process, its worker on
        hook.wait(1, timeout=15)
        (note,) = hook.unique().values()
        assert note["object"]["id"] == ev["id"]
        deadline = time.monotonic() + 10
        while _outbox(server.url)[0][1] != "delivered" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [s for _, s, _ in _outbox(server.url)] == ["delivered"]


def test_kill_during_delivery_loses_nothing_and_dedup_sees_one(server: Server) -> None:
    with receiver(hold=3.0) as hook:  # answers 3 s after it has the notification
        server.start(MEGAWATT_OUTBOX_LEASE_SECONDS="1")
        http, ids = _world(server)
        ven = {"Authorization": _token(server.base, "ven-a", ids["secret_a"])["Authorization"]}
        body = subscription_body(hook.url, objects=("EVENT",))
        assert http.post(f"{B}/subscriptions", json=body, headers=ven).status_code == 201
        http.post(f"{B}/events", json=curtail(ids["program"], "mine-a"))
        http.close()
        deadline = time.monotonic() + 10
        while not hook.got and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(hook.got) == 1
        server.kill()  # in flight: the receiver has it, the server never hears back
        assert [s for _, s, _ in _outbox(server.url)] == ["pending"]
        server.start(MEGAWATT_OUTBOX_LEASE_SECONDS="1")
        deadline = time.monotonic() + 20
        while _outbox(server.url)[0][1] != "delivered" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [s for _, s, _ in _outbox(server.url)] == ["delivered"]
        assert len(hook.got) == 2  # sent again after the crash ...
        assert len(hook.unique()) == 1  # ... with the same notification id
