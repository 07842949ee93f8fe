"""Helpers of the site agent tests: a controllable clock, a configuration around a
fleet of fake miners, and an event body as the VTN serves it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from megawatt.site import config as site_config
from megawatt.site.fakeminer import FakeMiner

T0 = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self, at: dt.datetime = T0) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += dt.timedelta(seconds=seconds)


def agent_config(
    miners: list[FakeMiner], tmp: Path, vtn: str = "http://127.0.0.1:9/openadr3/3.1.0", **extra: Any
) -> site_config.AgentConfig:
    """Fleets by kind of fake (luxos, lying and dead speak LuxOS; bosminer); each stock
    fake (stock, stock-lying) is a fleet of its own, ``stock-<n>``, for its web port."""
    by_fw: dict[str, list[str]] = {}
    fleets: list[dict[str, Any]] = []
    for m in miners:
        if m.kind.startswith("stock"):
            fleets.append(
                {
                    "name": f"stock-{len(fleets)}",
                    "firmware": "stock",
                    "hosts": [m.host],
                    "web_port": m.web_port,
                }
            )
            continue
        fw = {"lying": "luxos", "dead": "luxos"}.get(m.kind, m.kind)
        by_fw.setdefault(fw, []).append(m.host)
    fleets += [{"name": fw, "firmware": fw, "hosts": hosts} for fw, hosts in by_fw.items()]
    for f in fleets:
        f |= {"model": "S19XP", "rated_w": 3250, "hashrate_th": 140}
    raw = {
        "site": "mine-a",
        "vtn": {
            "url": vtn,
            "client_id": "ven-a",
            "client_secret": "x",
            "poll_seconds": 1,
            "timeout_seconds": 2,
        },
        "webhook": {"enabled": False},
        "state": str(tmp / "agent.db"),
        "fleets": fleets,
        "tick_seconds": 0.2,
        "settle_seconds": 0.0,
        "command_timeout_seconds": 0.5,
        "wake_step_kw": 4,
        "wake_stagger_seconds": 10,
        "reporting_seconds": 60,
        **extra,
    }
    return site_config.parse(raw)


def event(
    limit_kw: float, start: dt.datetime = T0, minutes: int = 10, eid: str = "7", **extra: Any
) -> dict[str, Any]:
    return {
        "id": eid,
        "objectType": "EVENT",
        "programID": "1",
        "eventName": "curtail",
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
        "intervalPeriod": {
            "start": start.isoformat().replace("+00:00", "Z"),
            "duration": f"PT{minutes}M",
        },
        "intervals": [
            {"id": 0, "payloads": [{"type": "IMPORT_CAPACITY_LIMIT", "values": [limit_kw]}]}
        ],
        **extra,
    }
