"""The planning LP: hand-solved cases, and physics rebuilt from the returned tables."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from typer.testing import CliRunner

from factories import small_scenario
from megawatt.cli import app
from megawatt.errors import InfeasibleError, InputError
from megawatt.optimize import DispatchResult, solve_inputs
from megawatt.optimize.inputs import build_inputs
from megawatt.planning import plan

TOL = 1e-6


def check_physics(result: DispatchResult) -> None:
    """Rebuild every constraint from the tables, not from the solver's word."""
    inp = result.inputs
    T = inp.hours
    p = result.dispatch_mw.to_numpy().T  # [G, T]
    # generator limits
    assert (p >= inp.p_min_mw - TOL).all()
    assert (p <= inp.p_max_mw + TOL).all()
    # ramps
    for g in np.flatnonzero(np.isfinite(inp.ramp_mw_per_h)):
        assert (np.abs(np.diff(p[g])) <= inp.ramp_mw_per_h[g] + TOL).all()
    # take-or-pay and monthly water
    assert (p.sum(axis=1) >= inp.min_energy_mwh - 1e-3).all()
    for g, mask, cap in inp.monthly_energy_cap_mwh:
        assert p[g, mask].sum() <= cap + 1e-3
    # links: within limits both ways
    flow = result.flow_mw.to_numpy().T
    assert (flow <= inp.link_forward_mw[:, None] + TOL).all()
    assert (-flow <= inp.link_reverse_mw[:, None] + TOL).all()
    # zonal balance every hour: generation + net imports + shed = demand + program load
    served = result.served_mw.to_numpy().T if inp.applicants else np.zeros((0, T))
    shed = result.shed_mw.to_numpy().T
    for z in range(len(inp.zones)):
        supply = p[inp.generator_zone == z].sum(axis=0) + shed[z]
        for link in range(len(inp.links)):
            f = flow[link]
            eff = inp.link_efficiency[link]
            arrives_fwd, arrives_rev = eff * np.clip(f, 0, None), eff * np.clip(-f, 0, None)
            if inp.link_to[link] == z:
                supply += arrives_fwd - np.clip(-f, 0, None)
            if inp.link_from[link] == z:
                supply += arrives_rev - np.clip(f, 0, None)
        load = inp.demand_mw[z] + served[inp.applicant_zone == z].sum(axis=0)
        assert_allclose(supply, load, atol=TOL)
    assert (shed >= -TOL).all() and (shed <= inp.demand_mw + TOL).all()
    check_commitment_and_reserve(result)
    if not inp.applicants:
        return
    alloc = result.allocation_mw.to_numpy()
    backup = result.backup_mw.to_numpy().T
    # allocation within request and caps; served within allocation; self-curtailment
    assert (alloc <= inp.requested_mw + TOL).all() and (alloc >= inp.committed_mw - TOL).all()
    assert alloc.sum() <= inp.cap_mw + TOL
    for plant, cap in inp.plant_caps_mw.items():
        members = [i for i, pl in enumerate(inp.applicant_plant) if pl == plant]
        assert alloc[members].sum() <= cap + TOL
    assert (served <= alloc[:, None] + TOL).all() and (served >= -TOL).all()
    assert (served[~inp.may_draw] <= TOL).all()
    assert (backup <= inp.backup_mw[:, None] + TOL).all()
    # firm share every hour, uptime over the span
    firm_need = inp.firm_share[:, None] * alloc[:, None]
    assert (served + backup >= firm_need - 1e-5).all()
    assert ((served + backup).sum(axis=1) >= inp.uptime * alloc * T - 1e-3).all()


def check_commitment_and_reserve(result: DispatchResult) -> None:
    """Unit commitment and reserve rows, rebuilt from the returned tables."""
    inp = result.inputs
    p = result.dispatch_mw
    reserve = result.reserve_mw
    for name in result.online_mw.columns:
        g = inp.generators.index(name)
        online = result.online_mw[name].to_numpy()  # u x p_nom
        u = online / inp.p_nom_mw[g]
        r = reserve[name].to_numpy() if name in reserve else 0.0
        assert (u >= -TOL).all() and (u <= 1 + TOL).all()
        # output plus reserve within the online part's availability, above its minimum
        assert (p[name].to_numpy() + r <= inp.p_max_mw[g] * u + 1e-5).all()
        assert (p[name].to_numpy() >= inp.min_stable_pu[g] * online - 1e-5).all()
        # starts cover every rise of the online MW (online before the span)
        started = result.start_up_mw[name].to_numpy()
        assert (started[1:] >= np.diff(online) - 1e-5).all() and (started >= -TOL).all()
    if inp.reserve_mw.size == 0 or not (inp.reserve_mw > 0).any():
        assert reserve.empty or reserve.to_numpy().max() <= TOL
        return
    total = np.zeros((len(inp.zones), inp.hours))
    for name in reserve.columns:
        r = reserve[name].to_numpy()
        assert (r >= -TOL).all()
        if name in inp.generators:
            g = inp.generators.index(name)
            assert (r <= inp.reserve_pu[g] * inp.p_nom_mw[g] + TOL).all()
            assert (p[name].to_numpy() + r <= inp.p_max_mw[g] + 1e-5).all()
            total[inp.generator_zone[g]] += r
        else:
            a = inp.applicants.index(name)
            served = result.served_mw[name].to_numpy()
            assert (r <= inp.applicant_reserve_share[a] * served + 1e-5).all()
            total[inp.applicant_zone[a]] += r
    for z in np.flatnonzero(inp.reserve_mw > 0):
        assert (total[z] >= inp.reserve_mw[z] - 1e-5).all()


def test_unit_commitment_by_hand(tmp_path: Path) -> None:
    """A 100 MW coal fleet (min stable 0.5, start-up 20 $/MW = 2,000 $ for the fleet)
    and a 100 MW gas fleet at 40 $/MWh against coal's 10. Demand 80, 20, 80 MW.

    Without commitment coal follows demand: 80, 20, 80. With it, hour 1 needs coal at
    >= half of what is online: keeping u = 0.4 (40 MW online, 20 MW out) costs nothing
    extra, but then hour 2 needs 0.8 online again: a start of 0.4 x 100 MW = 40 MW at
    20 $/MW = 800 $, against running gas for 40 MW in hour 2 (40 x 30 $ = 1,200 $) or
    holding coal at 0.8 online in hour 1, which forces 40 MW of coal: 20 MW too many
    for demand. So: u = 0.8, 0.4, 0.8 with one start of 40 MW; gas 0."""
    gens = [
        {
            "name": "coal",
            "zone": "A",
            "p_nom_mw": 100,
            "fuel_cost_local_per_kwh": 0.010,
            "min_stable_pu": 0.5,
            "start_up_cost_usd_per_mw": 20.0,
        },
        {"name": "gas", "zone": "A", "p_nom_mw": 100, "fuel_cost_local_per_kwh": 0.040},
    ]
    sc = small_scenario(tmp_path, {"A": [80, 20, 80]}, gens)
    off = plan(sc).baseline  # unit commitment is switched off by default
    assert off.online_mw.empty and off.dispatch_mw["gas"].sum() == pytest.approx(0.0, abs=1e-6)
    sc.dispatch.unit_commitment = True
    result = plan(sc).baseline
    check_physics(result)
    assert_allclose(result.dispatch_mw["coal"].to_numpy(), [80, 20, 80], atol=1e-6)
    assert_allclose(result.online_mw["coal"].to_numpy(), [80, 40, 80], atol=1e-6)
    assert_allclose(result.start_up_mw["coal"].to_numpy(), [0, 0, 40], atol=1e-6)
    assert result.objective_breakdown_usd["start_up_cost_usd"] == pytest.approx(800.0)
    # a dearer start (40 $/MW x 40 MW = 1,600 $ > 1,200 $ of gas): gas covers hour 2's rise
    gens[0]["start_up_cost_usd_per_mw"] = 40.0
    sc = small_scenario(tmp_path, {"A": [80, 20, 80]}, gens)
    sc.dispatch.unit_commitment = True
    dear = plan(sc).baseline
    check_physics(dear)
    assert_allclose(dear.dispatch_mw["coal"].to_numpy(), [80, 20, 40], atol=1e-6)
    assert_allclose(dear.dispatch_mw["gas"].to_numpy(), [0, 0, 40], atol=1e-6)
    assert dear.start_up_mw["coal"].to_numpy().max() <= 1e-6


def test_reserve_from_program_load_by_hand(tmp_path: Path) -> None:
    """Zone A holds 30 MW of spinning reserve; only coal (10 $/MWh, 100 MW, reserve_pu
    0.3) can give it, gas (40 $/MWh) cannot. Demand 90 MW: coal backs down to 70 MW to
    hold 30 MW of headroom and gas fills 20 MW, so a MW of reserve costs 30 $/h (gas
    minus coal; plus the 1e-4 tie-break). A miner drawing 50 MW that may drop all of it
    on call holds the reserve instead: coal runs flat out and the reserve price is 0."""
    gens = [
        {
            "name": "coal",
            "zone": "A",
            "p_nom_mw": 100,
            "fuel_cost_local_per_kwh": 0.010,
            "reserve_pu": 0.3,
        },
        {"name": "gas", "zone": "A", "p_nom_mw": 200, "fuel_cost_local_per_kwh": 0.040},
    ]
    miner = {
        "name": "miner",
        "kind": "btc_miner",
        "zone": "A",
        "requested_mw": 50,
        "value_usd_per_mwh": 200,
        "reserve_share": 1.0,
    }
    sc = small_scenario(tmp_path, {"A": [90, 90]}, gens, [miner], tariff_usd_per_mwh=100.0)
    sc.zones[0].reserve_mw = 30.0
    assert plan(sc).baseline.reserve_mw.empty  # reserve is switched off by default
    sc.dispatch.reserve = True
    result = plan(sc)
    base, prog = result.baseline, result.program
    check_physics(base)
    check_physics(prog)
    assert_allclose(base.dispatch_mw["coal"].to_numpy(), [70, 70], atol=1e-6)
    assert_allclose(base.reserve_mw["coal"].to_numpy(), [30, 30], atol=1e-6)
    assert_allclose(base.reserve_price_usd_per_mw_h["A"].to_numpy(), [30, 30], atol=1e-3)
    # the miner (served 50 MW) holds the reserve: coal runs flat out, gas fills the rest
    assert_allclose(prog.served_mw["miner"].to_numpy(), [50, 50], atol=1e-6)
    assert_allclose(prog.dispatch_mw["coal"].to_numpy(), [100, 100], atol=1e-6)
    assert_allclose(prog.reserve_mw["miner"].to_numpy(), [30, 30], atol=1e-6)
    assert_allclose(prog.reserve_price_usd_per_mw_h["A"].to_numpy(), [0, 0], atol=1e-6)


def one_zone(tmp_path: Path, **kw):
    return small_scenario(
        tmp_path,
        {"A": [50, 100, 150]},
        [
            {"name": "g1", "zone": "A", "p_nom_mw": 120, "fuel_cost_local_per_kwh": 0.010},
            {"name": "g2", "zone": "A", "p_nom_mw": 100, "fuel_cost_local_per_kwh": 0.050},
        ],
        [
            {
                "name": "m",
                "kind": "btc_miner",
                "zone": "A",
                "requested_mw": 60,
                "value_usd_per_mwh": 40,
            }
        ],
        **kw,
    )


def test_one_zone_two_generators_one_miner(tmp_path: Path) -> None:
    """Hand solution: surplus of the 10 $/MWh unit goes to the miner at tariff 30."""
    result = plan(one_zone(tmp_path)).program
    check_physics(result)
    assert_allclose(result.dispatch_mw["g1"], [110, 120, 120], atol=TOL)
    assert_allclose(result.dispatch_mw["g2"], [0, 0, 30], atol=TOL)
    assert_allclose(result.served_mw["m"], [60, 20, 0], atol=TOL)
    assert result.allocation_mw["m"] == pytest.approx(60)
    # prices: g1 marginal, then the miner (its tariff), then g2; tie-breaks < 0.001
    assert_allclose(result.price_usd_per_mwh["A"], [10, 30, 50], atol=1e-3)
    b = result.objective_breakdown_usd
    assert b.generation_cost_usd == pytest.approx(10 * 350 + 50 * 30)
    assert b.tariff_revenue_usd == pytest.approx(-30 * 80)
    assert abs(b.tie_break_usd) < 0.1
    assert b.sum() == pytest.approx(result.objective_usd)
    summary = result.applicant_summary().loc["m"]
    assert summary.served_mwh == pytest.approx(80)
    assert summary.curtailed_mwh == pytest.approx(100)
    assert (summary.curtailed_hours, summary.events, summary.mean_event_h) == (2, 1, 2.0)


def test_miner_below_tariff_draws_nothing(tmp_path: Path) -> None:
    sc = one_zone(tmp_path, tariff_usd_per_mwh=45.0)  # value 40 < tariff 45
    result = plan(sc).program
    check_physics(result)
    assert result.served_mw["m"].sum() == pytest.approx(0, abs=TOL)
    assert result.allocation_mw["m"] == pytest.approx(0, abs=TOL)


def two_zones(tmp_path: Path, **kw):
    return small_scenario(
        tmp_path,
        {"S": [50, 0], "N": [150, 50]},
        [
            {"name": "coal_s", "zone": "S", "p_nom_mw": 300, "fuel_cost_local_per_kwh": 0.010},
            {"name": "gas_n", "zone": "N", "p_nom_mw": 200, "fuel_cost_local_per_kwh": 0.040},
        ],
        [
            {
                "name": "m",
                "kind": "btc_miner",
                "zone": "S",
                "requested_mw": 100,
                "value_usd_per_mwh": 100,
            }
        ],
        links=[{"name": "sn", "from_zone": "S", "to_zone": "N", "p_nom_mw": 100}],
        **kw,
    )


def test_two_zones_binding_link(tmp_path: Path) -> None:
    """Hour 1 the link binds: S at 10, N at 40 $/MWh; hour 2 it does not."""
    result = plan(two_zones(tmp_path)).program
    check_physics(result)
    assert_allclose(result.flow_mw["sn"], [100, 50], atol=TOL)
    assert_allclose(result.dispatch_mw["coal_s"], [250, 150], atol=TOL)
    assert_allclose(result.dispatch_mw["gas_n"], [50, 0], atol=TOL)
    assert_allclose(result.served_mw["m"], [100, 100], atol=TOL)
    assert_allclose(result.price_usd_per_mwh["S"], [10, 10], atol=1e-3)
    assert_allclose(result.price_usd_per_mwh["N"], [40, 10], atol=2e-3)


def test_link_losses_and_reverse_limit(tmp_path: Path) -> None:
    sc = small_scenario(
        tmp_path,
        {"S": [0, 0], "N": [80, 80]},
        [
            {"name": "coal_s", "zone": "S", "p_nom_mw": 300, "fuel_cost_local_per_kwh": 0.010},
            {"name": "gas_n", "zone": "N", "p_nom_mw": 200, "fuel_cost_local_per_kwh": 0.040},
        ],
        links=[
            {"name": "sn", "from_zone": "S", "to_zone": "N", "p_nom_mw": 100, "efficiency": 0.9}
        ],
    )
    result = plan(sc).baseline
    check_physics(result)
    assert_allclose(result.flow_mw["sn"], [80 / 0.9, 80 / 0.9], atol=TOL)  # 80 arrive
    assert_allclose(result.dispatch_mw["gas_n"], [0, 0], atol=TOL)
    # N's price is S's price grossed up for losses
    assert_allclose(result.price_usd_per_mwh["N"], [10 / 0.9, 10 / 0.9], atol=2e-3)


def test_must_run_ramp_min_energy(tmp_path: Path) -> None:
    sc = small_scenario(
        tmp_path,
        {"A": [100, 300, 100, 300]},
        [
            {
                "name": "base",
                "zone": "A",
                "p_nom_mw": 300,
                "fuel_cost_local_per_kwh": 0.010,
                "ramp_pu_per_h": 0.5,
                "p_min_pu": 0.2,
            },
            {
                "name": "lng",
                "zone": "A",
                "p_nom_mw": 300,
                "fuel_cost_local_per_kwh": 0.060,
                "min_energy_mwh_per_year": 200 * 8760 / 4,
            },
        ],
    )
    result = plan(sc).baseline
    check_physics(result)
    assert result.dispatch_mw["lng"].sum() == pytest.approx(200)  # take-or-pay binds
    assert (result.dispatch_mw["base"] >= 60 - TOL).all()
    assert np.abs(np.diff(result.dispatch_mw["base"])).max() <= 150 + TOL


def test_monthly_water_cap(tmp_path: Path) -> None:
    sc = small_scenario(
        tmp_path,
        {"A": [100, 100, 100, 100]},
        [
            {"name": "hydro", "zone": "A", "p_nom_mw": 100, "monthly_energy_profile": "water"},
            {"name": "gas", "zone": "A", "p_nom_mw": 200, "fuel_cost_local_per_kwh": 0.05},
        ],
        profiles={"water": [0.5, 0.5, 0.5, 0.5]},
    )
    result = plan(sc).baseline
    check_physics(result)
    assert result.dispatch_mw["hydro"].sum() == pytest.approx(200)


def test_hydro_minimum_release_and_ramp(tmp_path: Path) -> None:
    """Water for 200 MWh over four hours, 60% of it released evenly (30 MW every hour),
    the rest where it saves the most: in hour 2 a peaker runs. With a ramp of 40 MW/h the
    peak gets h2 with h1 = h3 = h2 - 40 and h0 = 30: 30 + 3 h2 - 80 = 200, h2 = 250/3."""
    sc = small_scenario(
        tmp_path,
        {"A": [60, 60, 250, 60]},
        [
            {
                "name": "hydro",
                "zone": "A",
                "p_nom_mw": 100,
                "monthly_energy_profile": "water",
                "min_release_share": 0.6,
                "ramp_pu_per_h": 0.4,
            },
            {"name": "gas", "zone": "A", "p_nom_mw": 100, "fuel_cost_local_per_kwh": 0.05},
            {"name": "peaker", "zone": "A", "p_nom_mw": 200, "fuel_cost_local_per_kwh": 0.2},
        ],
        profiles={"water": [0.5, 0.5, 0.5, 0.5]},
    )
    inputs = build_inputs(sc, with_program=False)
    assert_allclose(inputs.p_min_mw[0], [30.0] * 4)  # 0.6 x 200 MWh / 4 h
    result = plan(sc).baseline
    check_physics(result)
    h2 = 250 / 3
    assert_allclose(result.dispatch_mw["hydro"].to_numpy(), [30, h2 - 40, h2, h2 - 40], atol=1e-6)


def test_min_release_needs_water(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="min_release_share needs a monthly_energy_profile"):
        small_scenario(
            tmp_path,
            {"A": [60]},
            [{"name": "hydro", "zone": "A", "p_nom_mw": 100, "min_release_share": 0.5}],
        )


def test_firm_load_with_backup_and_uptime(tmp_path: Path) -> None:
    sc = small_scenario(
        tmp_path,
        {"A": [50, 150, 50]},
        [{"name": "g1", "zone": "A", "p_nom_mw": 150, "fuel_cost_local_per_kwh": 0.010}],
        [
            {
                "name": "ai",
                "kind": "ai_datacenter",
                "zone": "A",
                "requested_mw": 80,
                "firm_share": 1.0,
                "uptime": 1.0,
                "backup_mw": 80,
                "backup_cost_usd_per_mwh": 25,
                "value_usd_per_mwh": 1000,
            }
        ],
        tariff_usd_per_mwh=80.0,
    )
    result = plan(sc).program
    check_physics(result)
    assert result.allocation_mw["ai"] == pytest.approx(80)
    # hour 2: grid has nothing spare, backup carries the firm load
    assert_allclose(result.served_mw["ai"], [80, 0, 80], atol=TOL)
    assert_allclose(result.backup_mw["ai"], [0, 80, 0], atol=TOL)


def test_caps_bind(tmp_path: Path) -> None:
    sc = small_scenario(
        tmp_path,
        {"A": [0, 0]},
        [{"name": "g1", "zone": "A", "p_nom_mw": 1000, "fuel_cost_local_per_kwh": 0.010}],
        [
            {
                "name": f"m{i}",
                "kind": "btc_miner",
                "zone": "A",
                "requested_mw": 100,
                "value_usd_per_mwh": 50,
                "plant": "g1" if i < 2 else None,
            }
            for i in range(4)
        ],
        cap_mw=250,
        plant_caps_mw={"g1": 120},
    )
    result = plan(sc).program
    check_physics(result)
    alloc = result.allocation_mw
    assert alloc.sum() == pytest.approx(250)
    assert alloc[["m0", "m1"]].sum() == pytest.approx(120)
    # priority by value, then date, then name: m0 before m1, m2 before m3
    assert alloc.to_dict() == pytest.approx({"m0": 100, "m1": 20, "m2": 100, "m3": 30})


def test_shuffle_does_not_change_allocation(tmp_path: Path) -> None:
    """Allocation is independent of the order applicants are listed."""
    apps = [
        {
            "name": f"m{i}",
            "kind": "btc_miner",
            "zone": "A",
            "requested_mw": 60 + 10 * (i % 3),
            "value_usd_per_mwh": [50, 50, 70, 60][i % 4],
            "application_date": f"2025-0{1 + i % 3}-01",
        }
        for i in range(8)
    ]
    allocations = []
    served_totals = []
    for seed in range(4):
        shuffled = apps[:]
        random.Random(seed).shuffle(shuffled)
        directory = tmp_path / f"s{seed}"
        directory.mkdir()
        sc = small_scenario(
            directory,
            {"A": [100, 300, 200]},
            [{"name": "g1", "zone": "A", "p_nom_mw": 500, "fuel_cost_local_per_kwh": 0.010}],
            shuffled,
            cap_mw=300,
        )
        result = plan(sc).program
        check_physics(result)
        allocations.append(result.allocation_mw.sort_index())
        served_totals.append(result.served_mw.sum().sort_index())
        pd.testing.assert_series_equal(allocations[0], allocations[-1], atol=1e-6)
        pd.testing.assert_series_equal(served_totals[0], served_totals[-1], atol=1e-6)
    assert allocations[0].sum() == pytest.approx(300)


def test_program_never_sheds_national_demand(tmp_path: Path) -> None:
    """A committed firm load with no backup in a short hour is infeasible, not shed."""
    sc = small_scenario(
        tmp_path,
        {"South": [50, 150, 160, 50]},
        [{"name": "g1", "zone": "South", "p_nom_mw": 150, "fuel_cost_local_per_kwh": 0.010}],
        [
            {
                "name": "ai_karachi",
                "kind": "ai_datacenter",
                "zone": "South",
                "requested_mw": 80,
                "committed_mw": 80,
                "firm_share": 1.0,
                "value_usd_per_mwh": 1000,
            }
        ],
        tariff_usd_per_mwh=80.0,
    )
    with pytest.raises(InfeasibleError) as err:
        plan(sc)
    message = str(err.value)
    assert "firm load ai_karachi cannot be met in 2 hours (first 2025-01-01 01:00" in message
    assert "no backup and zone South short" in message


def test_must_run_oversupply_is_diagnosed(tmp_path: Path) -> None:
    sc = small_scenario(
        tmp_path,
        {"A": [100, 20, 100]},
        [{"name": "nuke", "zone": "A", "p_nom_mw": 100, "p_min_pu": 0.5}],
    )
    with pytest.raises(
        InfeasibleError,
        match=r"must-run generation exceeds what zone A can use "
        r"or export in 1 hour \(first 2025-01-01 01:00",
    ):
        solve_inputs(build_inputs(sc, with_program=False))


def test_infeasible_through_cli(tmp_path: Path) -> None:
    sc = small_scenario(
        tmp_path,
        {"A": [100, 20, 100]},
        [{"name": "nuke", "zone": "A", "p_nom_mw": 100, "p_min_pu": 0.5}],
    )
    from megawatt.scenario import dump

    path = dump(sc, tmp_path / "files")
    result = CliRunner().invoke(app, ["plan", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "must-run generation exceeds" in result.output
    assert "Traceback" not in result.output


def test_default_physics(default_plan) -> None:
    check_physics(default_plan.baseline)
    check_physics(default_plan.program)


def test_default_calibration(default_plan) -> None:
    """The default baseline lands near FY25 (calibration targets of the planning core)."""
    base = default_plan.baseline
    gens = base.generator_summary()
    for plant in ("sahiwal", "port_qasim", "china_power_hub"):
        assert 0.05 <= gens.loc[plant, "capacity_factor"] <= 0.30, plant
    energy = gens.groupby("technology").energy_mwh.sum()
    assert 0.04 <= energy["imported_coal"] / energy.sum() <= 0.11  # reported 7.13%
    demand = base.inputs.demand_mw.sum()
    assert base.shed_mw.to_numpy().sum() < 0.001 * demand
    # hydro uses exactly its FY25 water; RLNG burns its take-or-pay LNG
    assert energy["hydro"] / 1e3 == pytest.approx(39_972, rel=2e-3)
    assert energy["rlng_ccgt"] / 1e3 >= 22_231 - 1


def test_default_program_serves_only_surplus(default_plan) -> None:
    base, prog = default_plan.baseline, default_plan.program
    assert (prog.shed_mw.to_numpy() <= base.shed_mw.to_numpy() + 1e-5).all()
    assert prog.allocation_mw.sum() <= 2000 + 1e-6
    # the program raises the program plants' utilisation
    before = base.generator_summary().capacity_factor
    after = prog.generator_summary().capacity_factor
    for plant in ("port_qasim", "china_power_hub"):
        assert after[plant] > before[plant]
    # a miner whose value is below the tariff draws nothing
    tariff = prog.inputs.tariff_usd_per_mwh.min()
    for i, name in enumerate(prog.inputs.applicants):
        if prog.inputs.value_usd_per_mwh[i] < tariff:
            assert prog.served_mw[name].sum() == pytest.approx(0, abs=1e-6)


def test_plan_cli_prints_changes(tmp_path: Path) -> None:
    from megawatt.scenario import dump

    path = dump(two_zones(tmp_path), tmp_path / "files")
    result = CliRunner().invoke(app, ["plan", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "report.html").is_file()
    for text in ("Allocation", "Zonal prices", "shed GWh"):
        assert text in result.output
    # the CLI's headers are the results schema's, like the report's and the workbook's
    from megawatt.accounts import schema

    for column in ("allocated_mw", "curtailed_hours", "served_gwh"):
        assert schema.header("allocations", column) in result.output


def test_dispatch_headroom_hand_case(tmp_path: Path) -> None:
    """One zone, 4 hours, 100 MW of plant, demand 40/60/80/100 MW.

    Spare capacity is 60/40/20/0 MW. A constant load L loses max(0, L - spare) each hour.
    At a 5% target (5% of 4 L = 0.2 L lost at most): L = 20 loses 0+0+0+20 = 20 = 0.25 L
    (too much); solve L - 0 + max(0, L - 20) ... for 20 <= L <= 40: loss = L + (L - 20) =
    2L - 20 <= 0.2 L -> L <= 11.1, contradiction; for L <= 20: loss = L <= 0.2 L only at
    L = 0. So at 5% nothing fits; at 30% (1.2 L): L <= 20 gives L <= 1.2 L: any L <= 20;
    20 <= L <= 40: 2L - 20 <= 1.2 L -> L <= 25. Headroom at 30% = 25 MW.
    """
    from megawatt.optimize.headroom import dispatch_headroom

    sc = small_scenario(
        tmp_path,
        {"A": [40, 60, 80, 100]},
        [{"name": "g", "zone": "A", "p_nom_mw": 100, "fuel_cost_local_per_kwh": 0.01}],
    )
    table = dispatch_headroom(sc, targets=(0.05, 0.30))
    assert table.loc[("A", 0.05), "new_load_mw"] == pytest.approx(0, abs=1e-4)
    row = table.loc[("A", 0.30)]
    assert row.new_load_mw == pytest.approx(25, abs=1e-4)
    assert row.curtailed_mwh == pytest.approx(0.30 * 4 * 25, abs=1e-3)  # 5 + 25 = 30
    assert (row.curtailed_hours, row.events, row.mean_event_h) == (2, 1, 2.0)
    assert row.share_hours_keep_75 == pytest.approx(0.5)  # hour 3 keeps 20 of 25 = 80%


def test_time_of_use_tariff(tmp_path: Path) -> None:
    """A peak band above the miner's value makes it curtail itself in those hours only."""
    sc = small_scenario(
        tmp_path,
        {"A": [50, 50, 50, 50]},
        [{"name": "g1", "zone": "A", "p_nom_mw": 200, "fuel_cost_local_per_kwh": 0.010}],
        [
            {
                "name": "m",
                "kind": "btc_miner",
                "zone": "A",
                "requested_mw": 60,
                "value_usd_per_mwh": 40,
            }
        ],
    )
    raw = sc.model_dump()
    raw["program"]["tariff"] = {
        "scheme": "time_of_use",
        "local_per_kwh": 0.030,
        "periods": [{"name": "peak", "hours": [1, 2], "local_per_kwh": 0.050}],
    }
    from megawatt.scenario import validate
    from megawatt.scenario.io import Origin

    tou = validate(raw, Origin(path=None, base_dir=tmp_path))
    result = plan(tou).program
    check_physics(result)
    assert_allclose(result.inputs.tariff_usd_per_mwh, [30, 50, 50, 30])
    assert_allclose(result.served_mw["m"], [60, 0, 0, 60], atol=TOL)
    summary = result.applicant_summary().loc["m"]
    assert summary.tariff_paid_usd == pytest.approx(30 * 120)
    assert (summary.curtailed_hours, summary.events) == (2, 1)


def test_tidy_tables(tmp_path: Path) -> None:
    result = plan(two_zones(tmp_path)).program
    tidy = result.tidy()
    dispatch = tidy["dispatch"]
    assert list(dispatch.columns) == ["snapshot", "generator", "zone", "technology", "p_mw"]
    assert len(dispatch) == 2 * 2  # hours x generators
    # the long table holds the same numbers as the wide one
    wide = dispatch.pivot(index="snapshot", columns="generator", values="p_mw")
    assert_allclose(wide[result.dispatch_mw.columns].to_numpy(), result.dispatch_mw.to_numpy())
    served = tidy["served"]
    assert_allclose(served.served_mw + served.curtailed_mw, result.allocation_mw["m"], atol=1e-9)
    assert set(tidy["price"].zone) == {"S", "N"}
    assert tidy["allocation"].allocated_mw.sum() == pytest.approx(100)
