"""Tables of the OpenADR 3.1 VTN (migration 0004).

One registry: a VEN is a licensed site (``sites`` + ``licences``); ``oadr_vens`` holds
only what OpenADR adds to a site (targets, attributes, the VEN's client id) and may be
absent. Each OpenADR object keeps its spec fields as the JSON ``body`` the client sent
(validated against the spec); the columns beside it are what the VTN filters on. Every
target string of a program, event, VEN or resource is also a row of ``oadr_targets``
(written in the same function as the body) so that targeting is a SQL join on both
databases. ``oadr_outbox`` holds the webhook notifications, written in the transaction
of the change they announce.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from megawatt.ops.models import Base, UTCDateTime, utcnow


class OadrProgram(Base):
    __tablename__ = "oadr_programs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_name: Mapped[str] = mapped_column(String(128), unique=True)
    body: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    modified_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class OadrEvent(Base):
    __tablename__ = "oadr_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("oadr_programs.id"), index=True)
    #: The site (VEN) a curtailment event is for, when made by upsert_event.
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), index=True)
    #: The caller's key of an event made by upsert_event (idempotent re-runs).
    key: Mapped[str | None] = mapped_column(String(200), unique=True)
    priority: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    modified_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class OadrEventVersion(Base):
    """One published version of an event (migration 0007): its creation and each change
    of its content, with when it was published and what it said (the body, and its
    curtailment limits as [start ISO, seconds or null, kW]). Compliance holds a site to
    the limit in force from these (megawatt.ops.compliance). Append-only; no foreign key
    (a version outlives its event, as a report does)."""

    __tablename__ = "oadr_event_versions"
    event_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), index=True)
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    body: Mapped[Any] = mapped_column(JSON)
    limits: Mapped[Any] = mapped_column(JSON)
    published_by: Mapped[str] = mapped_column(String(200))


class OadrReport(Base):
    __tablename__ = "oadr_reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: No foreign key: a report outlives its event (deleted or cancelled).
    event_id: Mapped[int] = mapped_column(Integer, index=True)
    program_id: Mapped[int] = mapped_column(Integer, index=True)
    client_id: Mapped[str] = mapped_column(String(128))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), index=True)
    client_name: Mapped[str] = mapped_column(String(128), index=True)
    body: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    modified_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class OadrSubscription(Base):
    """A webhook subscription; owned by the OAuth2 client that made it (and, for a
    site client, its site), whose read scope also filters what it is notified of."""

    __tablename__ = "oadr_subscriptions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(128), index=True)
    role: Mapped[str] = mapped_column(String(20))
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), index=True)
    program_id: Mapped[int | None] = mapped_column(Integer, index=True)
    client_name: Mapped[str] = mapped_column(String(128), index=True)
    body: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    modified_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class OadrVen(Base):
    """What OpenADR adds to a licensed site (absent until set): the VEN's id, name and
    existence come from ``sites`` and ``licences``."""

    __tablename__ = "oadr_vens"
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), primary_key=True)
    client_id: Mapped[str | None] = mapped_column(String(128))
    body: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    modified_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class OadrResource(Base):
    """A site's fleet or meter."""

    __tablename__ = "oadr_resources"
    __table_args__ = (UniqueConstraint("site_id", "resource_name", name="oadr_resource_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    resource_name: Mapped[str] = mapped_column(String(128))
    client_id: Mapped[str] = mapped_column(String(128))
    body: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    modified_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class OadrTarget(Base):
    __tablename__ = "oadr_targets"
    __table_args__ = (Index("oadr_targets_lookup", "object_type", "target"),)
    object_type: Mapped[str] = mapped_column(String(20), primary_key=True)
    object_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target: Mapped[str] = mapped_column(String(128), primary_key=True)


class OutboxBody(Base):
    """The body of one change's notification, shared by its outbox rows (an event for
    500 VENs is one body and 500 small rows)."""

    __tablename__ = "oadr_outbox_bodies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    body: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxEntry(Base):
    """One notification to one callback URL: pending until a 2xx, retried with
    exponential backoff, ``dead`` after the last attempt."""

    __tablename__ = "oadr_outbox"
    __table_args__ = (Index("oadr_outbox_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notification_id: Mapped[str] = mapped_column(String(36), unique=True)
    subscription_id: Mapped[int] = mapped_column(Integer, index=True)
    callback_url: Mapped[str] = mapped_column(Text)
    bearer_token: Mapped[str | None] = mapped_column(Text)
    body_id: Mapped[int] = mapped_column(ForeignKey("oadr_outbox_bodies.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
