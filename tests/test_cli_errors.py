"""Bad input through the CLI: one line naming file, place, value and what is allowed; exit 2."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from megawatt.cli import app

runner = CliRunner()


def _validate(path: Path) -> tuple[int, str]:
    result = runner.invoke(app, ["scenario", "validate", str(path)])
    return result.exit_code, result.output


def _edit_yaml(path: Path, edit: Callable[[dict], None]) -> None:
    data = yaml.safe_load(path.read_text())
    edit(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _edit_lines(path: Path, edit: Callable[[list[str]], list[str]]) -> None:
    lines = path.read_text().splitlines()
    path.write_text("\n".join(edit(lines)) + "\n")


def _set_csv_cell(path: Path, line: int, column: str, value: str) -> None:
    def edit(lines: list[str]) -> list[str]:
        import csv
        import io

        header = next(csv.reader([lines[0]]))
        cells = next(csv.reader([lines[line - 1]]))
        cells[header.index(column)] = value
        buf = io.StringIO()
        csv.writer(buf, lineterminator="").writerow(cells)
        lines[line - 1] = buf.getvalue()
        return lines

    _edit_lines(path, edit)


def test_default_copy_validates(scenario_dir: Path) -> None:
    code, out = _validate(scenario_dir / "scenario.yaml")
    assert code == 0, out
    assert "ok" in out and "8760 hours" in out


def _del_cap(d: dict) -> None:
    del d["program"]["cap_mw"]


def _cap_text(d: dict) -> None:
    d["program"]["cap_mw"] = "lots"


def _neg_voll(d: dict) -> None:
    d["voll_usd_per_mwh"] = -5


def _link_zone(d: dict) -> None:
    d["links"][0]["to_zone"] = "East"


def _plant(d: dict) -> None:
    d["program"]["plant_caps_mw"]["nowhere"] = 100


def _dup_zone(d: dict) -> None:
    d["zones"].append({"name": "North"})


def _unknown_field(d: dict) -> None:
    d["program"]["cap_gw"] = 2


def _bad_tz(d: dict) -> None:
    d["timezone"] = "Mars/Olympus"


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (_del_cap, r"scenario\.yaml: program\.cap_mw: required field is missing"),
        (_cap_text, r"scenario\.yaml: program\.cap_mw: must be a number \(got 'lots'\)"),
        (_neg_voll, r"scenario\.yaml: voll_usd_per_mwh: must be > 0 \(got -5\)"),
        (_link_zone, r"links\[0\]\.to_zone: unknown zone; allowed: North, South \(got 'East'\)"),
        (_plant, r"program\.plant_caps_mw\.nowhere: unknown generator.*\(got 'nowhere'\)"),
        (_dup_zone, r"zones\[2\]\.name: duplicate name \(got 'North'\)"),
        (_unknown_field, r"program\.cap_gw: unknown field"),
        (_bad_tz, r"timezone: unknown time zone 'Mars/Olympus'"),
    ],
    ids=[
        "missing",
        "wrong-type",
        "negative",
        "unknown-zone",
        "unknown-generator",
        "duplicate",
        "unknown-field",
        "timezone",
    ],
)
def test_yaml_errors(scenario_dir: Path, edit: Callable[[dict], None], expected: str) -> None:
    path = scenario_dir / "scenario.yaml"
    _edit_yaml(path, edit)
    code, out = _validate(path)
    assert code == 2
    assert re.search(expected, out.replace("\n", "")), out
    assert "Traceback" not in out


@pytest.mark.parametrize(
    ("line", "column", "value", "expected"),
    [
        (
            3,
            "p_nom_mw",
            "-5",
            r"generators\.csv: line 3, column p_nom_mw: must be >= 0 \(got '-5'\)",
        ),
        (3, "p_max_pu", "1.5", r"line 3, column p_max_pu: must be <= 1 \(got '1\.5'\)"),
        (4, "p_nom_mw", "many", r"line 4, column p_nom_mw: must be a number \(got 'many'\)"),
        (2, "zone", "East", r"line 2, column zone: unknown zone; allowed: North, South"),
        (3, "name", "hydro_wapda", r"line 3, column name: duplicate name \(got 'hydro_wapda'\)"),
        (2, "p_max_pu_profile", "nope", r"line 2, column p_max_pu_profile: unknown profile"),
        (2, "fuel_imported", "maybe", r"line 2, column fuel_imported: must be true or false"),
        (4, "p_min_pu", "0.99", r"line 4: p_min_pu \(0\.99\) must be <= p_max_pu"),
    ],
    ids=[
        "negative",
        "out-of-range",
        "non-numeric",
        "unknown-zone",
        "duplicate",
        "unknown-profile",
        "bool",
        "floor-above-ceiling",
    ],
)
def test_generator_csv_errors(
    scenario_dir: Path, line: int, column: str, value: str, expected: str
) -> None:
    _set_csv_cell(scenario_dir / "generators.csv", line, column, value)
    code, out = _validate(scenario_dir / "scenario.yaml")
    assert code == 2
    assert re.search(expected, out.replace("\n", "")), out


def test_malformed_csv_row(scenario_dir: Path) -> None:
    _edit_lines(scenario_dir / "generators.csv", lambda ls: [*ls[:5], "a,b,c", *ls[5:]])
    code, out = _validate(scenario_dir / "scenario.yaml")
    assert code == 2
    assert re.search(r"generators\.csv: line 6: has 3 cells, the header has 23", out), out


def test_unknown_csv_column(scenario_dir: Path) -> None:
    _edit_lines(
        scenario_dir / "generators.csv",
        lambda ls: [ls[0].replace("vom_usd_per_mwh", "vom"), *ls[1:]],
    )
    code, out = _validate(scenario_dir / "scenario.yaml")
    assert code == 2
    assert "line 1: unknown column; allowed:" in out.replace("\n", "") and "'vom'" in out


def test_profiles_wrong_length(scenario_dir: Path) -> None:
    _edit_lines(scenario_dir / "profiles.csv", lambda ls: ls[:-24])
    code, out = _validate(scenario_dir / "scenario.yaml")
    assert code == 2
    assert "profiles.csv: has 8736 hourly rows; the scenario needs 8760" in out.replace("\n", "")


def test_profiles_gap(scenario_dir: Path) -> None:
    _edit_lines(scenario_dir / "profiles.csv", lambda ls: ls[:100] + ls[101:])
    code, out = _validate(scenario_dir / "scenario.yaml")
    assert code == 2
    expected = r"profiles\.csv: line 101, column timestamp: gap of 2 h"
    assert re.search(expected, out.replace("\n", ""))


def test_profiles_duplicate_timestamp(scenario_dir: Path) -> None:
    _edit_lines(scenario_dir / "profiles.csv", lambda ls: [*ls[:50], ls[49], *ls[50:]])
    code, out = _validate(scenario_dir / "scenario.yaml")
    assert code == 2
    expected = "profiles.csv: line 51, column timestamp: duplicate timestamp"
    assert expected in out.replace("\n", "")


def test_profiles_non_numeric_and_range(scenario_dir: Path) -> None:
    path = scenario_dir / "profiles.csv"
    _set_csv_cell(path, 10, "wind_south", "windy")
    code, out = _validate(scenario_dir / "scenario.yaml")
    assert code == 2
    expected = "profiles.csv: line 10, column wind_south: must be a number (got 'windy')"
    assert expected in out.replace("\n", "")
    _set_csv_cell(path, 10, "wind_south", "1.2")
    code, out = _validate(scenario_dir / "scenario.yaml")
    assert "line 10, column wind_south: must be <= 1 (got '1.2')" in out.replace("\n", "")


def test_profiles_bad_timestamp(scenario_dir: Path) -> None:
    _set_csv_cell(scenario_dir / "profiles.csv", 7, "timestamp", "yesterday")
    code, out = _validate(scenario_dir / "scenario.yaml")
    assert code == 2
    assert "line 7, column timestamp: must be an ISO 8601 time" in out.replace("\n", "")


def test_monthly_demand_missing_month(scenario_dir: Path) -> None:
    _edit_lines(scenario_dir / "demand_monthly.csv", lambda ls: [ls[0], *ls[2:]])
    code, out = _validate(scenario_dir / "scenario.yaml")
    assert code == 2
    assert "demand_monthly.csv: no energy for month 2024-07" in out.replace("\n", "")


def test_yaml_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("- just\n- a list\n")
    code, out = _validate(path)
    assert code == 2
    assert "s.yaml: must be a YAML mapping" in out.replace("\n", "") and "(got 'list')" in out


def test_yaml_syntax_error(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("name: [unclosed\n")
    code, out = _validate(path)
    assert code == 2
    assert "s.yaml: line 2" in out and "invalid YAML" in out


def test_missing_file(tmp_path: Path) -> None:
    code, out = _validate(tmp_path / "nope.yaml")
    assert code == 2
    assert "nope.yaml: file not found" in out


def test_applicant_errors(scenario_dir: Path) -> None:
    path = scenario_dir / "applicants.yaml"

    def edit(d: dict) -> None:
        d["applicants"][1]["requested_mw"] = 0

    _edit_yaml(path, edit)
    code, out = _validate(scenario_dir / "scenario.yaml")
    assert code == 2
    assert re.search(
        r"applicants\.yaml: applicants\[1\]\.requested_mw: must be > 0 \(got 0\)",
        out.replace("\n", ""),
    ), out


def test_applicant_plant_zone_mismatch(scenario_dir: Path) -> None:
    def edit(d: dict) -> None:
        d["applicants"][0]["zone"] = "North"

    _edit_yaml(scenario_dir / "applicants.yaml", edit)
    code, out = _validate(scenario_dir / "scenario.yaml")
    assert code == 2
    assert "applicants[0].zone: must be the zone of its plant china_power_hub (South)" in (
        out.replace("\n", "")
    )


def test_no_traceback_from_real_entry_point(tmp_path: Path) -> None:
    """The installed console path (python -m megawatt) prints one line, exit 2."""
    path = tmp_path / "s.yaml"
    path.write_text("42\n")
    proc = subprocess.run(
        [sys.executable, "-m", "megawatt", "scenario", "validate", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "must be a YAML mapping" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) <= 2
