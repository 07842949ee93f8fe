"""Who may do what: one set of rules for API clients and dashboard users.

A principal (an OAuth2 client or a logged-in person) has a role:

- ``authority``: reads and writes everything (registry, caps, ledger, invoices);
- ``system_operator`` (NPCC/NTDC): reads every site and the audit trail, publishes
  schedules and emergency events; no registry or ledger writes;
- ``operator`` (a company): reads its own operator's sites and their records;
- ``site``: reads its own site.

The API's dependencies (megawatt.ops.app) and the dashboard's pages
(megawatt.ops.dashboard) call these functions and nothing else to decide; the
authorization matrix test (tests/test_ops_authz.py) and the dashboard's role tests
check both against the same table.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from megawatt.ops.auth import SEE_ALL, Principal
from megawatt.ops.models import Site
from megawatt.ops.problems import Problem, not_found


def _forbidden(who: Principal, detail: str, needs: str) -> Problem:
    return Problem(
        403,
        "Forbidden",
        f"a {who.role} {detail}",
        [{"field": "Authorization", "message": needs}],
    )


def is_authority(who: Principal) -> bool:
    return who.role == "authority"


def is_overseer(who: Principal) -> bool:
    """The authority or the system operator: every site, the audit trail, events."""
    return who.role in SEE_ALL


def require_authority(who: Principal) -> Principal:
    """Registry, caps, ledger and invoice writes: the program authority only (403)."""
    if not is_authority(who):
        raise _forbidden(
            who, "cannot do this; only the program authority can", "authority role required"
        )
    return who


def require_overseer(who: Principal) -> Principal:
    """The audit trail, schedules and emergency events: authority or system operator."""
    if not is_overseer(who):
        raise _forbidden(
            who,
            "cannot do this; only the authority or the system operator",
            "authority or system operator role required",
        )
    return who


def visible_sites(who: Principal) -> Any:
    """A subquery of the site ids ``who`` may see, or None when it sees every site."""
    if who.role in SEE_ALL:
        return None
    if who.role == "operator":
        return select(Site.id).where(Site.operator_id == who.operator_id)
    return select(Site.id).where(Site.id == who.site_id)


def scoped(stmt: Any, column: Any, who: Principal) -> Any:
    """``stmt`` limited to the rows whose site ``column`` ``who`` may see."""
    visible = visible_sites(who)
    return stmt if visible is None else stmt.where(column.in_(visible))


def check_visible(s: Session, who: Principal, site_id: int, entity: str, key: int) -> None:
    """404 (not 403: existence is not disclosed) for a record outside ``who``'s sites."""
    visible = visible_sites(who)
    if visible is not None and site_id not in set(s.scalars(visible)):
        raise not_found(entity, key, f"{entity}_id")
