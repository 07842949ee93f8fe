"""Database URL, engine, sessions and migrations.

No URL means an SQLite file ``./megawatt.db`` (nothing to install); production runs on
PostgreSQL (``postgresql+psycopg://...``). ``MEGAWATT_DATABASE_URL`` overrides the
default. On SQLite every transaction starts with ``BEGIN IMMEDIATE`` (one writer at a
time, taken at the start, so no read-then-write race); on PostgreSQL the ledger locks
cap rows with ``SELECT ... FOR UPDATE`` (megawatt.ops.ledger).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_SQLITE = "sqlite:///megawatt.db"
ENV_VAR = "MEGAWATT_DATABASE_URL"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def database_url(url: str | None = None) -> str:
    """``url``, else ``$MEGAWATT_DATABASE_URL``, else ``sqlite:///megawatt.db``."""
    return url or os.environ.get(ENV_VAR) or DEFAULT_SQLITE


def make_engine(url: str | None = None) -> Engine:
    """An engine for ``url`` with the per-dialect settings the ledger relies on."""
    url = database_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"timeout": 120, "check_same_thread": False},
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # Take transaction control away from the sqlite3 module so that
            # BEGIN IMMEDIATE below is the one and only BEGIN.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA busy_timeout = 120000")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=60)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One session, one transaction: committed on success, rolled back on any error."""
    with factory() as session, session.begin():
        yield session


def _alembic_config(engine: Engine | None) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(url: str | None = None, revision: str = "head") -> None:
    """Create or upgrade the schema to ``revision`` (default: the newest)."""
    from alembic import command

    engine = make_engine(url)
    try:
        command.upgrade(_alembic_config(engine), revision)
    finally:
        engine.dispose()


def downgrade(url: str | None = None, revision: str = "base") -> None:
    """Downgrade the schema to ``revision`` (default: nothing left)."""
    from alembic import command

    engine = make_engine(url)
    try:
        command.downgrade(_alembic_config(engine), revision)
    finally:
        engine.dispose()


def current_revision(url: str | None = None) -> str | None:
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def backup(url: str | None, dest: Path) -> Path:
    """A consistent copy of the database at ``url`` in the file ``dest``, taken while the
    service runs: SQLite's online backup API (a database file), or ``pg_dump
    --format=custom`` on PostgreSQL (restore with ``pg_restore``). ``dest`` must not
    exist (a backup never overwrites a file); it is written beside itself and renamed
    into place when complete, so a failed backup leaves nothing."""
    import shutil
    import sqlite3
    import subprocess

    from sqlalchemy.engine import make_url

    from megawatt.errors import InputError

    url = database_url(url)
    dest = Path(dest)
    if dest.exists():
        raise InputError(str(dest), "backup file", "exists already: choose a new file name")
    if not dest.parent.is_dir():
        raise InputError(str(dest.parent), "backup folder", "does not exist")
    partial = dest.with_name(f".{dest.name}.partial")
    parsed = make_url(url)
    try:
        if parsed.get_backend_name() == "sqlite":
            source = parsed.database
            if not source or source == ":memory:" or not Path(source).is_file():
                raise InputError(str(source), "database", "no SQLite database file to back up")
            src, out = sqlite3.connect(source), sqlite3.connect(partial)
            try:
                src.backup(out)
            finally:
                out.close()
                src.close()
        elif parsed.get_backend_name() == "postgresql":
            pg_dump = shutil.which("pg_dump")
            if pg_dump is None:
                raise InputError(
                    "pg_dump", "PATH", "not found: install the PostgreSQL client tools"
                )
            libpq = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
            done = subprocess.run(
                [pg_dump, "--format=custom", "--file", str(partial), "--dbname", libpq],
                capture_output=True,
                text=True,
                timeout=3600,
            )
            if done.returncode != 0:
                line = (done.stderr.strip().splitlines() or ["failed"])[-1]
                raise InputError(redact(url), "pg_dump", line)
        else:
            raise InputError(redact(url), "--db", "backup knows SQLite and PostgreSQL")
        partial.rename(dest)
    finally:
        partial.unlink(missing_ok=True)
    return dest


def redact(url: str) -> str:
    """The URL with any password hidden."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def head_revision() -> str:
    """The newest migration this version of megawatt ships."""
    from alembic.script import ScriptDirectory

    config = _alembic_config(None)
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head
