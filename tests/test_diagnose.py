"""Plans explain themselves: an infeasible or failed solve names the family, the object
and the first hours; a plan that sheds national demand or allocates nothing says so, and
why, in its headline."""

from __future__ import annotations

import json
from pathlib import Path

import highspy
import numpy as np
import pytest

from factories import small_scenario
from megawatt.accounts.tables import headline, result_tables
from megawatt.errors import InfeasibleError, InputError
from megawatt.optimize import solve_inputs
from megawatt.optimize.diagnose import diagnose, input_magnitudes
from megawatt.optimize.inputs import build_inputs
from megawatt.planning import run_plan

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


def _program_inputs(sc):
    """The program case's LP inputs of a valid scenario (caps edited below it: validation
    refuses committed MW above a cap, so the LP meets one only from code or a bug)."""
    return build_inputs(
        sc, with_program=True, applicant_values={a.name: 1000 for a in sc.applicants}
    )


def test_committed_above_program_cap(tmp_path: Path) -> None:
    apps = [firm_ai("ai1", 1300), firm_ai("ai2", 1000)]
    with pytest.raises(InputError, match=r"committed MW add up to 2300, above program\.cap_mw"):
        small_scenario(tmp_path, {"South": [100, 100, 100]}, [GEN], apps, cap_mw=2000)
    sc = small_scenario(tmp_path, {"South": [100, 100, 100]}, [GEN], apps, cap_mw=2500)
    inputs = _program_inputs(sc)
    inputs.cap_mw = 2000.0
    with pytest.raises(InfeasibleError) as err:
        solve_inputs(inputs)
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
        zone_caps_mw={"South": 1500},
        plant_caps_mw={"g1": 1500},
    )
    inputs = _program_inputs(sc)
    inputs.zone_caps_mw = {0: 1200.0}
    inputs.plant_caps_mw = {"g1": 1000.0}
    with pytest.raises(InfeasibleError) as err:
        solve_inputs(inputs)
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


TWO_PLANTS = [
    {"name": "cheap", "zone": "A", "p_nom_mw": 100, "fuel_cost_local_per_kwh": 0.01},
    {"name": "dear", "zone": "A", "p_nom_mw": 100, "fuel_cost_local_per_kwh": 0.05},
]
MINER = {"name": "m", "kind": "btc_miner", "zone": "A", "requested_mw": 70, "value_usd_per_mwh": 45}


def head_of(tmp_path: Path, demand: list[float], tariff: float) -> dict:
    sc = small_scenario(tmp_path, {"A": demand}, TWO_PLANTS, [MINER], tariff_usd_per_mwh=tariff)
    return headline(result_tables(run_plan(sc, with_horizon=False)))


def test_headline_says_the_grid_sheds_and_nothing_is_sold(tmp_path: Path) -> None:
    head = head_of(tmp_path, [500, 800, 1200, 600], 30.0)  # 200 MW of plant
    assert head["shed_gwh_baseline"] == pytest.approx(2.3)
    assert head["shed_gwh_program"] == pytest.approx(2.3)
    assert head["allocated_mw"] == pytest.approx(0.0, abs=1e-6)
    assert head["notes"] == [
        "The grid sheds 2.3 GWh of national demand before the program (baseline), in 4 "
        "hours, up to 1,000 MW: the scenario's supply cannot meet its demand; the program "
        "adds none (shedding capped at the baseline's).",
        "No applicant is allocated: in the hours the applicants would buy (tariff 30.0 "
        "USD/MWh), no spare generation costs at or below the tariff (surplus_mw is 0: plants "
        "that cheap are fully used by national demand, or there are none), so every sale "
        "would lose money.",
    ]


def test_headline_says_why_a_zero_tariff_sells_nothing(tmp_path: Path) -> None:
    head = head_of(tmp_path, [50, 80, 120, 60], 0.0)
    assert head["allocated_mw"] == pytest.approx(0.0, abs=1e-6)
    assert (head["shed_gwh_baseline"], head["shed_gwh_program"]) == (0.0, 0.0)
    assert head["notes"] == [
        "No applicant is allocated: the tariff is 0.0 USD/MWh, so a sale earns the state "
        "nothing and cannot pay for any fuel; the plan sells nothing (raise the tariff)."
    ]


def test_headline_says_every_value_is_below_the_tariff(tmp_path: Path) -> None:
    head = head_of(tmp_path, [50, 80, 120, 60], 50.0)
    assert head["notes"] == [
        "No applicant is allocated: every applicant's value per MWh is below the tariff in "
        "every hour (highest value 45.0 USD/MWh, m; lowest tariff 50.0 USD/MWh), so none "
        "would buy: lower the tariff."
    ]


def test_headline_of_a_plain_plan_has_no_notes(tmp_path: Path) -> None:
    head = head_of(tmp_path, [50, 80, 120, 60], 30.0)
    assert head["allocated_mw"] == pytest.approx(50.0)
    assert head["notes"] == []


def test_cli_prints_the_notes(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from megawatt.cli import app
    from megawatt.scenario import dump

    sc = small_scenario(tmp_path, {"A": [50, 80]}, TWO_PLANTS, [MINER], tariff_usd_per_mwh=0.0)
    path = dump(sc, tmp_path / "files")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["plan", str(path), "--out", str(out), "--no-details"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "national demand shed │ 0 GWh before the program, 0 GWh with it" in text
    assert "Note: No applicant is allocated: the tariff is 0.0 USD/MWh" in text
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))["headline"]
    assert summary["notes"][0].startswith("No applicant is allocated: the tariff is 0.0")
    assert summary["shed_gwh_baseline"] == 0.0
    # the report's headline shows the shedding rows and the notes too
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "National demand shed before the program" in page
    assert '<ul class="notes"><li>No applicant is allocated: the tariff is 0.0' in page
