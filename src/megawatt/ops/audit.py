"""The audit trail: every write adds one entry in the same transaction (append-only)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from megawatt.ops.models import AuditEntry, Base


def snapshot(row: Base | None) -> dict[str, Any] | None:
    """The row's columns as JSON-ready values (Decimal and times as text)."""
    if row is None:
        return None
    out: dict[str, Any] = {}
    for column in inspect(row).mapper.column_attrs:
        value = getattr(row, column.key)
        out[column.key] = value if isinstance(value, int | float | str | None) else str(value)
    return out


def record(
    session: Session,
    actor: str,
    action: str,
    entity: str,
    entity_id: int | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> AuditEntry:
    entry = AuditEntry(
        actor=actor,
        action=action,
        entity=entity,
        entity_id=entity_id,
        before=before,
        after=after,
    )
    session.add(entry)
    session.flush()
    return entry
