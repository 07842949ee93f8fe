"""Bad input never crashes, hangs or deletes (issue 12, parts 1-3).

Every case runs ``megawatt scenario validate`` and expects exit 2 and one line naming
the file, the field or line, the value and what is allowed, or a documented result.
Cases that could hang run in a subprocess with a time limit.
"""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from megawatt import scenario as scenario_lib
from megawatt.cli import app
from megawatt.scenario.series import snapshots

runner = CliRunner()


def _validate(path: Path) -> tuple[int, str]:
    result = runner.invoke(app, ["scenario", "validate", str(path)])
    return result.exit_code, result.output


def _one_line_error(path: Path, pattern: str) -> str:
    code, out = _validate(path)
    assert code == 2, out
    assert "Traceback" not in out
    text = out.replace("\n", "")  # rich may wrap a long line
    assert re.search(pattern, text), out
    return text


def _validate_in_subprocess(path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    proc = subprocess.run(
        [sys.executable, "-m", "megawatt", "scenario", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
        env=env,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    return proc


def _edit_yaml(path: Path, edit: Callable[[dict], None]) -> None:
    data = yaml.safe_load(path.read_text())
    edit(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _set(**fields: object) -> Callable[[dict], None]:
    def edit(data: dict) -> None:
        for dotted, value in fields.items():
            *parents, last = dotted.split("__")
            node = data
            for key in parents:
                node = node[key]
            node[last] = value

    return edit


# ---------------------------------------------------------------- 1. reading is bounded


@pytest.mark.parametrize(
    ("target", "problem"),
    [
        ("/dev/zero", "is not a regular file"),
        ("/dev/urandom", "is not a regular file"),
        ("fifo", "is not a regular file"),
        ("folder", "is a directory, expected a file"),
    ],
)
def test_special_files_are_refused_before_opening(
    scenario_dir: Path, target: str, problem: str
) -> None:
    if target == "fifo":
        os.mkfifo(scenario_dir / "fifo")
    elif target == "folder":
        (scenario_dir / "folder").mkdir()
    path = scenario_dir / "scenario.yaml"
    _edit_yaml(path, _set(generators=target))
    proc = _validate_in_subprocess(path)
    assert re.search(rf"{re.escape(target)}: {problem}", proc.stderr), proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_nul_byte_in_a_file_name(scenario_dir: Path) -> None:
    path = scenario_dir / "scenario.yaml"
    _edit_yaml(path, _set(profiles="profiles\0.csv"))
    _one_line_error(path, r"not a valid file name \(contains a NUL byte\)")


def test_file_over_the_size_limit(scenario_dir: Path) -> None:
    big = scenario_dir / "applicants.yaml"
    with big.open("r+b") as fh:
        fh.truncate(9 * 2**20)  # sparse: no disk used
    _one_line_error(
        scenario_dir / "scenario.yaml",
        r"applicants\.yaml: is larger than the 8 MB limit for this file \(got 9437184\)",
    )


def test_billion_laughs_is_rejected_while_reading(scenario_dir: Path) -> None:
    path = scenario_dir / "scenario.yaml"
    lines = ['lol0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        lines.append(f"lol{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]")
    path.write_text("\n".join(lines) + "\n")
    assert len(path.read_bytes()) < 600
    proc = _validate_in_subprocess(path)
    assert re.search(
        r"scenario\.yaml: line \d+, column \d+: more than 1,000,000 values once aliases are "
        r"expanded",
        proc.stderr,
    ), proc.stderr


def test_recursive_alias(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("name: &a [*a]\n")
    _one_line_error(path, r"s\.yaml: line 1, column 11: alias \*a inside its own anchor")


def test_deep_nesting(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("name: " + "[" * 1000 + "\n")
    _one_line_error(path, r"s\.yaml: line 1, column \d+: nested more than 64 levels deep")


def test_long_value_is_previewed(scenario_dir: Path) -> None:
    path = scenario_dir / "scenario.yaml"
    _edit_yaml(path, _set(name="x" * 100_000))
    text = _one_line_error(path, r"scenario\.yaml: name: .*\(got 'x{80}'…\)")
    assert len(text) < 400


def test_huge_csv_cell(scenario_dir: Path) -> None:
    path = scenario_dir / "generators.csv"
    lines = path.read_text().splitlines()
    lines.insert(3, 'x,North,hydro,1,,,,,,,,,,,,,,,,false,,,"' + "n" * 140_000 + '"')
    path.write_text("\n".join(lines) + "\n")
    _one_line_error(
        scenario_dir / "scenario.yaml",
        r"generators\.csv: line 4: a cell is longer than 131072 characters",
    )


# ---------------------------------------------------------------------- 2. time is handled


def test_start_in_a_dst_gap(scenario_dir: Path) -> None:
    path = scenario_dir / "scenario.yaml"
    _edit_yaml(path, _set(timezone="America/New_York", start="2024-03-10T02:00"))
    _one_line_error(
        path,
        r"scenario\.yaml: start: does not exist in America/New_York: clocks skip this hour "
        r"\(daylight-saving gap\); choose another start \(got '2024-03-10T02:00'\)",
    )


def test_start_in_a_fold_is_the_first_occurrence(default_scenario) -> None:
    raw = default_scenario.model_dump()
    raw.update(timezone="America/New_York", start="2024-11-03T01:00", hours=3)
    sc = scenario_lib.validate(raw)
    assert list(snapshots(sc)) == list(
        pd.date_range("2024-11-03T05:00", periods=3, freq="h", tz="UTC", name="snapshot")
    )


def _local_profiles(scenario_dir: Path, start: str, stamps: list[str]) -> Path:
    """A New York scenario of len(stamps) hours whose profiles.csv has naive times."""
    path = scenario_dir / "scenario.yaml"
    _edit_yaml(path, _set(timezone="America/New_York", start=start, hours=len(stamps)))
    profiles = scenario_dir / "profiles.csv"
    lines = profiles.read_text().splitlines()
    rows = [f"{stamp},{lines[1].split(',', 1)[1]}" for stamp in stamps]
    profiles.write_text("\n".join([lines[0], *rows]) + "\n")
    return path


def test_naive_profile_time_in_a_dst_gap(scenario_dir: Path) -> None:
    stamps = ["2025-03-09T00:00", "2025-03-09T01:00", "2025-03-09T02:00", "2025-03-09T03:00"]
    path = _local_profiles(scenario_dir, "2025-03-09T00:00", stamps)
    _one_line_error(
        path,
        r"profiles\.csv: line 4, column timestamp: does not exist in America/New_York: "
        r"clocks skip this hour \(daylight-saving gap\) \(got '2025-03-09T02:00'\)",
    )


def test_naive_profile_times_in_a_dst_fold(scenario_dir: Path) -> None:
    """The repeated 01:00 row is the second occurrence: four consecutive UTC hours."""
    stamps = ["2024-11-03T00:00", "2024-11-03T01:00", "2024-11-03T01:00", "2024-11-03T02:00"]
    path = _local_profiles(scenario_dir, "2024-11-03T00:00", stamps)
    code, out = _validate(path)
    assert code == 0, out
    assert "4 hours" in out


@pytest.mark.parametrize(
    ("name", "shown"),
    [("America", "'America'"), ("A" * 300, "'A{39}…'")],
    ids=["folder-of-zones", "300-characters"],
)
def test_time_zone_must_be_a_zone(scenario_dir: Path, name: str, shown: str) -> None:
    path = scenario_dir / "scenario.yaml"
    _edit_yaml(path, _set(timezone=name))
    text = _one_line_error(path, rf"scenario\.yaml: timezone: unknown time zone {shown}")
    assert len(text) < 300


# ------------------------------------------------- 3. validate means plan will not fail


def _applicant(i: int, **fields: object) -> Callable[[dict], None]:
    def edit(data: dict) -> None:
        data["applicants"][i].update(fields)

    return edit


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            _applicant(0, asic_mix=[{"model": "S99 Hyper", "share": 1.0}]),
            r"applicants\.yaml: applicants\[0\]\.asic_mix\[0\]\.model: unknown ASIC model; "
            r"allowed: .*\(got 'S99 Hyper'\)",
        ),
        (
            _applicant(0, asic_mix=[{"model": "S21", "share": 0.5}] * 2),
            r"applicants\.yaml: applicants\[0\]: asic_mix lists ASIC model 'S21' twice",
        ),
        (
            _applicant(1, value_usd_per_mwh=float("nan")),
            r"applicants\[1\]\.value_usd_per_mwh: input should be a finite number \(got nan\)",
        ),
    ],
    ids=["unknown-asic", "asic-twice", "nan-value"],
)
def test_applicant_checks(scenario_dir: Path, edit: Callable[[dict], None], expected: str) -> None:
    _edit_yaml(scenario_dir / "applicants.yaml", edit)
    _one_line_error(scenario_dir / "scenario.yaml", expected)


def test_committed_above_a_plant_cap(scenario_dir: Path) -> None:
    _edit_yaml(scenario_dir / "applicants.yaml", _applicant(0, committed_mw=600.0))
    path = scenario_dir / "scenario.yaml"
    _edit_yaml(path, _set(program__plant_caps_mw__china_power_hub=500.0))
    _one_line_error(
        path,
        r"applicants\.yaml: applicants\[0\]\.committed_mw: committed MW add up to 600, "
        r"above program\.plant_caps_mw\.china_power_hub = 500 \(got 600\.0\)",
    )


def test_unknown_gpu_model(scenario_dir: Path) -> None:
    path = scenario_dir / "applicants.yaml"
    data = yaml.safe_load(path.read_text())
    i = next(i for i, a in enumerate(data["applicants"]) if a.get("gpu_model"))
    data["applicants"][i]["gpu_model"] = "Z9000"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    _one_line_error(
        scenario_dir / "scenario.yaml",
        rf"applicants\[{i}\]\.gpu_model: unknown GPU model; allowed: .*\(got 'Z9000'\)",
    )


def test_no_applicants_is_a_baseline_only_study(scenario_dir: Path) -> None:
    from megawatt.planning import run_plan

    path = scenario_dir / "scenario.yaml"
    _edit_yaml(path, _set(applicants=[], hours=48))
    profiles = scenario_dir / "profiles.csv"
    profiles.write_text("\n".join(profiles.read_text().splitlines()[:49]) + "\n")
    code, out = _validate(path)
    assert code == 0 and "0 applicants, 48 hours" in out, out
    outcome = run_plan(scenario_lib.load(path))
    assert outcome.balance.applicants.empty
    assert outcome.result.program.applicant_summary().empty


def test_bootstrap_without_its_price_file(scenario_dir: Path) -> None:
    path = scenario_dir / "scenario.yaml"
    _edit_yaml(path, _set(risk__price_model="bootstrap", risk__price_history="prices.csv"))
    _one_line_error(
        path, r"scenario\.yaml: risk\.price_history: file not found \(got '.*prices\.csv'\)"
    )


def test_ntdc_hour_inf(scenario_dir: Path) -> None:
    (scenario_dir / "ntdc.csv").write_text(
        "DATE,HOUR,SYSLOAD\n01/07/2024,1,100\n01/07/2024,inf,100\n"
    )
    path = scenario_dir / "scenario.yaml"
    shares = {"North": 0.6, "South": 0.4}
    _edit_yaml(path, _set(demand={"format": "ntdc", "file": "ntdc.csv", "zone_shares": shares}))
    _one_line_error(
        path,
        r"ntdc\.csv: line 3, column HOUR: must be a whole hour 1-24 \(hour ending\) \(got 'inf'\)",
    )


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (_set(voll_usd_per_mwh=float("inf")), r"voll_usd_per_mwh: .*finite number \(got inf\)"),
        (_set(program__cap_mw="1e999"), r"program\.cap_mw: .*finite number \(got '1e999'\)"),
        (
            _set(program__tariff__local_per_kwh=float("nan")),
            r"program\.tariff\.local_per_kwh: .*finite number \(got nan\)",
        ),
        (
            _set(program__plant_caps_mw__sahiwal=float("inf")),
            r"program\.plant_caps_mw\.sahiwal: .*finite number \(got inf\)",
        ),
        (
            _set(market__fees_btc_per_block=float("-inf")),
            r"market\.fees_btc_per_block: .*finite number \(got -inf\)",
        ),
    ],
    ids=["voll-inf", "cap-1e999", "tariff-nan", "plant-cap-inf", "fees-minus-inf"],
)
def test_non_finite_numbers_in_yaml(
    scenario_dir: Path, edit: Callable[[dict], None], expected: str
) -> None:
    path = scenario_dir / "scenario.yaml"
    _edit_yaml(path, edit)
    _one_line_error(path, rf"scenario\.yaml: {expected}")


def test_non_finite_number_in_a_csv_row(scenario_dir: Path) -> None:
    path = scenario_dir / "generators.csv"
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[2].split(",")
    cells[header.index("p_nom_mw")] = "inf"
    lines[2] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    _one_line_error(
        scenario_dir / "scenario.yaml",
        r"generators\.csv: line 3, column p_nom_mw: input should be a finite number "
        r"\(got 'inf'\)",
    )


def test_duplicate_yaml_key(scenario_dir: Path) -> None:
    path = scenario_dir / "scenario.yaml"
    text = path.read_text()
    first = next(i for i, ln in enumerate(text.splitlines(), 1) if ln.startswith("hours:"))
    path.write_text(text + "hours: 24\n")
    last = len(text.splitlines()) + 1
    _one_line_error(
        path,
        rf"scenario\.yaml: line {last}, column 1: duplicate key 'hours' \(first on line "
        rf"{first}\)",
    )


def _with_notes(scenario_dir: Path, note: str) -> Path:
    """generators.csv with ``note`` as the first generator's notes (a quoted cell)."""
    path = scenario_dir / "generators.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    rows[1][rows[0].index("notes")] = note
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC).writerows(rows)
    return path


def test_quoted_newline_keeps_physical_line_numbers(scenario_dir: Path) -> None:
    path = _with_notes(scenario_dir, "first line\nsecond line")
    lines = path.read_text().split("\n")
    # physical line 5 is the third generator (the first spans lines 2-3)
    header = next(csv.reader([lines[0]]))
    assert lines[4].startswith('"') and lines[4].count('"') == 2 * len(header)
    cells = next(csv.reader([lines[4]]))
    cells[header.index("p_nom_mw")] = "-5"
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(cells)
    lines[4] = buf.getvalue()
    path.write_text("\n".join(lines))
    _one_line_error(
        scenario_dir / "scenario.yaml",
        r"generators\.csv: line 5, column p_nom_mw: must be >= 0 \(got '-5'\)",
    )


def test_line_separator_and_form_feed_in_quoted_cells(scenario_dir: Path) -> None:
    _with_notes(scenario_dir, "a\u2028b\fc")
    code, out = _validate(scenario_dir / "scenario.yaml")
    assert code == 0, out
    sc = scenario_lib.load(scenario_dir / "scenario.yaml")
    assert sc.generators[0].provenance.notes == "a\u2028b\fc"


def test_csv_truncated_inside_a_quoted_cell(scenario_dir: Path) -> None:
    path = scenario_dir / "generators.csv"
    lines = path.read_text().splitlines()
    cut = lines[5].rsplit(',"', 1)[0] + ',"half a note'
    path.write_text("\n".join([*lines[:5], cut]) + "\n")
    _one_line_error(
        scenario_dir / "scenario.yaml",
        r"generators\.csv: line 6: the file ends inside a quoted cell \(a missing closing "
        r"quote\?\)",
    )
