"""Metering and invoices: meters of sites, interval readings (append-only, versioned:
a correction is a new version, both stay), the contract's time-of-use bands, currency
and exchange rate, fixed charge and tax rate, and invoices with their lines
(immutable once issued: corrections are credit notes).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from megawatt.ops.models import Exact, UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

IMMUTABLE = ("readings", "invoices", "invoice_lines")


def upgrade() -> None:
    op.create_table(
        "meters",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("site_id", sa.Integer, sa.ForeignKey("sites.id"), nullable=False, index=True),
        sa.Column("serial", sa.String(100), nullable=False, unique=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "readings",
        sa.Column("meter_id", sa.Integer, sa.ForeignKey("meters.id"), primary_key=True),
        sa.Column("interval_start", UTCDateTime, primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("minutes", sa.Integer, nullable=False),
        sa.Column("kwh", Exact(18, 6)),
        sa.Column("quality", sa.String(10), nullable=False),
        sa.Column("recorded_at", UTCDateTime, nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.CheckConstraint(
            "quality IN ('measured', 'estimated', 'missing')", name="reading_quality"
        ),
        sa.CheckConstraint(
            "(quality = 'missing' AND kwh IS NULL) OR (quality <> 'missing' AND kwh IS NOT NULL)",
            name="reading_kwh",
        ),
        sa.CheckConstraint("minutes IN (5, 15, 30, 60)", name="reading_minutes"),
        sa.CheckConstraint("version >= 1", name="reading_version"),
    )
    with op.batch_alter_table("contracts") as batch:
        batch.add_column(sa.Column("tou_periods", sa.JSON))
        batch.add_column(sa.Column("currency", sa.String(3), nullable=False, server_default="PKR"))
        batch.add_column(
            sa.Column("pkr_per_unit", Exact(18, 4), nullable=False, server_default="1")
        )
        batch.add_column(
            sa.Column("fixed_pkr_per_month", Exact(18, 2), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("tax_rate", Exact(7, 6), nullable=False, server_default="0"))
    op.create_table(
        "invoices",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("number", sa.String(50), nullable=False, unique=True),
        sa.Column("site_id", sa.Integer, sa.ForeignKey("sites.id"), nullable=False, index=True),
        sa.Column("contract_id", sa.Integer, sa.ForeignKey("contracts.id"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("period_start", UTCDateTime, nullable=False),
        sa.Column("period_end", UTCDateTime, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("energy_kwh", Exact(18, 6), nullable=False),
        sa.Column("intervals", sa.Integer, nullable=False),
        sa.Column("estimated", sa.Integer, nullable=False),
        sa.Column("missing", sa.Integer, nullable=False),
        sa.Column("total", Exact(18, 2), nullable=False),
        sa.Column("credits_invoice_id", sa.Integer, sa.ForeignKey("invoices.id"), unique=True),
        sa.Column("reason", sa.Text),
        sa.Column("issued_at", UTCDateTime, nullable=False),
        sa.Column("issued_by", sa.String(200), nullable=False),
        sa.CheckConstraint("kind IN ('invoice', 'credit_note')", name="invoice_kind"),
        sa.CheckConstraint(
            "(kind = 'invoice' AND credits_invoice_id IS NULL) OR "
            "(kind = 'credit_note' AND credits_invoice_id IS NOT NULL)",
            name="invoice_credits",
        ),
    )
    op.create_index("ix_invoices_site_month", "invoices", ["site_id", "month"])
    op.create_table(
        "invoice_lines",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("invoice_id", sa.Integer, sa.ForeignKey("invoices.id"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("quantity", Exact(18, 6), nullable=False),
        sa.Column("unit", sa.String(20), nullable=False),
        sa.Column("unit_price", Exact(28, 10), nullable=False),
        sa.Column("amount", Exact(18, 2), nullable=False),
        sa.UniqueConstraint("invoice_id", "position", name="invoice_line_position"),
        sa.CheckConstraint(
            "kind IN ('energy', 'fixed', 'penalty', 'tax')", name="invoice_line_kind"
        ),
    )
    # Same guard as the ledger's (0001): the function megawatt_append_only exists.
    if op.get_bind().dialect.name == "postgresql":
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
    op.drop_table("invoice_lines")
    op.drop_index("ix_invoices_site_month", table_name="invoices")
    op.drop_table("invoices")
    with op.batch_alter_table("contracts") as batch:
        for column in ("tax_rate", "fixed_pkr_per_month", "pkr_per_unit", "currency"):
            batch.drop_column(column)
        batch.drop_column("tou_periods")
    op.drop_table("readings")
    op.drop_table("meters")
