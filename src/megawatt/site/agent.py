"""The site agent: OpenADR events in, commands to the fleet out, power read back.

Each tick (``tick_seconds``, or at once when a webhook arrives) the agent reads every
unit's power, takes the binding import limit of the events in force, and:

- over the limit: plans the cheapest moves (:func:`~megawatt.site.planner.plan_reduction`),
  sends them, reads each unit back after ``settle_seconds``, marks a unit that said
  yes and did not drop as **lying** (never commanded again this event), and plans
  again with the others, up to three rounds in the tick;
- under it, or with no limit: wakes what it had slowed, one wake step (``wake_step_kw``)
  every ``wake_stagger_seconds``, never past the limit's headroom.

A unit that does not answer counts at its last known power. The site total is the
meter's where there is one, else the sum of the units. Every decision, read-back and
site reading goes to the local store's log and to the ``megawatt.site`` logger as one
JSON line; reports go to the VTN at the end of each reporting period.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from megawatt.site import config as cfgmod
from megawatt.site.fleet import (
    Adapter,
    AsicRsAdapter,
    BOSminerAdapter,
    HttpLoadAdapter,
    LuxOSAdapter,
    StockAdapter,
    Unreachable,
    http_ladder,
)
from megawatt.site.planner import Level, Move, Unit, ladder, plan_reduction, plan_wake
from megawatt.site.store import Store
from megawatt.site.ven import Slot, VenClient, VtnError, limit_at

log = logging.getLogger("megawatt.site")

#: Rounds of plan, command, read-back in one tick (a liar found in round 1 is
#: compensated in round 2).
ROUNDS = 3
#: A command "took" when at least this share of the expected change shows in the read-back.
TOOK = 0.5


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class UnitState:
    adapter: Adapter
    ladder: list[Level]
    level: int = 0
    watts: float | None = None  # the last read-back [W]
    alive: bool = True
    lying: bool = False
    read_once: bool = False  # read at least once by this process

    @property
    def key(self) -> str:
        return self.adapter.key

    def power(self) -> float:
        """[W] the last reading, or the level's rating if never read."""
        return self.watts if self.watts is not None else self.ladder[self.level].watts


@dataclass
class Period:
    """A reporting period of an event being accumulated: energy [kWh], peak [kW]."""

    event: dict[str, Any]
    start: dt.datetime
    end: dt.datetime
    kwh: float = 0.0
    peak_kw: float = 0.0
    seconds: float = 0.0
    curtailed: bool = False


@dataclass
class TickResult:
    at: dt.datetime
    limit_kw: float | None
    site_kw: float
    commands: int = 0
    lying: list[str] = field(default_factory=list)
    dead: list[str] = field(default_factory=list)


class Agent:
    """Run with ``await agent.run()``; :meth:`tick` is one step (tests call it)."""

    def __init__(
        self,
        cfg: cfgmod.AgentConfig,
        base_dir: Path = Path("."),
        clock: Callable[[], dt.datetime] = utcnow,
        file: Path | str | None = None,
    ) -> None:
        self.cfg = cfg
        self.clock = clock
        self.store = Store(cfg.resolved_state(base_dir))
        self.http = httpx.AsyncClient(timeout=cfg.command_timeout_seconds)
        self.ven = VenClient(
            cfg.vtn.url, cfg.vtn.client_id, cfg.vtn.secret(file), cfg.vtn.timeout_seconds
        )
        self.units: dict[str, UnitState] = {}
        self.events: dict[str, dict[str, Any]] = self.store.events()
        self.periods: dict[tuple[str, str], Period] = {}
        self.pending_reports: list[tuple[str, dt.datetime, dict[str, Any]]] = []
        self.pending_readings: list[dict[str, Any]] = []
        #: What is kept for the VTN while it is away (oldest dropped first, and logged).
        self.max_pending = 500
        self.meter_bucket: tuple[dt.datetime, float, float] | None = None  # start, kWh, s
        self.wake = asyncio.Event()
        self.sem = asyncio.Semaphore(cfg.concurrency)
        self.last_tick: dt.datetime | None = None
        self.last_wake: dt.datetime | None = None
        self.in_event = False
        self.ramped: collections.OrderedDict[str, None] = collections.OrderedDict()
        self.hook_token = self.store.get("hook_token") or secrets.token_urlsafe(24)
        self.store.set("hook_token", self.hook_token)
        self.receiver: Any = None
        self.callback_url: str | None = None
        self.vtn_ok = False
        #: A meter or PDU measures the site: units without a power reading of their own
        #: (stock Antminers) can be commanded and judged by the meter's delta.
        self.metered = cfg.meter.source != "miners" and bool(cfg.meter.url)
        self._build_units()

    # -- set-up -----------------------------------------------------------------------
    def _build_units(self) -> None:
        t = self.cfg.command_timeout_seconds
        saved = self.store.units()
        for fleet in self.cfg.fleets:
            adapters: list[Adapter] = []
            if fleet.firmware == "http":
                adapters.append(HttpLoadAdapter(fleet, self.http, t))
                rungs = http_ladder(fleet)
            else:
                kind: dict[str, Any] = {
                    "luxos": LuxOSAdapter,
                    "bosminer": BOSminerAdapter,
                    "stock": StockAdapter,
                    "asicrs": AsicRsAdapter,
                }
                for spec in fleet.hosts:
                    for ip, port in cfgmod.expand_hosts(spec, fleet.port):
                        adapters.append(kind[fleet.firmware](fleet, ip, port, t))
                profiles = [Level(p.name, p.watts, p.hashrate_th) for p in fleet.profiles]
                sleeps = ("luxos", "bosminer", "asicrs") + (("stock",) if self.metered else ())
                idle = fleet.idle_w if fleet.firmware in sleeps else None
                if fleet.firmware != "luxos":
                    profiles = []  # only LuxOS takes profiles over this API
                rungs = ladder(fleet.rated_w, fleet.hashrate_th, profiles, idle)
            for a in adapters:
                u = UnitState(a, list(rungs))
                if a.key in saved:
                    level, lying, last_w = saved[a.key]
                    u.level, u.lying, u.watts = min(level, len(rungs) - 1), lying, last_w
                self.units[a.key] = u

    async def _learn_profiles(self) -> None:
        """LuxOS fleets without profiles in the config: ask each miner for its own."""
        for fleet in self.cfg.fleets:
            if fleet.firmware != "luxos" or fleet.profiles:
                continue
            members = [u for u in self.units.values() if u.adapter.fleet == fleet.name]

            async def one(u: UnitState, fleet: cfgmod.FleetConfig = fleet) -> None:
                async with self.sem:
                    try:
                        got = await u.adapter.profiles()
                    except Unreachable:
                        return
                if got:
                    u.ladder = ladder(fleet.rated_w, fleet.hashrate_th, got, fleet.idle_w)
                    u.level = min(u.level, len(u.ladder) - 1)

            await asyncio.gather(*(one(u) for u in members))

    async def start(self) -> None:
        await self._learn_profiles()
        stock = [f.name for f in self.cfg.fleets if f.firmware == "stock"]
        if stock:
            mode = "commanded, judged by the meter" if self.metered else "read only"
            self._record(
                self.clock(),
                "stock_fleets",
                {
                    "fleets": stock,
                    "mode": mode,
                    "why": None
                    if self.metered
                    else "no meter or PDU: a stock miner reports no power, so nothing "
                    "could verify a command (counted at rated_w while it answers)",
                },
            )
        if self.cfg.webhook.enabled:
            from megawatt.site.ven import WebhookReceiver

            self.receiver = WebhookReceiver(self.hook_token, self._on_notification)
            port = await self.receiver.start(self.cfg.webhook.host, self.cfg.webhook.port)
            self.callback_url = self.cfg.webhook.public_url or (
                f"http://{self.cfg.webhook.host}:{port}/openadr3/notifications"
            )
        await self.sync()

    async def close(self) -> None:
        if self.receiver is not None:
            await self.receiver.stop()
        await self.ven.close()
        await self.http.aclose()
        self.store.close()

    # -- the VTN ----------------------------------------------------------------------
    async def sync(self) -> bool:
        """Register (find our VEN, subscribe) if not yet, then poll the events. On
        failure the last schedule stays in force and the next poll tries again."""
        now = self.clock()
        try:
            if not self.vtn_ok:
                ven = await self.ven.ven(self.cfg.site)
                if self.callback_url:
                    await self.ven.subscribe(self.cfg.site, self.callback_url, self.hook_token)
                self._record(
                    now, "registered", {"ven": ven.get("id"), "callback": self.callback_url}
                )
                self.vtn_ok = True
            events = await self.ven.events()
        except VtnError as exc:
            self.vtn_ok = False
            self._record(now, "vtn_unreachable", {"error": str(exc)[:300]})
            return False
        mine = {str(e["id"]): e for e in events if self._targets_me(e)}
        if mine != self.events:
            self.store.replace_events(list(mine.values()))
            self._record(now, "schedule", {"events": sorted(mine)})
            self.events = mine
        return True

    def _targets_me(self, event: dict[str, Any]) -> bool:
        targets = event.get("targets") or []
        return not targets or self.cfg.site in targets

    async def _on_notification(self, note: dict[str, Any]) -> None:
        obj = note.get("object") or {}
        if note.get("objectType") != "EVENT" or "id" not in obj:
            return
        eid = str(obj["id"])
        if note.get("operation") == "DELETE" or not self._targets_me(obj):
            self.events.pop(eid, None)
            self.store.drop_event(eid)
        else:
            self.events[eid] = obj
            self.store.put_event(obj)
        self._record(
            self.clock(), "notification", {"operation": note.get("operation"), "event": eid}
        )
        self.wake.set()

    # -- the loop ---------------------------------------------------------------------
    async def run(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        await self.start()
        poller = asyncio.create_task(self._poll(stop))
        try:
            while not stop.is_set():
                await self.tick()
                self.wake.clear()
                waiters = [asyncio.create_task(self.wake.wait()), asyncio.create_task(stop.wait())]
                await asyncio.wait(
                    waiters, timeout=self.cfg.tick_seconds, return_when=asyncio.FIRST_COMPLETED
                )
                for w in waiters:
                    w.cancel()
        finally:
            poller.cancel()
            await asyncio.gather(poller, return_exceptions=True)
            await self.close()

    async def _poll(self, stop: asyncio.Event) -> None:
        delay = self.cfg.vtn.poll_seconds
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), delay)
                return
            except TimeoutError:
                pass
            ok = await self.sync()
            # Away: retry sooner at first, then back off to the poll interval.
            delay = self.cfg.vtn.poll_seconds if ok else min(max(delay / 2, 1.0), 30.0)
            self.wake.set()

    async def tick(self) -> TickResult:
        now = self.clock()
        limit, active = limit_at(self.events, now + dt.timedelta(seconds=self.cfg.lead_seconds))
        await self._read_all()
        site_kw = await self._site_kw()
        result = TickResult(now, limit, site_kw)
        if limit is not None:
            if not self.in_event:
                self._record(now, "event_start", {"limit_kw": limit, "site_kw": site_kw})
                self.in_event = True
            target_kw = limit - self.cfg.margin_kw
            for _ in range(ROUNDS):
                if site_kw <= target_kw:
                    break
                candidates = [u for u in self.units.values() if u.alive and not u.lying]
                moves = plan_reduction(
                    [Unit(u.key, u.ladder, u.level, u.watts, True) for u in candidates],
                    (site_kw - target_kw) * 1000.0,
                )
                self._record(
                    now,
                    "plan",
                    {
                        "limit_kw": limit,
                        "site_kw": round(site_kw, 3),
                        "moves": len(moves),
                        "saves_kw": round(sum(m.saves_w for m in moves) / 1000, 3),
                        "loses_th": round(sum(m.loses_th for m in moves), 3),
                    },
                )
                if not moves:
                    self._record(now, "short", {"limit_kw": limit, "site_kw": site_kw})
                    break
                await self._execute(moves, result)
                site_kw = await self._site_kw()
            else:
                if site_kw > target_kw:
                    self._record(now, "short", {"limit_kw": limit, "site_kw": site_kw})
            if site_kw < target_kw and await self._wake(
                now, (target_kw - site_kw) * 1000.0, result
            ):
                site_kw = await self._site_kw()
            self._ramp_check(now, active, limit, site_kw)
        else:
            if self.in_event:
                self._record(now, "event_end", {"site_kw": site_kw})
                self.in_event = False
                for u in self.units.values():
                    u.lying = False  # re-tested at the next event
            if await self._wake(now, float("inf"), result):
                site_kw = await self._site_kw()
        result.site_kw = site_kw
        result.lying = sorted(u.key for u in self.units.values() if u.lying)
        result.dead = sorted(u.key for u in self.units.values() if not u.alive)
        self._record(
            now,
            "site",
            {
                "site_kw": round(site_kw, 3),
                "limit_kw": limit,
                "lying": len(result.lying),
                "dead": len(result.dead),
            },
        )
        self._accumulate(now, site_kw, active)
        await self._report(now)
        await self._meter(now, site_kw)
        self._persist(now)
        self.last_tick = now
        return result

    def _ramp_check(
        self, now: dt.datetime, active: list[Slot], limit: float, site_kw: float
    ) -> None:
        """Once per interval: how long after its start the site was first under the
        limit, and whether that was within the contract's ramp (``ramp_ok``)."""
        if site_kw > limit:
            return
        for slot in active:
            key = f"{slot.event_id}/{slot.interval_id}"
            if key in self.ramped or self.store.get(f"ramped:{key}") is not None:
                continue  # already recorded (by this process or before a restart)
            self.ramped[key] = None
            self.store.set(f"ramped:{key}", now.isoformat())
            while len(self.ramped) > 1000:
                self.ramped.popitem(last=False)
            # the end of this tick's commands and read-backs, not its start
            after = max(0.0, (self.clock() - slot.start).total_seconds())
            self._record(
                now,
                "under_limit",
                {
                    "event": slot.event_id,
                    "interval": slot.interval_id,
                    "limit_kw": limit,
                    "site_kw": round(site_kw, 3),
                    "seconds_after_start": round(after, 1),
                    "ramp_ok": after <= self.cfg.ramp_seconds,
                },
            )

    # -- reading and commanding -------------------------------------------------------
    async def _read(self, u: UnitState) -> None:
        async with self.sem:
            try:
                u.watts = await u.adapter.read_watts()
                if not u.read_once:
                    u.read_once = True
                    self._reconcile(u)
                if not u.alive:
                    self._record(self.clock(), "answering", {"unit": u.key, "watts": u.watts})
                u.alive = True
            except Unreachable as exc:
                if u.alive:
                    self._record(
                        self.clock(),
                        "unreachable",
                        {"unit": u.key, "counted_w": u.power(), "error": str(exc)[:120]},
                    )
                u.alive = False

    def _reconcile(self, u: UnitState) -> None:
        """The first reading after a start: if the unit does not draw what its stored
        level says (a command sent just before a crash, or changed by hand), take the
        rung nearest the reading. The store says what was meant; the power, what is."""
        if u.watts is None:
            return
        expected = u.ladder[u.level].watts
        if abs(u.watts - expected) <= 0.2 * max(expected, 100.0):
            return
        nearest = min(range(len(u.ladder)), key=lambda i: abs(u.ladder[i].watts - u.watts))
        self._record(
            self.clock(),
            "reconciled",
            {
                "unit": u.key,
                "stored": u.ladder[u.level].name,
                "now": u.ladder[nearest].name,
                "watts": u.watts,
            },
        )
        u.level = nearest

    async def _read_all(self) -> None:
        await asyncio.gather(*(self._read(u) for u in self.units.values()))

    async def _meter_kw(self) -> float | None:
        """[kW] the meter's reading; None without a meter or when it does not answer."""
        if not self.metered:
            return None
        assert self.cfg.meter.url is not None
        try:
            resp = await self.http.get(self.cfg.meter.url)
            resp.raise_for_status()
            return float(resp.json()[self.cfg.meter.field])
        except (httpx.HTTPError, LookupError, TypeError, ValueError) as exc:
            self._record(self.clock(), "meter_unreachable", {"error": str(exc)[:200]})
            return None

    async def _site_kw(self) -> float:
        """[kW] the meter's reading, else the sum of the units (the silent at their last
        known power)."""
        kw = await self._meter_kw()
        if kw is not None:
            return kw
        return sum(u.power() for u in self.units.values()) / 1000.0

    async def _execute(self, moves: list[Move], result: TickResult) -> None:
        """Units that read their own power: all at once. Units that do not (stock): one
        at a time after those, each judged by the meter's change across its command."""
        own = [m for m in moves if getattr(self.units[m.key].adapter, "reports_power", True)]
        await asyncio.gather(*(self._command(self.units[m.key], m, result) for m in own))
        for m in moves:
            if m not in own:
                await self._command(self.units[m.key], m, result, by_meter=True)

    async def _command(
        self, u: UnitState, move: Move, result: TickResult, by_meter: bool = False
    ) -> None:
        before = u.power()
        target = u.ladder[move.level]
        site_before = await self._meter_kw() if by_meter else None
        async with self.sem:
            try:
                said = await u.adapter.set_level(target)
            except Unreachable:
                said = None
        result.commands += 1
        await asyncio.sleep(self.cfg.settle_seconds)
        await self._read(u)
        wanted = target.watts - before  # < 0 down, > 0 up
        extra: dict[str, Any] = {}
        if by_meter:
            # No reading of its own: the change at the meter across the command is the
            # unit's (commands to such units go one at a time); no meter reading, no
            # verdict of success.
            site_after = await self._meter_kw()
            if site_before is None or site_after is None:
                after = before
            else:
                after = before + (site_after - site_before) * 1000.0
            extra = {
                "judged_by": "meter",
                "site_before_kw": site_before,
                "site_after_kw": site_after,
            }
        else:
            after = u.power()
        took = abs(wanted) < 1 or (after - before) / wanted >= TOOK
        verdict = "ok" if took else ("dead" if said is None else "lying" if said else "refused")
        if not u.alive:
            verdict = "dead"
        if took:
            u.level = move.level
        elif verdict == "lying" and wanted < 0:
            u.lying = True
        self._record(
            self.clock(),
            "command",
            {
                "unit": u.key,
                "to": target.name,
                "said": said,
                "before_w": round(before, 1),
                "after_w": round(after, 1),
                "expected_w": target.watts,
                "verdict": verdict,
                **extra,
            },
        )

    async def _wake(self, now: dt.datetime, headroom_w: float, result: TickResult) -> bool:
        """One wake step if one is due; True if commands went out."""
        since = None if self.last_wake is None else (now - self.last_wake).total_seconds()
        if since is not None and since < self.cfg.wake_stagger_seconds:
            return False
        low = [u for u in self.units.values() if u.alive and u.level > 0]
        if not low:
            return False
        moves = plan_wake(
            [Unit(u.key, u.ladder, u.level, u.watts, True) for u in low],
            headroom_w,
            self.cfg.wake_step_kw * 1000.0,
        )
        if not moves:
            return False
        self.last_wake = now
        self._record(
            now,
            "wake",
            {
                "moves": len(moves),
                "headroom_kw": None if headroom_w == float("inf") else round(headroom_w / 1000, 3),
            },
        )
        await self._execute(moves, result)
        return True

    # -- reports ----------------------------------------------------------------------
    def _accumulate(self, now: dt.datetime, site_kw: float, active: list[Slot]) -> None:
        seconds = 0.0 if self.last_tick is None else (now - self.last_tick).total_seconds()
        seconds = min(seconds, 3 * self.cfg.tick_seconds)  # a stall is not energy
        step = dt.timedelta(seconds=self.cfg.reporting_seconds)
        for slot in active:
            event = self.events.get(slot.event_id)
            if event is None or not event.get("reportDescriptors"):
                continue
            n = int((now - slot.start) / step)
            start = slot.start + n * step
            end = min(start + step, slot.end)
            key = (slot.event_id, start.isoformat())
            p = self.periods.setdefault(key, Period(event, start, end))
            p.kwh += site_kw * seconds / 3600.0
            p.seconds += seconds
            p.peak_kw = max(p.peak_kw, site_kw)
            p.curtailed = p.curtailed or any(u.level > 0 for u in self.units.values())

    async def _report(self, now: dt.datetime) -> None:
        for key, p in list(self.periods.items()):
            if now < p.end:
                continue
            del self.periods[key]
            eid = str(p.event["id"])
            if self.store.reported(eid, p.start) or p.seconds <= 0:
                continue
            self.pending_reports.append((eid, p.start, self._report_body(p)))
        if len(self.pending_reports) > self.max_pending:
            dropped = len(self.pending_reports) - self.max_pending
            self._record(now, "reports_dropped", {"count": dropped})
            del self.pending_reports[:dropped]
        while self.pending_reports:
            eid, start, body = self.pending_reports[0]
            try:
                await self.ven.report(body)
            except VtnError as exc:
                self._record(now, "report_failed", {"event": eid, "error": str(exc)[:200]})
                return
            self.pending_reports.pop(0)
            self.store.mark_reported(eid, start)
            self._record(now, "report", {"event": eid, "start": start.isoformat()})

    def _report_body(self, p: Period) -> dict[str, Any]:
        asked = [d for d in p.event.get("reportDescriptors") or [] if d.get("payloadType")]
        kinds = {d["payloadType"]: d for d in asked}
        kinds.setdefault("OPERATING_STATE", {"payloadType": "OPERATING_STATE"})
        payloads = []
        descriptors = []
        avg_kw = p.kwh / (p.seconds / 3600.0) if p.seconds else 0.0
        for kind, d in kinds.items():
            if kind == "USAGE":
                value: Any = round(p.kwh, 3)
                units = d.get("units") or "KWH"
            elif kind == "DEMAND":
                value, units = round(avg_kw, 3), d.get("units") or "KW"
            elif kind == "OPERATING_STATE":
                value, units = ("CURTAILED" if p.curtailed else "NORMAL"), None
            else:
                continue  # a payload type this agent does not measure
            desc: dict[str, Any] = {"objectType": "REPORT_PAYLOAD_DESCRIPTOR", "payloadType": kind}
            if units:
                desc["units"] = units
            descriptors.append(desc)
            payloads.append({"type": kind, "values": [value]})
        seconds = int((p.end - p.start).total_seconds())
        return {
            "eventID": str(p.event["id"]),
            "clientName": self.cfg.site,
            "reportName": f"{self.cfg.site} {p.start.isoformat()}",
            "payloadDescriptors": descriptors,
            "resources": [
                {
                    "resourceName": "AGGREGATED_REPORT",
                    "intervalPeriod": {
                        "start": p.start.isoformat().replace("+00:00", "Z"),
                        "duration": f"PT{seconds}S",
                    },
                    "intervals": [{"id": 0, "payloads": payloads}],
                }
            ],
        }

    async def _meter(self, now: dt.datetime, site_kw: float) -> None:
        push = self.cfg.metering_push
        if push is None:
            return
        step = dt.timedelta(minutes=push.minutes)
        epoch = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)

        def bucket(t: dt.datetime) -> dt.datetime:
            return epoch + ((t - epoch) // step) * step

        if self.last_tick is None or self.meter_bucket is None:
            self.meter_bucket = (bucket(now), 0.0, 0.0)
        else:
            # The energy since the last tick at this tick's power, split at the
            # interval boundaries; a stall longer than 3 ticks is not counted as energy.
            t = max(self.last_tick, now - dt.timedelta(seconds=3 * self.cfg.tick_seconds))
            while t < now:
                b_start, kwh, secs = self.meter_bucket
                if bucket(t) != b_start:
                    self._close_reading(b_start, kwh, secs, push.minutes)
                    b_start, kwh, secs = bucket(t), 0.0, 0.0
                end = min(now, b_start + step)
                seconds = (end - t).total_seconds()
                self.meter_bucket = (b_start, kwh + site_kw * seconds / 3600.0, secs + seconds)
                t = end
            if bucket(now) != self.meter_bucket[0]:
                self._close_reading(*self.meter_bucket, push.minutes)
                self.meter_bucket = (bucket(now), 0.0, 0.0)
        if not self.pending_readings:
            return
        try:
            headers = {"Authorization": f"Bearer {await self.ven._token()}"}
            resp = await self.http.post(
                push.url, json={"readings": self.pending_readings}, headers=headers
            )
            ok = resp.is_success
            detail = f"{resp.status_code}"
        except (httpx.HTTPError, VtnError) as exc:
            ok, detail = False, str(exc)[:200]
        self._record(
            now, "meter_push", {"readings": len(self.pending_readings), "ok": ok, "status": detail}
        )
        if ok:
            self.pending_readings.clear()

    def _close_reading(self, start: dt.datetime, kwh: float, secs: float, minutes: int) -> None:
        full = secs >= 0.9 * minutes * 60
        self.pending_readings.append(
            {
                "meter": self.cfg.meter.serial or self.cfg.site,
                "interval_start": start.isoformat().replace("+00:00", "Z"),
                "minutes": minutes,
                "kwh": f"{kwh:.3f}",
                "quality": "measured" if full else "estimated",
            }
        )
        del self.pending_readings[: -4 * self.max_pending]

    # -- the record -------------------------------------------------------------------
    def _record(self, at: dt.datetime, kind: str, body: dict[str, Any]) -> None:
        self.store.log(at, kind, body)
        if log.isEnabledFor(logging.INFO):
            log.info(json.dumps({"at": at.isoformat(), "kind": kind, **body}))

    def _persist(self, now: dt.datetime) -> None:
        self.store.put_units(
            [
                (u.key, u.level, u.lying, u.watts, now if u.alive else None)
                for u in self.units.values()
            ]
        )
        last = self.store.get("pruned")
        if last is None or now - dt.datetime.fromisoformat(last) > dt.timedelta(hours=1):
            self.store.prune(now - dt.timedelta(days=self.cfg.keep_log_days))
            self.store.set("pruned", now.isoformat())
