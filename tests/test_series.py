"""The hourly series follow every edit of a scenario, and are read once otherwise."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

from megawatt import scenario as scenario_lib
from megawatt.errors import InputError
from megawatt.optimize.inputs import build_inputs
from megawatt.scenario import series as series_module


@pytest.fixture
def sc(default_scenario: scenario_lib.Scenario) -> scenario_lib.Scenario:
    """A private copy of the default (edits must not leak into the session fixture)."""
    return default_scenario.model_copy(deep=True)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts the profile and demand files actually read."""
    calls: list[str] = []
    for name in ("read_profiles", "read_monthly_demand"):
        real = getattr(series_module, name)

        def counted(*args, _real=real, _name=name, **kwargs):
            calls.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(series_module, name, counted)
    return calls


def _national(sc: scenario_lib.Scenario) -> np.ndarray:
    return scenario_lib.timeseries(sc).demand_mw.sum(axis=1).to_numpy()


def test_model_copy_with_new_scale_doubles_demand(sc) -> None:
    base = _national(sc)
    doubled = sc.model_copy(update={"demand": sc.demand.model_copy(update={"scale": 2.0})})
    assert_allclose(_national(doubled), 2.0 * base, rtol=1e-12)
    assert_allclose(_national(sc), base)  # the original keeps its own series


def test_nested_assignment_gives_fresh_series(sc) -> None:
    base = _national(sc)
    sc.demand.scale = 3.0
    assert_allclose(_national(sc), 3.0 * base, rtol=1e-12)
    sc.demand.zone_shares = {"North": 0.5, "South": 0.5}
    assert_allclose(scenario_lib.timeseries(sc).demand_mw["South"], 1.5 * base, rtol=1e-12)


def test_unchanged_scenario_hits_the_cache(sc, reads) -> None:
    scenario_lib.timeseries(sc)
    assert reads == []  # a copy carries the series of its unchanged inputs
    sc.demand.scale = 1.5
    first = scenario_lib.timeseries(sc)
    assert reads == ["read_profiles", "read_monthly_demand"]
    assert scenario_lib.timeseries(sc) is first
    # edits that do not feed the series keep the cache, also through model_copy
    sc.program.cap_mw = 1000.0
    sc.generators[0].p_nom_mw += 100.0
    assert scenario_lib.timeseries(sc) is first
    other = sc.model_copy(update={"risk": sc.risk.model_copy(update={"price_drift": 0.2})})
    assert scenario_lib.timeseries(other) is first
    assert len(reads) == 2


def test_notebook_edit_and_rerun(sc) -> None:
    """Load, compute, edit capacity / profile / demand in place, compute again."""
    before = build_inputs(sc, with_program=False)
    wind = next(i for i, g in enumerate(sc.generators) if g.p_max_pu_profile == "wind_south")
    solar = next(
        g.p_max_pu_profile
        for g in sc.generators
        if g.p_max_pu_profile and g.p_max_pu_profile != "wind_south"
    )

    sc.generators[wind].p_nom_mw *= 2
    sc.generators[wind].p_max_pu_profile = solar
    sc.demand.scale = 1.25
    after = build_inputs(sc, with_program=False)

    assert after.p_nom_mw[wind] == 2 * before.p_nom_mw[wind]
    gen = sc.generators[wind]
    profile = scenario_lib.timeseries(sc).profiles[solar].to_numpy()
    assert_allclose(after.p_max_mw[wind], gen.p_nom_mw * gen.p_max_pu * profile, rtol=1e-12)
    assert not np.allclose(after.p_max_mw[wind] / 2, before.p_max_mw[wind])
    assert_allclose(after.demand_mw, 1.25 * before.demand_mw, rtol=1e-12)


def test_unknown_profile_after_an_edit_is_an_input_error(sc) -> None:
    scenario_lib.timeseries(sc)
    sc.generators[0].p_max_pu_profile = "no_such_profile"
    with pytest.raises(InputError) as err:
        scenario_lib.timeseries(sc)
    assert "generators.csv: line 2, column p_max_pu_profile: unknown profile" in str(err.value)


def test_edited_file_on_disk_gives_fresh_series(scenario_dir: Path) -> None:
    sc = scenario_lib.load(scenario_dir / "scenario.yaml")
    base = _national(sc)
    path = scenario_dir / sc.demand.file
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    k = header.index("energy_gwh")
    out = [lines[0]]
    for line in lines[1:]:
        cells = line.split(",")
        cells[k] = repr(2 * float(cells[k]))
        out.append(",".join(cells))
    stat = path.stat()
    path.write_text("\n".join(out) + "\n")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert_allclose(_national(sc), 2 * base, rtol=1e-9)
