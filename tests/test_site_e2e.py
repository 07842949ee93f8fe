"""End to end on loopback: a real ``megawatt serve`` (the VTN), a site client, an event
with an import limit, ``megawatt site-agent`` as a process, and a fleet of fake LuxOS
miners (one lying, one dead) driven through pyasic.

The event reaches the agent (webhook), the fleet is under the limit within the ramp
time by the fakes' own power, reports arrive at the VTN, the fleet recovers when the
event ends. Killing the agent mid-event (SIGKILL) and starting it again resumes the
event; stopping the VTN mid-event leaves the agent on its last schedule, and the
reports it could not send arrive once the VTN is back.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

import needs
from megawatt.site.fakeminer import FakeFleet, FakeMiner, loopback
from opsdb import add_client
from test_ops_vtn_serve import Server
from vtnkit import B, registry

needs.module("pyasic", "the site extra (pyasic)")  # megawatt.site imports it lazily

pytestmark = pytest.mark.slow

LIMIT_KW = 10.0
RAMP_S = 6.0


@pytest.fixture
def vtn(tmp_path: Path) -> Iterator[Server]:
    from megawatt import scenario
    from megawatt.ops import db
    from megawatt.ops.seed import seed_caps

    url = f"sqlite:///{tmp_path / 'megawatt.db'}"
    db.migrate(url)
    engine = db.make_engine(url)
    with db.transaction(db.session_factory(engine)) as session:
        seed_caps(session, scenario.load_default(), actor="test")
    engine.dispose()
    srv = Server(url)
    try:
        yield srv
    finally:
        srv.stop()


def _authority(srv: Server) -> httpx.Client:
    secret = add_client(srv.url, "bl", "authority")
    form = {"grant_type": "client_credentials", "client_id": "bl", "client_secret": secret}
    tok = httpx.post(f"{srv.base}{B}/auth/token", data=form).json()["access_token"]
    return httpx.Client(base_url=srv.base, headers={"Authorization": f"Bearer {tok}"}, timeout=30)


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _wait(what: str, ok: Callable[[], bool], timeout: float) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if ok():
            return time.monotonic() - t0
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout} s")


class AgentProc:
    def __init__(self, config: Path) -> None:
        self.config = config
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = config.parent / "agent.log"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "megawatt", "site-agent", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("ab"),
            env={**os.environ, "NO_COLOR": "1"},
        )

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)
            self.proc = None

    def lines(self) -> list[dict[str, Any]]:
        out = []
        for line in self.log.read_text().splitlines():
            if line.startswith("{"):
                out.append(json.loads(line))
        return out


def test_event_to_fleet_and_back(vtn: Server, tmp_path: Path) -> None:
    vtn.start()
    http = _authority(vtn)
    ids = registry(http)
    secret = add_client(vtn.url, "ven-a", "site", site_id=ids["site_a"])
    program = http.post(f"{B}/programs", json={"programName": "curtailment"}).json()["id"]

    kinds = ["luxos"] * 4 + ["lying", "dead"]
    miners = [FakeMiner(ip, kind=k) for ip, k in zip(loopback(6, start=60), kinds, strict=True)]
    honest, liar, dead = miners[:4], miners[4], miners[5]
    fleet = FakeFleet(miners)
    fleet.__enter__()  # the ports are known once they listen
    config = tmp_path / "site.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "site": "mine-a",
                "vtn": {
                    "url": vtn.base + B,
                    "client_id": "ven-a",
                    "client_secret": secret,
                    "poll_seconds": 2,
                    "timeout_seconds": 3,
                },
                "webhook": {"host": "127.0.0.1", "port": 0},
                "state": str(tmp_path / "agent.db"),
                "fleets": [
                    {
                        "name": "row-1",
                        "firmware": "luxos",
                        "model": "S19XP",
                        "hosts": [m.host for m in miners],
                        "rated_w": 3250,
                        "hashrate_th": 140,
                    }
                ],
                "tick_seconds": 0.5,
                "settle_seconds": 0.3,
                "command_timeout_seconds": 1,
                "ramp_seconds": RAMP_S,
                "wake_step_kw": 4,
                "wake_stagger_seconds": 1,
                "reporting_seconds": 4,
            }
        )
    )
    agent = AgentProc(config)
    try:
        full = fleet.total_w()
        assert full == 6 * 3250
        agent.start()
        _wait(
            "the agent registered",
            lambda: any(r.get("kind") == "registered" for r in agent.lines()),
            30,
        )

        start = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)
        body = {
            "programID": program,
            "eventName": "curtail mine-a",
            "priority": 1,
            "targets": ["mine-a"],
            "payloadDescriptors": [
                {
                    "objectType": "EVENT_PAYLOAD_DESCRIPTOR",
                    "payloadType": "IMPORT_CAPACITY_LIMIT",
                    "units": "KW",
                }
            ],
            "reportDescriptors": [
                {"payloadType": "USAGE", "units": "KWH"},
                {"payloadType": "DEMAND", "units": "KW"},
            ],
            "intervalPeriod": {"start": _iso(start), "duration": "PT40S"},
            "intervals": [
                {"id": 0, "payloads": [{"type": "IMPORT_CAPACITY_LIMIT", "values": [LIMIT_KW]}]}
            ],
        }
        resp = http.post(f"{B}/events", json=body)
        assert resp.status_code == 201, resp.text
        event_id = resp.json()["id"]
        _wait(
            "the webhook reached the agent",
            lambda: any(r.get("kind") == "notification" for r in agent.lines()),
            10,
        )

        # Under the limit within the ramp time by the fakes' own power (the liar at
        # 3250 W and the dead miner, taken as still drawing 3250 W, included).
        time.sleep(max(0.0, (start - dt.datetime.now(dt.UTC)).total_seconds()))
        took = _wait("under the limit", lambda: fleet.total_w() <= LIMIT_KW * 1000, RAMP_S)
        assert liar.watts == 3250 and not liar.asleep
        lying = [r for r in agent.lines() if r.get("verdict") == "lying"]
        assert lying and lying[0]["unit"] == liar.host
        assert any(r.get("kind") == "unreachable" and r["unit"] == dead.host for r in agent.lines())

        _wait(
            "the agent saw it",
            lambda: any(r.get("kind") == "under_limit" for r in agent.lines()),
            RAMP_S,
        )
        ramp = [r for r in agent.lines() if r.get("kind") == "under_limit"]
        assert ramp and ramp[0]["ramp_ok"] is True and ramp[0]["event"] == event_id

        # A restart mid-event resumes it: same state, still under the limit.
        agent.stop(signal.SIGKILL)
        agent.start()
        time.sleep(3)
        assert fleet.total_w() <= LIMIT_KW * 1000

        # The VTN goes away mid-event: the agent keeps the schedule and retries.
        vtn.stop()
        time.sleep(5)
        assert fleet.total_w() <= LIMIT_KW * 1000
        assert any(r.get("kind") == "vtn_unreachable" for r in agent.lines())
        vtn.start()

        # The event ends (40 s after its start): the fleet wakes in steps.
        end = start + dt.timedelta(seconds=40)
        time.sleep(max(0.0, (end - dt.datetime.now(dt.UTC)).total_seconds()))
        _wait(
            "the fleet recovered",
            lambda: all(not m.asleep and m.profile == "default" for m in honest),
            30,
        )
        wakes = [r for r in agent.lines() if r.get("kind") == "wake"]
        assert len(wakes) >= 2  # staggered, not in one step

        # Reports arrived at the VTN, USAGE and DEMAND as asked, OPERATING_STATE too.
        def reports() -> list[dict[str, Any]]:
            got = http.get(f"{B}/reports", params={"clientName": "mine-a"})
            return got.json() if got.status_code == 200 else []

        _wait("reports at the VTN", lambda: len(reports()) >= 3, 20)
    finally:
        agent.stop()
        fleet.__exit__(None, None, None)
    got = reports()
    assert {r["eventID"] for r in got} == {event_id}
    types = {p["type"] for r in got for p in r["resources"][0]["intervals"][0]["payloads"]}
    assert types == {"USAGE", "DEMAND", "OPERATING_STATE"}
    demand = [
        p["values"][0]
        for r in got
        for p in r["resources"][0]["intervals"][0]["payloads"]
        if p["type"] == "DEMAND"
    ]
    assert min(demand) <= LIMIT_KW
    http.close()
    print(f"under the limit {took:.1f} s after the event start; {len(got)} reports")
