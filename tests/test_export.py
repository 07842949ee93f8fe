"""Exported files people open: full-precision CSVs, a workbook that opens on the
headline with frozen headers, number formats and a local-time column."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from factories import small_scenario
from megawatt.errors import InputError
from megawatt.planning import run_plan
from megawatt.report import export
from megawatt.report.build import write_outcome
from megawatt.report.export import DATA, SUMMARY, WORKBOOK


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("export")
    sc = small_scenario(
        tmp,
        {"A": [50.0, 80.0, 120.0, 60.0]},
        [
            {"name": "cheap", "zone": "A", "p_nom_mw": 100, "fuel_cost_local_per_kwh": 0.0123456},
            {"name": "dear", "zone": "A", "p_nom_mw": 100, "fuel_cost_local_per_kwh": 0.0987654},
        ],
        [
            {
                "name": "m",
                "kind": "btc_miner",
                "zone": "A",
                "requested_mw": 70,
                "value_usd_per_mwh": 45.6789,
            }
        ],
        tariff_usd_per_mwh=31.4159,
        timezone="Asia/Karachi",
    )
    out = tmp / "out"
    write_outcome(run_plan(sc, with_horizon=False), out)
    return out


def test_csv_keeps_full_precision(written: Path) -> None:
    """Every number in every CSV equals the Parquet copy exactly (no 6-digit rounding)."""
    for path in sorted((written / DATA).glob("*.csv")):
        parquet = pd.read_parquet(path.with_suffix(".parquet"))
        csv = pd.read_csv(path)
        numeric = parquet.reset_index() if parquet.index.names[0] is not None else parquet
        for column in numeric.columns:
            if pd.api.types.is_float_dtype(numeric[column]):
                assert np.array_equal(
                    csv[str(column)].to_numpy(dtype=float),
                    numeric[column].to_numpy(dtype=float),
                    equal_nan=True,
                ), f"{path.name}:{column}"


def test_csv_has_no_unnamed_index(written: Path) -> None:
    for path in sorted((written / DATA).glob("*.csv")):
        header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
        assert all(h and not h.startswith("Unnamed") for h in header), path.name


def test_workbook_opens_on_the_headline(written: Path) -> None:
    book = openpyxl.load_workbook(written / WORKBOOK)
    assert book.sheetnames[0] == "headline"
    head = book["headline"]
    figures = {row[0].value: row[1].value for row in head.iter_rows(min_row=2)}
    summary = json.loads((written / SUMMARY).read_text(encoding="utf-8"))["headline"]
    assert figures["allocated_mw"] == summary["allocated_mw"] == pytest.approx(50.0)
    assert figures["margin_musd"] == summary["margin_musd"]
    assert head.freeze_panes == "A2"


def test_workbook_sheets_have_frozen_headers_formats_and_local_time(written: Path) -> None:
    book = openpyxl.load_workbook(written / WORKBOOK)
    served = book["served_mw"]
    assert served.freeze_panes == "B2"  # header row and the UTC hour
    header = [c.value for c in served[1]]
    assert header[:3] == ["snapshot", "local_time", "m"]
    utc, local = served["A2"].value, served["B2"].value
    assert (local - utc).total_seconds() == 5 * 3600  # Asia/Karachi is UTC+5
    assert served["A1"].comment is not None and "UTC" in served["A1"].comment.text
    balance = book["balance"]
    header = [c.value for c in balance[1]]
    share = header.index("charge_recovered_share") + 1
    assert balance.cell(row=2, column=share).number_format == "0.0%"
    money = header.index("revenue_usd") + 1
    assert balance.cell(row=2, column=money).number_format == "#,##0.00"


def test_report_tables_use_the_schema_headers(written: Path) -> None:
    """The HTML report labels an exported table's columns as the schema does (the CLI
    reads the same function): one label and unit per column everywhere."""
    from megawatt.accounts import schema

    page = (written / "report.html").read_text(encoding="utf-8")
    for table, column in (
        ("allocations", "allocated_mw"),
        ("allocations", "curtailed_hours"),
        ("caps", "value_usd_per_mw"),
        ("applicant_accounts", "value_usd_per_mwh"),
    ):
        assert f"<th>{schema.header(table, column)}</th>" in page, (table, column)
    # a column stored in USD and shown in millions says so
    assert "<th>margin M$</th>" in page


# --- `--out DIR`: what it refuses, symlinks, stale siblings, permissions (issue 12) ---


def _fill(tmp: Path) -> None:
    (tmp / SUMMARY).write_text(json.dumps({"megawatt_version": "new"}), encoding="utf-8")
    (tmp / "data").mkdir()


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # reaped: the pid is free
    return proc.pid


def _siblings(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def test_out_refuses_a_foreign_non_empty_folder(tmp_path: Path) -> None:
    mine = tmp_path / "thesis"
    mine.mkdir()
    (mine / "chapter1.tex").write_text("years of work")
    with pytest.raises(InputError, match=r"not empty and not a megawatt output.*--force"):
        export.write_atomically(mine, _fill)
    assert (mine / "chapter1.tex").read_text() == "years of work"
    assert _siblings(tmp_path) == []
    export.write_atomically(mine, _fill, force=True)
    assert sorted(p.name for p in mine.iterdir()) == ["data", SUMMARY]


def test_out_replaces_an_empty_folder_or_an_earlier_output(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    export.write_atomically(tmp_path / "empty", _fill)
    export.write_atomically(tmp_path / "empty", _fill)  # an earlier output: no --force
    assert export.is_megawatt_output(tmp_path / "empty")
    assert _siblings(tmp_path) == []


def test_out_refuses_the_current_directory_and_its_ancestors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    for out in (Path("."), Path(".."), tmp_path, Path("/")):
        with pytest.raises(InputError, match="is the current directory or contains it"):
            export.check_out_dir(out, force=True)


def test_out_refuses_the_scenarios_folder(tmp_path: Path) -> None:
    scenario = tmp_path / "sc" / "scenario.yaml"
    scenario.parent.mkdir()
    scenario.write_text("name: x\n")
    for out in (tmp_path / "sc", tmp_path):
        with pytest.raises(InputError, match="holds the scenario"):
            export.check_out_dir(out, force=True, scenario=scenario)
    export.check_out_dir(tmp_path / "sc" / "out", scenario=scenario)  # inside it is fine


def test_out_symlink_stays_a_symlink(tmp_path: Path) -> None:
    target = tmp_path / "real"
    target.mkdir()
    (target / SUMMARY).write_text(json.dumps({"megawatt_version": "old"}))
    link = tmp_path / "link"
    link.symlink_to(target, target_is_directory=True)
    export.write_atomically(link, _fill)
    assert link.is_symlink() and link.resolve() == target.resolve()
    assert json.loads((target / SUMMARY).read_text())["megawatt_version"] == "new"
    assert _siblings(tmp_path) == []


def test_out_cleans_stale_siblings_of_dead_runs_only(tmp_path: Path) -> None:
    dead = _dead_pid()
    out = tmp_path / "out"
    export.write_atomically(out, _fill)
    stale_new = tmp_path / f".out.new-{dead}-abc"
    stale_old = tmp_path / f".out.old-{dead}-def"
    live = tmp_path / f".out.new-{os.getpid()}-ghi"  # a run still going
    other = tmp_path / f".other.new-{dead}-jkl"  # another output's
    for path in (stale_new, stale_old, live, other):
        path.mkdir()
        (path / "x").write_text("x")
    export.check_out_dir(out)
    assert _siblings(tmp_path) == sorted([live.name, other.name])


def test_out_moved_aside_by_a_killed_swap_is_put_back(tmp_path: Path) -> None:
    """Without atomic exchange the swap is two renames; killed between them, the
    previous result sits in .out.old-PID-*: the next run puts it back first."""
    dead = _dead_pid()
    aside = tmp_path / f".out.old-{dead}-abc"
    aside.mkdir()
    (aside / SUMMARY).write_text(json.dumps({"megawatt_version": "old"}))
    (tmp_path / f".out.new-{dead}-def").mkdir()
    export.check_out_dir(tmp_path / "out")
    assert json.loads((tmp_path / "out" / SUMMARY).read_text())["megawatt_version"] == "old"
    assert _siblings(tmp_path) == []


def test_swap_without_atomic_exchange(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export, "_exchange", lambda a, b: False)
    out = tmp_path / "out"
    export.write_atomically(out, _fill)
    export.write_atomically(out, _fill)
    assert export.is_megawatt_output(out)
    assert _siblings(tmp_path) == []


def test_out_folders_get_the_users_umask(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        out = export.write_atomically(tmp_path / "out", _fill)
        assert stat.S_IMODE(out.stat().st_mode) == 0o755  # not mkdtemp's 0700
        assert stat.S_IMODE((out / "data").stat().st_mode) == 0o755
        os.umask(0o077)
        export.write_atomically(out, _fill)
        assert stat.S_IMODE(out.stat().st_mode) == 0o700
    finally:
        os.umask(previous)
