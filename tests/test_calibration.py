"""Calibration of the default baseline to FY2025, recomputed from the exported results."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from megawatt.data.calibration import calibration_table, load_targets, markdown, monthly_coal_table
from megawatt.report import export
from megawatt.report.build import write_outcome

ROOT = Path(__file__).resolve().parents[1]

#: Checks the default meets today; the rest are open (docs/calibration.md says why).
MET = [
    "hydro GWh",
    "nuclear GWh",
    "rlng_ccgt GWh",
    "thar_coal GWh",
    "imported_coal GWh",
    "local_gas GWh",
    "wind GWh",
    "imported coal share",
    "sahiwal capacity factor",
]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, default_outcome) -> dict[str, pd.DataFrame]:
    out = tmp_path_factory.mktemp("calibration") / "out"
    write_outcome(default_outcome, out)
    tables, _ = export.read_results(out)
    return tables


@pytest.fixture(scope="module")
def table(exported) -> pd.DataFrame:
    return calibration_table(exported["generators"], exported["monthly_energy_gwh"])


def test_targets_cover_the_issue(table) -> None:
    targets = load_targets()
    assert len(targets["technology_gwh"]["reported"]) == 7
    assert len(targets["monthly_imported_coal_gwh"]["reported"]) == 12
    assert sum(targets["technology_gwh"]["reported"].values()) == pytest.approx(124_333)
    assert len(table) == 7 + 1 + 3 + 1


@pytest.mark.parametrize("check", MET)
def test_met_targets_hold(table, check: str) -> None:
    row = table.loc[check]
    assert row.met, f"{check}: model {row.model:.4g} vs reported {row.reported:.4g}"


def test_monthly_errors_by_hand(exported) -> None:
    """A month's error is model / reported - 1 on the exported monthly energies."""
    monthly = monthly_coal_table(exported["monthly_energy_gwh"])
    m = exported["monthly_energy_gwh"]
    july = m[(m.case == "baseline") & (m.technology == "imported_coal") & (m.month == "2024-07")]
    assert monthly.loc["2024-07", "model"] == pytest.approx(float(july.energy_gwh.sum()))
    assert monthly.loc["2024-07", "error"] == pytest.approx(july.energy_gwh.sum() / 1137 - 1)


def test_doc_carries_the_generated_table(exported, table) -> None:
    text = (ROOT / "docs" / "calibration.md").read_text()
    assert markdown(table, monthly_coal_table(exported["monthly_energy_gwh"])) in text, (
        "docs/calibration.md is stale: paste `python -m megawatt.data.calibration`"
    )


@pytest.mark.xfail(strict=True, reason="open: Port Qasim and Hub run at 26%, 7 of 12 months")
def test_every_fy25_target_is_met(table) -> None:
    assert table.met.all(), table[~table.met].index.tolist()
