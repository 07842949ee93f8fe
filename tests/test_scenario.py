"""The scenario format: default data, round trip, hourly readers, summary, docs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from typer.testing import CliRunner

from megawatt import scenario as scenario_lib
from megawatt.cli import app
from megawatt.data import dataset_dir
from megawatt.data.build_profiles import build, default_timestamps, to_csv_text
from megawatt.scenario.summary import summarize

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
FY25_MONTHLY_GWH = {
    (2024, 7): 14880,
    (2024, 8): 13179,
    (2024, 9): 12487,
    (2024, 10): 10262,
    (2024, 11): 8032,
    (2024, 12): 7800,
    (2025, 1): 8153,
    (2025, 2): 6945,
    (2025, 3): 8409,
    (2025, 4): 10513,
    (2025, 5): 12755,
    (2025, 6): 13744,
}


def test_every_embedded_file_is_used_and_valid(default_scenario: scenario_lib.Scenario) -> None:
    files = {p.name for p in dataset_dir().iterdir() if p.is_file()}
    assert {
        "scenario.yaml",
        "generators.csv",
        "applicants.yaml",
        "profiles.csv",
        "demand_monthly.csv",
        "sources.yaml",
    } <= files
    series = scenario_lib.timeseries(default_scenario)
    assert len(series.snapshots) == 8760
    assert series.snapshots[0] == pd.Timestamp("2024-06-30T19:00Z")
    assert list(series.demand_mw.columns) == ["North", "South"]


def test_default_cites_sources(default_scenario: scenario_lib.Scenario) -> None:
    from megawatt.data.provenance import sources

    refs = set(sources())
    items = [*default_scenario.generators, *default_scenario.applicants, *default_scenario.links]
    for item in items:
        assert item.provenance.basis in ("R", "E", "R+E"), item.name
        ids = [s.strip() for s in item.provenance.source.split(";") if s.strip()]
        assert ids, f"{item.name} cites no source"
        assert set(ids) <= refs, f"{item.name} cites unknown {set(ids) - refs}"
        if "E" in item.provenance.basis:
            assert item.provenance.notes, f"{item.name}: an estimate needs its method"
    assert all(a.illustrative for a in default_scenario.applicants)


def test_fy25_figures(default_scenario: scenario_lib.Scenario) -> None:
    """FY25 demand: annual 127,159 GWh and each month within 0.5%; peak 28-31 GW; min < 9 GW."""
    series = scenario_lib.timeseries(default_scenario)
    national = series.demand_mw.sum(axis=1)
    assert national.sum() / 1e3 == pytest.approx(127_159, rel=0.005)
    local = national.tz_convert("Asia/Karachi")
    monthly = local.groupby([local.index.year, local.index.month]).sum() / 1e3
    for key, gwh in FY25_MONTHLY_GWH.items():
        assert monthly[key] == pytest.approx(gwh, rel=0.005), key
    assert 28_000 <= national.max() <= 31_000
    assert national.min() < 9_000


def test_default_fleet(default_scenario: scenario_lib.Scenario) -> None:
    gens = {g.name: g for g in default_scenario.generators}
    for plant, net in [("sahiwal", 1243.5), ("china_power_hub", 1249)]:
        assert gens[plant].p_nom_mw == net
        assert gens[plant].technology == "imported_coal"
    coal = sum(g.p_nom_mw for g in gens.values() if g.technology == "imported_coal")
    # 5,280 MW gross reported; the three program plants enter at net capacity
    assert coal == pytest.approx(1243.5 + 1245 + 1249 + 660 + 660)
    techs = {g.technology for g in gens.values()}
    assert {
        "hydro",
        "nuclear",
        "thar_coal",
        "imported_coal",
        "rlng_ccgt",
        "local_gas",
        "rfo",
        "wind",
        "solar",
        "bagasse",
    } <= techs
    assert default_scenario.program.cap_mw == 2000
    assert default_scenario.program.tariff.local_per_kwh == 22.98
    assert set(default_scenario.program.plant_caps_mw) == {
        "sahiwal",
        "port_qasim",
        "china_power_hub",
    }
    link = default_scenario.links[0]
    assert (link.from_zone, link.to_zone, link.p_nom_mw) == ("South", "North", 6000)


def test_hydro_profile_reproduces_fy25_hydel(default_scenario: scenario_lib.Scenario) -> None:
    """Monthly hydro energy cap = FY25 monthly hydel (39,972 GWh in the year)."""
    series = scenario_lib.timeseries(default_scenario)
    cf = series.profiles["hydro_monthly_cf"]
    hydro_mw = sum(g.p_nom_mw for g in default_scenario.generators if g.technology == "hydro")
    assert cf.sum() * hydro_mw / 1e3 == pytest.approx(39_972, rel=1e-3)


def test_wind_profile_matches_fy25(default_scenario: scenario_lib.Scenario) -> None:
    series = scenario_lib.timeseries(default_scenario)
    assert series.profiles["wind_south"].mean() == pytest.approx(3840e3 / (1800 * 8760), abs=0.005)


def test_shipped_profiles_are_the_builders_output() -> None:
    shipped = (dataset_dir() / "profiles.csv").read_text()
    assert shipped == to_csv_text(build(default_timestamps()))


def test_round_trip(tmp_path: Path, default_scenario: scenario_lib.Scenario) -> None:
    path = scenario_lib.dump(default_scenario, tmp_path / "copy")
    again = scenario_lib.load(path)
    assert again.model_dump() == default_scenario.model_dump()
    a, b = scenario_lib.timeseries(default_scenario), scenario_lib.timeseries(again)
    pd.testing.assert_frame_equal(a.demand_mw, b.demand_mw)
    pd.testing.assert_frame_equal(a.profiles, b.profiles)
    # and a second round trip writes identical files
    path2 = scenario_lib.dump(again, tmp_path / "copy2")
    for name in ("scenario.yaml", "generators.csv", "applicants.yaml"):
        assert (path.parent / name).read_text() == (path2.parent / name).read_text()


def test_hourly_zone_demand_format(scenario_dir: Path, default_scenario) -> None:
    """Our own hourly format, one MW column per zone, gives back the same series."""
    series = scenario_lib.timeseries(default_scenario)
    frame = series.demand_mw.tz_convert("Asia/Karachi").copy()
    frame.index = [t.isoformat() for t in frame.index]
    frame.index.name = "timestamp"
    frame.to_csv(scenario_dir / "demand_hourly.csv", float_format="%.6f")
    _set_demand(scenario_dir, "hourly", "demand_hourly.csv")
    loaded = scenario_lib.timeseries(scenario_lib.load(scenario_dir / "scenario.yaml"))
    assert_allclose(loaded.demand_mw.to_numpy(), series.demand_mw.to_numpy(), atol=1e-5)


def test_ntdc_demand_format(scenario_dir: Path, default_scenario) -> None:
    """NTDC's DATE,HOUR(1-24, hour ending),SYSLOAD national MW, split by zone shares."""
    national = scenario_lib.timeseries(default_scenario).demand_mw.sum(axis=1)
    local = national.tz_convert("Asia/Karachi")
    lines = ["DATE,HOUR,SYSLOAD"]
    for t, mw in local.items():
        lines.append(f"{t:%d/%m/%Y},{t.hour + 1},{mw:.3f}")
    (scenario_dir / "ntdc.csv").write_text("\n".join(lines) + "\n")
    _set_demand(scenario_dir, "ntdc", "ntdc.csv")
    loaded = scenario_lib.timeseries(scenario_lib.load(scenario_dir / "scenario.yaml"))
    assert_allclose(loaded.demand_mw.sum(axis=1).to_numpy(), national.to_numpy(), atol=1e-3)
    assert_allclose(loaded.demand_mw["South"] / loaded.demand_mw.sum(axis=1), 0.22)


def test_ntdc_hour_out_of_range(scenario_dir: Path) -> None:
    (scenario_dir / "ntdc.csv").write_text("DATE,HOUR,SYSLOAD\n2024-07-01,0,15000\n")
    _set_demand(scenario_dir, "ntdc", "ntdc.csv")
    result = runner.invoke(app, ["scenario", "validate", str(scenario_dir / "scenario.yaml")])
    assert result.exit_code == 2
    assert "ntdc.csv: line 2, column HOUR: must be a whole hour 1-24 (hour ending) (got '0')" in (
        result.output.replace("\n", "")
    )


def _set_demand(directory: Path, fmt: str, file: str) -> None:
    import yaml

    path = directory / "scenario.yaml"
    data = yaml.safe_load(path.read_text())
    data["demand"]["format"] = fmt
    data["demand"]["file"] = file
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_scale_multiplies_demand(scenario_dir: Path, default_scenario) -> None:
    import yaml

    path = scenario_dir / "scenario.yaml"
    data = yaml.safe_load(path.read_text())
    data["demand"]["scale"] = 1.1
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    scaled = scenario_lib.timeseries(scenario_lib.load(path)).demand_mw
    base = scenario_lib.timeseries(default_scenario).demand_mw
    assert_allclose(scaled.to_numpy(), 1.1 * base.to_numpy())


def test_summary_figures(default_scenario: scenario_lib.Scenario) -> None:
    summary = summarize(default_scenario)
    national = summary.demand.loc["national"]
    assert national.energy_gwh == pytest.approx(
        summary.demand.loc[["North", "South"], "energy_gwh"].sum()
    )
    assert summary.fleet["total_mw"].sum() == pytest.approx(
        sum(g.p_nom_mw for g in default_scenario.generators)
    )
    assert summary.fleet.loc["imported_coal", "North"] == 1243.5
    assert summary.applicants.requested_mw.sum() == 2400
    # marginal cost = fuel Rs/kWh * 1000 / PKR per USD
    assert summary.fleet.loc["rfo", "cost_min_usd_per_mwh"] == pytest.approx(29.3e3 / 280)


def test_cli_show_and_init(tmp_path: Path) -> None:
    result = runner.invoke(app, ["scenario", "show"])
    assert result.exit_code == 0, result.output
    assert "pakistan-fy2025" in result.output and "imported_coal" in result.output
    result = runner.invoke(app, ["scenario", "init", str(tmp_path / "mine")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["scenario", "validate", str(tmp_path / "mine" / "scenario.yaml")])
    assert result.exit_code == 0, result.output
    again = runner.invoke(app, ["scenario", "init", str(tmp_path / "mine")])
    assert again.exit_code == 2 and "already exists" in again.output


@pytest.mark.parametrize("doc", ["scenario.md", "data.md"])
def test_generated_docs_are_current(doc: str, default_scenario) -> None:
    from megawatt.data import provenance
    from megawatt.scenario import docs

    text = docs.render() if doc == "scenario.md" else provenance.render(default_scenario)
    assert (ROOT / "docs" / doc).read_text() == text, f"run `make docs` to regenerate docs/{doc}"


def test_every_field_documented() -> None:
    from megawatt.scenario.docs import SECTIONS

    for _, model, _ in SECTIONS:
        for name, info in model.model_fields.items():
            if name in ("name", "provenance"):
                continue
            assert info.description, f"{model.__name__}.{name} has no description"


def test_python_built_scenario_needs_no_files(default_scenario) -> None:
    """A scenario built in Python validates with the same rules as a file."""
    data = default_scenario.model_dump()
    data["program"]["cap_mw"] = -1
    with pytest.raises(Exception, match=r"program\.cap_mw: must be > 0"):
        scenario_lib.validate(data)
    assert np.isfinite(default_scenario.voll_usd_per_mwh)
