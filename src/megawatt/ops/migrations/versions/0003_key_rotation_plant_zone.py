"""The system operator role (NPCC/NTDC: reads all, schedules and events); client secret
rotation and disabling (tokens issued before are refused), signing
key retirement, and each plant cap's zone (a site's plant must be in its zone).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from megawatt.ops.models import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


ROLE = "role IN ('authority', 'system_operator', 'operator', 'site')"
SCOPE = (
    "(role IN ('authority', 'system_operator') AND operator_id IS NULL AND site_id IS NULL)"
    " OR (role = 'operator' AND operator_id IS NOT NULL AND site_id IS NULL)"
    " OR (role = 'site' AND site_id IS NOT NULL AND operator_id IS NULL)"
)
OLD_ROLE = "role IN ('authority', 'operator', 'site')"
OLD_SCOPE = (
    "(role = 'authority' AND operator_id IS NULL AND site_id IS NULL) OR "
    "(role = 'operator' AND operator_id IS NOT NULL AND site_id IS NULL) OR "
    "(role = 'site' AND site_id IS NOT NULL AND operator_id IS NULL)"
)


def _roles(role: str, scope: str) -> None:
    with op.batch_alter_table("clients") as batch:
        batch.drop_constraint("client_role", type_="check")
        batch.drop_constraint("client_scope", type_="check")
        batch.create_check_constraint("client_role", role)
        batch.create_check_constraint("client_scope", scope)


def upgrade() -> None:
    _roles(ROLE, SCOPE)
    with op.batch_alter_table("clients") as batch:
        batch.add_column(sa.Column("tokens_after", UTCDateTime))
    with op.batch_alter_table("signing_keys") as batch:
        batch.add_column(sa.Column("retired_at", UTCDateTime))
    with op.batch_alter_table("caps") as batch:
        batch.add_column(sa.Column("zone", sa.String(100)))


def downgrade() -> None:
    held = (
        op.get_bind()
        .execute(sa.text("SELECT count(*) FROM clients WHERE role = 'system_operator'"))
        .scalar()
    )
    if held:
        # Deleting them would lose what the user owns; re-scoping would change rights.
        raise RuntimeError(
            f"{held} system_operator client(s) exist: revision 0002 has no such role; "
            "downgrade refused (nothing changed)"
        )
    with op.batch_alter_table("caps") as batch:
        batch.drop_column("zone")
    with op.batch_alter_table("signing_keys") as batch:
        batch.drop_column("retired_at")
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("tokens_after")
    _roles(OLD_ROLE, OLD_SCOPE)
