"""Monthly invoices of a site: energy per interval x the tariff of that interval, in PKR.

The rule (docs/operations.md, "Metering, compliance and invoices"):

* the month is a **local calendar month** of the program's time zone (Asia/Karachi):
  March 2027 runs from 2027-03-01 00:00 PKT (2027-02-28 19:00 UTC) to 2027-04-01 00:00
  PKT; an interval belongs to the month its start falls in;
* each interval's current reading (its newest version) with kWh is priced by the band
  of the contract's tariff its local start hour and month fall in (time of use: the
  first band that lists both; otherwise, and for a flat tariff, the contract's price);
* prices are in the contract's currency; the exchange rule is a fixed ``pkr_per_unit``
  (1 for PKR) so that a unit price in PKR is ``price x pkr_per_unit``, exact;
* one **energy line per band**: quantity = the band's kWh (exact sum), amount =
  quantity x unit price rounded **half-up to the paisa** (0.01 PKR); then the fixed
  charge (if any), penalties (one line each), and tax = rate x (sum of the energy and
  fixed lines, and of the penalty lines only if the contract's ``tax_penalties``)
  rounded half-up to the paisa; the total is the sum of the line amounts;
* estimated readings are billed and counted; missing ones are not billed and counted.

Everything is Decimal; nothing passes through a float. Issued invoices and their lines
are immutable (database triggers); a correction is a credit note (the negated lines of
the invoice it cancels), after which the month may be invoiced again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from megawatt.ops import audit, metering
from megawatt.ops.models import Contract, Invoice, InvoiceLine, Meter, Reading, Site
from megawatt.ops.money import contract_spans, month_bounds, paisa
from megawatt.ops.problems import Problem, conflict, invalid, not_found


@dataclass(frozen=True)
class Band:
    name: str
    hours: frozenset[int]
    months: frozenset[int]
    price: Decimal  # in the contract's currency per kWh


@dataclass(frozen=True)
class Terms:
    """What an invoice needs of a contract."""

    price: Decimal
    bands: tuple[Band, ...] = ()
    currency: str = "PKR"
    pkr_per_unit: Decimal = Decimal(1)
    fixed_pkr: Decimal = Decimal(0)
    tax_rate: Decimal = Decimal(0)
    #: Whether the tax applies to penalty lines too (default not: a penalty for
    #: non-performance is not a supply of energy; a configurable assumption).
    tax_penalties: bool = False
    tz: ZoneInfo = metering.PROGRAM_TZ

    @classmethod
    def of(cls, c: Contract) -> Terms:
        bands = tuple(
            Band(
                p["name"],
                frozenset(p["hours"]),
                frozenset(p.get("months") or range(1, 13)),
                Decimal(str(p["local_per_kwh"])),
            )
            for p in (c.tou_periods or [])
        )
        return cls(
            price=c.tariff_local_per_kwh,
            bands=bands if c.tariff_scheme == "time_of_use" else (),
            currency=c.currency,
            pkr_per_unit=c.pkr_per_unit,
            fixed_pkr=c.fixed_pkr_per_month,
            tax_rate=c.tax_rate,
            tax_penalties=bool(c.tax_penalties),
        )

    def band(self, start: dt.datetime) -> tuple[str, Decimal]:
        local = start.astimezone(self.tz)
        for b in self.bands:
            if local.hour in b.hours and local.month in b.months:
                return b.name, b.price
        return ("flat" if not self.bands else "off-band"), self.price


@dataclass(frozen=True)
class Line:
    kind: str
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    amount: Decimal


@dataclass
class Bill:
    lines: list[Line] = field(default_factory=list)
    energy_kwh: Decimal = Decimal(0)
    intervals: int = 0
    estimated: int = 0
    missing: int = 0

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00"))


def compute(
    readings: Iterable[tuple[dt.datetime, Decimal | None, str]],
    terms: Terms,
    penalties: Sequence[tuple[str, Decimal]] = (),
) -> Bill:
    """The bill of ``readings`` (interval start UTC, kWh or None, quality: the current
    versions only) under ``terms``; ``penalties``: (description, PKR) lines."""
    bill = Bill()
    kwh_by_band: dict[tuple[str, Decimal], Decimal] = {}
    for start, kwh, quality in readings:
        bill.intervals += 1
        if quality == "missing" or kwh is None:
            bill.missing += 1
            continue
        if quality == "estimated":
            bill.estimated += 1
        key = terms.band(start)
        kwh_by_band[key] = kwh_by_band.get(key, Decimal(0)) + kwh
        bill.energy_kwh += kwh
    order = {b.name: i for i, b in enumerate(terms.bands)}
    for (name, price), kwh in sorted(
        kwh_by_band.items(), key=lambda kv: (order.get(kv[0][0], len(order)), kv[0][0])
    ):
        unit_price = price * terms.pkr_per_unit
        rule = (
            ""
            if terms.currency == "PKR"
            else f" ({price} {terms.currency} x {terms.pkr_per_unit} PKR/{terms.currency})"
        )
        bill.lines.append(
            Line("energy", f"energy, {name}{rule}", kwh, "kWh", unit_price, paisa(kwh * unit_price))
        )
    if terms.fixed_pkr:
        bill.lines.append(
            Line(
                "fixed",
                "fixed charge",
                Decimal(1),
                "month",
                terms.fixed_pkr,
                paisa(terms.fixed_pkr),
            )
        )
    for description, amount in penalties:
        bill.lines.append(Line("penalty", description, Decimal(1), "event", amount, paisa(amount)))
    if terms.tax_rate:
        base = sum(
            (line.amount for line in bill.lines if line.kind != "penalty" or terms.tax_penalties),
            Decimal(0),
        )
        bill.lines.append(
            Line(
                "tax",
                f"tax at {terms.tax_rate * 100:f}%",
                base,
                "PKR",
                terms.tax_rate,
                paisa(base * terms.tax_rate),
            )
        )
    return bill


# -- periods -------------------------------------------------------------------------------


def contract_in_force(s: Session, site_id: int, month: str) -> tuple[Contract, dt.date, dt.date]:
    """The contract that governs the local month ``month`` and the days ``[from, to)``
    of the month it governs (a contract that starts or ends within the month bills only
    its days; readings outside any contract are not billed, and the invoice's period
    says which days it covers). 422 when none governs any day of the month, or when two
    do (a change of contract within a month: not billed by one invoice yet)."""
    year, mon = (int(x) for x in month.split("-"))
    first = dt.date(year, mon, 1)
    nxt = dt.date(year + mon // 12, mon % 12 + 1, 1)
    governing = [
        (c, max(a, first), min(b, nxt))
        for c, a, b in contract_spans(s, site_id)
        if a < nxt and b > first
    ]
    if not governing:
        raise invalid(
            f"site {site_id} has no contract in force in {month}",
            "month",
            "no contract in force for this month",
        )
    if len(governing) > 1:
        raise invalid(
            f"site {site_id} changes contract within {month} (contracts "
            + ", ".join(str(c.id) for c, _, _ in governing)
            + "): one invoice bills one contract; not supported yet",
            "month",
            "one contract per month",
        )
    return governing[0]


def readings_of(s: Session, site_id: int, start: dt.datetime, end: dt.datetime) -> list[Reading]:
    meters = select(Meter.id).where(Meter.site_id == site_id)
    return list(s.scalars(metering.current(meters, start, end)))


def _lock_site(s: Session, site_id: int) -> Site:
    site = s.scalars(select(Site).where(Site.id == site_id).with_for_update()).first()
    if site is None:
        raise invalid(f"site_id {site_id} does not exist", "site_id", "no such record")
    return site


def _open_invoice(s: Session, site_id: int, month: str) -> Invoice | None:
    credited = select(Invoice.credits_invoice_id).where(Invoice.credits_invoice_id.is_not(None))
    return s.scalars(
        select(Invoice).where(
            Invoice.site_id == site_id,
            Invoice.month == month,
            Invoice.kind == "invoice",
            Invoice.id.not_in(credited),
        )
    ).first()


def _number(s: Session, prefix: str, site_id: int, month: str) -> str:
    n = s.scalar(
        select(func.count())
        .select_from(Invoice)
        .where(Invoice.site_id == site_id, Invoice.month == month)
    )
    return f"{prefix}-{site_id}-{month.replace('-', '')}-{int(n or 0) + 1}"


def _store(s: Session, inv: Invoice, lines: Sequence[Line], actor: str) -> Invoice:
    s.add(inv)
    s.flush()
    for i, line in enumerate(lines, start=1):
        s.add(
            InvoiceLine(
                invoice_id=inv.id,
                position=i,
                kind=line.kind,
                description=line.description,
                quantity=line.quantity,
                unit=line.unit,
                unit_price=line.unit_price,
                amount=line.amount,
            )
        )
    s.flush()
    after = audit.snapshot(inv)
    assert after is not None
    after["lines"] = [
        {
            "kind": x.kind,
            "quantity": str(x.quantity),
            "unit_price": str(x.unit_price),
            "amount": str(x.amount),
        }
        for x in lines
    ]
    audit.record(s, actor, "issue", inv.kind, inv.id, None, after)
    return inv


def issue(
    s: Session, site_id: int, month: str, actor: str, now: dt.datetime | None = None
) -> Invoice:
    """Issue the invoice of ``site_id`` for the local month ``month`` (YYYY-MM); 409 when
    an invoice of that month stands (not cancelled by a credit note) or the month has
    not ended."""
    start, end = month_bounds(month)
    now = now or dt.datetime.now(dt.UTC)
    if end > now:
        raise invalid(
            f"month {month} has not ended (ends {end.isoformat()})", "month", "not ended yet"
        )
    _lock_site(s, site_id)
    standing = _open_invoice(s, site_id, month)
    if standing is not None:
        raise conflict(
            f"invoice {standing.number} of site {site_id} for {month} stands; cancel it with a "
            "credit note first",
            "month",
            "already invoiced",
            invoice_id=standing.id,
        )
    contract, day_from, day_to = contract_in_force(s, site_id, month)
    tz = metering.PROGRAM_TZ
    start = max(start, dt.datetime.combine(day_from, dt.time(0), tz).astimezone(dt.UTC))
    end = min(end, dt.datetime.combine(day_to, dt.time(0), tz).astimezone(dt.UTC))
    rows = readings_of(s, site_id, start, end)
    from megawatt.ops import compliance  # compliance prices penalties with this module

    results = compliance.month_results(s, site_id, month)
    penalties = [
        (
            f"penalty, event {r.event_id} ({r.event_start.isoformat()}): "
            f"{r.shortfall_kwh} kWh over the limit",
            r.penalty_pkr,
        )
        for r in results
        if r.penalty_pkr > 0
    ]
    bill = compute(
        ((r.interval_start, r.kwh, r.quality) for r in rows), Terms.of(contract), penalties
    )
    inv = Invoice(
        number=_number(s, "INV", site_id, month),
        site_id=site_id,
        contract_id=contract.id,
        kind="invoice",
        month=month,
        period_start=start,
        period_end=end,
        currency="PKR",
        energy_kwh=bill.energy_kwh,
        intervals=bill.intervals,
        estimated=bill.estimated,
        missing=bill.missing,
        total=bill.total,
        issued_by=actor,
    )
    _store(s, inv, bill.lines, actor)
    # The compliance record that was billed, kept with the invoice (same transaction).
    compliance.store_month(s, inv, results)
    return inv


def credit_note(s: Session, invoice_id: int, reason: str, actor: str) -> Invoice:
    """A credit note cancelling invoice ``invoice_id`` (its lines negated); 409 if it is
    a credit note itself or already credited."""
    original = s.get(Invoice, invoice_id)
    if original is None:
        raise not_found("invoice", invoice_id, "invoice_id")
    _lock_site(s, original.site_id)
    if original.kind != "invoice":
        raise conflict("a credit note cannot be credited", "invoice_id", "is a credit note")
    if s.scalar(select(Invoice.id).where(Invoice.credits_invoice_id == invoice_id)) is not None:
        raise conflict(
            f"invoice {original.number} is already credited", "invoice_id", "already credited"
        )
    lines = [
        Line(x.kind, f"credit: {x.description}", -x.quantity, x.unit, x.unit_price, -x.amount)
        for x in s.scalars(
            select(InvoiceLine)
            .where(InvoiceLine.invoice_id == invoice_id)
            .order_by(InvoiceLine.position)
        )
    ]
    note = Invoice(
        number=_number(s, "CN", original.site_id, original.month),
        site_id=original.site_id,
        contract_id=original.contract_id,
        kind="credit_note",
        month=original.month,
        period_start=original.period_start,
        period_end=original.period_end,
        currency=original.currency,
        energy_kwh=-original.energy_kwh,
        intervals=original.intervals,
        estimated=original.estimated,
        missing=original.missing,
        total=sum((x.amount for x in lines), Decimal("0.00")),
        credits_invoice_id=original.id,
        reason=reason,
        issued_by=actor,
    )
    return _store(s, note, lines, actor)


def lines_of(s: Session, invoice_id: int) -> list[InvoiceLine]:
    return list(
        s.scalars(
            select(InvoiceLine)
            .where(InvoiceLine.invoice_id == invoice_id)
            .order_by(InvoiceLine.position)
        )
    )


def local_period(inv: Invoice, tz: ZoneInfo = metering.PROGRAM_TZ) -> tuple[str, str]:
    fmt = "%Y-%m-%d %H:%M %Z"
    return inv.period_start.astimezone(tz).strftime(fmt), inv.period_end.astimezone(tz).strftime(
        fmt
    )


def as_dict(inv: Invoice, lines: Sequence[InvoiceLine]) -> dict[str, Any]:
    start, end = local_period(inv)
    return {
        "id": inv.id,
        "number": inv.number,
        "kind": inv.kind,
        "site_id": inv.site_id,
        "contract_id": inv.contract_id,
        "month": inv.month,
        "period_start": inv.period_start,
        "period_end": inv.period_end,
        "period_local": f"{start} to {end}",
        "currency": inv.currency,
        "energy_kwh": inv.energy_kwh,
        "intervals": inv.intervals,
        "estimated": inv.estimated,
        "missing": inv.missing,
        "total": inv.total,
        "credits_invoice_id": inv.credits_invoice_id,
        "reason": inv.reason,
        "issued_at": inv.issued_at,
        "issued_by": inv.issued_by,
        "lines": [
            {
                "position": x.position,
                "kind": x.kind,
                "description": x.description,
                "quantity": x.quantity,
                "unit": x.unit,
                "unit_price": x.unit_price,
                "amount": x.amount,
            }
            for x in lines
        ],
    }


def run(
    factory: Any, month: str, actor: str, now: dt.datetime | None = None
) -> dict[str, list[int]]:
    """The invoice run of a month: every site with a contract in force, one transaction
    per site, so a run killed midway keeps what it issued and a second run issues only
    the rest (a site whose invoice of the month stands is skipped, never billed twice).
    ``factory``: a sessionmaker. Returns the site ids issued, skipped, without contract."""
    out: dict[str, list[int]] = {"issued": [], "standing": [], "no_contract": []}
    with factory() as s:
        sites = list(s.scalars(select(Site.id).order_by(Site.id)))
    for site_id in sites:
        with factory() as s, s.begin():
            if _open_invoice(s, site_id, month) is not None:
                out["standing"].append(site_id)
                continue
            try:
                contract_in_force(s, site_id, month)
            except Problem:
                out["no_contract"].append(site_id)
                continue
            issue(s, site_id, month, actor, now=now)
            out["issued"].append(site_id)
    return out
