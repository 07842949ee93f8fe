"""The scenario model, its YAML/CSV format and its hourly series.

>>> from megawatt import scenario
>>> sc = scenario.load_default()
>>> series = scenario.timeseries(sc)     # demand_mw by zone, availability profiles
"""

from __future__ import annotations

from pathlib import Path

from megawatt.data import default_scenario_path
from megawatt.scenario.io import dump, load, validate
from megawatt.scenario.model import (
    Applicant,
    Currency,
    Demand,
    Generator,
    Link,
    Market,
    Program,
    Scenario,
    Tariff,
    Zone,
)
from megawatt.scenario.series import Timeseries, local_snapshots, snapshots, timeseries


def load_default() -> Scenario:
    """Load the embedded default scenario (Pakistan FY2025)."""
    return load(default_scenario_path())


def load_or_default(path: str | Path | None) -> Scenario:
    """Load ``path``, or the embedded default when it is None."""
    return load_default() if path is None else load(path)


__all__ = [
    "Applicant",
    "Currency",
    "Demand",
    "Generator",
    "Link",
    "Market",
    "Program",
    "Scenario",
    "Tariff",
    "Timeseries",
    "Zone",
    "dump",
    "load",
    "load_default",
    "load_or_default",
    "local_snapshots",
    "snapshots",
    "timeseries",
    "validate",
]
