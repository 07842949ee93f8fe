"""Event versions, monthly compliance records, penalties' tax.

* ``oadr_event_versions``: every published version of a VTN event (created or
  changed), when it was published and what it said (the body, and its curtailment
  limits as (start, seconds, kW)); compliance reads the limit in force from them
  (docs/settlement.md, "Which version's limit applies"). Events that exist are given
  one version, published at their ``modified_at`` (the publication the compliance
  rule used until now, so no result changes). No foreign key: a version outlives its
  event (deleted or cancelled), as a report does. Append-only.
* ``compliance_months``: a site's compliance totals for a local month as billed,
  written with the month's invoice (same transaction), one per invoice. Append-only.
* ``contracts.tax_penalties``: whether the invoice's tax applies to penalty lines
  (default false: a penalty for non-performance is not a supply of energy).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from alembic import op

from megawatt.ops.models import Exact, UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

IMMUTABLE = ("oadr_event_versions", "compliance_months")


def _limits(body: dict[str, Any]) -> list[list[Any]]:
    """The [start ISO, seconds or None, kW] of a body's curtailment limits, as the VTN
    reads them (megawatt.ops.openadr.objects.limits_json)."""
    from megawatt.ops.openadr.objects import limits_json

    return limits_json(SimpleNamespace(body=body))


def upgrade() -> None:
    versions = op.create_table(
        "oadr_event_versions",
        sa.Column("event_id", sa.Integer, primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("site_id", sa.Integer, sa.ForeignKey("sites.id"), index=True),
        sa.Column("published_at", UTCDateTime, nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("limits", sa.JSON, nullable=False),
        sa.Column("published_by", sa.String(200), nullable=False),
        sa.CheckConstraint("version >= 1", name="event_version_number"),
    )
    op.create_table(
        "compliance_months",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("site_id", sa.Integer, sa.ForeignKey("sites.id"), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column(
            "invoice_id", sa.Integer, sa.ForeignKey("invoices.id"), nullable=False, unique=True
        ),
        sa.Column("events", sa.Integer, nullable=False),
        sa.Column("compliant_events", sa.Integer, nullable=False),
        sa.Column("compliance_intervals", sa.Integer, nullable=False),
        sa.Column("compliant_intervals", sa.Integer, nullable=False),
        sa.Column("flagged_intervals", sa.Integer, nullable=False),
        sa.Column("shortfall_kwh", Exact(28, 10), nullable=False),
        sa.Column("penalty_pkr", Exact(18, 2), nullable=False),
        sa.Column("results", sa.JSON, nullable=False),
        sa.Column("recorded_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_compliance_months_site_month", "compliance_months", ["site_id", "month"])
    with op.batch_alter_table("contracts") as batch:
        batch.add_column(
            sa.Column("tax_penalties", sa.Boolean, nullable=False, server_default=sa.false())
        )
    bind = op.get_bind()
    events = sa.table(
        "oadr_events",
        sa.column("id", sa.Integer),
        sa.column("site_id", sa.Integer),
        sa.column("body", sa.JSON),
        sa.column("modified_at", UTCDateTime),
    )
    rows = [
        {
            "event_id": key,
            "version": 1,
            "site_id": site_id,
            "published_at": modified,
            "body": body or {},
            "limits": _limits(body or {}),
            "published_by": "migration 0007",
        }
        for key, site_id, body, modified in bind.execute(
            sa.select(events.c.id, events.c.site_id, events.c.body, events.c.modified_at)
        )
    ]
    if rows:
        op.bulk_insert(versions, rows)
    if bind.dialect.name == "postgresql":
        for table in IMMUTABLE:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION megawatt_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION megawatt_append_only()"
            )
    else:
        for table in IMMUTABLE:
            for event in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )


def downgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    for table in IMMUTABLE:
        if pg:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        else:
            for event in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{event}")
    with op.batch_alter_table("contracts") as batch:
        batch.drop_column("tax_penalties")
    op.drop_index("ix_compliance_months_site_month", table_name="compliance_months")
    op.drop_table("compliance_months")
    op.drop_table("oadr_event_versions")
