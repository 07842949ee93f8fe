"""Benchmark: a site agent and N fake miners on loopback; the time from the receipt of an
event (the webhook's notification handed to the agent) to the fleet under the limit by
read-back power, and the commands per second.

The fakes (LuxOS over the CGMiner JSON API, a few lying and a few dead) run in another
process (``python -m megawatt.site.fakeminer``), each on its own 127.0.x.y address; the
agent drives them through pyasic as in production, with ``settle_seconds`` 0 (the
fakes drop at once; real miners take seconds, which adds to the time, not to the CPU).
The limit is half the fleet's power. No VTN: the event is handed to the agent's
notification handler, as its webhook receiver does.

Run:  python benchmarks/agent_fleet.py [--miners 1000] [--lying 5] [--dead 5]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from megawatt.site import config as site_config
from megawatt.site.agent import Agent


def run(miners: int, lying: int, dead: int, concurrency: int, timeout: float) -> dict[str, Any]:
    honest = miners - lying - dead
    fakes = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "megawatt.site.fakeminer",
            f"luxos={honest}",
            f"lying={lying}",
            f"dead={dead}",
            "--start",
            "2",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert fakes.stdout is not None
    hosts = [h for _, h in json.loads(fakes.stdout.readline())]
    tmp = Path(tempfile.mkdtemp())
    cfg = site_config.parse(
        {
            "site": "bench",
            "vtn": {
                "url": "http://127.0.0.1:9/openadr3/3.1.0",
                "client_id": "x",
                "client_secret": "x",
            },
            "webhook": {"enabled": False},
            "state": str(tmp / "agent.db"),
            "fleets": [
                {
                    "name": "hall",
                    "firmware": "luxos",
                    "hosts": hosts,
                    "rated_w": 3250,
                    "hashrate_th": 140,
                }
            ],
            "settle_seconds": 0,
            "command_timeout_seconds": timeout,
            "concurrency": concurrency,
        }
    )
    limit_kw = miners * 3.25 / 2

    async def go() -> dict[str, Any]:
        agent = Agent(cfg)
        t = time.perf_counter()
        await agent._learn_profiles()
        learn = time.perf_counter() - t
        t = time.perf_counter()
        await agent.tick()  # a first read of everyone, as a running agent has done
        read = time.perf_counter() - t
        now = dt.datetime.now(dt.UTC)
        note = {
            "objectType": "EVENT",
            "operation": "CREATE",
            "object": {
                "id": "1",
                "targets": ["bench"],
                "intervalPeriod": {"start": now.isoformat(), "duration": "PT1H"},
                "intervals": [
                    {"id": 0, "payloads": [{"type": "IMPORT_CAPACITY_LIMIT", "values": [limit_kw]}]}
                ],
            },
        }
        t0 = time.perf_counter()
        await agent._on_notification(note)
        result = await agent.tick()
        elapsed = time.perf_counter() - t0
        await agent.close()
        return {
            "miners": miners,
            "lying": lying,
            "dead": dead,
            "limit_kw": limit_kw,
            "site_kw": round(result.site_kw, 1),
            "under": result.site_kw <= limit_kw,
            "found_lying": len(result.lying),
            "found_dead": len(result.dead),
            "commands": result.commands,
            "event_to_under_s": round(elapsed, 2),
            "commands_per_s": round(result.commands / elapsed, 1),
            "first_read_all_s": round(read, 2),
            "learn_profiles_s": round(learn, 2),
        }

    try:
        return asyncio.run(go())
    finally:
        fakes.communicate(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--miners", type=int, default=1000)
    parser.add_argument("--lying", type=int, default=5)
    parser.add_argument("--dead", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=2.0, help="per command [s]")
    args = parser.parse_args()
    out = run(args.miners, args.lying, args.dead, args.concurrency, args.timeout)
    for k, v in out.items():
        print(f"{k:>20}: {v}")


if __name__ == "__main__":
    main()
