"""import-plan and export-scenario on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from megawatt import scenario as scenario_lib
from megawatt.cli import app
from megawatt.ops import db, ledger
from megawatt.ops.models import AuditEntry, LedgerEntry, Licence, Site
from opsdb import db_url, migrated  # noqa: F401  (fixtures)

ALLOCATED = {
    "hub_miner_a": 600.0,
    "sahiwal_miner_c": 400.0,
    "karachi_ai": 300.0,
    "lahore_ai": 150.25,
}


@pytest.fixture
def plan_dir(tmp_path: Path) -> Path:
    """A plan output in megawatt's format (summary.json, data/allocations.parquet, the
    scenario copy) with allocations chosen here rather than solved (fast)."""
    sc = scenario_lib.load_default()
    out = tmp_path / "plan"
    scenario_lib.dump(sc, out / "scenario")
    (out / "data").mkdir()
    rows = [
        {
            "applicant": a.name,
            "kind": a.kind,
            "plant": a.plant,
            "requested_mw": a.requested_mw,
            "allocated_mw": ALLOCATED.get(a.name, 0.0),
        }
        for a in sc.applicants
    ]
    pd.DataFrame(rows).set_index("applicant").to_parquet(out / "data" / "allocations.parquet")
    summary = {"megawatt_version": "test", "generated_utc": "2026-12-01", "tables": ["allocations"]}
    (out / "summary.json").write_text(json.dumps(summary))
    return out


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_import_plan_is_idempotent_and_needs_licences(migrated: str, plan_dir: Path) -> None:  # noqa: F811
    out = _run("ops", "--db", migrated, "import-plan", str(plan_dir))
    assert "no active licence, not granted" in out
    engine = db.make_engine(migrated)
    factory = db.session_factory(engine)
    try:
        with db.transaction(factory) as s:
            assert s.scalar(select(func.count()).select_from(LedgerEntry)) == 0
            sites = {x.name: x for x in s.scalars(select(Site))}
            assert set(ALLOCATED) <= set(sites)
            for name in ALLOCATED:
                s.add(
                    Licence(
                        site_id=sites[name].id,
                        number=f"PVARA-{name}",
                        valid_from=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
                    )
                )
        _run("ops", "--db", migrated, "import-plan", str(plan_dir))
        start = dt.datetime(2025, 12, 31, 19, tzinfo=dt.UTC)  # 2026-01-01 00:00 Karachi
        with db.transaction(factory) as s:
            entries = list(s.scalars(select(LedgerEntry)))
            assert {e.effective_from for e in entries} == {start}
            levels = {x.name: ledger.level_kw(s, x.id, start) for x in s.scalars(select(Site))}
            assert {k: v for k, v in levels.items() if v} == {
                k: int(v * 1000) for k, v in ALLOCATED.items()
            }
            audits = s.scalar(select(func.count()).select_from(AuditEntry))
        out = _run("ops", "--db", migrated, "import-plan", str(plan_dir))
        assert "created 0 records; granted: -" in out
        with db.transaction(factory) as s:
            assert s.scalar(select(func.count()).select_from(LedgerEntry)) == len(entries)
            assert s.scalar(select(func.count()).select_from(AuditEntry)) == audits
    finally:
        engine.dispose()


def test_export_scenario_round_trips(migrated: str, plan_dir: Path, tmp_path: Path) -> None:  # noqa: F811
    _run("ops", "--db", migrated, "import-plan", str(plan_dir))
    engine = db.make_engine(migrated)
    try:
        with db.transaction(db.session_factory(engine)) as s:
            site = s.scalars(select(Site).where(Site.name == "karachi_ai")).one()
            s.add(
                Licence(
                    site_id=site.id, number="L", valid_from=dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
                )
            )
    finally:
        engine.dispose()
    _run("ops", "--db", migrated, "import-plan", str(plan_dir))
    _run("ops", "--db", migrated, "export-scenario", str(tmp_path / "live"))
    sc = scenario_lib.load(tmp_path / "live" / "scenario.yaml")
    default = scenario_lib.load_default()
    assert sc.program.cap_mw == 2000
    assert sc.program.plant_caps_mw == default.program.plant_caps_mw
    by_name = {a.name: a for a in sc.applicants}
    assert {a.name for a in default.applicants} == set(by_name)
    assert by_name["karachi_ai"].committed_mw == 300.0
    assert by_name["hub_miner_a"].committed_mw is None  # unlicensed: nothing granted
    assert (
        by_name["hub_miner_a"].requested_mw
        == {a.name: a for a in default.applicants}["hub_miner_a"].requested_mw
    )


def test_import_plan_writes_contracts_from_the_plans_terms(migrated: str, plan_dir: Path) -> None:  # noqa: F811
    """With the two terms a plan does not carry, each application gets its contract:
    the program's tariff, notice, start, term and reviews and the applicant's firm
    share (also its firm service level). Once only; half the options is an error."""
    from decimal import Decimal

    from megawatt.ops.models import Application, Contract

    sc = scenario_lib.load_default()
    half = CliRunner().invoke(
        app, ["ops", "--db", migrated, "import-plan", str(plan_dir), "--ramp-minutes", "15"]
    )
    assert half.exit_code != 0 and "--penalty-per-mwh" in half.output
    args = ("--ramp-minutes", "15", "--penalty-per-mwh", "12000.50")
    out = _run("ops", "--db", migrated, "import-plan", str(plan_dir), *args)
    assert "contracts created: " in out
    engine = db.make_engine(migrated)
    try:
        with db.transaction(db.session_factory(engine)) as s:
            contracts = {c.site_id: c for c in s.scalars(select(Contract))}
            sites = {x.id: x.name for x in s.scalars(select(Site))}
            apps = {a.id for a in s.scalars(select(Application))}
        assert {c.application_id for c in contracts.values()} == apps
        terms = sc.program.contract
        for site_id, c in contracts.items():
            applicant = next(a for a in sc.applicants if a.name == sites[site_id])
            assert c.tariff_scheme == sc.program.tariff.scheme
            assert c.tariff_local_per_kwh == Decimal(str(sc.program.tariff.local_per_kwh))
            assert c.firm_share == c.firm_service_level == Decimal(str(applicant.firm_share))
            assert (c.notice_minutes, c.ramp_minutes) == (terms.notice_minutes, 15)
            assert c.penalty_local_per_mwh == Decimal("12000.50")
            assert (c.start, c.review_months) == (terms.start, terms.review_months)
            assert c.term_months == round(terms.term_years * 12)
        again = _run("ops", "--db", migrated, "import-plan", str(plan_dir), *args)
        assert "contracts created: -" in again
        with db.transaction(db.session_factory(engine)) as s:
            assert len(s.scalars(select(Contract)).all()) == len(contracts)
    finally:
        engine.dispose()
