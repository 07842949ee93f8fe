"""Rolling re-dispatch on one HiGHS model equals the full-span solve where windows are
independent, and stays feasible with span-level limits turned per-window."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

from factories import small_scenario
from megawatt.optimize.inputs import build_inputs
from megawatt.optimize.rolling import rolling_dispatch
from megawatt.optimize.solve import solve_inputs


def independent_case(tmp_path: Path, days: int = 5):
    rng = np.random.default_rng(7)
    hours = 24 * days
    return small_scenario(
        tmp_path,
        {"S": list(rng.uniform(50, 200, hours)), "N": list(rng.uniform(300, 600, hours))},
        [
            {"name": "coal_s", "zone": "S", "p_nom_mw": 400, "fuel_cost_local_per_kwh": 0.02},
            {"name": "gas_n", "zone": "N", "p_nom_mw": 500, "fuel_cost_local_per_kwh": 0.06},
            {"name": "wind_s", "zone": "S", "p_nom_mw": 200, "p_max_pu_profile": "wind"},
            {"name": "oil_n", "zone": "N", "p_nom_mw": 300, "fuel_cost_local_per_kwh": 0.12},
        ],
        [
            {
                "name": "m1",
                "kind": "btc_miner",
                "zone": "S",
                "requested_mw": 150,
                "committed_mw": 150,
                "value_usd_per_mwh": 90,
            }
        ],
        links=[
            {"name": "sn", "from_zone": "S", "to_zone": "N", "p_nom_mw": 250, "efficiency": 0.97}
        ],
        profiles={"wind": list(rng.uniform(0, 1, hours))},
        tariff_usd_per_mwh=75.0,
    )


def test_rolling_equals_full_span_when_windows_are_independent(tmp_path: Path) -> None:
    inputs = build_inputs(independent_case(tmp_path), with_program=True)
    full = solve_inputs(inputs)
    rolled, log = rolling_dispatch(inputs, window_h=24)
    assert len(log) == 5
    # every window carries the allocation tie-break cost once; the real terms agree
    real = ["generation_cost_usd", "shed_cost_usd", "backup_cost_usd", "tariff_revenue_usd"]
    assert_allclose(
        rolled.objective_breakdown_usd[real],
        full.objective_breakdown_usd[real],
        rtol=1e-9,
        atol=1e-6,
    )
    assert_allclose(rolled.dispatch_mw.to_numpy(), full.dispatch_mw.to_numpy(), atol=1e-6)
    assert_allclose(
        rolled.price_usd_per_mwh.to_numpy(), full.price_usd_per_mwh.to_numpy(), atol=1e-6
    )
    assert_allclose(rolled.served_mw.to_numpy(), full.served_mw.to_numpy(), atol=1e-6)
    # after the first window HiGHS re-solves from the previous basis (warm start)
    assert (log.iterations.iloc[1:] < 10 * max(log.iterations.iloc[0], 1)).all()


@pytest.mark.slow  # 365 day-ahead windows of the default year
def test_rolling_the_default_year(default_scenario) -> None:
    """365 day-ahead windows of the default on one model; water and take-or-pay per day."""
    inputs = build_inputs(default_scenario, with_program=False)
    rolled, log = rolling_dispatch(inputs, window_h=24)
    assert len(log) == 365
    demand = inputs.demand_mw.sum()
    generation = rolled.dispatch_mw.to_numpy().sum()
    assert generation >= demand  # losses on the link
    assert rolled.shed_mw.to_numpy().sum() < 1e-3 * demand
    hydro = [
        g for g, tech in zip(inputs.generators, inputs.technology, strict=True) if tech == "hydro"
    ]
    assert rolled.dispatch_mw[hydro].to_numpy().sum() / 1e3 == pytest.approx(39_972, rel=2e-3)


def test_window_must_divide_span(tmp_path: Path) -> None:
    inputs = build_inputs(independent_case(tmp_path), with_program=False)
    with pytest.raises(ValueError, match="whole number of 7-h windows"):
        rolling_dispatch(inputs, window_h=7)
