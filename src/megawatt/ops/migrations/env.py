"""Alembic environment: run with the engine megawatt.ops.db passes in (no alembic.ini)."""

from __future__ import annotations

from alembic import context

from megawatt.ops.models import Base

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
