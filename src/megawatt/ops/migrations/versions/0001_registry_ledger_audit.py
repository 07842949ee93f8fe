"""Registry, caps, allocation ledger and audit (issue 13).

Revision ID: 0001
Revises:
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from megawatt.ops.models import Exact, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

APPEND_ONLY = ("ledger_entries", "audit_entries")


def upgrade() -> None:
    op.create_table(
        "operators",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("registration_number", sa.String(100)),
        sa.Column("contact_email", sa.String(320)),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "sites",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("operator_id", sa.Integer, sa.ForeignKey("operators.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("zone", sa.String(100), nullable=False),
        sa.Column("plant", sa.String(100)),
        sa.Column("substation", sa.String(200)),
        sa.Column("lat", sa.Float),
        sa.Column("lon", sa.Float),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.CheckConstraint("kind IN ('btc_miner', 'ai_datacenter')", name="site_kind"),
        sa.CheckConstraint(
            "lat BETWEEN -90 AND 90 AND lon BETWEEN -180 AND 180", name="site_latlon"
        ),
    )
    op.create_index("ix_sites_operator_id", "sites", ["operator_id"])
    op.create_table(
        "licences",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("site_id", sa.Integer, sa.ForeignKey("sites.id"), nullable=False),
        sa.Column("number", sa.String(100), nullable=False, unique=True),
        sa.Column("valid_from", UTCDateTime, nullable=False),
        sa.Column("valid_to", UTCDateTime),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.CheckConstraint("status IN ('active', 'suspended', 'revoked')", name="licence_status"),
    )
    op.create_index("ix_licences_site_id", "licences", ["site_id"])
    op.create_table(
        "applications",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("site_id", sa.Integer, sa.ForeignKey("sites.id"), nullable=False),
        sa.Column("requested_kw", sa.BigInteger, nullable=False),
        sa.Column("application_date", sa.Date, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.CheckConstraint("requested_kw > 0", name="application_kw"),
        sa.CheckConstraint(
            "status IN ('pending', 'granted', 'rejected', 'withdrawn')", name="application_status"
        ),
    )
    op.create_index("ix_applications_site_id", "applications", ["site_id"])
    op.create_table(
        "contracts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("site_id", sa.Integer, sa.ForeignKey("sites.id"), nullable=False),
        sa.Column("application_id", sa.Integer, sa.ForeignKey("applications.id")),
        sa.Column("tariff_scheme", sa.String(20), nullable=False),
        sa.Column("tariff_local_per_kwh", Exact(18, 6), nullable=False),
        sa.Column("firm_share", Exact(7, 6), nullable=False),
        sa.Column("firm_service_level", Exact(7, 6), nullable=False),
        sa.Column("notice_minutes", sa.Integer, nullable=False),
        sa.Column("ramp_minutes", sa.Integer, nullable=False),
        sa.Column("penalty_local_per_mwh", Exact(18, 6), nullable=False),
        sa.Column("start", sa.Date, nullable=False),
        sa.Column("term_months", sa.Integer, nullable=False),
        sa.Column("review_months", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.CheckConstraint("tariff_scheme IN ('flat', 'time_of_use')", name="contract_scheme"),
    )
    op.create_index("ix_contracts_site_id", "contracts", ["site_id"])
    op.create_table(
        "caps",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("scope", sa.String(20), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("cap_kw", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("scope", "name", name="cap_scope_name"),
        sa.CheckConstraint("scope IN ('program', 'zone', 'plant')", name="cap_scope"),
        sa.CheckConstraint("cap_kw >= 0", name="cap_kw"),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("site_id", sa.Integer, sa.ForeignKey("sites.id"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("effective_from", UTCDateTime, nullable=False),
        sa.Column("delta_kw", sa.BigInteger, nullable=False),
        sa.Column("level_kw", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("application_id", sa.Integer, sa.ForeignKey("applications.id")),
        sa.Column("recorded_at", UTCDateTime, nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.CheckConstraint("kind IN ('grant', 'change', 'revoke')", name="ledger_kind"),
    )
    op.create_index("ix_ledger_entries_site_id", "ledger_entries", ["site_id"])
    op.create_index("ix_ledger_entries_effective_from", "ledger_entries", ["effective_from"])
    op.create_table(
        "audit_entries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("entity", sa.String(50), nullable=False),
        sa.Column("entity_id", sa.Integer),
        sa.Column("before", sa.JSON),
        sa.Column("after", sa.JSON),
    )
    op.create_index("ix_audit_entries_at", "audit_entries", ["at"])
    _append_only_guards()


def _append_only_guards() -> None:
    """Triggers that make UPDATE and DELETE on the ledger and the audit table fail."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION megawatt_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
            END;
            $$ LANGUAGE plpgsql
            """
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION megawatt_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION megawatt_append_only()"
            )
    else:
        for table in APPEND_ONLY:
            for event in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS megawatt_append_only()")
    for table in (
        "audit_entries",
        "ledger_entries",
        "caps",
        "contracts",
        "applications",
        "licences",
        "sites",
        "operators",
    ):
        op.drop_table(table)
