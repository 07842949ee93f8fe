"""Small scenarios built in Python for hand-solved LP tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd

from megawatt import scenario as scenario_lib
from megawatt.scenario.io import Origin


def small_scenario(
    tmp_path: Path,
    demand: dict[str, list[float]],
    generators: list[dict[str, Any]],
    applicants: list[dict[str, Any]] | None = None,
    links: list[dict[str, Any]] | None = None,
    tariff_usd_per_mwh: float = 30.0,
    cap_mw: float = 1e6,
    profiles: dict[str, list[float]] | None = None,
    timezone: str = "UTC",
    **program: Any,
) -> scenario_lib.Scenario:
    """A scenario from 1 Jan 2025 00:00 local time (UTC unless ``timezone``) with hourly
    demand per zone [MW]; money in USD (rate 1)."""
    hours = len(next(iter(demand.values())))
    index = pd.date_range("2025-01-01", periods=hours, freq="h", tz=timezone).tz_convert("UTC")
    frame = pd.DataFrame(demand, index=[t.isoformat() for t in index])
    frame.index.name = "timestamp"
    frame.to_csv(tmp_path / "demand.csv")
    if profiles:
        prof = pd.DataFrame(profiles, index=frame.index)
        prof.to_csv(tmp_path / "profiles.csv")
    raw = {
        "name": "small",
        "timezone": timezone,
        "start": dt.datetime(2025, 1, 1),
        "hours": hours,
        "voll_usd_per_mwh": 1000.0,
        "zones": [{"name": z} for z in demand],
        "links": links or [],
        "generators": [{"technology": "thermal", **g} for g in generators],
        "profiles": "profiles.csv" if profiles else None,
        "demand": {"format": "hourly", "file": "demand.csv"},
        "program": {
            "cap_mw": cap_mw,
            "tariff": {"scheme": "flat", "local_per_kwh": tariff_usd_per_mwh / 1000.0},
            **program,
        },
        "applicants": [{"application_date": dt.date(2025, 1, 1), **a} for a in (applicants or [])],
        "market": {
            "as_of": dt.date(2025, 12, 28),
            "btc_price_usd": 87748,
            "difficulty": 148.26e12,
            "fees_btc_per_block": 0.0139,
            "block_height": 929000,
            "gpu_rental_usd_per_gpu_hour": 2.0,
        },
    }
    return scenario_lib.validate(raw, Origin(path=None, base_dir=tmp_path))


def one_miner(tmp_path: Path) -> scenario_lib.Scenario:
    """Four hours, one zone, one 100 MW plant and a 70 MW miner valuing power at 45
    USD/MWh: plans in a second (CLI, export and interrupt tests)."""
    return small_scenario(
        tmp_path,
        {"A": [50.0, 80.0, 120.0, 60.0]},
        [{"name": "g", "zone": "A", "p_nom_mw": 100, "fuel_cost_local_per_kwh": 0.01}],
        [
            {
                "name": "m",
                "kind": "btc_miner",
                "zone": "A",
                "requested_mw": 70,
                "value_usd_per_mwh": 45.0,
            }
        ],
    )
