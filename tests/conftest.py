"""Shared fixtures: the default scenario, and editable copies of it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from megawatt import scenario as scenario_lib

# CI runs the same hypothesis examples every time (a failure there reproduces); local
# runs keep exploring new ones.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


#: Fixtures that solve the default scenario: a test that uses one is slow.
SLOW_FIXTURES = {"default_outcome", "default_plan", "time_of_use_outcome"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that solves the default year as slow (``-m "not slow"`` skips it)."""
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def default_scenario() -> scenario_lib.Scenario:
    """The embedded Pakistan FY2025 scenario, loaded once per session."""
    return scenario_lib.load_default()


@pytest.fixture
def scenario_dir(tmp_path: Path, default_scenario: scenario_lib.Scenario) -> Path:
    """An editable copy of the default scenario (scenario.yaml and its files)."""
    scenario_lib.dump(default_scenario, tmp_path / "sc")
    return tmp_path / "sc"


@pytest.fixture(scope="session")
def default_outcome(default_scenario: scenario_lib.Scenario):
    """The whole plan of the default (values, LPs, balance sheet, horizon), run once."""
    from megawatt.planning import run_plan

    return run_plan(default_scenario)


@pytest.fixture(scope="session")
def default_plan(default_outcome):
    """Baseline and program case of the default."""
    return default_outcome.result
