"""Migrations, the append-only guards and exact types, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

import needs
from megawatt.ops import db
from megawatt.ops.models import Contract, Operator, Site
from opsdb import client, db_url, migrated  # noqa: F401  (fixtures)

TABLES = {
    "operators",
    "sites",
    "licences",
    "applications",
    "contracts",
    "caps",
    "ledger_entries",
    "audit_entries",
    "clients",
    "signing_keys",
}
METERING = {"meters", "readings", "invoices", "invoice_lines"}
OPENADR = {
    "oadr_programs",
    "oadr_events",
    "oadr_reports",
    "oadr_subscriptions",
    "oadr_vens",
    "oadr_resources",
    "oadr_targets",
    "oadr_outbox",
    "oadr_outbox_bodies",
}
HEAD = db.head_revision()


def _tables(url: str) -> set[str]:
    engine = db.make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(db_url: str) -> None:  # noqa: F811
    assert db.current_revision(db_url) is None
    db.migrate(db_url)
    assert db.current_revision(db_url) == HEAD
    assert _tables(db_url) >= TABLES | OPENADR | METERING
    db.downgrade(db_url, "0004")
    assert not (_tables(db_url) & METERING) and _tables(db_url) >= TABLES | OPENADR
    db.downgrade(db_url, "0002")
    assert db.current_revision(db_url) == "0002"
    assert not (_tables(db_url) & (OPENADR | METERING))
    assert _tables(db_url) >= TABLES
    db.migrate(db_url)
    assert _tables(db_url) >= TABLES | OPENADR
    db.downgrade(db_url, "0001")
    assert db.current_revision(db_url) == "0001"
    assert "clients" not in _tables(db_url)
    db.downgrade(db_url)
    assert db.current_revision(db_url) is None
    assert not (_tables(db_url) & TABLES)
    db.migrate(db_url)
    assert db.current_revision(db_url) == HEAD
    assert _tables(db_url) >= TABLES | OPENADR | METERING


def _revisions() -> list[str]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(db._alembic_config(None))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def test_every_migration_steps_down_and_up(db_url: str) -> None:  # noqa: F811
    """Each revision, one at a time: up, down to the one before, up again (a broken
    downgrade of any single migration fails here, not only of the whole chain)."""
    revisions = _revisions()
    assert revisions[0] == "0001" and revisions[-1] == HEAD
    for before, rev in zip([None, *revisions], revisions, strict=False):
        db.migrate(db_url, rev)
        columns = _columns(db_url)
        db.downgrade(db_url, before or "base")
        assert db.current_revision(db_url) == before
        db.migrate(db_url, rev)
        assert db.current_revision(db_url) == rev and _columns(db_url) == columns


def _columns(url: str) -> dict[str, set[str]]:
    engine = db.make_engine(url)
    try:
        insp = inspect(engine)
        return {t: {c["name"] for c in insp.get_columns(t)} for t in insp.get_table_names()}
    finally:
        engine.dispose()


def test_migrate_is_idempotent(db_url: str) -> None:  # noqa: F811
    db.migrate(db_url)
    db.migrate(db_url)
    assert db.current_revision(db_url) == HEAD


@pytest.mark.parametrize("table", ["audit_entries", "ledger_entries"])
@pytest.mark.parametrize("statement", ["UPDATE {t} SET id = id", "DELETE FROM {t}"])
def test_append_only_tables_refuse_update_and_delete(
    migrated: str,  # noqa: F811
    table: str,
    statement: str,
) -> None:
    engine = db.make_engine(migrated)
    try:
        # The seeded caps wrote audit entries; put one ledger row in too.
        with engine.begin() as conn:
            conn.execute(
                text("INSERT INTO operators (name, created_at) VALUES ('o', :t)").bindparams(
                    t=dt.datetime(2026, 1, 1)
                )
            )
            conn.execute(
                text(
                    "INSERT INTO sites (operator_id, name, kind, zone, lat, lon, created_at) "
                    "VALUES (1, 's', 'btc_miner', 'z', 0, 0, :t)"
                ).bindparams(t=dt.datetime(2026, 1, 1))
            )
            conn.execute(
                text(
                    "INSERT INTO ledger_entries (site_id, kind, effective_from, delta_kw, "
                    "level_kw, reason, recorded_at, recorded_by) "
                    "VALUES (1, 'grant', :t, 1, 1, 'r', :t, 'x')"
                ).bindparams(t=dt.datetime(2026, 1, 1))
            )
        with engine.begin() as conn:
            before = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
        assert before > 0
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement.format(t=table)))
        with engine.begin() as conn:
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == before
    finally:
        engine.dispose()


def test_money_is_exact_and_times_are_utc(migrated: str) -> None:  # noqa: F811
    engine = db.make_engine(migrated)
    factory = db.session_factory(engine)
    try:
        karachi = dt.timezone(dt.timedelta(hours=5))
        with db.transaction(factory) as s:
            op = Operator(name="exact", created_at=dt.datetime(2026, 3, 1, 5, tzinfo=karachi))
            s.add(op)
            s.flush()
            site = Site(operator_id=op.id, name="s", kind="btc_miner", zone="z", lat=0, lon=0)
            s.add(site)
            s.flush()
            s.add(
                Contract(
                    site_id=site.id,
                    tariff_scheme="flat",
                    tariff_local_per_kwh=Decimal("22.980001"),
                    firm_share=Decimal("0.1"),
                    firm_service_level=Decimal("0.999999"),
                    notice_minutes=30,
                    ramp_minutes=15,
                    penalty_local_per_mwh=Decimal("123456789012.123456"),
                    start=dt.date(2026, 1, 1),
                    term_months=36,
                    review_months=6,
                )
            )
        with db.transaction(factory) as s:
            c = s.query(Contract).one()
            assert c.tariff_local_per_kwh == Decimal("22.980001")
            assert c.firm_share == Decimal("0.1")
            assert c.firm_service_level == Decimal("0.999999")
            assert c.penalty_local_per_mwh == Decimal("123456789012.123456")
            assert isinstance(c.penalty_local_per_mwh, Decimal)
            o = s.query(Operator).one()
            assert o.created_at == dt.datetime(2026, 3, 1, 0, tzinfo=dt.UTC)
            assert o.created_at.utcoffset() == dt.timedelta(0)
    finally:
        engine.dispose()


def _counts(url: str) -> dict[str, int]:
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            return {
                t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                for t in ("caps", "audit_entries", "clients")
            }
    finally:
        engine.dispose()


def test_backup_is_a_restorable_copy_and_never_overwrites(migrated: str, tmp_path) -> None:  # noqa: F811
    """`megawatt ops backup FILE`: SQLite's online backup or pg_dump; the copy (restored
    with pg_restore into a fresh database on PostgreSQL) holds the same rows; an
    existing file is refused and left as it was."""
    import shutil
    import subprocess

    import psycopg
    from sqlalchemy.engine import make_url
    from typer.testing import CliRunner

    from megawatt.cli import app
    from opsdb import PG_ADMIN, _pg_conninfo, add_client

    add_client(migrated, "kept", "authority")
    before = _counts(migrated)
    dest = tmp_path / "megawatt.backup"
    if migrated.startswith("postgresql") and shutil.which("pg_restore") is None:
        needs.missing("no pg_dump/pg_restore on PATH (PostgreSQL client tools)")
    run = CliRunner().invoke(app, ["ops", "--db", migrated, "backup", str(dest)])
    assert run.exit_code == 0, run.output
    assert dest.is_file() and not list(tmp_path.glob(".*partial"))
    again = CliRunner().invoke(app, ["ops", "--db", migrated, "backup", str(dest)])
    assert again.exit_code != 0 and "exists already" in again.output
    if migrated.startswith("sqlite"):
        assert _counts(f"sqlite:///{dest}") == before
        return
    name = make_url(migrated).database + "_restored"
    with psycopg.connect(_pg_conninfo(PG_ADMIN), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            restored = make_url(migrated).set(database=name)
            libpq = restored.set(drivername="postgresql").render_as_string(hide_password=False)
            subprocess.run(
                ["pg_restore", "--no-owner", "--dbname", libpq, str(dest)],
                check=True,
                capture_output=True,
            )
            assert _counts(restored.render_as_string(hide_password=False)) == before
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
