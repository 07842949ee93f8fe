"""The operations database: registry, caps, allocation ledger, audit.

Conventions (docs/operations.md): power as integer kW (exact sums in SQL on every
database; the API speaks MW with up to three decimals), money and shares as Decimal
(NUMERIC on PostgreSQL, exact text on SQLite, which has no exact decimal type), times
timezone-aware UTC. The ledger and the audit table are append-only (database triggers
refuse UPDATE and DELETE on both PostgreSQL and SQLite).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC in and out (timestamptz on PostgreSQL, ISO text on SQLite)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: times must carry a time zone")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Exact(TypeDecorator[Decimal]):
    """Decimal stored exactly: NUMERIC(precision, scale), text on SQLite."""

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int = 18, scale: int = 6) -> None:
        super().__init__()
        self.precision = precision
        self.scale = scale

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(64))
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = Decimal(value).quantize(Decimal(1).scaleb(-self.scale))
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(str(value))


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    pass


class Operator(Base):
    """A company that runs one or more sites."""

    __tablename__ = "operators"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    registration_number: Mapped[str | None] = mapped_column(String(100))
    contact_email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Site(Base):
    """A mine or an AI data center: where the load connects (zone, plant or substation)."""

    __tablename__ = "sites"
    __table_args__ = (
        CheckConstraint("kind IN ('btc_miner', 'ai_datacenter')", name="site_kind"),
        CheckConstraint("lat BETWEEN -90 AND 90 AND lon BETWEEN -180 AND 180", name="site_latlon"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    zone: Mapped[str] = mapped_column(String(100))
    plant: Mapped[str | None] = mapped_column(String(100))
    substation: Mapped[str | None] = mapped_column(String(200))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Licence(Base):
    """A PVARA licence of a site; only an active, unexpired one lets a site hold MW."""

    __tablename__ = "licences"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'suspended', 'revoked')", name="licence_status"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    number: Mapped[str] = mapped_column(String(100), unique=True)
    valid_from: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    valid_to: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="active")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Application(Base):
    """A request for MW; the application date is the plan's tie-break."""

    __tablename__ = "applications"
    __table_args__ = (
        CheckConstraint("requested_kw > 0", name="application_kw"),
        CheckConstraint(
            "status IN ('pending', 'granted', 'rejected', 'withdrawn')", name="application_status"
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    requested_kw: Mapped[int] = mapped_column(BigInteger)
    application_date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Contract(Base):
    """A site's supply contract: tariff, firm share and service level, notice, penalties."""

    __tablename__ = "contracts"
    __table_args__ = (
        CheckConstraint("tariff_scheme IN ('flat', 'time_of_use')", name="contract_scheme"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"))
    tariff_scheme: Mapped[str] = mapped_column(String(20))
    tariff_local_per_kwh: Mapped[Decimal] = mapped_column(Exact(18, 6))
    firm_share: Mapped[Decimal] = mapped_column(Exact(7, 6))
    firm_service_level: Mapped[Decimal] = mapped_column(Exact(7, 6))
    notice_minutes: Mapped[int] = mapped_column(Integer)
    ramp_minutes: Mapped[int] = mapped_column(Integer)
    penalty_local_per_mwh: Mapped[Decimal] = mapped_column(Exact(18, 6))
    start: Mapped[dt.date] = mapped_column(Date)
    term_months: Mapped[int] = mapped_column(Integer)
    review_months: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Billing (migration 0005): time-of-use bands [{name, hours, months, local_per_kwh}]
    # (local hours and months of the program's time zone; the first band that matches
    # an interval prices it, tariff_local_per_kwh prices the rest), the currency of the
    # prices and its exchange rule (a fixed PKR per unit), a fixed charge per month and
    # the tax rate on the invoice.
    tou_periods: Mapped[Any] = mapped_column(JSON, nullable=True)
    currency: Mapped[str] = mapped_column(String(3), default="PKR", server_default="PKR")
    pkr_per_unit: Mapped[Decimal] = mapped_column(
        Exact(18, 4), default=Decimal(1), server_default="1"
    )
    fixed_pkr_per_month: Mapped[Decimal] = mapped_column(
        Exact(18, 2), default=Decimal(0), server_default="0"
    )
    tax_rate: Mapped[Decimal] = mapped_column(Exact(7, 6), default=Decimal(0), server_default="0")
    # Migration 0007: whether the tax applies to penalty lines too (default not: a
    # penalty for non-performance is not a supply of energy; a configurable assumption).
    tax_penalties: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Cap(Base):
    """A cap on allocated kW: the program's, a zone's or a plant's. Its row is the lock
    every ledger write takes (SELECT ... FOR UPDATE)."""

    __tablename__ = "caps"
    __table_args__ = (
        UniqueConstraint("scope", "name", name="cap_scope_name"),
        CheckConstraint("scope IN ('program', 'zone', 'plant')", name="cap_scope"),
        CheckConstraint("cap_kw >= 0", name="cap_kw"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100))
    cap_kw: Mapped[int] = mapped_column(BigInteger)
    # A plant cap's zone (from the scenario's generators): a site at the plant must be
    # in it. None for program and zone caps.
    zone: Mapped[str | None] = mapped_column(String(100))


class LedgerEntry(Base):
    """One append-only allocation entry; a site's level at t = sum of its deltas
    effective at or before t."""

    __tablename__ = "ledger_entries"
    __table_args__ = (CheckConstraint("kind IN ('grant', 'change', 'revoke')", name="ledger_kind"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    effective_from: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    delta_kw: Mapped[int] = mapped_column(BigInteger)
    level_kw: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(200))


class AuditEntry(Base):
    """Who did what, when, with the record before and after (append-only)."""

    __tablename__ = "audit_entries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(50))
    entity: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    before: Mapped[Any] = mapped_column(JSON, nullable=True)
    after: Mapped[Any] = mapped_column(JSON, nullable=True)


class Client(Base):
    """An OAuth2 client (client credentials): the authority, an operator or a site."""

    __tablename__ = "clients"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(100), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Tokens issued before this time are refused (set when the secret is rotated or
    # the client disabled; JWT iat has whole seconds, so compared at whole seconds).
    tokens_after: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class SigningKey(Base):
    """A key that signs access tokens (HS256): the newest unretired one signs; every
    unretired one verifies (tokens live an hour, so a rotated-out key stops mattering
    then; retiring it refuses its tokens at once)."""

    __tablename__ = "signing_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    secret: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class User(Base):
    """A person who logs in to the dashboard, with the same roles and scopes as an
    OAuth2 client (megawatt.ops.access applies one set of rules to both)."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id, PHC string
    role: Mapped[str] = mapped_column(String(20))
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class WebSession(Base):
    """A logged-in browser: the cookie's random token is stored only as its SHA-256."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Meter(Base):
    """A revenue meter of a site (the serial is what a head-end or site agent sends)."""

    __tablename__ = "meters"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    serial: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Reading(Base):
    """One interval reading (append-only). The key is (meter, interval start, version):
    a correction is a higher version, which supersedes the lower ones; all stay."""

    __tablename__ = "readings"
    __table_args__ = (
        CheckConstraint("quality IN ('measured', 'estimated', 'missing')", name="reading_quality"),
        CheckConstraint(
            "(quality = 'missing' AND kwh IS NULL) OR (quality <> 'missing' AND kwh IS NOT NULL)",
            name="reading_kwh",
        ),
        CheckConstraint("minutes IN (5, 15, 30, 60)", name="reading_minutes"),
        CheckConstraint("version >= 1", name="reading_version"),
    )
    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id"), primary_key=True)
    interval_start: Mapped[dt.datetime] = mapped_column(UTCDateTime, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    minutes: Mapped[int] = mapped_column(Integer)
    kwh: Mapped[Decimal | None] = mapped_column(Exact(18, 6))
    quality: Mapped[str] = mapped_column(String(10))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(200))


class Invoice(Base):
    """An issued invoice or credit note of one site for one local calendar month
    (immutable: database triggers refuse UPDATE and DELETE)."""

    __tablename__ = "invoices"
    __table_args__ = (
        CheckConstraint("kind IN ('invoice', 'credit_note')", name="invoice_kind"),
        CheckConstraint(
            "(kind = 'invoice' AND credits_invoice_id IS NULL) OR "
            "(kind = 'credit_note' AND credits_invoice_id IS NOT NULL)",
            name="invoice_credits",
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(50), unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"))
    kind: Mapped[str] = mapped_column(String(20))
    month: Mapped[str] = mapped_column(String(7))
    period_start: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    period_end: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    currency: Mapped[str] = mapped_column(String(3))
    energy_kwh: Mapped[Decimal] = mapped_column(Exact(18, 6))
    intervals: Mapped[int] = mapped_column(Integer)
    estimated: Mapped[int] = mapped_column(Integer)
    missing: Mapped[int] = mapped_column(Integer)
    total: Mapped[Decimal] = mapped_column(Exact(18, 2))
    credits_invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"), unique=True)
    reason: Mapped[str | None] = mapped_column(Text)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    issued_by: Mapped[str] = mapped_column(String(200))


class InvoiceLine(Base):
    """One line of an invoice: amount = quantity x unit price, rounded half-up to the
    paisa (0.01 PKR)."""

    __tablename__ = "invoice_lines"
    __table_args__ = (
        UniqueConstraint("invoice_id", "position", name="invoice_line_position"),
        CheckConstraint("kind IN ('energy', 'fixed', 'penalty', 'tax')", name="invoice_line_kind"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text)
    quantity: Mapped[Decimal] = mapped_column(Exact(18, 6))
    unit: Mapped[str] = mapped_column(String(20))
    unit_price: Mapped[Decimal] = mapped_column(Exact(28, 10))
    amount: Mapped[Decimal] = mapped_column(Exact(18, 2))


class ComplianceMonth(Base):
    """A site's compliance record for a local calendar month as billed (migration 0007):
    written with the month's invoice, in its transaction, one per invoice; append-only,
    so the record that was billed stays when readings are corrected later."""

    __tablename__ = "compliance_months"
    __table_args__ = (Index("ix_compliance_months_site_month", "site_id", "month"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    month: Mapped[str] = mapped_column(String(7))
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), unique=True)
    events: Mapped[int] = mapped_column(Integer)
    compliant_events: Mapped[int] = mapped_column(Integer)
    compliance_intervals: Mapped[int] = mapped_column(Integer)
    compliant_intervals: Mapped[int] = mapped_column(Integer)
    flagged_intervals: Mapped[int] = mapped_column(Integer)
    #: Exact: a firm-service-level allowance can have 8 decimals (fsl 6 x kW x 1/4).
    shortfall_kwh: Mapped[Decimal] = mapped_column(Exact(28, 10))
    penalty_pkr: Mapped[Decimal] = mapped_column(Exact(18, 2))
    #: Each event's result as GET /compliance/events/{id} showed it when billed.
    results: Mapped[Any] = mapped_column(JSON)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
