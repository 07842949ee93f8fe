"""The main job's output: exports, summary numbers, atomic replacement, re-render, browser."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from browser import needs_chromium, open_page
from megawatt.cli import app
from megawatt.report import export, figures
from megawatt.report import html as html_mod
from megawatt.report.build import write_outcome
from megawatt.report.html import render_report

runner = CliRunner()

# Every plot of the default scenario's report (no risk section), by data-figure name.
REPORT_FIGURES = {
    "surplus_heatmap_North",
    "surplus_heatmap_South",
    "monthly_energy",
    "dispatch_week",
    "plant_utilisation",
    "zonal_prices",
    "price_duration",
    "link_flow_duration",
    "curtailment_duration",
    "curtailment_heatmap",
    "event_length_histogram",
    "revenue_waterfall",
    "miner_break_even",
}


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory: pytest.TempPathFactory, default_outcome) -> Path:
    out = tmp_path_factory.mktemp("results") / "out"
    write_outcome(default_outcome, out)
    return out


@pytest.fixture(scope="module")
def saved(results_dir: Path) -> tuple[dict[str, pd.DataFrame], dict]:
    """Tables and summary as ``megawatt report`` reads them back from the results."""
    return export.read_results(results_dir)


def _section(html: str, anchor: str) -> str:
    match = re.search(rf'<section id="{anchor}">.*?</section>', html, re.S)
    assert match, f"no section {anchor}"
    return match.group(0)


def _expand(trace) -> np.ndarray:
    """The hourly values of a duration curve drawn by ``figures.duration_steps``."""
    x = np.asarray(trace.x, dtype=int)
    y = np.asarray(trace.y, dtype=float)
    assert trace.line.shape == "vh" and x[0] == 1 and y[0] == y[1]
    return np.repeat(y[1:], np.diff(np.concatenate([[0], x[1:]])))


def test_layout(results_dir: Path) -> None:
    for name in ("report.html", "summary.json", "results.xlsx", "scenario/scenario.yaml"):
        assert (results_dir / name).is_file(), name
    summary = json.loads((results_dir / "summary.json").read_text())
    for table in summary["tables"]:
        assert (results_dir / "data" / f"{table}.csv").is_file()
        assert (results_dir / "data" / f"{table}.parquet").is_file()
    sheets = pd.ExcelFile(results_dir / "results.xlsx").sheet_names
    assert sheets[0] == "headline"  # the workbook opens on the headline
    assert sorted(sheets[1:]) == sorted(name[:31] for name in summary["tables"])
    # no temporary directories left behind
    assert not [p for p in results_dir.parent.iterdir() if p.name.startswith(".out.")]


def test_summary_numbers_equal_the_tables(results_dir: Path) -> None:
    """Every headline number is recomputed here from the exported tables (CSV/Parquet)."""
    head = json.loads((results_dir / "summary.json").read_text())["headline"]
    data = results_dir / "data"
    alloc = pd.read_parquet(data / "allocations.parquet")
    served = pd.read_parquet(data / "served_mw.parquet")
    tariff = pd.read_parquet(data / "tariff_usd_per_mwh.parquet").iloc[:, 0]
    gens = pd.read_parquet(data / "generators.parquet")
    balance = pd.read_csv(data / "balance.csv", index_col=0)
    accounts = pd.read_parquet(data / "applicant_accounts.parquet")
    events = pd.read_parquet(data / "curtailment_events.parquet")
    curtailed = pd.read_parquet(data / "curtailed_mw.parquet")

    assert head["allocated_mw"] == pytest.approx(alloc.allocated_mw.sum())
    for kind, mw in head["allocated_mw_by_kind"].items():
        assert mw == pytest.approx(alloc.allocated_mw[alloc.kind == kind].sum())
    assert head["served_gwh"] == pytest.approx(served.to_numpy().sum() / 1e3)
    revenue = float(served.sum(axis=1).to_numpy() @ tariff.to_numpy())
    assert head["revenue_musd"] == pytest.approx(revenue / 1e6, rel=1e-9)
    assert head["incremental_fuel_musd"] == pytest.approx(
        (gens.cost_usd_program - gens.cost_usd_baseline).sum() / 1e6, rel=1e-9
    )
    assert head["margin_musd"] == pytest.approx(
        head["revenue_musd"] - head["incremental_fuel_musd"]
    )
    assert head["capacity_charges_musd"] == pytest.approx(
        balance.loc[["sahiwal", "port_qasim", "china_power_hub"], "capacity_charge_usd"].sum()
        / 1e6,
        rel=1e-6,
    )
    assert head["charge_recovered_share"] == pytest.approx(
        head["margin_musd"] / head["capacity_charges_musd"]
    )
    co2 = (gens.co2_t_program - gens.co2_t_baseline).sum()
    assert head["incremental_co2_kt"] == pytest.approx(co2 / 1e3, rel=1e-9)
    assert head["jobs"] == pytest.approx(accounts.jobs.sum())
    assert head["investment_musd"] == pytest.approx(accounts.capex_usd.sum() / 1e6)
    assert head["curtailment_events"] == len(events)
    drawing = alloc.index[alloc.allocated_mw > 1e-3]
    assert head["curtailment_hours"] == int((curtailed[drawing] > 1e-3).any(axis=1).sum())
    assert head["events_longest_h"] == events.length_h.max()


def test_report_shows_the_headline(results_dir: Path) -> None:
    html = (results_dir / "report.html").read_text()
    head = json.loads((results_dir / "summary.json").read_text())["headline"]
    assert f"{head['allocated_mw']:,.0f}" in html
    assert f"{head['margin_musd']:,.0f}" in html
    assert "illustrative" in html.lower()
    # plotly.js holds URL strings in its code; what matters is that no tag loads one
    assert not re.search(r"<(script|img|iframe)[^>]*\ssrc=[\"']?https?:", html, re.I)
    assert not re.search(r"<link[^>]*\shref=[\"']?https?:", html, re.I)


def test_rerender_without_solving(results_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(results_dir, copy)
    (copy / "report.html").unlink()
    result = runner.invoke(app, ["report", str(copy)])
    assert result.exit_code == 0, result.output
    assert (copy / "report.html").read_text() == (results_dir / "report.html").read_text()


def test_report_bad_dir(tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 2
    assert "no summary.json: not a megawatt results directory" in result.output


def test_bad_out_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    target.write_text("x")
    result = runner.invoke(app, ["plan", "--out", str(target)])
    assert result.exit_code == 2
    assert "exists and is a file; give a directory" in result.output
    assert target.read_text() == "x"


def test_bad_out_not_writable() -> None:
    result = runner.invoke(app, ["plan", "--out", "/proc/megawatt-out"])
    assert result.exit_code == 2
    assert "/proc/megawatt-out" in result.output and "Traceback" not in result.output


def test_existing_report_replaced_only_when_complete(
    tmp_path: Path, default_outcome, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.html").write_text("previous report")
    (out / "summary.json").write_text('{"megawatt_version": "0"}')  # an earlier output

    def broken(*args: object) -> str:
        raise RuntimeError("renderer failed halfway")

    monkeypatch.setattr("megawatt.report.html.render_report", broken)
    with pytest.raises(RuntimeError):
        write_outcome(default_outcome, out)
    assert (out / "report.html").read_text() == "previous report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    monkeypatch.undo()
    write_outcome(default_outcome, out)
    assert (out / "report.html").read_text() != "previous report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_write_atomically_reports_os_errors(tmp_path: Path) -> None:
    def fill(directory: Path) -> None:
        raise PermissionError(13, "Permission denied")

    with pytest.raises(export.InputError, match="cannot write there: Permission denied"):
        export.write_atomically(tmp_path / "out", fill)
    assert not (tmp_path / "out").exists()


@needs_chromium
def test_report_in_headless_chromium(results_dir: Path, tmp_path: Path) -> None:
    """No console errors, no network requests, every plot rendered; saves a screenshot."""
    page_url = (results_dir / "report.html").resolve().as_uri()
    with open_page(page_url) as visit:
        page = visit.page
        plots = page.locator(".plot")
        count = plots.count()
        rendered = page.locator(".plot .main-svg").count()
        figs = page.evaluate("[...document.querySelectorAll('.plot')].map(p => p.dataset.figure)")
        empty = page.evaluate(
            "[...document.querySelectorAll('.plot')].filter(p => !p.querySelector('.main-svg'))"
            ".map(p => p.dataset.figure)"
        )
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert not visit.errors, visit.errors
    assert not visit.remote_requests, visit.remote_requests
    assert count == len(REPORT_FIGURES)
    assert set(figs) == REPORT_FIGURES
    assert not empty, f"plots without a rendered graph: {empty}"
    assert rendered >= count
    assert (tmp_path / "report.png").stat().st_size > 10_000


def test_surplus_counts_only_plants_at_or_below_the_tariff(default_outcome) -> None:
    """Spare MW of generators dearer than the tariff (RLNG, oil) or short of water
    (hydro) is not surplus the program could buy."""
    from megawatt.accounts.tables import surplus_below_tariff

    res = default_outcome.result
    inp = res.program.inputs
    surplus = surplus_below_tariff(res.baseline, inp.tariff_usd_per_mwh)
    tariff = inp.tariff_usd_per_mwh.max()
    eligible = {g.zone: 0.0 for g in res.scenario.generators}
    for g, cost in zip(res.scenario.generators, inp.marginal_cost_usd_per_mwh, strict=True):
        if cost <= tariff and g.monthly_energy_profile is None:
            eligible[g.zone] += g.p_nom_mw
    for zone, cap in eligible.items():
        assert surplus[zone].max() <= cap + 1e-6
    assert (surplus.to_numpy() >= -1e-9).all()


# ---------------------------------------------------------------- views of the physics


def test_report_places_every_figure(results_dir: Path) -> None:
    html = (results_dir / "report.html").read_text()
    assert set(re.findall(r'<div class="plot" data-figure="([^"]+)"', html)) == REPORT_FIGURES
    where = {
        "surplus": {"surplus_heatmap_North", "surplus_heatmap_South"},
        "system": {"dispatch_week", "price_duration", "link_flow_duration"},
        "curtailment": {"curtailment_duration", "curtailment_heatmap"},
    }
    for anchor, names in where.items():
        found = set(re.findall(r'data-figure="([^"]+)"', _section(html, anchor)))
        assert names <= found, (anchor, names - found)


def test_surplus_caption_defines_the_surplus(results_dir: Path) -> None:
    """The surplus is spare MW at or below the tariff before transmission, not a risk map."""
    section = _section((results_dir / "report.html").read_text(), "surplus")
    captions = re.findall(r'<p class="caption">(.*?)</p>', section)
    assert len(captions) == 2
    for caption in captions:
        assert "the MW the program could take at the tariff, before transmission limits" in (
            caption
        )
        assert "at or below the program tariff" in caption and "hydro" in caption
        assert "curtailment" not in caption.lower() and "dark band" not in caption.lower()


def test_curtailment_heatmap_adds_up_to_the_curtailed_energy(saved) -> None:
    tables, summary = saved
    curtailed = tables["curtailed_mw"]
    fig = figures.curtailment_heatmap(tables, summary)
    (heat,) = fig.data
    z = np.asarray(heat.z, dtype=float)
    assert z.shape == (24, 12) and list(heat.y) == list(range(24))
    assert (z >= 0).all()
    total_mwh = float(curtailed.to_numpy().sum())
    assert total_mwh > 0
    assert z.sum() == pytest.approx(total_mwh, rel=1e-12)
    assert z.sum() / 1e3 == pytest.approx(summary["headline"]["curtailed_gwh"], rel=1e-9)
    # Each row is one local hour of day, each column one local month, in order.
    local = curtailed.index.tz_convert(summary["scenario"]["timezone"])
    by_hour = curtailed.sum(axis=1).groupby(local.hour).sum().reindex(range(24), fill_value=0)
    np.testing.assert_allclose(z.sum(axis=1), by_hour.to_numpy(), rtol=1e-12, atol=1e-9)
    months = pd.PeriodIndex(local.tz_localize(None), freq="M")
    by_month = curtailed.sum(axis=1).groupby(months).sum()
    np.testing.assert_allclose(z.sum(axis=0), by_month.to_numpy(), rtol=1e-12, atol=1e-9)
    assert list(heat.x) == [f"{m:%b %Y}" for m in by_month.index]


def test_dispatch_week_stack_equals_generation(saved) -> None:
    tables, summary = saved
    tz = summary["scenario"]["timezone"]
    rows, peak, at = figures.stack_week(tables, summary)
    total = tables["curtailed_mw"].sum(axis=1)
    assert peak == pytest.approx(total.max()) and peak > 0
    local = tables["dispatch_program_mw"].index[rows].tz_convert(tz)
    assert len(local) == 168 and at in local
    assert at == total.idxmax().tz_convert(tz)
    # Monday 00:00 local time: the default span starts on a Monday, so nothing is moved.
    assert (local[0].weekday(), local[0].hour) == (0, 0)

    fig = figures.dispatch_week(tables, summary)
    stack = [t for t in fig.data if t.stackgroup == "generation"]
    lines = {t.meta: np.asarray(t.y, dtype=float) for t in fig.data if not t.stackgroup}
    dispatch = tables["dispatch_program_mw"].iloc[rows]
    # The stack adds up to the program case's generation, hour by hour and per technology.
    heights = np.sum([np.asarray(t.y, dtype=float) for t in stack], axis=0)
    np.testing.assert_allclose(heights, dispatch.sum(axis=1).to_numpy(), rtol=1e-12)
    technology = tables["generators"]["technology"]
    for trace in stack:
        members = technology.index[technology == trace.meta]
        heights_of_tech = np.asarray(trace.y, dtype=float)
        assert heights_of_tech.sum() == pytest.approx(dispatch[members].to_numpy().sum())
    demand = tables["demand_mw"].iloc[rows].sum(axis=1).to_numpy()
    served = tables["served_mw"].iloc[rows].sum(axis=1).to_numpy()
    np.testing.assert_allclose(lines["demand"], demand, rtol=1e-12)
    np.testing.assert_allclose(lines["demand_program"], demand + served, rtol=1e-12)
    # Generation covers demand and program load; the rest is link losses (no shedding here).
    shed = tables["shed_program_mw"].iloc[rows].sum(axis=1).to_numpy()
    assert (heights + shed >= demand + served - 1e-6).all()
    assert (pd.DatetimeIndex(fig.data[0].x) == local.tz_localize(None)).all()

    # Without curtailment the first week is shown, and the caption says so.
    calm = {**tables, "curtailed_mw": tables["curtailed_mw"] * 0.0}
    assert figures.stack_week(calm, summary) == (slice(0, 168), 0.0, None)
    html = render_report(calm, summary, "")
    assert "the first week of the span, as no program load is curtailed" in html
    shown = _section(render_report(tables, summary, ""), "system")
    assert f"largest curtailment hour ({peak:,.0f} MW cut, first at {at:%H:%M on %a %d %b})" in (
        shown.replace("&#x27;", "'")
    )


def test_link_flow_duration_curves(saved, default_scenario) -> None:
    tables, summary = saved
    links = tables["links"]
    fig = figures.link_flow_duration(tables, summary)
    names = list(tables["flow_program_mw"].columns)
    assert len(fig.data) == 2 * len(names)
    for trace in fig.data:
        link, case = trace.meta.split("/")
        flow = tables[f"flow_{case}_mw"][link].to_numpy()
        values = _expand(trace)
        assert len(values) == len(flow) == trace.x[-1]
        assert (np.diff(values) <= 0).all()
        np.testing.assert_array_equal(values, np.round(np.sort(flow)[::-1]))
        hours = int(links.loc[(case, link), "congested_hours"])
        assert f"{case}, {hours:,} h congested" in trace.name
    # The limit line is each link's transfer limit, as in the scenario.
    limits = {x.name: x.p_nom_mw for x in default_scenario.links}
    for case in ("baseline", "program"):
        for link, limit in limits.items():
            assert links.loc[(case, link), "forward_limit_mw"] == pytest.approx(limit)
    assert sorted(s.y0 for s in fig.layout.shapes) == sorted(limits[n] for n in names)
    # Results saved before the limits were exported: no line, and the caption says so.
    old = {**tables, "links": links.drop(columns=["forward_limit_mw", "reverse_limit_mw"])}
    assert not figures.link_flow_duration(old, summary).layout.shapes
    section = _section(render_report(old, summary, ""), "system")
    assert "saved without the transfer limits" in section
    for link in names:
        hours = links.xs(link, level="link")["congested_hours"]
        counts = f"baseline {hours['baseline']:,} h, program {hours['program']:,} h"
        assert f"{link.replace('_', ' ')}: {counts}" in section
    # Results from before the links table: the flows alone.
    bare = {k: v for k, v in tables.items() if k != "links"}
    plain = figures.link_flow_duration(bare, summary)
    assert len(plain.data) == 2 * len(names) and not plain.layout.shapes
    assert "no links table" in _section(render_report(bare, summary, ""), "system")
    # A one-zone scenario has no links: an empty figure that says so, and the report renders.
    flowless = {
        **tables,
        "flow_baseline_mw": tables["flow_baseline_mw"].iloc[:, :0],
        "flow_program_mw": tables["flow_program_mw"].iloc[:, :0],
        "links": links.iloc[:0],
    }
    empty = figures.link_flow_duration(flowless, summary)
    assert not empty.data and "no links" in empty.layout.annotations[0].text
    assert "Link flows" in _section(render_report(flowless, summary, ""), "system")


def test_price_duration_curves(saved) -> None:
    tables, summary = saved
    fig = figures.price_duration(tables, summary)
    zones = list(tables["price_program_usd_per_mwh"].columns)
    assert len(fig.data) == 3 * len(zones)
    tariff = tables["tariff_usd_per_mwh"].iloc[:, 0].to_numpy()
    for trace in fig.data:
        zone, case = trace.meta.split("/")
        values = _expand(trace)
        if case == "tariff":
            expected = np.sort(tariff)[::-1]
            assert trace.line.dash == "dash"
        else:
            expected = np.sort(tables[f"price_{case}_usd_per_mwh"][zone].to_numpy())[::-1]
        assert len(values) == len(tariff) == trace.x[-1]
        assert (np.diff(values) <= 0).all()
        np.testing.assert_array_equal(values, expected)


def test_duration_steps() -> None:
    x, y = figures.duration_steps(np.array([3.0, 1.0, 3.0, 2.0, 2.0]))
    assert list(x) == [1, 2, 4, 5] and list(y) == [3.0, 3.0, 2.0, 1.0]
    x, y = figures.duration_steps(np.array([7.0, 7.0]))
    assert list(x) == [1, 2] and list(y) == [7.0, 7.0]
    x, y = figures.duration_steps(np.array([2.4, 1.6]), decimals=0)
    assert list(x) == [1, 2] and list(y) == [2.0, 2.0]


# ---------------------------------------------------------------- words, system table, sources


def test_report_words_name_the_default_scenario(saved) -> None:
    """The default report names its own plants, fleet, currency and span: the words the
    small scenario of test_figures.py must not show come from the results."""
    tables, summary = saved
    page = render_report(tables, summary, "")
    assert "the 3 program plants (sahiwal, port qasim and china power hub)" in page
    assert "and of the imported coal fleet as a whole" in page
    assert "billion PKR" in page and "over the 365-day span" in page
    assert "three program plants" not in page and "2028 halving" not in page
    assert "per year" not in page[page.index("<main>") :]
    growth = tables["monthly_energy_gwh"].pivot_table(
        index="technology", columns="case", values="energy_gwh", aggfunc="sum"
    )
    top = (growth["program"] - growth["baseline"]).idxmax()
    assert f"the largest rise is {top.replace('_', ' ')} output" in page


def test_system_table_section(saved) -> None:
    tables, summary = saved
    section = _section(render_report(tables, summary, ""), "demand")
    table = html_mod.system_table(tables)
    assert table.index[0] == "National demand"
    for zone in tables["demand_mw"].columns:
        assert f"Load shed, {zone}" in table.index
    system = tables["system"]
    assert table.loc["Generation", "program"] == pytest.approx(
        system.loc["generation_gwh", "program"]
    )
    assert table.loc["Load shed, all zones", "baseline"] == pytest.approx(
        system.loc["shed_gwh", "baseline"]
    )
    assert "Load shedding does not rise with the program in any zone" in section
    assert "<td>National demand</td>" in section
    # Shedding that rises in one zone is said to rise, with the zone and the amount.
    zone = tables["demand_mw"].columns[0]
    shed = tables["shed_program_mw"].copy()
    shed.iloc[:3, 0] = 500.0  # 1.5 GWh more in the first zone
    worse = render_report({**tables, "shed_program_mw": shed}, summary, "")
    text = _section(worse, "demand")
    assert f"Load shedding rises with the program ({zone} +1.5 GWh)" in text
    assert "does not rise" not in text
    # Results without the hourly shedding: a note, and the rest of the report renders.
    bare = {k: v for k, v in tables.items() if k != "shed_program_mw"}
    assert "Not shown" in _section(render_report(bare, summary, ""), "demand")


def test_appendix_sources_of_the_default(saved, results_dir: Path) -> None:
    from megawatt.data.provenance import sources

    tables, summary = saved
    appendix = _section((results_dir / "report.html").read_text(), "appendix")
    refs = sources(results_dir / "scenario")
    cited = html_mod.cited_sources(tables["provenance"], refs)
    assert {"reuters-2025-05-25", "cppa-fy25", "nepra-2025-12-10"} <= set(cited.index)
    for key, row in cited.iterrows():
        assert f"<code>{key}</code>" in appendix
        assert html_mod._esc(row["title"]) in appendix
        assert html_mod._esc(row["publisher"]) in appendix and row["date"] in appendix
    # The scenario's own list (copied beside its results) gives the same table.
    own = _section(render_report(tables, summary, "", sources=refs), "appendix")
    table = re.compile(r'<table class="sources">.*?</table>', re.S)
    assert table.search(own).group(0) == table.search(appendix).group(0)
