"""Talking to the machines: one adapter per firmware, each reading power and setting a
ladder level (see :mod:`megawatt.site.planner`).

- ``luxos``: pyasic's ``LUXMiner`` over the CGMiner JSON API (TCP 4028): ``curtail
  sleep``/``curtail wakeup`` (a session from ``session``/``logon``), ``profileset``,
  ``profiles`` and ``power``.
- ``bosminer``: pyasic's ``BOSMiner`` over the same API: ``pause``/``resume`` and
  ``tunerstatus`` (ApproximateMinerPowerConsumption); no profiles through that API.
- ``stock``: pyasic's ``AntminerModern`` (stock Antminer): ``summary`` over the CGMiner
  API says it is alive; it reports no power (``read_watts`` is None: the agent counts
  it at its level's rating). Sleep and wake go through pyasic's ``stop_mining`` /
  ``resume_mining`` (the web interface's ``set_miner_conf``, ``miner-mode``), which
  return True whatever happens, so the agent commands a stock miner only where a
  meter or PDU measures the site and judges it by the meter's delta.
- ``http``: a non-ASIC load (an AI data center's load-management endpoint): ``GET url``
  answers ``{"kw": ...}``, ``POST url {"limit_kw": ...}`` sets a cap.

Every call is bounded by a timeout: pyasic's own read timeout is 100 s, and a miner
that accepts a connection and never answers must not hold the agent.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

import httpx

from megawatt.site.config import FleetConfig
from megawatt.site.planner import Level


class Unreachable(Exception):
    """The unit did not answer (refused, timed out, or answered nonsense)."""


class Adapter(Protocol):
    key: str
    fleet: str
    can_sleep: bool

    async def read_watts(self) -> float | None: ...

    async def set_level(self, level: Level) -> bool: ...

    async def profiles(self) -> list[Level] | None: ...


async def _bounded(coro: Any, timeout: float) -> Any:
    try:
        return await asyncio.wait_for(coro, timeout)
    except (TimeoutError, OSError) as exc:
        raise Unreachable(f"{type(exc).__name__}: {exc}") from None


class LuxOSAdapter:
    """A LuxOS miner through pyasic (``pyasic.miners.backends.luxminer.LUXMiner``)."""

    can_sleep = True

    def __init__(self, fleet: FleetConfig, ip: str, port: int, timeout: float) -> None:
        from pyasic.miners.backends.luxminer import LUXMiner

        self.key = f"{ip}:{port}"
        self.fleet = fleet.name
        self.timeout = timeout
        self.miner = LUXMiner(ip)
        self.miner.rpc.port = port
        self.asleep = False

    async def read_watts(self) -> float:
        data = await _bounded(self.miner.rpc.power(), self.timeout)
        try:
            return float(data["POWER"][0]["Watts"])
        except (LookupError, TypeError, ValueError):
            raise Unreachable("no POWER in the answer") from None

    async def set_level(self, level: Level) -> bool:
        from pyasic.errors import APIError

        if level.name == "sleep":
            ok = bool(await _bounded(self.miner.stop_mining(), self.timeout))
            self.asleep = self.asleep or ok
            return ok
        try:
            # A sleeping LuxOS miner must be woken before a profile takes effect.
            woke = bool(await _bounded(self.miner.resume_mining(), self.timeout))
            answer = await _bounded(self.miner.rpc.profileset(level.name), self.timeout)
        except APIError:
            return False
        self.asleep = self.asleep and not woke
        try:
            return bool(answer["PROFILE"][0]["Profile"] == level.name)
        except (LookupError, TypeError):
            return False

    async def profiles(self) -> list[Level] | None:
        data = await _bounded(self.miner.rpc.profiles(), self.timeout)
        try:
            return [
                Level(str(p["Profile Name"]), float(p["Watts"]), float(p["Hashrate"]))
                for p in data["PROFILES"]
            ]
        except (LookupError, TypeError, ValueError):
            return None


class BOSminerAdapter:
    """Braiins OS (BOSminer) through pyasic's ``BOSMiner`` CGMiner API: pause/resume."""

    can_sleep = True

    def __init__(self, fleet: FleetConfig, ip: str, port: int, timeout: float) -> None:
        from pyasic.miners.backends.braiins_os import BOSMiner

        self.key = f"{ip}:{port}"
        self.fleet = fleet.name
        self.timeout = timeout
        self.miner = BOSMiner(ip)
        self.miner.rpc.port = port

    async def read_watts(self) -> float:
        data = await _bounded(self.miner.rpc.tunerstatus(), self.timeout)
        try:
            return float(data["TUNERSTATUS"][0]["ApproximateMinerPowerConsumption"])
        except (LookupError, TypeError, ValueError):
            raise Unreachable("no TUNERSTATUS in the answer") from None

    async def set_level(self, level: Level) -> bool:
        if level.name == "sleep":
            return bool(await _bounded(self.miner.stop_mining(), self.timeout))
        return bool(await _bounded(self.miner.resume_mining(), self.timeout))

    async def profiles(self) -> list[Level] | None:
        return None


class AsicRsAdapter:
    """Any miner asic-rs (``pyasic_rs``) identifies, on port 4028 (its factory takes no
    port): ``get_wattage``, ``pause``/``resume``. The miner is identified on first use
    (``MinerFactory.get_miner``); one that is not identified is Unreachable. Tested
    with the LuxOS fakes; an alternative to pyasic, not the default."""

    can_sleep = True

    def __init__(self, fleet: FleetConfig, ip: str, port: int, timeout: float) -> None:
        self.key = f"{ip}:{port}"
        self.fleet = fleet.name
        self.ip = ip
        self.timeout = timeout
        self.miner: Any = None

    async def _miner(self) -> Any:
        if self.miner is None:
            from pyasic_rs import MinerFactory

            t = max(1, round(self.timeout))
            factory = (
                MinerFactory().with_identification_timeout_secs(t).with_connectivity_timeout_secs(t)
            )
            self.miner = await _bounded(factory.get_miner(self.ip), self.timeout * 2)
            if self.miner is None:
                raise Unreachable("asic-rs did not identify the miner")
        return self.miner

    async def read_watts(self) -> float:
        miner = await self._miner()
        watts = await _bounded(miner.get_wattage(), self.timeout)
        if watts is None:
            raise Unreachable("asic-rs read no power")
        return float(watts)

    async def set_level(self, level: Level) -> bool:
        miner = await self._miner()
        call = miner.pause() if level.name == "sleep" else miner.resume()
        return bool(await _bounded(call, self.timeout))

    async def profiles(self) -> list[Level] | None:
        return None


class StockAdapter:
    """A stock Antminer through pyasic's ``AntminerModern``: alive while it answers
    ``summary`` (CGMiner API); no power reading of its own (pyasic's ``get_wattage`` is
    None), so ``read_watts`` is None. ``set_level`` is pyasic's ``stop_mining`` /
    ``resume_mining`` over the web interface (``web_port``), whose True means nothing:
    the agent sends it only when a meter can judge it."""

    can_sleep = True
    reports_power = False

    def __init__(self, fleet: FleetConfig, ip: str, port: int, timeout: float) -> None:
        from pyasic.miners.backends.antminer import AntminerModern

        self.key = f"{ip}:{port}"
        self.fleet = fleet.name
        self.timeout = timeout
        self.miner = AntminerModern(ip)
        self.miner.rpc.port = port
        self.miner.web.port = fleet.web_port

    async def read_watts(self) -> float | None:
        data = await _bounded(self.miner.rpc.summary(), self.timeout)
        if not isinstance(data, dict) or "SUMMARY" not in data:
            raise Unreachable("no SUMMARY in the answer")
        return None

    async def set_level(self, level: Level) -> bool:
        call = self.miner.stop_mining() if level.name == "sleep" else self.miner.resume_mining()
        return bool(await _bounded(call, self.timeout))

    async def profiles(self) -> list[Level] | None:
        return None


class HttpLoadAdapter:
    """A non-ASIC load behind an HTTP endpoint: ``GET`` its power, ``POST`` a cap."""

    can_sleep = False

    def __init__(self, fleet: FleetConfig, client: httpx.AsyncClient, timeout: float) -> None:
        assert fleet.url is not None
        self.key = fleet.url
        self.fleet = fleet.name
        self.url = fleet.url
        self.client = client
        self.timeout = timeout

    async def read_watts(self) -> float:
        try:
            resp = await self.client.get(self.url, timeout=self.timeout)
            resp.raise_for_status()
            return float(resp.json()["kw"]) * 1000.0
        except (httpx.HTTPError, LookupError, TypeError, ValueError) as exc:
            raise Unreachable(str(exc)) from None

    async def set_level(self, level: Level) -> bool:
        try:
            body = {"limit_kw": level.watts / 1000.0}
            resp = await self.client.post(self.url, json=body, timeout=self.timeout)
            return resp.is_success
        except httpx.HTTPError:
            return False

    async def profiles(self) -> list[Level] | None:
        return None


def http_ladder(fleet: FleetConfig) -> list[Level]:
    """An HTTP load's rungs: rated, its configured levels, then ``min_w``; the
    ``hashrate_th`` of a level is the value of the work it keeps (any unit, relative
    to the miners' TH/s: high values are curtailed last)."""
    rungs = [Level("default", fleet.rated_w, fleet.hashrate_th)]
    rungs += [Level(p.name, p.watts, p.hashrate_th) for p in fleet.profiles]
    rungs.sort(key=lambda r: -r.watts)
    if fleet.min_w < rungs[-1].watts:
        rungs.append(Level("min", fleet.min_w, fleet.hashrate_th * fleet.min_w / fleet.rated_w))
    return rungs
