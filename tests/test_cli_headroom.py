"""`megawatt headroom`: Duke method on a load series, beside the zonal-dispatch answer."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from factories import small_scenario
from megawatt.cli import app
from megawatt.scenario import dump

runner = CliRunner()


def test_headroom_default_duke_only() -> None:
    result = runner.invoke(app, ["headroom", "--no-dispatch", "--mapping", "annual"])
    assert result.exit_code == 0, result.output
    assert "Duke method on national demand of pakistan-fy2025 (thresholds: annual)" in (
        result.output.replace("\n", " ")
    )
    assert "0.25%" in result.output and "5.00%" in result.output


def test_headroom_with_dispatch(tmp_path: Path) -> None:
    sc = small_scenario(
        tmp_path,
        {"A": [40, 60, 80, 100] * 6},
        [{"name": "g", "zone": "A", "p_nom_mw": 100, "fuel_cost_local_per_kwh": 0.01}],
    )
    path = dump(sc, tmp_path / "files")
    load = tmp_path / "load.csv"
    rows = ["timestamp,load_mw"] + [
        f"2023-01-01T{h:02d}:00,{[40, 60, 80, 100][h % 4]}" for h in range(24)
    ]
    load.write_text("\n".join(rows) + "\n")
    result = runner.invoke(
        app, ["headroom", str(load), "--scenario", str(path), "--mapping", "annual"]
    )
    assert result.exit_code == 0, result.output
    assert "Zonal dispatch of small" in result.output


def test_headroom_bad_input(tmp_path: Path) -> None:
    load = tmp_path / "load.csv"
    load.write_text("timestamp,load_mw\n2023-01-01T00:00,abc\n")
    result = runner.invoke(app, ["headroom", str(load), "--no-dispatch"])
    assert result.exit_code == 2
    assert "load.csv: line 2, column load_mw: must be a number (got 'abc')" in (
        result.output.replace("\n", "")
    )
    result = runner.invoke(app, ["headroom", "--mapping", "weekly", "--no-dispatch"])
    assert result.exit_code == 2 and "must be one of duke, monthly, annual" in result.output


def test_headroom_refuses_absurd_load(tmp_path: Path) -> None:
    load = tmp_path / "load.csv"
    rows = ["timestamp,load_mw"] + [f"2023-01-01T{h:02d}:00,1e15" for h in range(24)]
    load.write_text("\n".join(rows) + "\n")
    result = runner.invoke(app, ["headroom", str(load), "--no-dispatch"])
    assert result.exit_code == 2
    assert "load.csv: line 2, column load_mw: must be <= 1e+07 MW (got '1e15')" in (
        result.output.replace("\n", "")
    )
