"""A throwaway PostgreSQL database for the benchmarks (created next to the admin URL's
database, dropped on exit, whatever happened)."""

from __future__ import annotations

import uuid


class FreshPostgres:
    """A fresh database next to ``admin_url``'s, dropped on exit."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.name = f"megawatt_bench_{uuid.uuid4().hex[:10]}"

    def __enter__(self) -> str:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        self.admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{self.name}"'))
        return make_url(self.admin_url).set(database=self.name).render_as_string(False)

    def __exit__(self, *exc: object) -> None:
        from sqlalchemy import text

        with self.admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()
