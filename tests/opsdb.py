"""Database fixtures for the operations tests: every test runs on SQLite and PostgreSQL.

PostgreSQL: a fresh database ``megawatt_test_<random>`` is created through an autocommit
connection to the ``test`` database on 127.0.0.1:5432 and dropped at teardown.
Set MEGAWATT_TEST_PG (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``) to
point elsewhere; the PostgreSQL half is skipped, and says so, when no server answers.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import needs

PG_ADMIN = os.environ.get("MEGAWATT_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_conninfo(url: str) -> str:
    from sqlalchemy.engine import make_url

    u = make_url(url)
    parts = [f"host={u.host or '127.0.0.1'}", f"port={u.port or 5432}", f"dbname={u.database}"]
    if u.username:
        parts.append(f"user={u.username}")
    if u.password:
        parts.append(f"password={u.password}")
    return " ".join(parts)


#: The fast subset (`-m "not slow"`) runs the operations tests on SQLite; the full suite
#: (CI) runs every one on PostgreSQL too.
@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database URL, on each backend in turn."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'megawatt.db'}"
        return
    import psycopg
    from sqlalchemy.engine import make_url

    try:
        admin = psycopg.connect(_pg_conninfo(PG_ADMIN), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        needs.missing(f"no PostgreSQL at {PG_ADMIN}: {exc}")
    name = f"megawatt_test_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def migrated(db_url: str) -> str:
    """A database at the newest schema with the default scenario's caps."""
    from megawatt import scenario
    from megawatt.ops import db
    from megawatt.ops.seed import seed_caps

    db.migrate(db_url)
    engine = db.make_engine(db_url)
    try:
        with db.transaction(db.session_factory(engine)) as session:
            seed_caps(session, scenario.load_default(), actor="test")
    finally:
        engine.dispose()
    return db_url


def add_client(url: str, client_id: str, role: str, **scope: int) -> str:
    """Register an OAuth2 client; return its secret."""
    from megawatt.ops import auth, db

    engine = db.make_engine(url)
    try:
        with db.transaction(db.session_factory(engine)) as session:
            return auth.add_client(session, client_id, role, "test", **scope)
    finally:
        engine.dispose()


def token(http: object, client_id: str, secret: str) -> dict[str, str]:
    """The Authorization header of a fresh access token."""
    resp = http.post(  # type: ignore[attr-defined]
        "/auth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


@pytest.fixture
def client(migrated: str) -> Iterator[object]:
    """An in-process HTTP client of the app over the migrated database, signed in as
    the program authority (client id ``test-authority``)."""
    from fastapi.testclient import TestClient

    from megawatt.ops.app import create_app

    secret = add_client(migrated, "test-authority", "authority")
    app = create_app(migrated)
    with TestClient(app) as c:
        c.headers.update(token(c, "test-authority", secret))
        yield c
    app.state.engine.dispose()


def new_site(
    http: object,
    name: str,
    *,
    plant: str | None = "sahiwal",
    zone: str = "North",
    kind: str = "btc_miner",
    licensed: bool = True,
) -> tuple[int, int]:
    """An operator ``op-NAME`` with one site ``NAME`` (and an active licence ``L-NAME``
    from 2026-01-01 unless ``licensed`` is False) over the API; returns their ids."""
    op = http.post("/operators", json={"name": f"op-{name}"})  # type: ignore[attr-defined]
    assert op.status_code == 201, op.text
    body = {"operator_id": op.json()["id"], "name": name, "kind": kind, "zone": zone}
    site = http.post(  # type: ignore[attr-defined]
        "/sites", json={**body, "plant": plant, "lat": 30, "lon": 73}
    )
    assert site.status_code == 201, site.text
    if licensed:
        lic = http.post(  # type: ignore[attr-defined]
            "/licences",
            json={
                "site_id": site.json()["id"],
                "number": f"L-{name}",
                "valid_from": "2026-01-01T00:00:00Z",
            },
        )
        assert lic.status_code == 201, lic.text
    return op.json()["id"], site.json()["id"]


def publish(
    url: str,
    site_id: int,
    key: str,
    published: dt.datetime,
    intervals: list[tuple[dt.datetime, dt.timedelta, int]],
) -> int:
    """Create or change the event ``key`` as the VTN would at ``published`` (the VTN's
    clock is set to it: the event's times and its stored version say so)."""
    from unittest import mock

    from megawatt.ops import db
    from megawatt.ops.openadr import objects

    engine = db.make_engine(url)
    try:
        with (
            mock.patch.object(objects, "_now", lambda: published),
            db.transaction(db.session_factory(engine)) as s,
        ):
            return objects.upsert_event(
                s, key=key, site_id=site_id, intervals=intervals, actor="test"
            ).id
    finally:
        engine.dispose()


def contracted_site(
    http: Any,
    name: str,
    fsl: str = "0",
    *,
    plant: str | None = "sahiwal",
    zone: str = "North",
    **terms: Any,
) -> dict[str, Any]:
    """A licensed site (new_site) holding 4 MW from 2026-01-01 with a flat 20 PKR/kWh
    contract from 2026-01-01 (firm service level ``fsl``, no notice or ramp, 1500
    PKR/MWh penalty; ``terms`` override or add contract fields) and one meter
    ``M-name``; returns its id, operator id and meter serial."""
    op, sid = new_site(http, name, plant=plant, zone=zone)
    for path, body in (
        (
            "/contracts",
            {
                "site_id": sid,
                "tariff_scheme": "flat",
                "tariff_local_per_kwh": "20",
                "firm_share": fsl,
                "firm_service_level": fsl,
                "notice_minutes": 0,
                "ramp_minutes": 0,
                "penalty_local_per_mwh": "1500",
                "start": "2026-01-01",
                "term_months": 36,
                "review_months": 6,
                **terms,
            },
        ),
        (
            "/ledger",
            {
                "site_id": sid,
                "kind": "grant",
                "effective_from": "2026-01-01T00:00:00Z",
                "mw": "4",
                "reason": "test",
            },
        ),
        ("/meters", {"site_id": sid, "serial": f"M-{name}"}),
    ):
        r = http.post(path, json=body)
        assert r.status_code == 201, (path, r.text)
    return {"id": sid, "operator": op, "serial": f"M-{name}"}
