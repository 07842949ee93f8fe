"""The report for a small scenario that is not the default: its words come from the
scenario (plants, span, zones, currency, halving), each applicant keeps one colour in
every figure, the appendix lists the sources it cites, and the system table is shown.

The scenario is two zones (East, West) over 14 days, two program plants, two miners and
one AI data center, money in EUR; it solves in about a second.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from factories import small_scenario
from megawatt import scenario as scenario_lib
from megawatt.data.provenance import sources as read_sources
from megawatt.report import export, figures, html
from megawatt.report.build import write_outcome
from megawatt.scenario.io import Origin

DAYS = 14
PLANTS = ["alder_station", "birch_station"]
APPLICANTS = ["fjord_hash", "delta_compute", "glacier_mining"]
MINERS = ["fjord_hash", "glacier_mining"]
# Phrases of the Pakistan default (or of a one-year span) that must not reach this report.
DEFAULT_PHRASES = [
    "Pakistan",
    "PKR",
    "Rs ",
    "three program plants",
    "2028 halving",
    "imported-coal",
    "imported coal",
    "sahiwal",
    "port qasim",
    "china power hub",
    "karachi",
    "lahore",
    "North",
    "South",
    "2,000 MW",
    "1,450 MW",
    "per year",
    "Annual",
    "own year",
    "Hours of the year",
    "365-day",
]
SOURCES_YAML = """\
grid-2024:
  title: "East-West grid statistics 2024"
  publisher: East-West Grid Operator
  date: 2024-12-31
  url: https://example.org/grid-2024
plant-filings:
  title: "Alder and Birch station tariff filings"
  publisher: Energy Regulator
  date: 2023-05-01
never-cited:
  title: "A report nothing in the scenario cites"
  publisher: Nobody
  date: 2020-01-01
"""


def build_scenario(directory: Path) -> scenario_lib.Scenario:
    """The small East/West scenario with a market path (for the halving) and EUR money."""
    directory.mkdir(parents=True, exist_ok=True)
    hours = DAYS * 24
    h = np.arange(hours)
    demand = {
        "East": (600 + 250 * np.sin(2 * np.pi * h / 24)).round(1).tolist(),
        "West": (900 + 300 * np.cos(2 * np.pi * h / 24)).round(1).tolist(),
    }
    cited = {"source": "grid-2024;plant-filings", "basis": "R", "notes": ""}
    sc = small_scenario(
        directory,
        demand,
        [
            {
                "name": "alder_station",
                "zone": "East",
                "p_nom_mw": 900,
                "fuel_cost_local_per_kwh": 0.02,
                "capacity_charge_local_per_kw_month": 5.0,
                "provenance": cited,
            },
            {
                "name": "birch_station",
                "zone": "West",
                "p_nom_mw": 800,
                "fuel_cost_local_per_kwh": 0.025,
                "capacity_charge_local_per_kw_month": 4.0,
                "provenance": {"source": "plant-filings;unlisted-id", "basis": "R", "notes": ""},
            },
            {
                "name": "west_peaker",
                "zone": "West",
                "p_nom_mw": 700,
                "fuel_cost_local_per_kwh": 0.09,
            },
        ],
        [
            {
                "name": "fjord_hash",
                "kind": "btc_miner",
                "zone": "East",
                "plant": "alder_station",
                "requested_mw": 200,
                "asic_mix": [{"model": "S21 XP", "share": 1.0}],
            },
            {
                "name": "delta_compute",
                "kind": "ai_datacenter",
                "zone": "West",
                "plant": "birch_station",
                "requested_mw": 80,
                "value_usd_per_mwh": 900,
            },
            {
                "name": "glacier_mining",
                "kind": "btc_miner",
                "zone": "West",
                "plant": "birch_station",
                "requested_mw": 150,
                "asic_mix": [{"model": "S21", "share": 1.0}],
            },
        ],
        links=[{"name": "east_west", "from_zone": "East", "to_zone": "West", "p_nom_mw": 300}],
        tariff_usd_per_mwh=45.0,
        cap_mw=400,
        plant_caps_mw={"alder_station": 300, "birch_station": 250},
    )
    raw = sc.model_dump(mode="json")
    raw["currency"] = {"code": "EUR", "local_per_usd": 0.9, "source": "[E] a test rate"}
    raw["program"]["tariff"]["local_per_kwh"] = 45.0 * 0.9 / 1000.0
    raw["program"]["contract"] = {
        "term_years": 3,
        "first_year_cap_share": 0.5,
        "review_months": 6,
        "start": "2026-07-01",
    }
    raw["economics"] = {
        "btc_miner": {
            "jobs_per_mw": 0.4,
            "facility_capex_usd_per_mw": 300_000,
            "opex_usd_per_mw_year": 30_000,
        },
        "ai_datacenter": {
            "jobs_per_mw": 0.7,
            "facility_capex_usd_per_mw": 7_000_000,
            "opex_usd_per_mw_year": 250_000,
        },
        "market_path": [
            {
                "year": y,
                "btc_price_usd": 90_000,
                "network_hashrate_eh_s": 1100 + 100 * (y - 2025),
                "fees_btc_per_block": 0.02,
            }
            for y in range(2025, 2031)
        ],
    }
    (directory / "sources.yaml").write_text(SOURCES_YAML, encoding="utf-8")
    return scenario_lib.validate(raw, Origin(path=None, base_dir=directory))


def risk_tables() -> dict[str, pd.DataFrame]:
    """A few synthetic risk draws for this scenario's miners (the subsidy halves in 2028)."""
    rng = np.random.default_rng(1)
    years = np.tile(np.arange(2026, 2030), 20)
    draws = pd.DataFrame(
        {
            "draw": np.repeat(np.arange(20), 4),
            "year": years,
            "subsidy_btc": np.where(years >= 2028, 1.5625, 3.125),
            "failed": False,
            "margin_musd": rng.normal(1.0, 0.3, len(years)),
            "charge_recovered_share": rng.uniform(0.1, 0.5, len(years)),
            "curtailment_hours": rng.integers(50, 200, len(years)).astype(float),
            "hashprice_usd_per_ph_day": rng.normal(30.0, 5.0, len(years)),
        }
    )
    viability = pd.DataFrame(
        [
            {"year": y, "applicant": a, "viable_share": float(rng.uniform())}
            for y in range(2026, 2030)
            for a in MINERS
        ]
    )
    return {"risk_draws": draws, "risk_viability": viability}


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict, Path]:
    """Tables and summary of the small scenario's plan, read back from its results."""
    from megawatt.planning import run_plan

    root = tmp_path_factory.mktemp("small")
    outcome = run_plan(build_scenario(root / "scenario"))
    assert outcome.horizon is not None
    out = root / "out"
    write_outcome(outcome, out)
    tables, summary = export.read_results(out)
    return tables, summary, out


def rendered(
    tables: dict, summary: dict, monkeypatch: pytest.MonkeyPatch, **kwargs: Any
) -> tuple[str, dict[str, go.Figure]]:
    """The report's HTML and every figure object placed in it, by data-figure name."""
    placed: dict[str, go.Figure] = {}
    place = html._figure_div

    def record(name: str, fig: go.Figure) -> str:
        placed[name] = fig
        return place(name, fig)

    monkeypatch.setattr(html, "_figure_div", record)
    page = html.render_report(tables, summary, "", **kwargs)
    monkeypatch.undo()
    return page, placed


def _section(page: str, anchor: str) -> str:
    match = re.search(rf'<section id="{anchor}">.*?</section>', page, re.S)
    assert match, f"no section {anchor}"
    return match.group(0)


def _without_provenance(page: str) -> str:
    """The page's <main> (text and figure JSON, not the plotly.js bundle) without the
    provenance table, whose rows come from megawatt.data.provenance."""
    main = page[page.index("<main>") :]
    return re.sub(r'<table class="provenance">.*?</table>', "", main, flags=re.S)


# ---------------------------------------------------------------- words from the scenario


def test_report_words_follow_the_scenario(small, monkeypatch: pytest.MonkeyPatch) -> None:
    tables, summary, _ = small
    page, placed = rendered(tables, summary, monkeypatch)
    body = _without_provenance(page)
    for phrase in DEFAULT_PHRASES:
        assert phrase not in body, phrase
    # The span is the scenario's 14 days, in captions and in the figures' axes.
    assert figures.span_hours(tables, summary) == DAYS * 24
    assert body.count(f"over the {DAYS}-day span") >= 5
    duration = placed["curtailment_duration"]
    assert duration.layout.xaxis.title.text.startswith(f"Hours of the {DAYS}-day span, ranked")
    waterfall = placed["revenue_waterfall"]
    assert waterfall.layout.yaxis.title.text == f"Million USD over the {DAYS}-day span"
    # The program plants and the zones are this scenario's.
    assert figures.program_plants(tables) == PLANTS
    assert "the 2 program plants (alder station and birch station)" in page
    assert "Surplus at the tariff, East" in page and "Surplus at the tariff, West" in page
    # The currency is the scenario's; the halving date the horizon's.
    assert "billion EUR" in page and "EUR/kWh" in page
    halving = figures.halving_date(tables)
    assert halving is not None
    assert f"the next halving (estimated {halving:%d %b %Y})" in page
    # The horizon's scaling by days / 365 is stated, with what the span is.
    assert "scaled by the period's days over the span's days" in page.replace("&#x27;", "'")
    # The only AI data center is named with its value, not a claim about all of them.
    assert "AI data centers (delta compute: 900 USD/MWh against a tariff of 45.0 USD/MWh)" in page


def test_risk_words_and_halving_year_follow_the_draws(small, monkeypatch) -> None:
    tables, summary, _ = small
    with_risk = {**tables, **risk_tables()}
    page, placed = rendered(with_risk, summary, monkeypatch)
    section = _section(page, "risk")
    assert "2028 halving" not in section and "three program plants" not in section
    assert "capacity charges of the 2 program plants (alder station and birch station)" in (section)
    assert f"Hours of the {DAYS}-day span in which the grid curtails" in section
    # The histogram's middle year is the year of the horizon's halving date ...
    halving = figures.halving_date(tables)
    hist = [t.name.split()[0] for t in placed["risk_histogram_margin_musd"].data]
    assert hist == ["2026", str(halving.year), "2029"]
    assert f"the first year at or after the halving (estimated {halving:%d %b %Y})" in section
    # ... and without a horizon, the first year whose drawn subsidy is lower.
    draws = risk_tables()["risk_draws"]
    assert figures.halving_year({"risk_draws": draws}) == 2028
    later = draws.assign(subsidy_btc=np.where(draws.year >= 2029, 1.5625, 3.125))
    assert figures.halving_year({"risk_draws": later}) == 2029
    flat = draws.assign(subsidy_btc=3.125)
    assert figures.halving_year({"risk_draws": flat}) is None
    names = [
        t.name.split()[0]
        for t in figures.risk_histogram({"risk_draws": flat}, "margin_musd", "M", "u").data
    ]
    assert names == ["2026", "2029"]


def test_span_text() -> None:
    assert figures.span_text(8760) == "365-day span"
    assert figures.span_text(336) == "14-day span"
    assert figures.span_text(36) == "36-hour span"
    assert figures.span_text(None) == "scenario's span"
    assert figures.span_hours({"demand_mw": pd.DataFrame(index=range(48))}) == 48


# ---------------------------------------------------------------- one colour per applicant


def _colour(trace: Any) -> str:
    if isinstance(trace, go.Scatter):
        return trace.line.color
    return trace.marker.color


def test_each_applicant_has_one_colour_in_every_figure(small, monkeypatch) -> None:
    tables, summary, _ = small
    _, placed = rendered({**tables, **risk_tables()}, summary, monkeypatch)
    colours = figures.applicant_colours(tables)
    assert list(colours) == APPLICANTS  # the scenario's order
    assert len(set(colours.values())) == len(APPLICANTS)
    pretty = {a.replace("_", " "): a for a in APPLICANTS}
    seen: dict[str, set[str]] = {}
    for name, fig in placed.items():
        for trace in fig.data:
            applicant = pretty.get(trace.name)
            if applicant is None:
                continue
            assert trace.meta == applicant, (name, trace.name)
            assert _colour(trace) == colours[applicant], (name, applicant)
            seen.setdefault(applicant, set()).add(name)
    # Every figure showing applicants was checked, each applicant in at least two.
    assert {f for figs in seen.values() for f in figs} == {
        "event_length_histogram",
        "miner_break_even",
        "risk_viability",
    }
    assert all(len(seen[a]) >= 2 for a in MINERS) and "delta_compute" in seen
    # Names the tables do not list follow the scenario's, in their own order.
    extra = figures.applicant_colours(tables, ["zeta", "fjord_hash", "eta"])
    assert list(extra) == [*APPLICANTS, "zeta", "eta"]
    assert extra["fjord_hash"] == colours["fjord_hash"]
    alone = figures.applicant_colours({}, ["b", "a"])
    assert list(alone.values()) == figures.APPLICANT_PALETTE[:2]


# ---------------------------------------------------------------- sources and system table


def test_appendix_lists_the_cited_sources(small, monkeypatch) -> None:
    tables, summary, out = small
    references = read_sources(out / "scenario")
    page, _ = rendered(tables, summary, monkeypatch, sources=references)
    appendix = _section(page, "appendix")
    table = re.search(r'<table class="sources">.*?</table>', appendix, re.S).group(0)
    rows = re.findall(r"<tr><td><code>([^<]+)</code></td>(.*?)</tr>", table)
    ids = [key for key, _ in rows]
    # Cited ids in the reference list's order, then ids the list lacks; never the uncited.
    assert ids[:2] == ["grid-2024", "plant-filings"] and "unlisted-id" in ids
    assert "never-cited" not in ids
    cells = dict(rows)
    assert "East-West grid statistics 2024" in cells["grid-2024"]
    assert "East-West Grid Operator" in cells["grid-2024"] and "2024-12-31" in cells["grid-2024"]
    assert '<a href="https://example.org/grid-2024">' in cells["grid-2024"]
    assert "not in the scenario&#x27;s reference list" in cells["unlisted-id"]
    assert "<th>URL</th>" in table and "the scenario&#x27;s reference list." in appendix
    # The results carry the scenario's own list (the saved sources table) ...
    saved = _section(html.render_report(tables, summary, ""), "appendix")
    assert "East-West grid statistics 2024" in saved and "scenario&#x27;s reference list" in saved
    # ... without it, the packaged default's is used, and the caption says so.
    bare = {k: v for k, v in tables.items() if k != "sources"}
    fallback = _section(html.render_report(bare, summary, ""), "appendix")
    assert "the reference list packaged with megawatt" in fallback
    assert "grid-2024" in fallback  # still cited, now marked as not in the list
    frame = html.cited_sources(tables["provenance"], references)
    assert list(frame.columns) == ["title", "publisher", "date", "url"]


def test_system_table_near_the_top(small) -> None:
    tables, summary, _ = small
    page = html.render_report(tables, summary, "")
    order = [page.index(f'<section id="{a}">') for a in ("headline", "demand", "surplus")]
    assert order == sorted(order)
    section = _section(page, "demand")
    table = html.system_table(tables)
    assert list(table.index[:3]) == [
        "National demand",
        "National demand served",
        "Load shed, all zones",
    ]
    assert {"Load shed, East", "Load shed, West"} <= set(table.index)
    demand = tables["demand_mw"].to_numpy().sum() / 1e3
    assert table.loc["National demand", "baseline"] == pytest.approx(demand)
    assert "Load shedding does not rise with the program in any zone" in section
    assert f"over the {DAYS}-day span" in section
