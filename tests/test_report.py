"""The main job's output: exports, summary numbers, atomic replacement, re-render, browser."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from browser import needs_chromium, open_page
from megawatt.cli import app
from megawatt.report import export
from megawatt.report.build import write_outcome

runner = CliRunner()


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory: pytest.TempPathFactory, default_outcome) -> Path:
    out = tmp_path_factory.mktemp("results") / "out"
    write_outcome(default_outcome, out)
    return out


def test_layout(results_dir: Path) -> None:
    for name in ("report.html", "summary.json", "results.xlsx", "scenario/scenario.yaml"):
        assert (results_dir / name).is_file(), name
    summary = json.loads((results_dir / "summary.json").read_text())
    for table in summary["tables"]:
        assert (results_dir / "data" / f"{table}.csv").is_file()
        assert (results_dir / "data" / f"{table}.parquet").is_file()
    sheets = pd.ExcelFile(results_dir / "results.xlsx").sheet_names
    assert len(sheets) == len(summary["tables"])
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
    assert head["capacity_charges_recovered_share"] == pytest.approx(
        head["margin_musd"] / head["capacity_charges_musd"]
    )
    co2 = (gens.co2_t_program - gens.co2_t_baseline).sum()
    assert head["co2_kt"] == pytest.approx(co2 / 1e3, rel=1e-9)
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
        empty = page.evaluate(
            "[...document.querySelectorAll('.plot')].filter(p => !p.querySelector('.main-svg'))"
            ".map(p => p.dataset.figure)"
        )
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert not visit.errors, visit.errors
    assert not visit.remote_requests, visit.remote_requests
    assert count >= 8
    assert not empty, f"plots without a rendered graph: {empty}"
    assert rendered >= count
    assert (tmp_path / "report.png").stat().st_size > 10_000


def test_surplus_counts_only_plants_at_or_below_the_tariff(default_outcome) -> None:
    """Spare MW of generators dearer than the tariff (RLNG, oil) or short of water
    (hydro) is not surplus the program could buy."""
    from megawatt.report.tables import surplus_below_tariff

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
