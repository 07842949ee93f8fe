"""Monte Carlo: draws that follow their model and reproduce, the fast path and the
in-place LP chains equal to fresh LPs, failed draws reported, Dask equal to serial."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from factories import small_scenario
from megawatt.economics.contract import term_years
from megawatt.economics.valuation import market_point, value_applicants
from megawatt.errors import InputError
from megawatt.io import read_price_history
from megawatt.optimize.inputs import build_inputs, scale_program
from megawatt.optimize.solve import PlanResult, solve_inputs
from megawatt.planning import plan
from megawatt.risk.cases import GridState, figures_of, hydro_mask, state_inputs
from megawatt.risk.draws import draw_scenarios
from megawatt.risk.montecarlo import run_risk
from megawatt.scenario import dump, validate
from megawatt.scenario.io import Origin
from megawatt.scenario.model import Risk

MARKET_ONLY = Risk()  # the model's defaults: no demand or hydro draws


# --- a small scenario with a market path, hydro, a miner and a firm AI load -------------


def _risk_scenario(tmp_path: Path, risk: dict | None = None, firm_mw: float = 0.0):
    sc = small_scenario(
        Path(tmp_path),
        {"A": [50, 100, 150, 80]},
        [
            {"name": "g1", "zone": "A", "p_nom_mw": 200, "fuel_cost_local_per_kwh": 0.010},
            {
                "name": "h1",
                "zone": "A",
                "technology": "hydro",
                "p_nom_mw": 100,
                "fuel_cost_local_per_kwh": 0.0,
                "monthly_energy_profile": "water",
            },
        ],
        [
            {
                "name": "m",
                "kind": "btc_miner",
                "zone": "A",
                "requested_mw": 60,
                "asic_mix": [{"model": "S21", "share": 1.0}],
            },
            *(
                [
                    {
                        "name": "ai",
                        "kind": "ai_datacenter",
                        "zone": "A",
                        "requested_mw": firm_mw,
                        "committed_mw": firm_mw,
                        "firm_share": 1.0,
                        "gpu_model": "H100",
                        "application_date": dt.date(2024, 6, 1),
                    }
                ]
                if firm_mw
                else []
            ),
        ],
        tariff_usd_per_mwh=60.0,
        profiles={"water": [0.5, 0.5, 0.5, 0.5]},
    )
    raw = sc.model_dump()
    factors = {"jobs_per_mw": 0.5, "facility_capex_usd_per_mw": 3e5, "opex_usd_per_mw_year": 4e4}
    path = [
        {
            "year": y,
            "btc_price_usd": 87748,
            "network_hashrate_eh_s": h,
            "fees_btc_per_block": 0.0139,
        }
        for y, h in ((2026, 1300), (2027, 1500), (2028, 1600))
    ]
    raw["economics"] = {"btc_miner": factors, "ai_datacenter": factors, "market_path": path}
    raw["risk"] = risk or {}
    files = dump(validate(raw, Origin(path=None, base_dir=Path(tmp_path))), Path(tmp_path) / "sc")
    from megawatt.scenario import load

    return load(files)


GRID_RISK = {
    "demand_growth_mean": 0.1,
    "demand_growth_sd": 0.25,
    "demand_step": 0.05,
    "hydro_years": [
        {"name": "dry", "factor": 0.5, "weight": 1},
        {"name": "normal", "factor": 1.0, "weight": 2},
    ],
}


# --- draws ---------------------------------------------------------------------------------


def test_reproducible_and_prefix_stable(default_scenario) -> None:
    a = draw_scenarios(default_scenario, 100, seed=5)
    b = draw_scenarios(default_scenario, 100, seed=5)
    c = draw_scenarios(default_scenario, 100, seed=6)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a.btc_price_usd, c.btc_price_usd)
    # draw k is the same draw in a longer run: a failed draw can be reproduced alone
    longer = draw_scenarios(default_scenario, 250, seed=5)
    pd.testing.assert_frame_equal(longer.iloc[: len(a)], a)


def test_market_draws_follow_their_model(default_scenario) -> None:
    risk = Risk(price_drift=0.05, price_volatility=0.4)
    draws = draw_scenarios(default_scenario, 20_000, seed=1, risk=risk)
    wide = draws.pivot(index="draw", columns="year", values="btc_price_usd")
    log_ret = np.log(wide[2026] / wide[2025])
    # GBM: log return ~ N(mu - s^2/2, s^2)
    assert log_ret.mean() == pytest.approx(0.05 - 0.08, abs=0.01)
    assert log_ret.std() == pytest.approx(0.4, abs=0.01)
    assert (wide[2025] == default_scenario.economics.market_path[0].btc_price_usd).all()
    subsidy = draws.pivot(index="draw", columns="year", values="subsidy_btc")
    assert (subsidy[2027] == 3.125).all() and (subsidy[2029] == 1.5625).all()
    assert ((subsidy[2028] > 1.5625) & (subsidy[2028] < 3.125)).mean() > 0.99
    flat = draw_scenarios(default_scenario, 10, seed=1, risk=Risk(price_volatility=0.0))
    assert np.allclose(flat.btc_price_usd, default_scenario.economics.market_path[0].btc_price_usd)


def test_grid_draws_follow_their_model(default_scenario) -> None:
    risk = Risk(
        demand_growth_mean=0.02,
        demand_growth_sd=0.04,
        demand_step=0.0,
        hydro_years=[
            {"name": "dry", "factor": 0.8, "weight": 1},
            {"name": "wet", "factor": 1.2, "weight": 3},
        ],
    )
    draws = draw_scenarios(default_scenario, 20_000, seed=2, risk=risk)
    level = draws.pivot(index="draw", columns="year", values="demand_level")
    assert (level[2025] == 1.0).all()  # the first year is the scenario's own demand
    growth = np.log(level[2027] / level[2026])
    assert growth.mean() == pytest.approx(0.02, abs=0.002)
    assert growth.std() == pytest.approx(0.04, abs=0.002)
    assert (draws.hydro_year == "wet").mean() == pytest.approx(0.75, abs=0.01)
    assert set(draws.loc[draws.hydro_year == "dry", "hydro_factor"]) == {0.8}
    stepped = draw_scenarios(
        default_scenario, 500, seed=2, risk=risk.model_copy(update={"demand_step": 0.05})
    )
    assert np.allclose(stepped.demand_level / 0.05, np.round(stepped.demand_level / 0.05))


def _write_history(path: Path, days: int, sigma_day: float, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    price = 30_000 * np.exp(np.cumsum(rng.normal(0.001, sigma_day, days)))
    dates = pd.date_range("2019-01-01", periods=days, freq="D")
    pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "btc_price_usd": price}).to_csv(
        path, index=False
    )
    return path


def test_block_bootstrap_keeps_volatility_and_sets_drift(default_scenario, tmp_path) -> None:
    history = _write_history(tmp_path / "btc.csv", 1500, 0.03)
    risk = Risk(price_model="bootstrap", price_history=str(history), block_days=20, price_drift=0.1)
    sc = default_scenario.model_copy(update={"risk": risk})
    draws = draw_scenarios(sc, 4000, seed=3)
    wide = draws.pivot(index="draw", columns="year", values="btc_price_usd")
    log_ret = np.log(wide[2026] / wide[2025])
    daily = np.diff(np.log(read_price_history(history).to_numpy()))
    sigma_year = daily.std() * np.sqrt(365)
    assert log_ret.std() == pytest.approx(sigma_year, rel=0.06)
    # the history's own drift (+0.1%/day, ~44%/year) is replaced by the stated one
    assert log_ret.mean() == pytest.approx(0.1 - 0.5 * sigma_year**2, abs=0.03)
    assert (draw_scenarios(sc, 50, seed=3).btc_price_usd == draws.btc_price_usd[:300]).all()


@pytest.mark.parametrize(
    ("edit", "where", "problem"),
    [
        (lambda t: t.replace("2019-01-05", "2019-01-07"), "line 6, column date", "consecutive"),
        (lambda t: t.replace("2019-01-03,", "03/01/2019,"), "line 4, column date", "ISO date"),
        (
            lambda t: t.replace(t.splitlines()[8].split(",")[1], "-5"),
            "line 9, column btc_price_usd",
            "price > 0",
        ),
        (lambda t: t.replace("btc_price_usd", "close"), "line 1", "missing btc_price_usd"),
    ],
)
def test_bad_price_history_names_line_and_column(tmp_path, edit, where, problem) -> None:
    path = _write_history(tmp_path / "btc.csv", 100, 0.03)
    path.write_text(edit(path.read_text()))
    with pytest.raises(InputError) as err:
        read_price_history(path)
    assert where in str(err.value) and problem in str(err.value)
    assert "btc.csv" in str(err.value)


# --- the fast path and the LP path ----------------------------------------------------------


@pytest.fixture(scope="module")
def risk_result(default_plan):
    return run_risk(default_plan, n=40, seed=11, risk=MARKET_ONLY)


def test_fast_path_equals_the_lp(default_plan, risk_result) -> None:
    """For sampled draw-years, a fresh LP with that draw's own values gives the same
    margin, charges recovered, served energy and curtailment hours as the fast path."""
    sc = default_plan.scenario
    values = value_applicants(sc)
    hp_today = market_point(sc).hashprice_usd_per_th_day
    draws = risk_result.draws
    samples = draws.drop_duplicates("miners_drawing").head(2)
    assert len(samples) >= 2
    for _, row in samples.iterrows():
        scale = row.hashprice_usd_per_ph_day / 1000 / hp_today
        draw_values = {
            name: float(v) * scale if (values.loc[name, "kind"] == "btc_miner") else float(v)
            for name, v in values.value_usd_per_mwh.items()
        }
        inputs = scale_program(
            build_inputs(sc, with_program=True, applicant_values=draw_values),
            term_years(sc)[int(row.year)],
        )
        inputs.shed_cap_mw = default_plan.baseline.shed_mw.to_numpy().T + 1e-6
        program = solve_inputs(inputs)
        vals = values.copy()
        vals["value_usd_per_mwh"] = pd.Series(draw_values)
        fresh = figures_of(PlanResult(sc, default_plan.baseline, program), vals)
        for key in ("margin_musd", "served_gwh", "charge_recovered_share"):
            assert fresh[key] == pytest.approx(row[key], rel=1e-9), key
        assert fresh["curtailment_hours"] == row.curtailment_hours


def _linear_quantile(data: np.ndarray, q: float) -> float:
    """The q-quantile by hand (Hyndman and Fan type 7, numpy's default): linear
    interpolation between the order statistics at (n - 1) q."""
    x = np.sort(data)
    h = (len(x) - 1) * q
    lo = int(np.floor(h))
    hi = min(lo + 1, len(x) - 1)
    return float(x[lo] + (h - lo) * (x[hi] - x[lo]))


def test_percentiles_are_over_the_solved_draws_of_each_year(default_plan, risk_result) -> None:
    """Each year's P10/P50/P90 are those of that year's draws that solved, by hand."""
    pct = risk_result.percentiles
    ok = risk_result.draws[~risk_result.draws.failed]
    for col in ("margin_musd", "hashprice_usd_per_ph_day", "served_gwh", "curtailment_hours"):
        for year, group in ok.groupby("year"):
            data = group[col].to_numpy()
            for q, name in ((0.1, "p10"), (0.5, "p50"), (0.9, "p90")):
                assert pct.loc[year, f"{col}_{name}"] == pytest.approx(
                    _linear_quantile(data, q), rel=1e-12, abs=1e-12
                ), (col, year, name)
    share = pct.filter(like="_viable_share")
    assert ((share >= 0) & (share <= 1)).all().all()
    # the contract term's years only (2026-2028 of the path's 2025-2030)
    assert len(risk_result.draws) == 40 * 3
    assert sorted(risk_result.draws.year.unique()) == [2026, 2027, 2028]
    # every draw-year reads its figures from one of the distinct LPs
    assert risk_result.cases.draw_years.sum() == 40 * 3
    # the first year's LPs give each licence a quarter of its MW
    first = risk_result.draws[risk_result.draws.year == 2026]
    assert set(risk_result.cases.cap_share) == {0.25, 1.0}
    requested_gwh = sum(a.requested_mw for a in default_plan.scenario.applicants) * 8.76
    assert (first.served_gwh <= 0.25 * requested_gwh + 1e-6).all()
    assert (risk_result.draws.served_gwh > 0.25 * requested_gwh).any()


def test_state_inputs_scale_demand_like_the_scenario(default_scenario) -> None:
    sc = default_scenario
    level = 1.06
    base = build_inputs(sc, with_program=False)
    scaled = sc.model_copy(
        update={"demand": sc.demand.model_copy(update={"scale": sc.demand.scale * level})}
    )
    direct = build_inputs(scaled, with_program=False)
    state = state_inputs(base, GridState("dry", 0.8, level), hydro_mask(sc))
    np.testing.assert_allclose(state.demand_mw, direct.demand_mw, rtol=1e-12)
    hydro = {i for i, g in enumerate(sc.generators) if g.technology == "hydro"}
    for (g, _, cap), (_, _, cap0) in zip(
        state.monthly_energy_cap_mwh, base.monthly_energy_cap_mwh, strict=True
    ):
        assert cap == pytest.approx(cap0 * (0.8 if g in hydro else 1.0))


@pytest.fixture(scope="module")
def grid_case(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("grid")
    sc = _risk_scenario(tmp, GRID_RISK, firm_mw=50.0)
    result = plan(sc)
    return sc, result, run_risk(result, n=60, seed=7)


def test_in_place_chains_equal_fresh_lps(grid_case) -> None:
    """Every distinct LP of the run (grid state x drawing applicants), solved warm in
    place in its chain, equals a fresh baseline + program solve of the same state."""
    sc, _result, risk = grid_case
    assert risk.stats["grid_states"] > 3 and risk.stats["chains"] >= 1
    values = value_applicants(sc)
    hp_today = market_point(sc).hashprice_usd_per_th_day
    solved = risk.draws[~risk.draws.failed].drop_duplicates(
        ["hydro_year", "demand_level", "miners_drawing"]
    )
    assert len(solved) >= 4
    for _, row in solved.iterrows():
        state = GridState(row.hydro_year, row.hydro_factor, row.demand_level)
        base_inputs = state_inputs(build_inputs(sc, with_program=False), state, hydro_mask(sc))
        baseline = solve_inputs(base_inputs)
        scale = row.hashprice_usd_per_ph_day / 1000 / hp_today
        draw_values = {
            n: float(v) * scale if values.loc[n, "kind"] == "btc_miner" else float(v)
            for n, v in values.value_usd_per_mwh.items()
        }
        inputs = state_inputs(
            scale_program(build_inputs(sc, True, draw_values), term_years(sc)[int(row.year)]),
            state,
            hydro_mask(sc),
        )
        inputs = replace(inputs, shed_cap_mw=baseline.shed_mw.to_numpy().T + 1e-6)
        program = solve_inputs(inputs)
        vals = values.copy()
        vals["value_usd_per_mwh"] = pd.Series(draw_values)
        fresh = figures_of(PlanResult(sc, baseline, program), vals)
        for key in ("margin_musd", "served_gwh", "revenue_musd"):
            assert fresh[key] == pytest.approx(row[key], rel=1e-7, abs=1e-9), (key, state)


def test_failed_draws_are_reported_and_the_run_goes_on(grid_case) -> None:
    """A committed firm AI load with no backup cannot be carried in high-demand,
    dry draws: those draw-years fail with seed and parameters; the others solve."""
    _sc, _result, risk = grid_case
    draws, failures = risk.draws, risk.failures
    assert 0 < draws.failed.sum() < len(draws)
    assert len(failures) == draws.failed.sum()
    assert set(failures.columns) >= {"draw", "year", "seed", "demand_level", "message"}
    assert (failures.seed == 7).all()
    assert failures.message.str.contains("firm load ai").all()
    failed = draws[draws.failed]
    assert failed[["margin_musd", "served_gwh"]].isna().all().all()
    # a failure needs high demand; low-demand draw-years solve
    assert failed.demand_level.min() > draws[~draws.failed].demand_level.min()
    assert (risk.percentiles.failed_draws.sum()) == draws.failed.sum()
    assert risk.percentiles.margin_musd_p50.notna().all()


@pytest.mark.slow  # starts a Dask cluster
def test_dask_local_cluster_equals_serial(grid_case) -> None:
    from megawatt.risk.runner import DaskRunner

    _sc, result, serial = grid_case
    with DaskRunner(workers=2) as runner:
        assert runner.workers == 2
        parallel = run_risk(result, n=60, seed=7, runner=runner)
    pd.testing.assert_frame_equal(parallel.draws, serial.draws, check_exact=True)
    pd.testing.assert_frame_equal(parallel.percentiles, serial.percentiles, check_exact=True)
    pd.testing.assert_frame_equal(parallel.failures, serial.failures, check_exact=True)
    pd.testing.assert_frame_equal(parallel.cases, serial.cases, check_exact=True)


# --- the command line -----------------------------------------------------------------------


@pytest.mark.slow  # two CLI risk runs
def test_risk_cli_writes_report_and_reproduces(tmp_path) -> None:
    from typer.testing import CliRunner

    from megawatt.cli import app
    from megawatt.report.export import read_results

    sc = _risk_scenario(tmp_path, GRID_RISK, firm_mw=50.0)
    scenario_file = Path(tmp_path) / "sc" / "scenario.yaml"
    assert sc.risk.demand_growth_sd == 0.25
    out = tmp_path / "out"
    args = ["risk", str(scenario_file), "--draws", "50", "--seed", "4", "--workers", "1"]
    first = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert first.exit_code == 0, first.output
    assert "Risk: 50 draws x 3 years, seed 4" in first.output
    assert "draw-years failed" in first.output and "firm load ai" in first.output
    tables, summary = read_results(out)
    assert summary["risk"]["draws"] == 50 and summary["risk"]["seed"] == 4
    assert len(tables["risk_draws"]) == 150 and len(tables["risk_failures"]) > 0
    assert 'id="risk"' in (out / "report.html").read_text()
    again = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "out2")])
    assert again.output.replace("out2", "out") == first.output
    pd.testing.assert_frame_equal(
        read_results(tmp_path / "out2")[0]["risk_draws"], tables["risk_draws"]
    )


def test_risk_cli_bootstrap_and_bad_prices(tmp_path) -> None:
    from typer.testing import CliRunner

    from megawatt.cli import app

    _risk_scenario(tmp_path)
    scenario_file = Path(tmp_path) / "sc" / "scenario.yaml"
    history = _write_history(tmp_path / "btc.csv", 400, 0.03)
    args = ["risk", str(scenario_file), "--draws", "30", "--workers", "1", "--market-only"]
    ok = CliRunner().invoke(app, [*args, "--prices", str(history), "--out", str(tmp_path / "o")])
    assert ok.exit_code == 0, ok.output
    assert "bootstrap prices" in ok.output
    history.write_text(history.read_text().replace("2019-01-05", "2019-01-09"))
    bad = CliRunner().invoke(app, [*args, "--prices", str(history), "--out", str(tmp_path / "o")])
    assert bad.exit_code == 2
    assert "btc.csv: line 6, column date: dates must be consecutive" in bad.output.replace("\n", "")
    assert (tmp_path / "o" / "report.html").is_file()  # the earlier results are untouched


def test_risk_needs_a_market_path(tmp_path) -> None:
    import yaml
    from typer.testing import CliRunner

    from megawatt.cli import app

    _risk_scenario(tmp_path)
    path = Path(tmp_path) / "sc" / "scenario.yaml"
    data = yaml.safe_load(path.read_text())
    data["economics"] = None
    path.write_text(yaml.safe_dump(data))
    result = CliRunner().invoke(app, ["risk", str(path), "--draws", "10", "--workers", "1"])
    assert result.exit_code == 2
    assert "economics.market_path: risk needs a market path" in result.output.replace("\n", "")


def test_unreachable_scheduler_is_a_one_line_error(tmp_path) -> None:
    from typer.testing import CliRunner

    from megawatt.cli import app

    _risk_scenario(tmp_path)
    path = Path(tmp_path) / "sc" / "scenario.yaml"
    args = ["risk", str(path), "--draws", "5", "--scheduler", "tcp://127.0.0.1:9"]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "--scheduler" in result.output and "cannot reach a Dask scheduler" in result.output
    assert "Traceback" not in result.output


@pytest.mark.slow  # a Dask scheduler and worker processes
def test_cli_on_a_dask_scheduler_equals_serial(tmp_path) -> None:
    """`--scheduler ADDRESS` (a LocalCluster started here, two workers) prints and
    writes the same as the serial run."""
    import logging

    from distributed import LocalCluster
    from typer.testing import CliRunner

    from megawatt.cli import app
    from megawatt.report.export import read_results

    _risk_scenario(tmp_path, GRID_RISK, firm_mw=50.0)
    path = str(Path(tmp_path) / "sc" / "scenario.yaml")
    args = ["risk", path, "--draws", "40", "--seed", "9"]
    serial = CliRunner().invoke(app, [*args, "--workers", "1", "--out", str(tmp_path / "a")])
    assert serial.exit_code == 0, serial.output
    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
        silence_logs=logging.ERROR,
    ) as cluster:
        remote = CliRunner().invoke(
            app, [*args, "--scheduler", cluster.scheduler_address, "--out", str(tmp_path / "b")]
        )
    assert remote.exit_code == 0, remote.output
    assert remote.output.replace(str(tmp_path / "b"), "") == serial.output.replace(
        str(tmp_path / "a"), ""
    )
    a, b = read_results(tmp_path / "a")[0], read_results(tmp_path / "b")[0]
    for name in ("risk_draws", "risk_percentiles", "risk_failures", "risk_cases"):
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True)
