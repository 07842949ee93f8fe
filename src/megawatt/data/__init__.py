"""Embedded default datasets.

``pakistan_fy2025/`` holds the default scenario: Pakistan's national grid in FY2025
with phase 1 of the national program. Every row cites ``sources.yaml`` and says
whether its figures are reported (R) or estimates (E), with the method.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

DEFAULT_DATASET = "pakistan_fy2025"


def dataset_dir(name: str = DEFAULT_DATASET) -> Path:
    """Directory of an embedded dataset."""
    path = Path(str(resources.files("megawatt.data").joinpath(name)))
    if not path.is_dir():
        raise FileNotFoundError(f"no embedded dataset {name!r}")
    return path


def default_scenario_path() -> Path:
    """The default scenario's YAML file (Pakistan FY2025)."""
    return dataset_dir() / "scenario.yaml"
