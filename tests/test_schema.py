"""The results schema lists every exported table and column, once, with its unit."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from megawatt.accounts import schema
from megawatt.accounts.tables import result_tables
from megawatt.data.provenance import provenance_table
from megawatt.report.build import sources_table
from megawatt.scenario.origin import origin_of

ROOT = Path(__file__).resolve().parents[1]


def test_every_exported_column_is_in_the_schema(default_outcome) -> None:
    sc = default_outcome.result.scenario
    tables = result_tables(default_outcome)
    tables["provenance"] = provenance_table(sc, origin_of(sc).base_dir)
    tables["sources"] = sources_table(origin_of(sc).base_dir)
    missing = [m for name, frame in tables.items() for m in schema.undocumented(name, frame)]
    assert not missing, f"add to src/megawatt/accounts/results.csv: {missing}"


def test_undocumented_columns_are_found() -> None:
    frame = pd.DataFrame({"allocated_mw": [1.0], "mystery_mw": [2.0]})
    frame.index.name = "applicant"
    assert schema.undocumented("allocations", frame) == ["allocations.mystery_mw"]
    assert schema.undocumented("nonsense", frame) == ["nonsense (table)"]


def test_schema_rows_are_well_formed() -> None:
    """Each table is declared before its columns, no column twice, roles and units known."""
    declared: set[str] = set()
    seen: set[tuple[str, str]] = set()
    for e in schema.entries():
        assert e.role in {"table", "index", "column", "each"}, e
        if e.role == "table":
            assert e.table not in declared and e.description, e
            declared.add(e.table)
            continue
        assert e.table in declared, f"{e.table}.{e.column} before its table row"
        assert (e.table, e.column) not in seen, f"{e.table}.{e.column} twice"
        seen.add((e.table, e.column))
        assert e.description, e
        if e.role != "each":
            assert e.label, e


def test_one_name_one_unit() -> None:
    """A column name means one unit in every table (e.g. served_gwh is always GWh)."""
    units: dict[str, set[str]] = {}
    for e in schema.entries():
        if e.role in ("column", "index"):
            units.setdefault(e.column, set()).add(e.unit)
    mixed = {name: u for name, u in units.items() if len(u) > 1}
    assert not mixed


def test_headers_carry_units() -> None:
    assert schema.header("allocations", "allocated_mw") == "allocated MW"
    assert schema.header("balance", "margin_usd") == "margin $"
    assert schema.header("horizon_periods", "revenue_musd") == "revenue M$"
    assert schema.header("balance", "charge_recovered_share") == "charges recovered"
    assert schema.header("anything", "made_up_col") == "made up col"


def test_docs_results_is_current() -> None:
    text = (ROOT / "docs" / "results.md").read_text(encoding="utf-8")
    assert text == schema.markdown(), "run `make docs` to regenerate docs/results.md"
