"""Cross-check: the same multi-zone LP built by PyPSA (linopy + HiGHS) gives the same optimum."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

from factories import small_scenario
from megawatt.planning import plan

pypsa = pytest.importorskip("pypsa", reason="PyPSA is a test dependency (extra 'dev')")


def three_zone_case(tmp_path: Path, hours: int = 48):
    rng = np.random.default_rng(1)
    return small_scenario(
        tmp_path,
        {
            "S": list(rng.uniform(50, 200, hours)),
            "N": list(rng.uniform(300, 700, hours)),
            "K": list(rng.uniform(100, 200, hours)),
        },
        [
            {
                "name": "coal_s",
                "zone": "S",
                "p_nom_mw": 400,
                "fuel_cost_local_per_kwh": 0.02,
                "ramp_pu_per_h": 0.3,
                "p_min_pu": 0.2,
            },
            {"name": "gas_n", "zone": "N", "p_nom_mw": 500, "fuel_cost_local_per_kwh": 0.06},
            {
                "name": "lng_n",
                "zone": "N",
                "p_nom_mw": 300,
                "fuel_cost_local_per_kwh": 0.08,
                "min_energy_mwh_per_year": 3000 * 8760 / hours,
            },
            {"name": "hydro_n", "zone": "N", "p_nom_mw": 200, "monthly_energy_profile": "water"},
            {"name": "wind_k", "zone": "K", "p_nom_mw": 300, "p_max_pu_profile": "wind"},
            {"name": "oil_k", "zone": "K", "p_nom_mw": 200, "fuel_cost_local_per_kwh": 0.12},
        ],
        [
            {
                "name": "m1",
                "kind": "btc_miner",
                "zone": "S",
                "requested_mw": 150,
                "value_usd_per_mwh": 90,
                "plant": "coal_s",
            },
            {
                "name": "m2",
                "kind": "btc_miner",
                "zone": "K",
                "requested_mw": 100,
                "value_usd_per_mwh": 80,
            },
            {
                "name": "ai",
                "kind": "ai_datacenter",
                "zone": "S",
                "requested_mw": 80,
                "firm_share": 1,
                "uptime": 0.999,
                "backup_mw": 40,
                "backup_cost_usd_per_mwh": 200,
                "value_usd_per_mwh": 1000,
            },
        ],
        links=[
            {"name": "sn", "from_zone": "S", "to_zone": "N", "p_nom_mw": 250, "efficiency": 0.97},
            {
                "name": "kn",
                "from_zone": "K",
                "to_zone": "N",
                "p_nom_mw": 150,
                "reverse_p_nom_mw": 100,
            },
        ],
        profiles={"water": list(np.full(hours, 0.4)), "wind": list(rng.uniform(0, 1, hours))},
        tariff_usd_per_mwh=75.0,
        cap_mw=300,
        plant_caps_mw={"coal_s": 120},
    )


def _solve_with_pypsa(inputs):
    """The same LP through PyPSA (quietly): the network, its objective and prices."""
    from megawatt.optimize.pypsa_bridge import solve_pypsa, to_pypsa

    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            n = to_pypsa(inputs)
            objective, prices = solve_pypsa(n, inputs)
    finally:
        logging.disable(logging.NOTSET)
    return n, objective, prices


@pytest.mark.parametrize("case", ["baseline", "program"])
def test_same_objective_and_prices_as_pypsa(tmp_path: Path, case: str) -> None:
    ours = getattr(plan(three_zone_case(tmp_path)), case)
    n, objective, prices = _solve_with_pypsa(ours.inputs)
    assert objective == pytest.approx(ours.objective_usd, rel=1e-6)
    assert_allclose(prices.to_numpy(), ours.price_usd_per_mwh.to_numpy(), atol=1e-6)
    if case == "program":
        assert_allclose(
            n.generators.p_nom_opt[ours.inputs.applicants].to_numpy(),
            ours.allocation_mw.to_numpy(),
            atol=1e-6,
        )
        # the case exercises the interesting constraints
        assert ours.allocation_mw.sum() <= 300 + 1e-6
        assert ours.backup_mw["ai"].sum() > 0 or ours.served_mw["ai"].min() >= 80 - 1e-6


def uc_reserve_case(tmp_path: Path):
    """The three-zone case with linearised unit commitment (a must-run floor and a ramp
    on the committed coal fleet) and spinning reserve held by generators and a miner."""
    sc = three_zone_case(tmp_path)
    gens = {g.name: g for g in sc.generators}
    gens["coal_s"].min_stable_pu = 0.4
    gens["coal_s"].start_up_cost_usd_per_mw = 30.0
    gens["coal_s"].reserve_pu = 0.2
    gens["gas_n"].min_stable_pu = 0.5
    gens["gas_n"].start_up_cost_usd_per_mw = 20.0
    gens["gas_n"].reserve_pu = 0.3
    gens["oil_k"].min_stable_pu = 0.3  # committed without a start-up cost
    gens["hydro_n"].reserve_pu = 0.5
    gens["oil_k"].reserve_pu = 0.5
    zones = {z.name: z for z in sc.zones}
    zones["N"].reserve_mw = 120.0
    zones["S"].reserve_mw = 60.0
    zones["K"].reserve_mw = 40.0
    next(a for a in sc.applicants if a.name == "m1").reserve_share = 1.0
    sc.dispatch.unit_commitment = True
    sc.dispatch.reserve = True
    return sc


@pytest.mark.parametrize("case", ["baseline", "program"])
def test_unit_commitment_and_reserve_as_pypsa(tmp_path: Path, case: str) -> None:
    """PyPSA's linearized_unit_commitment (plain relaxation) plus the same reserve rows:
    the same optimum and prices; the case commits, starts and holds reserve."""
    ours = getattr(plan(uc_reserve_case(tmp_path)), case)
    _n, objective, prices = _solve_with_pypsa(ours.inputs)
    assert objective == pytest.approx(ours.objective_usd, rel=1e-6)
    assert_allclose(prices.to_numpy(), ours.price_usd_per_mwh.to_numpy(), atol=1e-5)
    assert (ours.reserve_price_usd_per_mw_h.to_numpy() > 1e-3).any()
    # fleets go partly offline (committed below capacity) and, in the baseline, restart
    assert (ours.online_mw["gas_n"] < 500 - 1).any()
    if case == "baseline":
        assert ours.objective_breakdown_usd["start_up_cost_usd"] > 0
    else:
        assert ours.reserve_mw["m1"].sum() > 0
