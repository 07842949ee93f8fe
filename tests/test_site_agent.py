"""The agent against fake miners on loopback that speak the CGMiner/LuxOS API, driven by
pyasic: under the limit by read-back with a lying and a dead miner, staggered wake,
restart from the store, the VTN away, bounded memory, the webhook receiver."""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
import subprocess
import sys
import threading
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

import needs
from megawatt.site import config as site_config
from megawatt.site.agent import Agent
from megawatt.site.fakeminer import FakeFleet, FakeMiner, loopback
from megawatt.site.ven import WebhookReceiver, limit_at, slots
from sitekit import T0, Clock, agent_config, event

needs.module("pyasic", "the site extra (pyasic)")  # megawatt.site imports it lazily


def _fleet(kinds: list[str]) -> list[FakeMiner]:
    return [
        FakeMiner(ip, kind=k) for ip, k in zip(loopback(len(kinds), start=10), kinds, strict=True)
    ]


async def _agent(miners: list[FakeMiner], tmp: Path, clock: Clock, **extra: object) -> Agent:
    agent = Agent(agent_config(miners, tmp, **extra), clock=clock)
    await agent.start()  # the VTN is not there: logged, the stored schedule stays
    return agent


def test_under_the_limit_by_read_back_with_a_liar_and_a_dead_miner(tmp_path: Path) -> None:
    miners = _fleet(["luxos"] * 5 + ["lying", "dead"])
    liar, dead = miners[5], miners[6]
    clock = Clock()

    async def run() -> None:
        agent = await _agent(miners, tmp_path, clock)
        agent.events = {"7": event(12.0)}  # 7 x 3250 W = 22.75 kW; limit 12 kW
        result = await agent.tick()
        assert result.limit_kw == 12.0
        assert result.site_kw <= 12.0
        assert result.lying == [liar.host]
        assert result.dead == [dead.host]
        # The dead miner counts at its rating, the liar at what it reads: 2 x 3250 W.
        honest = sum(agent.units[m.host].power() for m in miners[:5])
        assert result.site_kw == pytest.approx((honest + 6500) / 1000)
        (ramp,) = [b for _, _, b in agent.store.log_rows("under_limit")]
        assert ramp["seconds_after_start"] == 0 and ramp["ramp_ok"] is True
        kinds = [b["verdict"] for _, _, b in agent.store.log_rows("command")]
        assert "lying" in kinds and "ok" in kinds
        await agent.close()

    with FakeFleet(miners) as fleet:
        asyncio.run(run())
        # The truth of the fakes agrees with the read-back.
        assert fleet.total_w() <= 12_000
        assert liar.commands and any(c.startswith(("curtail", "profileset")) for c in liar.commands)
        assert dead.kind == "dead"


def test_profiles_before_stops(tmp_path: Path) -> None:
    miners = _fleet(["luxos"] * 4)
    clock = Clock()

    async def run() -> None:
        agent = await _agent(miners, tmp_path, clock)
        agent.events = {"7": event(12.0)}  # 13 kW: 1 kW to shed, profiles suffice
        await agent.tick()
        await agent.close()

    with FakeFleet(miners) as fleet:
        asyncio.run(run())
        assert not any(m.asleep for m in miners)
        assert fleet.total_w() <= 12_000
        assert sorted(m.profile for m in miners) == ["-1", "-1", "-1", "default"]


def test_the_fleet_wakes_in_steps_after_the_event(tmp_path: Path) -> None:
    miners = _fleet(["luxos"] * 6)
    clock = Clock()

    async def run() -> list[float]:
        agent = await _agent(miners, tmp_path, clock)
        agent.events = {"7": event(3.0, minutes=1)}
        await agent.tick()
        seen = []
        clock.advance(61)  # the event is over
        for _ in range(20):
            seen.append((await agent.tick()).site_kw)
            clock.advance(5)  # a wake step every 10 s
        await agent.close()
        return seen

    with FakeFleet(miners):
        seen = asyncio.run(run())
    steps = [b - a for a, b in itertools.pairwise(seen)]
    assert max(steps) <= 4.0 + 1e-9  # never more than one wake step (4 kW) at once
    assert all(not m.asleep and m.profile == "default" for m in miners)
    assert seen[-1] == pytest.approx(6 * 3.25)


def test_a_restart_resumes_from_the_store(tmp_path: Path) -> None:
    miners = _fleet(["luxos"] * 4 + ["lying"])
    clock = Clock()

    async def first() -> None:
        agent = await _agent(miners, tmp_path, clock)
        agent.store.replace_events([event(8.0)])
        agent.events = agent.store.events()
        assert (await agent.tick()).site_kw <= 8.0
        await agent.close()

    async def second() -> None:
        agent = await _agent(miners, tmp_path, clock)  # the VTN is still away
        assert list(agent.events) == ["7"]  # the schedule from the store
        assert agent.units[miners[4].host].lying  # and the verdicts
        clock.advance(30)
        result = await agent.tick()
        assert result.limit_kw == 8.0 and result.site_kw <= 8.0
        assert result.commands == 0  # nothing to redo: the fleet is where it was left
        await agent.close()

    with FakeFleet(miners):
        asyncio.run(first())
        asyncio.run(second())


def test_a_miner_going_offline_mid_event_counts_at_its_last_power(tmp_path: Path) -> None:
    miners = _fleet(["luxos"] * 5)
    clock = Clock()

    with FakeFleet(miners) as fleet:

        async def run() -> None:
            agent = await _agent(miners, tmp_path, clock)
            agent.events = {"7": event(14.0)}
            await agent.tick()
            awake = [m for m in miners if not m.asleep]
            gone = awake[0]
            last = agent.units[gone.host].power()
            await asyncio.to_thread(fleet.go_offline, gone)
            clock.advance(5)
            result = await agent.tick()
            assert gone.host in result.dead
            assert agent.units[gone.host].power() == last
            assert result.site_kw <= 14.0
            await agent.close()

        asyncio.run(run())


@pytest.mark.slow  # 600 cycles under tracemalloc: ~20 s
def test_memory_stays_bounded_over_many_cycles(tmp_path: Path) -> None:
    """600 cycles (an event on and off every 50: plans, commands, read-backs, wakes,
    reports queued for an absent VTN), the fakes in another process. After warm-up,
    traced memory and the count of live objects stop growing."""
    fakes = subprocess.Popen(
        [sys.executable, "-m", "megawatt.site.fakeminer", "luxos=3", "lying=1", "--start", "40"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert fakes.stdout is not None
    hosts = json.loads(fakes.stdout.readline())
    miners = [FakeMiner(h.split(":")[0], int(h.split(":")[1]), kind=k) for k, h in hosts]
    clock = Clock()

    async def run() -> tuple[list[int], list[int]]:
        agent = await _agent(miners, tmp_path, clock, reporting_seconds=30)
        agent.max_pending = 10  # the VTN is away: reports queue up to this, no further
        ev = event(6.0, minutes=60)
        traced, objects = [], []
        tracemalloc.start()
        for i in range(600):
            agent.events = {"7": ev} if (i // 50) % 2 == 0 else {}
            result = await agent.tick()
            if agent.events:
                assert result.site_kw <= 6.0
            clock.advance(3)
            if i % 200 == 199:
                gc.collect()
                traced.append(tracemalloc.get_traced_memory()[0])
                objects.append(len(gc.get_objects()))
        tracemalloc.stop()
        assert len(agent.pending_reports) == 10
        await agent.close()
        return traced, objects

    try:
        traced, objects = asyncio.run(run())
    finally:
        fakes.communicate(timeout=30)
    # the last 200 cycles: under 64 KiB and 200 objects more (noise, not a leak)
    assert traced[2] - traced[1] < 64 * 1024, traced
    assert objects[2] - objects[1] < 200, objects


def test_the_schedule_from_event_intervals() -> None:
    ev = event(5.0, minutes=15)
    ev["intervals"].append(
        {"id": 1, "payloads": [{"type": "IMPORT_CAPACITY_LIMIT", "values": [7]}]}
    )
    (a, b) = slots(ev)
    assert (a.start, a.limit_kw) == (T0, 5.0) and b.start == a.end and b.limit_kw == 7.0
    assert limit_at({"7": ev}, T0)[0] == 5.0
    assert limit_at({"7": ev, "8": event(3.0, eid="8")}, T0)[0] == 3.0  # the lowest binds
    assert limit_at({"7": ev}, b.end)[0] is None


def test_the_webhook_receiver_checks_the_token_and_deduplicates() -> None:
    got: list[dict[str, object]] = []

    async def handler(note: dict[str, object]) -> None:
        got.append(note)

    async def run() -> None:
        rx = WebhookReceiver("tok", handler, remember=2)
        port = await rx.start("127.0.0.1", 0)
        url = f"http://127.0.0.1:{port}/hook"
        note = {"objectType": "EVENT", "operation": "CREATE", "object": event(5.0)}
        async with httpx.AsyncClient() as http:
            bad = await http.post(url, json=note, headers={"Authorization": "Bearer nope"})
            assert bad.status_code == 401
            for _ in range(2):
                ok = await http.post(
                    url,
                    content=json.dumps(note),
                    headers={"Authorization": "Bearer tok", "X-Notification-Id": "n1"},
                )
                assert ok.status_code == 200
            assert (await http.get(url)).status_code == 405
        await rx.stop()
        assert len(got) == 1

    asyncio.run(run())


def test_two_hundred_miners_under_the_limit_in_one_tick(tmp_path: Path) -> None:
    """200 fakes in another process (194 LuxOS, 3 lying, 3 dead), each on its own
    loopback address: one event, one tick, under the limit by read-back."""
    fakes = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "megawatt.site.fakeminer",
            "luxos=194",
            "lying=3",
            "dead=3",
            "--start",
            "100",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert fakes.stdout is not None
    listed = json.loads(fakes.stdout.readline())
    miners = [FakeMiner(h.split(":")[0], int(h.split(":")[1]), kind=k) for k, h in listed]
    assert len({m.ip for m in miners}) == 200

    async def run() -> None:
        agent = await _agent(miners, tmp_path, Clock(), command_timeout_seconds=1.0)
        agent.events = {"7": event(325.0)}  # half of 200 x 3.25 kW
        result = await agent.tick()
        assert result.site_kw <= 325.0
        assert len(result.lying) == 3 and len(result.dead) == 3
        lying = {m.host for m in miners if m.kind == "lying"}
        assert set(result.lying) == lying
        await agent.close()

    try:
        asyncio.run(run())
    finally:
        fakes.communicate(timeout=30)


class LoadEndpoint:
    """An AI data center's load-management endpoint on loopback (GET its power, POST a
    cap), a meter gateway (GET /meter) and the metering API (POST /readings)."""

    def __init__(self, rated_kw: float) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.kw = rated_kw
        self.rated_kw = rated_kw
        self.meter_kw: float | None = None
        self.meter: Callable[[], float] | None = None  # a live meter, over meter_kw
        self.readings: list[dict[str, object]] = []
        self.auth: list[str] = []
        me = self

        class Handler(BaseHTTPRequestHandler):
            def _send(self, body: object, status: int = 200) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:
                kw = me.kw if self.path == "/load" else me.meter_kw
                if self.path != "/load" and me.meter is not None:
                    kw = me.meter()
                self._send({"kw": kw})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                if self.path == "/load":
                    me.kw = min(me.rated_kw, float(body["limit_kw"]))
                    self._send({"kw": me.kw})
                else:
                    me.readings += body["readings"]
                    me.auth.append(self.headers.get("authorization", ""))
                    self._send({"received": len(body["readings"])}, 201)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_bosminer_stock_and_an_http_load(tmp_path: Path) -> None:
    """2 BOSminer (pause/resume, tunerstatus power), 1 stock (read-only, counted at its
    rating), a 100 kW data-center load with a 60 kW level whose work is worth more than
    the miners' (hashrate_th 10000 for the load, 140 per miner)."""
    miners = [
        FakeMiner(ip, kind=k)
        for ip, k in zip(loopback(3, start=180), ["bosminer", "bosminer", "stock"], strict=True)
    ]
    load = LoadEndpoint(100.0)
    clock = Clock()

    async def run() -> None:
        cfg = agent_config(miners, tmp_path)
        dc = {
            "name": "dc",
            "firmware": "http",
            "url": f"{load.url}/load",
            "rated_w": 100_000,
            "hashrate_th": 10_000,
            "profiles": [{"name": "60kw", "watts": 60_000, "hashrate_th": 6000}],
            "min_w": 20_000,
        }
        raw = cfg.model_dump()
        raw["fleets"].append(dc)
        agent = Agent(site_config.parse(raw), clock=clock)
        await agent.start()
        # 6.5 + 3.25 + 100 = 109.75 kW. Limit 105: the two BOSminers sleep (6.47 kW).
        agent.events = {"7": event(105.0)}
        r = await agent.tick()
        assert r.site_kw <= 105.0 and load.kw == 100.0
        assert [m.asleep for m in miners[:2]] == [True, True]
        # Limit 100: sleeping miners alone cannot do it; the load steps to 60 kW, and
        # the miners' sleep is then unneeded: they wake (within the headroom).
        clock.advance(60)
        agent.events = {"7": event(100.0, start=clock.at, eid="7")}
        r = await agent.tick()
        assert load.kw == 60.0 and r.site_kw <= 100.0
        clock.advance(60)
        await agent.tick()
        assert [m.asleep for m in miners[:2]] == [False, False]
        # The stock miner was never commanded, only read.
        assert set(miners[2].commands) <= {"summary"}
        await agent.close()

    with FakeFleet(miners):
        try:
            asyncio.run(run())
        finally:
            load.close()


def test_meter_and_metering_push(tmp_path: Path) -> None:
    """The site total from a meter gateway where there is one; 15-minute readings
    pushed to the metering API with the agent's token (see docs/site-agent.md)."""
    miners = _fleet(["luxos"] * 2)
    endpoint = LoadEndpoint(0.0)
    endpoint.meter_kw = 8.4  # the miners (6.5 kW) plus what the meter sees besides
    clock = Clock()

    async def run() -> None:
        agent = await _agent(
            miners,
            tmp_path,
            clock,
            meter={"source": "http", "url": f"{endpoint.url}/meter", "serial": "M-1"},
            metering_push={"url": f"{endpoint.url}/readings", "minutes": 15},
            tick_seconds=30,
        )

        async def token() -> str:  # the VTN is away in this test
            return "tok"

        agent.ven._token = token  # type: ignore[method-assign]
        r = await agent.tick()
        assert r.site_kw == 8.4
        for _ in range(31):  # 15.5 minutes in 30 s ticks
            clock.advance(30)
            await agent.tick()
        await agent.close()

    with FakeFleet(miners):
        try:
            asyncio.run(run())
        finally:
            endpoint.close()
    (reading,) = endpoint.readings
    assert reading["meter"] == "M-1" and reading["minutes"] == 15
    assert reading["interval_start"] == "2026-12-04T12:00:00Z"
    # 8.4 kW for 15 minutes = 2.1 kWh
    assert reading["kwh"] == "2.100" and reading["quality"] == "measured"
    assert endpoint.auth == ["Bearer tok"]


def test_a_lying_stock_miner_is_judged_by_the_meter(tmp_path: Path) -> None:
    """Stock Antminers report no power, and pyasic's ``stop_mining()`` says True whatever
    happens. With a meter, the agent commands them one at a time and judges each by the
    meter's change: the honest stock fake sleeps (confirmed at the meter), the lying
    one answers ``set_miner_conf`` with success and draws on; it is marked lying and the
    LuxOS miners make up for it. The meter is what the fakes draw."""
    miners = _fleet(["luxos"] * 3 + ["stock", "stock-lying"])
    honest, liar = miners[3], miners[4]
    meter = LoadEndpoint(0.0)
    clock = Clock()

    async def run(fleet: FakeFleet) -> None:
        meter.meter = lambda: fleet.total_w() / 1000.0
        raw = agent_config(
            miners, tmp_path, meter={"source": "http", "url": f"{meter.url}/meter"}
        ).model_dump()
        for f in raw["fleets"]:
            if f["firmware"] == "stock":
                f["hashrate_th"] = 95  # an older, less efficient model: curtailed first
        agent = Agent(site_config.parse(raw), clock=clock)
        await agent.start()
        # 5 x 3.25 = 16.25 kW; limit 9 kW.
        agent.events = {"7": event(9.0)}
        r = await agent.tick()
        liar_key = f"{liar.ip}:{liar.port}"
        assert r.lying == [liar_key]
        assert "web set_miner_conf.cgi" in liar.commands and liar.watts == 3250.0
        assert honest.asleep and honest.watts == 15.0
        assert r.site_kw <= 9.0 and fleet.total_w() <= 9000.0
        log = [b for _, _, b in agent.store.log_rows("command")]
        judged = {b["unit"]: b["verdict"] for b in log if b.get("judged_by") == "meter"}
        assert judged == {f"{honest.ip}:{honest.port}": "ok", liar_key: "lying"}
        # The event ends: the honest stock miner is woken (resume_mining), the liar
        # is re-tested at the next event.
        agent.events = {}
        for _ in range(3):
            clock.advance(60)
            r = await agent.tick()
        assert not honest.asleep and r.lying == []
        await agent.close()

    with FakeFleet(miners) as fleet:
        try:
            asyncio.run(run(fleet))
        finally:
            meter.close()


def test_a_stock_stop_that_reaches_nothing_is_caught_by_the_meter(tmp_path: Path) -> None:
    """The issue's case: the stock miner's web interface is gone, pyasic's
    ``stop_mining()`` still returns True (it turns the refused connection into an
    answer); the meter shows no drop, so the miner is lying and a LuxOS miner sleeps."""
    miners = _fleet(["luxos", "luxos", "stock"])
    stock = miners[2]
    meter = LoadEndpoint(0.0)
    clock = Clock()

    async def run(fleet: FakeFleet) -> None:
        meter.meter = lambda: fleet.total_w() / 1000.0
        raw = agent_config(
            miners, tmp_path, meter={"source": "http", "url": f"{meter.url}/meter"}
        ).model_dump()
        for f in raw["fleets"]:
            if f["firmware"] == "stock":
                f["hashrate_th"] = 95
        agent = Agent(site_config.parse(raw), clock=clock)
        await agent.start()
        agent.events = {"7": event(6.6)}  # 9.75 kW: one miner must sleep
        r = await agent.tick()
        assert r.lying == [f"{stock.ip}:{stock.port}"]
        assert not any(c.startswith("web") for c in stock.commands)  # nothing arrived
        assert fleet.total_w() <= 6600.0 and r.site_kw <= 6.6
        assert sum(m.asleep for m in miners[:2]) == 1
        await agent.close()

    with FakeFleet(miners) as fleet:
        assert stock.web_server is not None
        fleet.loop.call_soon_threadsafe(stock.web_server.close)
        try:
            asyncio.run(run(fleet))
        finally:
            meter.close()


def test_stock_without_a_meter_is_read_only(tmp_path: Path) -> None:
    """No meter: nothing can verify a stock miner, so it is never commanded (and the
    log says why)."""
    miners = _fleet(["luxos", "stock"])
    clock = Clock()

    async def run() -> None:
        agent = await _agent(miners, tmp_path, clock)
        agent.events = {"7": event(0.5)}
        await agent.tick()
        ((_, _, body),) = agent.store.log_rows("stock_fleets")
        assert body["mode"] == "read only" and "no meter" in body["why"]
        await agent.close()

    with FakeFleet(miners):
        asyncio.run(run())
    assert miners[0].asleep
    assert set(miners[1].commands) <= {"summary"}


def test_the_asic_rs_backend_on_port_4028(tmp_path: Path) -> None:
    """asic-rs (pyasic_rs) identifies the LuxOS fakes by their version and devdetails
    on 127.0.0.x:4028, reads power and pauses; the liar is found the same way."""
    needs.module("pyasic_rs", "asic-rs's Python binding (the site-asicrs extra)")
    kinds = ["lying", "luxos", "luxos", "luxos"]  # the liar first: it is commanded
    miners = [
        FakeMiner(ip, port=4028, kind=k)
        for ip, k in zip(loopback(4, start=230), kinds, strict=True)
    ]
    clock = Clock()

    async def run() -> None:
        raw = agent_config(miners, tmp_path).model_dump()
        raw["fleets"][0]["firmware"] = "asicrs"
        agent = Agent(site_config.parse(raw), clock=clock)
        await agent.start()
        agent.events = {"7": event(7.0)}  # 13 kW: two honest miners must sleep
        result = await agent.tick()
        assert result.site_kw <= 7.0
        assert result.lying == [miners[0].host]
        await agent.close()

    with FakeFleet(miners) as fleet:
        asyncio.run(run())
        assert fleet.total_w() <= 7000
        assert sum(m.asleep for m in miners) == 2 and not miners[0].asleep


def test_notifications_update_and_delete_the_schedule(tmp_path: Path) -> None:
    """CREATE adds an event (and it is stored), an event retargeted away or DELETEd
    leaves the schedule, and the fleet wakes."""
    miners = _fleet(["luxos"] * 3)
    clock = Clock()

    async def run() -> None:
        agent = await _agent(miners, tmp_path, clock, wake_stagger_seconds=0, wake_step_kw=20)
        ev = event(5.0)
        await agent._on_notification({"objectType": "EVENT", "operation": "CREATE", "object": ev})
        assert list(agent.store.events()) == ["7"] and agent.wake.is_set()
        assert (await agent.tick()).site_kw <= 5.0
        other = {**ev, "targets": ["mine-b"]}
        await agent._on_notification(
            {"objectType": "EVENT", "operation": "UPDATE", "object": other}
        )
        assert agent.events == {} and agent.store.events() == {}
        await agent._on_notification({"objectType": "EVENT", "operation": "CREATE", "object": ev})
        await agent._on_notification({"objectType": "EVENT", "operation": "DELETE", "object": ev})
        assert agent.events == {}
        clock.advance(5)
        assert (await agent.tick()).site_kw == pytest.approx(3 * 3.25)
        await agent.close()

    with FakeFleet(miners):
        asyncio.run(run())
