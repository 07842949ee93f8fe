"""Infeasible and failed solves explain themselves: family, object, first hours."""

from __future__ import annotations

from pathlib import Path

import highspy
import numpy as np
import pytest

from factories import small_scenario
from megawatt.errors import InfeasibleError, InputError
from megawatt.optimize import solve_inputs
from megawatt.optimize.diagnose import diagnose, input_magnitudes
from megawatt.optimize.inputs import build_inputs
from megawatt.planning import plan

GEN = {"name": "g1", "zone": "South", "p_nom_mw": 5000, "fuel_cost_local_per_kwh": 0.010}


def firm_ai(name: str, committed: float, **kw) -> dict:
    return {
        "name": name,
        "kind": "ai_datacenter",
        "zone": "South",
        "requested_mw": committed,
        "committed_mw": committed,
        "firm_share": 1.0,
        "value_usd_per_mwh": 1000,
        **kw,
    }


def test_committed_above_program_cap(tmp_path: Path) -> None:
    sc = small_scenario(
        tmp_path,
        {"South": [100, 100, 100]},
        [GEN],
        [firm_ai("ai1", 1300), firm_ai("ai2", 1000)],
        cap_mw=2000,
    )
    with pytest.raises(InfeasibleError) as err:
        plan(sc)
    assert str(err.value) == (
        "infeasible: program cap: committed 2,300 MW of firm load (ai1 1,300, ai2 1,000) > "
        "cap 2,000 MW: lower applicants' committed_mw or raise program.cap_mw"
    )


def test_committed_above_zone_and_plant_caps(tmp_path: Path) -> None:
    sc = small_scenario(
        tmp_path,
        {"South": [100, 100, 100]},
        [GEN],
        [firm_ai("ai1", 1300, plant="g1")],
        zone_caps_mw={"South": 1200},
        plant_caps_mw={"g1": 1000},
    )
    with pytest.raises(InfeasibleError) as err:
        plan(sc)
    message = str(err.value)
    assert "zone cap South: committed 1,300 MW of firm load (ai1 1,300) > cap 1,200 MW" in message
    assert "raise program.zone_caps_mw.South" in message
    assert "plant cap g1: committed 1,300 MW of firm load (ai1 1,300) > cap 1,000 MW" in message
    assert "raise program.plant_caps_mw.g1" in message


def test_must_run_everywhere_above_demand(tmp_path: Path) -> None:
    sc = small_scenario(
        tmp_path,
        {"South": [100, 50, 40, 100]},
        [{"name": "g1", "zone": "South", "p_nom_mw": 100, "p_min_pu": 1.0}],
    )
    with pytest.raises(InfeasibleError) as err:
        solve_inputs(build_inputs(sc, with_program=False))
    assert str(err.value).startswith(
        "infeasible: generator floors: must-run generation exceeds what zone South can use "
        "or export in 2 hours (first 2025-01-01 01:00, 2025-01-01 02:00 UTC), by up to 60 MW"
    )


def test_floor_above_monthly_water(tmp_path: Path) -> None:
    """A hydro floor of p_min_pu 1 needs more water than the month holds."""
    sc = small_scenario(
        tmp_path,
        {"North": [500.0] * 4},
        [
            {
                "name": "hydro",
                "zone": "North",
                "technology": "hydro",
                "p_nom_mw": 100,
                "p_min_pu": 1.0,
                "monthly_energy_profile": "water",
            },
            {"name": "gas", "zone": "North", "p_nom_mw": 1000, "fuel_cost_local_per_kwh": 0.05},
        ],
        profiles={"water": [0.25] * 4},  # 100 MWh of water; the floor needs 400 MWh
    )
    with pytest.raises(InfeasibleError) as err:
        solve_inputs(build_inputs(sc, with_program=False))
    assert (
        "generator floors: the hourly floor of hydro needs more water than its monthly cap "
        "in 1 month (first 2025-01: floor 0.4 GWh > water 0.1 GWh)" in str(err.value)
    )


def test_floor_faster_than_ramp(tmp_path: Path) -> None:
    sc = small_scenario(
        tmp_path,
        {"A": [500.0] * 3},
        [
            {
                "name": "solar",
                "zone": "A",
                "p_nom_mw": 100,
                "p_min_pu": 1.0,
                "p_max_pu_profile": "sun",
                "ramp_pu_per_h": 0.1,
            },
            {"name": "gas", "zone": "A", "p_nom_mw": 1000, "fuel_cost_local_per_kwh": 0.05},
        ],
        profiles={"sun": [0.0, 0.5, 0.5]},
    )
    with pytest.raises(InfeasibleError) as err:
        solve_inputs(build_inputs(sc, with_program=False))
    assert (
        "ramp limits: solar cannot follow its floor and availability within 10 MW/h in "
        "1 hour (first 2025-01-01 01:00 UTC), by up to 40 MW" in str(err.value)
    )


def test_absurd_inputs_are_named_before_the_solve(tmp_path: Path) -> None:
    sc = small_scenario(
        tmp_path,
        {"A": [100, 120]},
        [{"name": "g1", "zone": "A", "p_nom_mw": 1e300, "p_min_pu": 0.5}],
    )
    with pytest.raises(InputError, match=r"capacity: generator g1 p_nom_mw \[MW\] = 1e\+300"):
        solve_inputs(build_inputs(sc, with_program=False))
    inputs = build_inputs(sc, with_program=False)
    inputs.p_min_mw[0, 1] = np.nan
    with pytest.raises(InputError, match=r"floor: generator g1 p_min \[MW\] = nan"):
        solve_inputs(inputs)


def test_solver_error_names_the_largest_inputs(tmp_path: Path) -> None:
    sc = small_scenario(
        tmp_path,
        {"A": [100, 120]},
        [
            {"name": "g1", "zone": "A", "p_nom_mw": 300, "fuel_cost_local_per_kwh": 0.01},
            {"name": "g2", "zone": "A", "p_nom_mw": 200, "fuel_cost_local_per_kwh": 0.05},
        ],
    )
    inputs = build_inputs(sc, with_program=False)
    message = diagnose(inputs, highspy.HighsModelStatus.kSolveError, "Solve error")
    assert message.startswith(
        "the solver stopped without a plan (Solve error); check the largest inputs: "
        "value of lost load [USD/MWh] = 1,000; capacity: generator g1 p_nom_mw [MW] = 300"
    )
    inputs.p_nom_mw[1] = inputs.p_max_mw[1] = 1e12
    message = diagnose(inputs, highspy.HighsModelStatus.kInfeasible, "Infeasible")
    assert "inputs far outside a power system's range" in message
    assert "capacity: generator g2 p_nom_mw [MW] = 1e+12" in message
    assert input_magnitudes(inputs)[0] == ("capacity: generator g2 p_nom_mw [MW]", 1e12)
