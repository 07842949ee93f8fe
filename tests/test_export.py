"""Exported files people open: full-precision CSVs, a workbook that opens on the
headline with frozen headers, number formats and a local-time column."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from factories import small_scenario
from megawatt.planning import run_plan
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
