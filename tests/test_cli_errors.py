"""Bad input through the CLI: one line naming file, place, value and what is allowed; exit 2."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
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
        (2, "p_min_pu", "0.99", r"line 2: p_min_pu \(0\.99\) must be <= p_max_pu"),
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


# --- options checked before solving; one line, exit 2 (issue 12) ---


def _one_line_error(result, expected: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: ") and expected in lines[0], lines[0]
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["plan", "--solver", "bogus"], "--solver: must be one of choose, simplex, ipm"),
        (["risk", "--seed", "-1"], "--seed: must be from 0 to 4294967295 (got '-1')"),
        (["risk", "--draws", "0"], "--draws: must be from 1 to 10000000 (got '0')"),
        (["risk", "--draws", "many"], "--draws: must be a valid integer"),
        (["risk", "--volatility", "9"], "--volatility: must be from 0 to 5 (got '9')"),
        (["plan", "--bogus"], "No such option: --bogus (see megawatt plan --help)"),
        (["bogus"], "No such command 'bogus'"),
        (["headroom", "--mapping", "weekly"], "--mapping: must be one of duke, monthly, annual"),
    ],
    ids=["solver", "seed", "draws", "draws-text", "volatility", "option", "command", "mapping"],
)
def test_bad_options_one_line(args: list[str], expected: str) -> None:
    _one_line_error(runner.invoke(app, args, prog_name="megawatt"), expected)


def test_bad_option_from_real_entry_point() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "megawatt", "risk", "--seed", "-1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: --seed: must be from 0 to 4294967295 (got '-1')"


@pytest.mark.parametrize("command", ["plan", "risk"])
def test_out_refusals_before_solving(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_solving(*args: object, **kwargs: object) -> None:
        raise AssertionError("solved before checking --out")

    monkeypatch.setattr("megawatt.planning.run_plan", no_solving)
    monkeypatch.chdir(tmp_path)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    sc = tmp_path / "sc"
    sc.mkdir()
    (sc / "scenario.yaml").write_text("name: x\n")
    cases = [
        ([command, "--out", "."], "--out: is the current directory or contains it"),
        ([command, "--out", ".."], "--out: is the current directory or contains it"),
        ([command, "--out", str(mine)], "not empty and not a megawatt output"),
        ([command, str(sc / "scenario.yaml"), "--out", str(sc)], "holds the scenario"),
        ([command, str(sc / "scenario.yaml"), "--out", str(tmp_path)], "current directory"),
    ]
    for args, expected in cases:
        _one_line_error(runner.invoke(app, args), expected)
    assert (mine / "notes.txt").read_text() == "keep"


# --- megawatt report DIR on damaged results ---


@pytest.fixture(scope="module")
def small_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from factories import one_miner
    from megawatt.planning import run_plan
    from megawatt.report.build import write_outcome

    tmp = tmp_path_factory.mktemp("results")
    sc = one_miner(tmp)
    write_outcome(run_plan(sc, with_horizon=False), tmp / "out")
    return tmp / "out"


@pytest.fixture
def results(small_results: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "out"
    shutil.copytree(small_results, copy)
    return copy


def _damage_summary_list(d: Path) -> None:
    (d / "summary.json").write_text("[]")


def _damage_summary_bytes(d: Path) -> None:
    (d / "summary.json").write_bytes(b'{"tables": ["\xff\xfe"]}')


def _damage_parquet(d: Path) -> None:
    path = d / "data" / "balance.parquet"
    path.write_bytes(path.read_bytes()[:100])


def _damage_scenario(d: Path) -> None:
    (d / "scenario" / "scenario.yaml").write_bytes(b"name: caf\xe9\n")


def _damage_report_dir(d: Path) -> None:
    (d / "report.html").unlink()
    (d / "report.html").mkdir()


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (_damage_summary_list, "summary.json: must be a JSON object (a megawatt summary) (got [])"),
        (_damage_summary_bytes, "summary.json: byte 13: is not UTF-8 text"),
        (_damage_parquet, "balance.parquet: not a readable Parquet file"),
        (_damage_scenario, "scenario.yaml: byte 9: is not UTF-8 text"),
        (_damage_report_dir, "report.html: is a directory"),
    ],
    ids=[
        "summary-list",
        "summary-not-utf8",
        "parquet-truncated",
        "scenario-not-utf8",
        "report-dir",
    ],
)
def test_report_on_damaged_results(results: Path, damage, expected: str) -> None:
    damage(results)
    before = {p.name for p in results.iterdir()}
    html = results / "report.html"
    old = html.read_bytes() if html.is_file() else None
    _one_line_error(runner.invoke(app, ["report", str(results)]), expected)
    assert {p.name for p in results.iterdir()} == before  # no temporary file left
    assert (html.read_bytes() if html.is_file() else None) == old


def test_report_cannot_write(results: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A read-only folder (simulated: the tests may run as root, who may write anyway)."""
    old = (results / "report.html").read_bytes()

    def denied(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "write_text", denied)
    _one_line_error(
        runner.invoke(app, ["report", str(results)]), "report.html: cannot write: Permission denied"
    )
    assert (results / "report.html").read_bytes() == old
    assert not list(results.glob(".report.html.*"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_report_read_only_folder(results: Path) -> None:
    os.chmod(results, 0o555)
    try:
        _one_line_error(runner.invoke(app, ["report", str(results)]), "Permission denied")
    finally:
        os.chmod(results, 0o755)


def test_report_rerenders_intact_results(results: Path) -> None:
    result = runner.invoke(app, ["report", str(results)])
    assert result.exit_code == 0, result.output


# --- risk --scheduler at something that is not a Dask scheduler ---


@pytest.fixture
def short_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("megawatt.risk.runner.SCHEDULER_TIMEOUT_S", 0.5)


def test_scheduler_that_never_answers(short_timeout: None, tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # never accepts: the kernel completes the connect, nobody talks
        address = f"tcp://127.0.0.1:{listener.getsockname()[1]}"
        start = time.monotonic()
        result = runner.invoke(app, ["risk", "--scheduler", address, "--out", str(tmp_path / "o")])
    _one_line_error(
        result,
        f"--scheduler: {address}: cannot reach a Dask scheduler there "
        "(connected, but no Dask handshake within 0.5 s)",
    )
    assert time.monotonic() - start < 60


def test_scheduler_that_speaks_http(short_timeout: None, tmp_path: Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def serve() -> None:
        with contextlib.suppress(OSError):
            conn, _ = listener.accept()
            with conn:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                time.sleep(1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    address = f"tcp://127.0.0.1:{listener.getsockname()[1]}"
    try:
        result = runner.invoke(app, ["risk", "--scheduler", address, "--out", str(tmp_path / "o")])
    finally:
        listener.close()
        thread.join(5)
    _one_line_error(result, f"--scheduler: {address}: answers HTTP, not the Dask protocol")


def test_scheduler_refused_and_malformed() -> None:
    from megawatt.errors import InputError
    from megawatt.risk.runner import probe_scheduler

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: refused
    with pytest.raises(
        InputError, match=r"cannot reach a Dask scheduler there \(Connection refused\)"
    ):
        probe_scheduler(f"127.0.0.1:{port}", timeout=1)
    with pytest.raises(InputError, match="must be tcp://HOST:PORT"):
        probe_scheduler("tcp://host:port")
