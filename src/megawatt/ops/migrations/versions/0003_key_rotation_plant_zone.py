"""Client secret rotation and disabling (tokens issued before are refused), signing
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


def upgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.add_column(sa.Column("tokens_after", UTCDateTime))
    with op.batch_alter_table("signing_keys") as batch:
        batch.add_column(sa.Column("retired_at", UTCDateTime))
    with op.batch_alter_table("caps") as batch:
        batch.add_column(sa.Column("zone", sa.String(100)))


def downgrade() -> None:
    with op.batch_alter_table("caps") as batch:
        batch.drop_column("zone")
    with op.batch_alter_table("signing_keys") as batch:
        batch.drop_column("retired_at")
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("tokens_after")
