"""OAuth2 clients (client credentials) and the token signing keys (issue 13 part 5).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from megawatt.ops.models import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "clients",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("client_id", sa.String(100), nullable=False, unique=True),
        sa.Column("secret_hash", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("operator_id", sa.Integer, sa.ForeignKey("operators.id")),
        sa.Column("site_id", sa.Integer, sa.ForeignKey("sites.id")),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("disabled_at", UTCDateTime),
        sa.CheckConstraint("role IN ('authority', 'operator', 'site')", name="client_role"),
        sa.CheckConstraint(
            "(role = 'authority' AND operator_id IS NULL AND site_id IS NULL) OR "
            "(role = 'operator' AND operator_id IS NOT NULL AND site_id IS NULL) OR "
            "(role = 'site' AND site_id IS NOT NULL AND operator_id IS NULL)",
            name="client_scope",
        ),
    )
    op.create_table(
        "signing_keys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kid", sa.String(64), nullable=False, unique=True),
        sa.Column("secret", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("signing_keys")
    op.drop_table("clients")
