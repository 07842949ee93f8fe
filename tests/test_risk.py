"""Monte Carlo fast path: reproducible, equal to the full LP on sampled draws."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from megawatt.economics.program import balance_sheet
from megawatt.economics.valuation import market_point, value_applicants
from megawatt.optimize.inputs import build_inputs
from megawatt.optimize.solve import PlanResult, solve_inputs
from megawatt.risk.montecarlo import MarketRisk, draw_markets, run_risk


@pytest.fixture(scope="module")
def risk_result(default_plan):
    return run_risk(default_plan, n=40, seed=11)


def test_reproducible_with_seed(default_scenario) -> None:
    a = draw_markets(default_scenario, 100, seed=5)
    b = draw_markets(default_scenario, 100, seed=5)
    c = draw_markets(default_scenario, 100, seed=6)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a.btc_price_usd, c.btc_price_usd)


def test_market_draws_follow_their_model(default_scenario) -> None:
    draws = draw_markets(
        default_scenario, 20_000, seed=1, risk=MarketRisk(price_drift=0.05, price_volatility=0.4)
    )
    wide = draws.pivot(index="draw", columns="year", values="btc_price_usd")
    log_ret = np.log(wide[2026] / wide[2025])
    # GBM: log return ~ N(mu - s^2/2, s^2)
    assert log_ret.mean() == pytest.approx(0.05 - 0.08, abs=0.01)
    assert log_ret.std() == pytest.approx(0.4, abs=0.01)
    assert (wide[2025] == default_scenario.economics.market_path[0].btc_price_usd).all()
    subsidy = draws.pivot(index="draw", columns="year", values="subsidy_btc")
    assert (subsidy[2027] == 3.125).all() and (subsidy[2029] == 1.5625).all()
    assert ((subsidy[2028] > 1.5625) & (subsidy[2028] < 3.125)).mean() > 0.99
    flat = draw_markets(default_scenario, 10, seed=1, risk=MarketRisk(price_volatility=0.0))
    assert np.allclose(flat.btc_price_usd, default_scenario.economics.market_path[0].btc_price_usd)


def test_fast_path_equals_the_lp(default_plan, risk_result) -> None:
    """For sampled draw-years, solving the LP with that draw's values gives the same
    margin, charges recovered and served energy as the fast path."""
    sc = default_plan.scenario
    values = value_applicants(sc)
    hp_today = market_point(sc).hashprice_usd_per_th_day
    draws = risk_result.draws
    # one sample per distinct number of miners drawing
    samples = draws.drop_duplicates("miners_drawing").head(2)
    assert len(samples) >= 2
    for _, row in samples.iterrows():
        scale = row.hashprice_usd_per_ph_day / 1000 / hp_today
        draw_values = {
            name: float(v) * scale if (values.loc[name, "kind"] == "btc_miner") else float(v)
            for name, v in values.value_usd_per_mwh.items()
        }
        inputs = build_inputs(sc, with_program=True, applicant_values=draw_values)
        inputs.shed_cap_mw = default_plan.baseline.shed_mw.to_numpy().T + 1e-6
        program = solve_inputs(inputs)
        vals = values.copy()
        vals["value_usd_per_mwh"] = pd.Series(draw_values)
        head = balance_sheet(PlanResult(sc, default_plan.baseline, program), vals).headline
        assert head.margin_musd == pytest.approx(row.margin_musd, rel=1e-9)
        assert head.served_gwh == pytest.approx(row.served_gwh, rel=1e-9)
        assert head.charge_recovered_share == pytest.approx(row.charge_recovered_share, rel=1e-9)


def test_percentiles_are_ordered(risk_result) -> None:
    pct = risk_result.percentiles
    for col in ("margin_musd", "hashprice_usd_per_ph_day", "served_gwh"):
        assert (pct[f"{col}_p10"] <= pct[f"{col}_p50"] + 1e-9).all()
        assert (pct[f"{col}_p50"] <= pct[f"{col}_p90"] + 1e-9).all()
    share = pct.filter(like="_viable_share")
    assert ((share >= 0) & (share <= 1)).all().all()
    assert len(risk_result.draws) == 40 * 6


def _with_market_path(tmp_path):
    from pathlib import Path

    from factories import small_scenario
    from megawatt.scenario import dump, validate
    from megawatt.scenario.io import Origin

    sc = small_scenario(
        Path(tmp_path),
        {"A": [50, 100, 150, 80]},
        [{"name": "g1", "zone": "A", "p_nom_mw": 200, "fuel_cost_local_per_kwh": 0.010}],
        [
            {
                "name": "m",
                "kind": "btc_miner",
                "zone": "A",
                "requested_mw": 60,
                "asic_mix": [{"model": "S21", "share": 1.0}],
            }
        ],
        tariff_usd_per_mwh=60.0,
    )
    raw = sc.model_dump()
    factors = {"jobs_per_mw": 0.5, "facility_capex_usd_per_mw": 3e5, "opex_usd_per_mw_year": 4e4}
    raw["economics"] = {
        "btc_miner": factors,
        "ai_datacenter": factors,
        "market_path": [
            {
                "year": 2026,
                "btc_price_usd": 87748,
                "network_hashrate_eh_s": 1300,
                "fees_btc_per_block": 0.0139,
            },
            {
                "year": 2027,
                "btc_price_usd": 87748,
                "network_hashrate_eh_s": 1500,
                "fees_btc_per_block": 0.0139,
            },
        ],
    }
    return dump(validate(raw, Origin(path=None, base_dir=Path(tmp_path))), Path(tmp_path) / "files")


def test_risk_cli_reproducible(tmp_path) -> None:
    from typer.testing import CliRunner

    from megawatt.cli import app

    path = _with_market_path(tmp_path)
    args = ["risk", str(path), "--draws", "300", "--seed", "4"]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "Risk: 300 draws x 2 years, seed 4" in first.output
    again = CliRunner().invoke(app, args)
    assert again.output == first.output


def test_risk_needs_a_market_path(tmp_path) -> None:
    from pathlib import Path

    import yaml
    from typer.testing import CliRunner

    from megawatt.cli import app

    path = _with_market_path(tmp_path)
    data = yaml.safe_load(Path(path).read_text())
    data["economics"] = None
    Path(path).write_text(yaml.safe_dump(data))
    result = CliRunner().invoke(app, ["risk", str(path), "--draws", "10"])
    assert result.exit_code == 2
    assert "economics.market_path: risk needs a market path" in result.output.replace("\n", "")
