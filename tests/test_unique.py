"""One hourly schedule whatever the solver path (megawatt.optimize.unique)."""

from __future__ import annotations

import random

import highspy
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose

from megawatt.economics.valuation import bids, value_applicants
from megawatt.optimize import DispatchResult
from megawatt.optimize.inputs import build_inputs
from megawatt.optimize.lp import build_lp, lp_vectors
from megawatt.optimize.rolling import window_inputs
from megawatt.optimize.solve import extract, new_highs, solve_inputs
from megawatt.optimize.unique import face_solution

#: A fortnight of July (the program curtails in it) and the fortnight after it.
WEEKS = (0, 336)
NEXT = (336, 672)
ATOL_MW = 1e-6


def _program_inputs(scenario, span: tuple[int, int]):
    values = bids(value_applicants(scenario))
    full = build_inputs(scenario, with_program=True, applicant_values=values)
    # shedding capped at (almost) zero, as the program case after a baseline that sheds none
    full.shed_cap_mw = np.full_like(full.demand_mw, 1e-6)
    return window_inputs(full, *span)


def _curtailed_hours(result: DispatchResult) -> pd.Series:
    return result.applicant_summary().curtailed_hours.sort_index()


def _assert_same(a: DispatchResult, b: DispatchResult) -> None:
    def by_name(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[sorted(frame.columns)]

    for name in ("dispatch_mw", "flow_mw", "shed_mw", "served_mw", "backup_mw"):
        assert_allclose(
            by_name(getattr(a, name)).to_numpy(),
            by_name(getattr(b, name)).to_numpy(),
            atol=ATOL_MW,
            err_msg=name,
        )
    assert_allclose(
        a.allocation_mw.sort_index().to_numpy(), b.allocation_mw.sort_index().to_numpy(), atol=1e-6
    )
    pd.testing.assert_series_equal(_curtailed_hours(a), _curtailed_hours(b))


@pytest.fixture(scope="module")
def fortnight(default_scenario):
    inputs = _program_inputs(default_scenario, WEEKS)
    return inputs, solve_inputs(inputs, solver="simplex")


def test_the_fortnight_has_curtailment_and_a_degenerate_face(fortnight) -> None:
    """The case is a real test: the LP leaves freedom, and the program is curtailed."""
    _, result = fortnight
    assert result.face is not None and result.face.ok
    assert result.face.free_cols > 1000
    assert _curtailed_hours(result).sum() > 0


def test_simplex_and_ipm_give_one_schedule(fortnight) -> None:
    inputs, simplex = fortnight
    ipm = solve_inputs(inputs, solver="ipm")
    _assert_same(simplex, ipm)
    # ... while their LP vertices differ (the reason for the second stage)
    raw = [solve_inputs(inputs, solver=s, keep_model=True) for s in ("simplex", "ipm")]
    vertices = [extract(inputs, r.highs, r.layout, unique=False) for r in raw]
    gap = (vertices[0].dispatch_mw - vertices[1].dispatch_mw).abs().to_numpy().max()
    assert gap > 1.0


def test_a_warm_start_in_place_gives_the_same_schedule(default_scenario, fortnight) -> None:
    """Solve the next fortnight first, then change the model in place to this one."""
    inputs, cold = fortnight
    other = _program_inputs(default_scenario, NEXT)
    lp, layout = build_lp(other)
    h = new_highs()
    h.passModel(lp)
    h.run()
    vec = lp_vectors(inputs)
    cols = np.arange(lp.num_col_, dtype=np.int32)
    rows = np.arange(lp.num_row_, dtype=np.int32)
    h.changeColsCost(lp.num_col_, cols, vec.col_cost)
    h.changeColsBounds(lp.num_col_, cols, vec.col_lower, vec.col_upper)
    h.changeRowsBounds(lp.num_row_, rows, vec.row_lower, vec.row_upper)
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    _assert_same(cold, extract(inputs, h, layout))


def test_shuffled_generators_and_applicants_give_the_same_schedule(
    default_scenario, fortnight
) -> None:
    _, reference = fortnight
    rng = random.Random(7)
    generators = list(default_scenario.generators)
    applicants = list(default_scenario.applicants)
    rng.shuffle(generators)
    rng.shuffle(applicants)
    shuffled = default_scenario.model_copy(
        update={"generators": generators, "applicants": applicants}
    )
    result = solve_inputs(_program_inputs(shuffled, WEEKS), solver="ipm")
    _assert_same(reference, result)


def test_the_schedule_is_optimal_and_feasible(fortnight) -> None:
    """Stage 2 keeps the LP's optimal cost and every row; the LP's own point is on the face."""
    inputs, _ = fortnight
    result = solve_inputs(inputs, keep_model=True)
    h = result.highs
    lp = h.getLp()
    x, stats = face_solution(h, inputs, result.layout)
    assert stats.ok
    cost = np.asarray(lp.col_cost_)
    optimum = h.getInfo().objective_function_value
    assert cost @ x == pytest.approx(optimum, rel=1e-9)
    a = lp.a_matrix_
    A = sp.csc_matrix((a.value_, a.index_, a.start_), shape=(lp.num_row_, lp.num_col_))
    act = A @ x
    assert (act >= np.asarray(lp.row_lower_) - 1e-6).all()
    assert (act <= np.asarray(lp.row_upper_) + 1e-6).all()
    assert (x >= np.asarray(lp.col_lower_)).all() and (x <= np.asarray(lp.col_upper_)).all()


def test_a_water_budget_spreads_evenly_over_equal_hours(tmp_path) -> None:
    """Hand case: two identical hours and water for 100 MWh. Hydro in either hour saves
    the same gas, so every split is optimal; the schedule is the flat one, 50 + 50."""
    from factories import small_scenario

    sc = small_scenario(
        tmp_path,
        {"A": [100.0, 100.0]},
        [
            {
                "name": "hydro",
                "zone": "A",
                "p_nom_mw": 100,
                "fuel_cost_local_per_kwh": 0.0,
                "monthly_energy_profile": "water",
            },
            {"name": "gas", "zone": "A", "p_nom_mw": 200, "fuel_cost_local_per_kwh": 0.02},
        ],
        profiles={"water": [0.5, 0.5]},
    )
    result = solve_inputs(build_inputs(sc, with_program=False))
    assert_allclose(result.dispatch_mw["hydro"].to_numpy(), [50.0, 50.0], atol=1e-6)
    assert_allclose(result.dispatch_mw["gas"].to_numpy(), [50.0, 50.0], atol=1e-6)
    assert result.objective_breakdown_usd["generation_cost_usd"] == pytest.approx(100 * 20.0)


def test_shadow_prices_of_a_cap_and_a_link_by_hand(tmp_path) -> None:
    """Zone B has a miner (value 60, tariff 30) behind a 50 MW link from zone A, where
    a 10 USD/MWh plant runs. Cap 40 MW binds: one more MW earns the tariff less the
    plant's cost at the far end of the lossless link, 30 - 10 = 20 USD/MWh, every hour.
    With cap 80 MW the link (50 MW) binds instead, and B's price rises to the tariff."""
    from factories import small_scenario

    def case(cap_mw: float):
        sc = small_scenario(
            tmp_path,
            {"A": [0.0, 0.0, 0.0], "B": [0.0, 0.0, 0.0]},
            [{"name": "coal", "zone": "A", "p_nom_mw": 500, "fuel_cost_local_per_kwh": 0.01}],
            applicants=[
                {
                    "name": "miner",
                    "kind": "btc_miner",
                    "zone": "B",
                    "requested_mw": 100,
                    "value_usd_per_mwh": 60.0,
                }
            ],
            links=[{"name": "ab", "from_zone": "A", "to_zone": "B", "p_nom_mw": 50}],
            cap_mw=cap_mw,
        )
        return solve_inputs(build_inputs(sc))

    capped = case(40.0)
    assert capped.cap_shadow.loc["program"].binding
    assert capped.cap_shadow.loc["program", "value_usd_per_mw"] == pytest.approx(3 * 20.0, rel=1e-3)
    assert capped.link_summary().loc["ab", "congested_hours"] == 0
    linked = case(80.0)
    assert not linked.cap_shadow.loc["program"].binding
    links = linked.link_summary()
    assert links.loc["ab", "congested_hours"] == 3
    assert links.loc["ab", "value_usd_per_mw"] == pytest.approx(3 * 20.0, rel=1e-3)
    assert_allclose(linked.served_mw["miner"].to_numpy(), [50.0] * 3, atol=1e-6)
