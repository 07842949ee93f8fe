"""Request and response models of the API (pydantic). MW and money are Decimal (sent
as JSON strings so that nothing is rounded through a float); times carry a UTC offset."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

MW = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=3, description="MW (kW steps)")]
PositiveMW = Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=3)]
Money = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=6)]
Share = Annotated[Decimal, Field(ge=0, le=1, max_digits=7, decimal_places=6)]
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S")]
Key = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")]
Minutes = Annotated[int, Field(ge=0, le=24 * 60)]
#: A row id (INTEGER on PostgreSQL: 32 bits).
MAX_ID = 2**31 - 1
DbId = Annotated[int, Field(ge=1, le=MAX_ID)]


def _utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:  # stored values are UTC; never guess a local zone
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


#: A time in a response: always UTC.
UTC = Annotated[dt.datetime, AfterValidator(_utc)]

EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(9998, 12, 31, tzinfo=dt.UTC)


def _when(value: dt.datetime) -> dt.datetime:
    """A request time: with an offset, in [1900, 9998] (a time near year 1 or 9999 may
    not exist in UTC: 0001-01-01T00:00+00:01 is in year 0)."""
    try:
        utc = value.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError("out of range: times must lie between 1900 and 9998") from None
    if not EARLIEST <= utc <= LATEST:
        raise ValueError("out of range: times must lie between 1900 and 9998")
    return utc


#: A time in a request: with a UTC offset (a time without one is refused), in range.
When = Annotated[AwareDatetime, AfterValidator(_when)]


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        """NUL cannot be stored in PostgreSQL text (nor is it ever meant)."""
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ProblemOut(BaseModel):
    """RFC 9457 problem details; ``errors`` names each field at fault."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, str]] = []
    model_config = ConfigDict(extra="allow")


class OperatorIn(In):
    name: Name
    registration_number: Annotated[str, Field(max_length=100)] | None = None
    contact_email: Annotated[str, Field(max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")] | None = None


class OperatorPatch(In):
    name: Name | None = None
    registration_number: Annotated[str, Field(max_length=100)] | None = None
    contact_email: Annotated[str, Field(max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")] | None = None


class OperatorOut(Out):
    id: int
    name: str
    registration_number: str | None
    contact_email: str | None
    created_at: UTC


class SiteIn(In):
    operator_id: DbId
    name: Name
    kind: Literal["btc_miner", "ai_datacenter"]
    zone: Key
    plant: Key | None = None
    substation: Annotated[str, Field(max_length=200)] | None = None
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]


class SitePatch(In):
    """Zone and plant are fixed once a site exists: they decide which caps bind it."""

    name: Name | None = None
    substation: Annotated[str, Field(max_length=200)] | None = None
    lat: Annotated[float, Field(ge=-90, le=90)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180)] | None = None


class SiteOut(Out):
    id: int
    operator_id: DbId
    name: str
    kind: str
    zone: str
    plant: str | None
    substation: str | None
    lat: float | None
    lon: float | None
    created_at: UTC


class LicenceIn(In):
    site_id: DbId
    number: Annotated[str, Field(min_length=1, max_length=100, description="PVARA licence no.")]
    valid_from: When
    valid_to: When | None = None
    status: Literal["active", "suspended", "revoked"] = "active"


class LicencePatch(In):
    valid_to: When | None = None
    status: Literal["active", "suspended", "revoked"] | None = None


class LicenceOut(Out):
    id: int
    site_id: DbId
    number: str
    valid_from: UTC
    valid_to: UTC | None
    status: str
    created_at: UTC


class ApplicationIn(In):
    site_id: DbId
    requested_mw: PositiveMW
    application_date: dt.date


class ApplicationPatch(In):
    status: Literal["pending", "granted", "rejected", "withdrawn"]


class ApplicationOut(Out):
    id: int
    site_id: DbId
    requested_mw: Decimal
    application_date: dt.date
    status: str
    created_at: UTC


class TouPeriodIn(In):
    """A time-of-use band (as the scenario's TouPeriod): local hours (hour beginning)
    and months it applies to, and its price in the contract's currency per kWh."""

    name: Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9_. -]+$")]
    hours: Annotated[list[Annotated[int, Field(ge=0, le=23)]], Field(min_length=1, max_length=24)]
    months: Annotated[
        list[Annotated[int, Field(ge=1, le=12)]], Field(min_length=1, max_length=12)
    ] = list(range(1, 13))
    local_per_kwh: Money


class ContractIn(In):
    site_id: DbId
    application_id: DbId | None = None
    tariff_scheme: Literal["flat", "time_of_use"]
    tariff_local_per_kwh: Money
    firm_share: Share
    firm_service_level: Share
    notice_minutes: Minutes
    ramp_minutes: Minutes
    penalty_local_per_mwh: Money
    start: dt.date
    term_months: Annotated[int, Field(ge=1, le=360)]
    review_months: Annotated[int, Field(ge=1, le=120)]
    tou_periods: Annotated[list[TouPeriodIn], Field(max_length=24)] | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "PKR"
    pkr_per_unit: Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=4)] = Decimal(1)
    fixed_pkr_per_month: Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=2)] = Decimal(
        0
    )
    tax_rate: Share = Decimal(0)
    #: Whether tax_rate applies to penalty lines too (default not: a penalty for
    #: non-performance is not a supply of energy; docs/settlement.md).
    tax_penalties: bool = False

    @model_validator(mode="after")
    def _billing(self) -> ContractIn:
        if self.tariff_scheme == "time_of_use" and not self.tou_periods:
            raise ValueError("tou_periods: a time_of_use tariff needs at least one band")
        if self.tariff_scheme == "flat" and self.tou_periods:
            raise ValueError("tou_periods: a flat tariff has no bands (use time_of_use)")
        if self.currency == "PKR" and self.pkr_per_unit != 1:
            raise ValueError("pkr_per_unit: must be 1 when the currency is PKR")
        return self


class ContractOut(Out):
    id: int
    site_id: DbId
    application_id: int | None
    tariff_scheme: str
    tariff_local_per_kwh: Decimal
    firm_share: Decimal
    firm_service_level: Decimal
    notice_minutes: int
    ramp_minutes: int
    penalty_local_per_mwh: Decimal
    start: dt.date
    term_months: int
    review_months: int
    created_at: UTC
    tou_periods: list[dict[str, Any]] | None = None
    currency: str = "PKR"
    pkr_per_unit: Decimal = Decimal(1)
    fixed_pkr_per_month: Decimal = Decimal(0)
    tax_rate: Decimal = Decimal(0)
    tax_penalties: bool = False


class LedgerIn(In):
    """``grant`` adds ``mw``; ``change`` sets the level to ``mw``; ``revoke`` sets it to 0."""

    site_id: DbId
    kind: Literal["grant", "change", "revoke"]
    effective_from: When
    mw: MW | None = None
    reason: Annotated[str, Field(min_length=1, max_length=2000)]
    application_id: DbId | None = None


class LedgerOut(BaseModel):
    id: int
    site_id: DbId
    kind: str
    effective_from: UTC
    delta_mw: Decimal
    level_mw: Decimal
    reason: str
    application_id: int | None
    recorded_at: UTC
    recorded_by: str


class AllocationOut(BaseModel):
    site_id: DbId
    at: UTC
    mw: Decimal
    licensed: bool = Field(description="An active licence is valid at `at`.")


class CapIn(In):
    cap_mw: MW
    zone: Annotated[
        str | None,
        Field(
            max_length=100,
            pattern=r"^[A-Za-z0-9_.-]+$",
            description="A plant cap's zone: sites at the plant must be in it.",
        ),
    ] = None


class CapOut(BaseModel):
    id: int
    scope: str
    name: str
    cap_mw: Decimal
    zone: str | None = Field(None, description="A plant cap's zone.")
    peak_allocated_mw: Decimal = Field(description="Most allocated under it at any time.")


class AuditOut(Out):
    id: int
    at: UTC
    actor: str
    action: str
    entity: str
    entity_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class ScheduleIn(In):
    """Run the day-ahead schedule of a program day and publish it over OpenADR."""

    day: Annotated[
        dt.date,
        Field(
            ge=dt.date(1901, 1, 1),
            le=dt.date(9998, 12, 30),
            description="The program day (local calendar day).",
        ),
    ]
    published_at: When | None = Field(
        None, description="When the schedule goes out (default now): notice counts from it."
    )


class BlockIntervalOut(BaseModel):
    start: dt.datetime
    end: dt.datetime
    allowed_mw: float = Field(description="Allowed import, MW (kW steps at the VTN).")
    curtailed_mw: float = Field(description="Below the allocation, MW (information).")


class BlockOut(BaseModel):
    key: str
    site_id: int
    site: str
    day: dt.date
    kind: Literal["scheduled", "emergency"]
    priority: int
    start: dt.datetime
    end: dt.datetime
    notice_minutes: int
    curtailed_mwh: float
    intervals: list[BlockIntervalOut]


class ScheduleOut(BaseModel):
    day: dt.date
    timezone: str
    published_at: dt.datetime
    profile_day: dt.date = Field(description="The scenario day whose hourly inputs were used.")
    blocks: list[BlockOut]
    uncovered_mwh: dict[str, float] = Field(
        description="Curtailment inside the notice window that no event asks for, MWh."
    )
    no_contract: list[str]
    changes: dict[str, list[str]] = Field(
        description="Event keys kept, updated, created and cancelled at the VTN."
    )


class EmergencyIn(In):
    """An emergency curtailment by hand: it overrides the site's scheduled blocks."""

    site_id: DbId
    start: When
    end: When
    limit_mw: MW


class MeterIn(In):
    site_id: DbId
    serial: Key


class MeterOut(Out):
    id: int
    site_id: int
    serial: str
    created_at: UTC


class IngestOut(BaseModel):
    """What a batch did: readings received, newly stored, already stored (a replay),
    and how many supersede an earlier version; the audit entry that records it."""

    received: int
    inserted: int
    unchanged: int
    superseded: int
    audit_id: int | None


class ReadingOut(BaseModel):
    meter_id: int
    serial: str
    site_id: int
    interval_start: UTC
    minutes: int
    kwh: Decimal | None
    quality: str
    version: int
    recorded_at: UTC
    recorded_by: str


class GapOut(BaseModel):
    start: UTC
    end: UTC
    reason: Literal["no reading", "missing"]


class InvoiceIn(In):
    site_id: DbId
    month: Annotated[str, Field(pattern=r"^(19|[2-9][0-9])[0-9]{2}-(0[1-9]|1[0-2])$")]


class CreditNoteIn(In):
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class InvoiceLineOut(BaseModel):
    position: int
    kind: str
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    amount: Decimal


class InvoiceOut(BaseModel):
    id: int
    number: str
    kind: str
    site_id: int
    contract_id: int
    month: str
    period_start: UTC
    period_end: UTC
    period_local: str
    currency: str
    energy_kwh: Decimal
    intervals: int
    estimated: int
    missing: int
    total: Decimal
    credits_invoice_id: int | None
    reason: str | None
    issued_at: UTC
    issued_by: str
    lines: list[InvoiceLineOut]
