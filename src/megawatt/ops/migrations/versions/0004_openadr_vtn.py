"""OpenADR 3.1 VTN: programs, events, reports, subscriptions, VEN extras, resources,
targets, and the webhook outbox (issue 14).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from megawatt.ops.models import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _times() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("modified_at", UTCDateTime, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "oadr_programs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("program_name", sa.String(128), nullable=False, unique=True),
        sa.Column("body", sa.JSON, nullable=False),
        *_times(),
    )
    op.create_table(
        "oadr_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("program_id", sa.Integer, sa.ForeignKey("oadr_programs.id"), nullable=False),
        sa.Column("site_id", sa.Integer, sa.ForeignKey("sites.id")),
        sa.Column("key", sa.String(200), unique=True),
        sa.Column("priority", sa.Integer),
        sa.Column("body", sa.JSON, nullable=False),
        *_times(),
    )
    op.create_index("ix_oadr_events_program_id", "oadr_events", ["program_id"])
    op.create_index("ix_oadr_events_site_id", "oadr_events", ["site_id"])
    op.create_table(
        "oadr_reports",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("event_id", sa.Integer, nullable=False),
        sa.Column("program_id", sa.Integer, nullable=False),
        sa.Column("client_id", sa.String(128), nullable=False),
        sa.Column("site_id", sa.Integer, sa.ForeignKey("sites.id")),
        sa.Column("client_name", sa.String(128), nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        *_times(),
    )
    for col in ("event_id", "program_id", "site_id", "client_name"):
        op.create_index(f"ix_oadr_reports_{col}", "oadr_reports", [col])
    op.create_table(
        "oadr_subscriptions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("client_id", sa.String(128), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("operator_id", sa.Integer, sa.ForeignKey("operators.id")),
        sa.Column("site_id", sa.Integer, sa.ForeignKey("sites.id")),
        sa.Column("program_id", sa.Integer),
        sa.Column("client_name", sa.String(128), nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        *_times(),
    )
    for col in ("client_id", "site_id", "program_id", "client_name"):
        op.create_index(f"ix_oadr_subscriptions_{col}", "oadr_subscriptions", [col])
    op.create_table(
        "oadr_vens",
        sa.Column("site_id", sa.Integer, sa.ForeignKey("sites.id"), primary_key=True),
        sa.Column("client_id", sa.String(128)),
        sa.Column("body", sa.JSON, nullable=False),
        *_times(),
    )
    op.create_table(
        "oadr_resources",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("site_id", sa.Integer, sa.ForeignKey("sites.id"), nullable=False),
        sa.Column("resource_name", sa.String(128), nullable=False),
        sa.Column("client_id", sa.String(128), nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        *_times(),
        sa.UniqueConstraint("site_id", "resource_name", name="oadr_resource_name"),
    )
    op.create_index("ix_oadr_resources_site_id", "oadr_resources", ["site_id"])
    op.create_table(
        "oadr_targets",
        sa.Column("object_type", sa.String(20), primary_key=True),
        sa.Column("object_id", sa.Integer, primary_key=True),
        sa.Column("target", sa.String(128), primary_key=True),
    )
    op.create_index("oadr_targets_lookup", "oadr_targets", ["object_type", "target"])
    op.create_table(
        "oadr_outbox_bodies",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "oadr_outbox",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("notification_id", sa.String(36), nullable=False, unique=True),
        sa.Column("subscription_id", sa.Integer, nullable=False),
        sa.Column("callback_url", sa.Text, nullable=False),
        sa.Column("bearer_token", sa.Text),
        sa.Column("body_id", sa.Integer, sa.ForeignKey("oadr_outbox_bodies.id"), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UTCDateTime, nullable=False),
        sa.Column("locked_until", UTCDateTime),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("delivered_at", UTCDateTime),
        sa.CheckConstraint("status IN ('pending', 'delivered', 'dead')", name="outbox_status"),
    )
    op.create_index("oadr_outbox_due", "oadr_outbox", ["status", "next_attempt_at"])
    op.create_index("ix_oadr_outbox_subscription_id", "oadr_outbox", ["subscription_id"])
    op.create_index("ix_oadr_outbox_body_id", "oadr_outbox", ["body_id"])


def downgrade() -> None:
    for table in (
        "oadr_outbox",
        "oadr_outbox_bodies",
        "oadr_targets",
        "oadr_resources",
        "oadr_vens",
        "oadr_subscriptions",
        "oadr_reports",
        "oadr_events",
        "oadr_programs",
    ):
        op.drop_table(table)
