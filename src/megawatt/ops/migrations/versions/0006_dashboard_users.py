"""People who log in to the dashboard: users with a role and an argon2 password hash,
and their sessions (a random token kept only as its SHA-256, with the CSRF token of
the session's forms).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from megawatt.ops.models import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ROLE = "role IN ('authority', 'system_operator', 'operator', 'site')"
SCOPE = (
    "(role IN ('authority', 'system_operator') AND operator_id IS NULL AND site_id IS NULL)"
    " OR (role = 'operator' AND operator_id IS NOT NULL AND site_id IS NULL)"
    " OR (role = 'site' AND site_id IS NOT NULL AND operator_id IS NULL)"
)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(100), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("operator_id", sa.Integer, sa.ForeignKey("operators.id")),
        sa.Column("site_id", sa.Integer, sa.ForeignKey("sites.id")),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("disabled_at", UTCDateTime),
        sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"),
        sa.Column("locked_until", UTCDateTime),
        sa.CheckConstraint(ROLE, name="user_role"),
        sa.CheckConstraint(SCOPE, name="user_scope"),
    )
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False, index=True),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("seen_at", UTCDateTime, nullable=False),
        sa.Column("ended_at", UTCDateTime),
    )


def downgrade() -> None:
    bind = op.get_bind()
    held = bind.execute(sa.text("SELECT count(*) FROM users")).scalar_one()
    if held:
        # Deleting them would lose what the user owns (accounts, their audit actors).
        raise RuntimeError(
            f"{held} dashboard user(s) exist: revision 0005 has no users; "
            "downgrade refused (nothing changed)"
        )
    op.drop_table("web_sessions")
    op.drop_table("users")
