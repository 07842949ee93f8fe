"""The report's Risk section: fan charts, histogram, viability, percentile and failure tables.

The risk tables here are synthetic (200 draws x 6 years, seeded) and go through Parquet
like the real ones do, so the section is tested independently of the Monte Carlo code.
The rest of the report comes from the default scenario's plan (``default_outcome``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from browser import needs_chromium, open_page
from megawatt.report import export, figures
from megawatt.report.build import write_outcome
from megawatt.report.html import render_report
from megawatt.risk.cases import FIGURES
from megawatt.risk.montecarlo import PERCENTILE_METRICS

YEARS = list(range(2025, 2031))
N_DRAWS = 200
RESULTS = list(FIGURES)
MINERS = {"indus_hash": 45.0, "thar_mining": 60.0}  # applicant -> break-even USD/PH/day
RISK_FIGURES = {
    "risk_fan_margin_musd",
    "risk_histogram_margin_musd",
    "risk_fan_charge_recovered_share",
    "risk_fan_curtailment_hours",
    "risk_fan_hashprice_usd_per_ph_day",
    "risk_viability",
}


def _parquet_round_trip(frame: pd.DataFrame, directory: Path, name: str) -> pd.DataFrame:
    """The frame as the report reads it back from a results directory."""
    path = directory / f"{name}.parquet"
    frame.to_parquet(path)
    return pd.read_parquet(path)


def synthetic_risk_tables(
    directory: Path, n_draws: int = N_DRAWS, failure_rate: float = 0.03
) -> dict[str, pd.DataFrame]:
    """risk_draws, risk_percentiles, risk_viability and risk_failures, seeded."""
    rng = np.random.default_rng(0)
    n_years = len(YEARS)
    draw = np.repeat(np.arange(n_draws), n_years)
    year = np.tile(YEARS, n_draws)
    # BTC price [USD]: a GBM per draw; hashrate [EH/s] grows; subsidy [BTC] halves in 2028.
    log_steps = rng.normal(0.0, 0.5, size=(n_draws, n_years))
    log_steps[:, 0] = 0.0
    btc = (95_000.0 * np.exp(np.cumsum(log_steps, axis=1))).ravel()
    hashrate = (800.0 * 1.25 ** np.arange(n_years) * np.ones((n_draws, 1))).ravel()
    subsidy = np.where(year >= 2028, 1.5625, 3.125)
    fees = rng.lognormal(np.log(0.1), 0.5, size=len(draw))
    hashprice = btc * (subsidy + fees) * 144.0 / (hashrate * 1e3)  # [USD/PH/day]
    drawing = sum((hashprice >= be).astype(int) for be in MINERS.values()) + 2
    margin = rng.normal(120.0, 90.0, size=len(draw)) + 40.0 * drawing
    draws = pd.DataFrame(
        {
            "draw": draw,
            "year": year,
            "btc_price_usd": btc,
            "network_hashrate_eh_s": hashrate,
            "fees_btc_per_block": fees,
            "subsidy_btc": subsidy,
            "hashprice_usd_per_ph_day": hashprice,
            "demand_level": rng.normal(1.0, 0.04, size=len(draw)),
            "hydro_year": rng.choice(["dry", "normal", "wet"], size=len(draw)),
            "miners_drawing": drawing,
            "failed": rng.random(len(draw)) < failure_rate,
            "served_gwh": 2_000.0 + 900.0 * drawing + rng.normal(0, 50, size=len(draw)),
            "revenue_musd": 300.0 + 80.0 * drawing,
            "margin_musd": margin,
            "charge_recovered_share": np.clip(margin / 900.0, 0.0, 1.0),
            "curtailment_hours": np.round(rng.gamma(2.0, 60.0, size=len(draw))),
        }
    )
    draws.loc[draws["failed"], RESULTS] = np.nan

    ok = draws[~draws["failed"]]
    rows = []
    for y, group in ok.groupby("year"):
        row: dict[str, Any] = {"year": int(y)}
        for metric in PERCENTILE_METRICS:
            for p in (10, 50, 90):
                row[f"{metric}_p{p}"] = float(np.percentile(group[metric], p))
        row["failed_draws"] = int(draws.loc[draws["year"] == y, "failed"].sum())
        rows.append(row)
    percentiles = pd.DataFrame(rows)

    viability = pd.DataFrame(
        [
            {
                "year": y,
                "applicant": miner,
                "viable_share": float(
                    (draws.loc[draws["year"] == y, "hashprice_usd_per_ph_day"] >= be).mean()
                ),
            }
            for y in YEARS
            for miner, be in MINERS.items()
        ]
    )

    failed = draws[draws["failed"]]
    failures = pd.DataFrame(
        {
            "draw": failed["draw"].to_numpy(),
            "year": failed["year"].to_numpy(),
            "seed": 1_000_000 + failed["draw"].to_numpy(),
            "demand_level": failed["demand_level"].to_numpy(),
            "hydro_year": failed["hydro_year"].to_numpy(),
            "btc_price_usd": failed["btc_price_usd"].to_numpy(),
            "hashprice_usd_per_ph_day": failed["hashprice_usd_per_ph_day"].to_numpy(),
            "message": [
                f"program LP infeasible (demand x{d:.3f}, {h} year)"
                for d, h in zip(failed["demand_level"], failed["hydro_year"], strict=True)
            ],
        }
    )
    frames = {
        "risk_draws": draws,
        "risk_percentiles": percentiles,
        "risk_viability": viability,
        "risk_failures": failures,
    }
    return {name: _parquet_round_trip(f, directory, name) for name, f in frames.items()}


def risk_summary(tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """What ``summary["risk"]`` holds for these tables."""
    draws = tables["risk_draws"]
    return {
        "draws": N_DRAWS,
        "seed": 20250,
        "years": YEARS,
        "scenario_years": len(draws),
        "failed_draw_years": int(draws["failed"].sum()),
        "lp_cases": 3,
        "price_model": "gbm",
        "seconds": 41.7,
    }


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory, default_outcome) -> tuple[dict, dict, str]:
    """Tables, summary and scenario YAML of the default plan, read back from its results."""
    out = tmp_path_factory.mktemp("risk_report") / "out"
    write_outcome(default_outcome, out)
    tables, summary = export.read_results(out)
    return tables, summary, (out / "scenario" / "scenario.yaml").read_text()


@pytest.fixture(scope="module")
def risk_tables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    return synthetic_risk_tables(tmp_path_factory.mktemp("risk_tables"))


@pytest.fixture(scope="module")
def with_risk(base, risk_tables) -> tuple[dict, dict, str]:
    tables, summary, yaml_text = base
    return {**tables, **risk_tables}, {**summary, "risk": risk_summary(risk_tables)}, yaml_text


def _trace(fig: go.Figure, meta: str) -> go.Scatter:
    (found,) = [t for t in fig.data if t.meta == meta]
    return found


def _section(html: str, anchor: str) -> str:
    match = re.search(rf'<section id="{anchor}">.*?</section>', html, re.S)
    assert match, f"no section {anchor}"
    return match.group(0)


# ---------------------------------------------------------------- figures


@pytest.mark.parametrize(
    ("metric", "scale"),
    [
        ("margin_musd", 1.0),
        ("charge_recovered_share", 100.0),
        ("curtailment_hours", 1.0),
        ("hashprice_usd_per_ph_day", 1.0),
    ],
)
def test_fan_chart_percentiles_equal_the_draws(risk_tables, metric: str, scale: float) -> None:
    draws = risk_tables["risk_draws"]
    ok = draws[~draws["failed"]]
    assert draws["failed"].any() and draws.loc[draws["failed"], "margin_musd"].isna().all()
    fig = figures.risk_fan(risk_tables, metric, "Metric", "unit")
    p50, p10, p90 = _trace(fig, "p50"), _trace(fig, "p10"), _trace(fig, "p90")
    p25, p75 = _trace(fig, "p25"), _trace(fig, "p75")
    assert list(p50.x) == YEARS and list(p10.x) == YEARS and list(p90.x) == YEARS
    for i, year in enumerate(YEARS):
        values = ok.loc[ok["year"] == year, metric].to_numpy(dtype=float)
        assert not np.isnan(values).any()
        lo, q1, mid, q3, hi = np.percentile(values, [10, 25, 50, 75, 90]) * scale
        assert p50.y[i] == pytest.approx(mid, rel=1e-12, abs=1e-12)
        assert p10.y[i] == pytest.approx(lo, rel=1e-12, abs=1e-12)
        assert p90.y[i] == pytest.approx(hi, rel=1e-12, abs=1e-12)
        assert p25.y[i] == pytest.approx(q1, rel=1e-12, abs=1e-12)
        assert p75.y[i] == pytest.approx(q3, rel=1e-12, abs=1e-12)
    # The bands fill to the trace before them: P90 onto P10, P75 onto P25.
    assert p90.fill == "tonexty" and p75.fill == "tonexty"
    assert list(fig.data).index(p90) == list(fig.data).index(p10) + 1
    assert list(fig.data).index(p75) == list(fig.data).index(p25) + 1
    # Same numbers as the risk_percentiles table (P10/P50/P90, default linear method).
    table = risk_tables["risk_percentiles"].set_index("year")
    if f"{metric}_p50" in table:
        for trace, p in ((p10, "p10"), (p50, "p50"), (p90, "p90")):
            expected = table.loc[YEARS, f"{metric}_{p}"].to_numpy() * scale
            np.testing.assert_allclose(np.asarray(trace.y, dtype=float), expected, rtol=1e-12)


def test_margin_fan_shows_the_capacity_charges(risk_tables) -> None:
    summary = {"headline": {"capacity_charges_musd": 512.3}}
    fig = figures.risk_fan(risk_tables, "margin_musd", "Margin", "million USD", summary)
    lines = [s for s in fig.layout.shapes if s.type == "line"]
    assert [s.y0 for s in lines] == [pytest.approx(512.3)]
    assert "capacity charges 512" in fig.layout.annotations[0].text
    bare = figures.risk_fan(risk_tables, "margin_musd", "Margin", "million USD")
    assert not bare.layout.shapes
    other = figures.risk_fan(risk_tables, "curtailment_hours", "Hours", "h", summary)
    assert not other.layout.shapes


def test_histogram_years_and_medians(risk_tables) -> None:
    draws = risk_tables["risk_draws"]
    ok = draws[~draws["failed"]]
    fig = figures.risk_histogram(risk_tables, "margin_musd", "Margin", "million USD")
    hists = [t for t in fig.data if isinstance(t, go.Histogram)]
    assert [t.name.split()[0] for t in hists] == ["2025", "2028", "2030"]
    medians = [s.x0 for s in fig.layout.shapes]
    for year, hist, median in zip((2025, 2028, 2030), hists, medians, strict=True):
        values = ok.loc[ok["year"] == year, "margin_musd"].to_numpy()
        assert len(hist.x) == len(values)
        assert median == pytest.approx(np.percentile(values, 50))
    assert fig.layout.barmode == "overlay"
    # Without a year at or after 2028 only the first and last years are shown.
    early = {"risk_draws": draws[draws["year"] < 2028]}
    names = [t.name.split()[0] for t in figures.risk_histogram(early, "margin_musd", "M", "u").data]
    assert names == ["2025", "2027"]


def test_viability_lines(risk_tables) -> None:
    fig = figures.risk_viability(risk_tables)
    assert [t.name for t in fig.data] == [m.replace("_", " ") for m in MINERS]
    viability = risk_tables["risk_viability"]
    for trace, miner in zip(fig.data, MINERS, strict=True):
        expected = viability[viability["applicant"] == miner].sort_values("year")["viable_share"]
        assert list(trace.x) == YEARS
        np.testing.assert_allclose(trace.y, expected.to_numpy() * 100.0, atol=0.01)
        assert all(0.0 <= v <= 100.0 for v in trace.y)


# ---------------------------------------------------------------- report


def test_report_has_a_risk_section_only_with_risk_draws(base, with_risk) -> None:
    tables, summary, yaml_text = base
    without = render_report(tables, summary, yaml_text)
    assert 'id="risk"' not in without and "risk_fan" not in without
    assert 'href="#risk"' not in without

    rtables, rsummary, _ = with_risk
    html = render_report(rtables, rsummary, yaml_text)
    section = _section(html, "risk")
    assert "<h2>Risk</h2>" in section
    figs = set(re.findall(r'<div class="plot" data-figure="([^"]+)"', section))
    assert figs == RISK_FIGURES
    # After the plot sections, before the result tables, and in the table of contents.
    order = [html.index(f'<section id="{a}">') for a in ("economics", "risk", "tables")]
    assert order == sorted(order)
    assert '<a href="#economics">State and applicant economics</a><a href="#risk">Risk</a>' in html
    # The paragraph states how the Monte Carlo was run.
    intro = re.search(r"<h2>Risk</h2><p>(.*?)</p>", section).group(1)
    failed = int(rtables["risk_draws"]["failed"].sum())
    for text in (
        "200 Monte Carlo draws",
        "(2025\u20132030)",
        "seed 20250",
        "1,200 scenario-years",
        "geometric Brownian motion",
        "3 distinct program LP cases solved",
        f"{failed} failed draw-years",
        "national demand and hydrology",
    ):
        assert text in intro, text
    # The percentile table: one row per year, years without thousands separators.
    assert "Percentiles by year" in section and "margin M$ P50" in section
    assert "<td>2027</td>" in section and "2,027" not in section
    p50 = rtables["risk_percentiles"].set_index("year").loc[2027, "margin_musd_p50"]
    assert f"{p50:,.1f}".replace("-", "\u2212") in section
    # plotly.js stays inlined once, nothing is loaded from the network.
    assert html.count("window.PlotlyConfig") == 1
    assert not re.search(r"<(script|img|iframe)[^>]*\ssrc=[\"']?https?:", html, re.I)

    # Apart from the Risk section and its link, the page is exactly the one without risk.
    stripped = html.replace(section, "").replace('<a href="#risk">Risk</a>', "")
    assert stripped == without


def test_risk_section_without_summary_or_viability(base, risk_tables) -> None:
    tables, summary, yaml_text = base
    partial = {**tables, "risk_draws": risk_tables["risk_draws"]}
    section = _section(render_report(partial, summary, yaml_text), "risk")
    assert "200 Monte Carlo draws" in section and "not recorded" in section
    assert 'data-figure="risk_fan_margin_musd"' in section
    assert 'data-figure="risk_viability"' not in section
    assert "Not shown: risk viability table" in section
    assert "Not available: no risk_percentiles table" in section
    assert "Failed draws" not in section


def test_failures_table(base, with_risk, risk_tables) -> None:
    _, _, yaml_text = base
    rtables, rsummary, _ = with_risk
    failures = rtables["risk_failures"]
    assert 0 < len(failures) < 50
    section = _section(render_report(rtables, rsummary, yaml_text), "risk")
    assert "<h3>Failed draws</h3>" in section
    assert f"{len(failures)} draw-years failed to solve." in section
    assert section.count("program LP infeasible") == len(failures)
    first = failures.iloc[0]
    assert f'<td class="num">{int(first["seed"])}</td>' in section

    # No failures: no table.
    empty = {**rtables, "risk_failures": failures.iloc[0:0]}
    assert "Failed draws" not in _section(render_report(empty, rsummary, yaml_text), "risk")

    # Many failures: the first 50 shown, the total stated.
    many = pd.concat([failures] * 5, ignore_index=True).head(123)
    crowded = _section(
        render_report({**rtables, "risk_failures": many}, rsummary, yaml_text), "risk"
    )
    assert "123 draw-years failed to solve, the first 50 shown." in crowded
    assert crowded.count("program LP infeasible") == 50


@needs_chromium
def test_risk_section_in_headless_chromium(with_risk, tmp_path: Path) -> None:
    """No console errors and every plot in #risk rendered by plotly."""
    tables, summary, yaml_text = with_risk
    page_path = tmp_path / "report.html"
    page_path.write_text(render_report(tables, summary, yaml_text), encoding="utf-8")
    with open_page(page_path.resolve().as_uri()) as visit:
        page = visit.page
        figs = page.evaluate(
            "[...document.querySelectorAll('#risk .plot')].map(p => p.dataset.figure)"
        )
        empty = page.evaluate(
            "[...document.querySelectorAll('#risk .plot')]"
            ".filter(p => !p.querySelector('.main-svg')).map(p => p.dataset.figure)"
        )
        page.locator("#risk").screenshot(path=str(tmp_path / "risk.png"))
    assert not visit.errors, visit.errors
    assert not visit.remote_requests, visit.remote_requests
    assert set(figs) == RISK_FIGURES
    assert not empty, f"risk plots without a rendered graph: {empty}"
    assert (tmp_path / "risk.png").stat().st_size > 10_000
