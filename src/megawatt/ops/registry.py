"""Registry changes that carry a rule beyond the row itself (shared by the API and the
dashboard, so both apply it the same way)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from megawatt.ops import audit, ledger
from megawatt.ops.models import Licence
from megawatt.ops.problems import invalid, not_found


def change_licence(s: Session, licence_id: int, changes: dict[str, Any], actor: str) -> Licence:
    """Change a licence's status, validity or terms (audited). Suspending or revoking
    it also revokes the site's allocation from now on (a revoke entry in the ledger,
    same transaction) unless another active licence covers the site; a ``valid_to``
    moved into the past lapses at once."""
    row = s.get(Licence, licence_id)
    if row is None:
        raise not_found("licence", licence_id, "licence_id")
    if "status" in changes and changes["status"] is None:
        raise invalid("status cannot be null", "status", "required")
    valid_to = changes.get("valid_to", row.valid_to)
    if valid_to is not None and valid_to <= row.valid_from:
        raise invalid("valid_to must be after valid_from", "valid_to", "after valid_from")
    before = audit.snapshot(row)
    for key, value in changes.items():
        setattr(row, key, value)
    s.flush()
    audit.record(s, actor, "update", "licence", row.id, before, audit.snapshot(row))
    now = dt.datetime.now(dt.UTC)
    ledger.expire(s, now)
    if (
        row.status != "active"
        and ledger.licensed_at(s, row.site_id, now) is None
        and ledger.level_kw(s, row.site_id, now) > 0
    ):
        ledger.append(
            s,
            site_id=row.site_id,
            kind="revoke",
            effective_from=now,
            mw=None,
            reason=f"licence {row.number} {row.status}",
            actor=actor,
        )
    return row
