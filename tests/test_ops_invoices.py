"""Invoices: the reconciliation property (total = sum of lines = f(readings), exact),
the worked example of docs/operations.md, local months, immutability, credit notes,
and the exports (JSON, CSV, HTML, Green Button validated against the ESPI schema)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from megawatt.ops import db, greenbutton, invoicing
from opsdb import add_client, client, db_url, migrated, token  # noqa: F401  (fixtures)
from test_ops_metering import batch, world

XSD = Path("/work/shared/greenbutton/usage.xsd")
if not XSD.exists():  # the repository's copy beside the worktree (../shared)
    XSD = Path(__file__).resolve().parents[2] / "shared" / "greenbutton" / "usage.xsd"
PKT = dt.timedelta(hours=5)  # Asia/Karachi: UTC+5 all year (no DST since 2009)


# -- the property --------------------------------------------------------------------------

kwh_values = st.decimals(min_value=0, max_value=Decimal("99999.999999"), places=6)
prices = st.decimals(min_value=0, max_value=Decimal("999.999999"), places=6)


@st.composite
def bands(draw: Any) -> list[invoicing.Band]:
    n = draw(st.integers(0, 4))
    return [
        invoicing.Band(
            f"band{i}",
            frozenset(draw(st.sets(st.integers(0, 23), min_size=1))),
            frozenset(draw(st.sets(st.integers(1, 12), min_size=1))),
            draw(prices),
        )
        for i in range(n)
    ]


@st.composite
def readings(draw: Any) -> list[tuple[dt.datetime, Decimal | None, str]]:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(
        minutes=15 * draw(st.integers(0, 35000))
    )
    n = draw(st.integers(0, 60))
    out = []
    for i in range(n):
        quality = draw(st.sampled_from(["measured", "measured", "estimated", "missing"]))
        kwh = None if quality == "missing" else draw(kwh_values)
        out.append((start + dt.timedelta(minutes=15 * i * draw(st.integers(1, 40))), kwh, quality))
    return out


def reference_total(rows, base, periods, rate, fixed, tax_rate) -> tuple[Decimal, Decimal]:
    """Written apart from invoicing.compute: (total PKR, billed kWh)."""

    def half_up(x: Decimal) -> Decimal:
        return x.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    per_price: dict[str, list[Decimal]] = {}
    price_of: dict[str, Decimal] = {}
    for start, kwh, quality in rows:
        if quality == "missing":
            continue
        local = start + PKT
        name, price = "base", base
        for p in periods:
            if local.hour in p.hours and local.month in p.months:
                name, price = p.name, p.price
                break
        per_price.setdefault(name, []).append(kwh)
        price_of[name] = price
    energy = [half_up(sum(v) * price_of[k] * rate) for k, v in per_price.items()]
    subtotal = sum(energy, Decimal(0)) + half_up(fixed)
    tax = half_up(subtotal * tax_rate)
    billed = sum((kwh for _, kwh, q in rows if q != "missing"), Decimal(0))
    return subtotal + tax, billed


@settings(max_examples=300, deadline=None)
@given(
    rows=readings(),
    base=prices,
    periods=bands(),
    rate=st.one_of(
        st.just(Decimal(1)),
        st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("999.9999"), places=4),
    ),
    fixed=st.decimals(min_value=0, max_value=Decimal("9999999.99"), places=2),
    tax_rate=st.decimals(min_value=0, max_value=1, places=6),
)
def test_total_is_sum_of_lines_is_f_of_readings(rows, base, periods, rate, fixed, tax_rate) -> None:
    terms = invoicing.Terms(
        price=base,
        bands=tuple(periods),
        currency="PKR" if rate == 1 else "USD",
        pkr_per_unit=rate,
        fixed_pkr=fixed,
        tax_rate=tax_rate,
    )
    bill = invoicing.compute(rows, terms)
    assert bill.total == sum(x.amount for x in bill.lines)
    for x in bill.lines:
        assert x.amount == (x.quantity * x.unit_price).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )
        assert x.amount.as_tuple().exponent == -2
    want, billed = reference_total(rows, base, periods, rate, fixed, tax_rate)
    assert bill.total == want
    # Reconciles with the meter data: the energy lines' kWh are exactly the billed kWh.
    assert sum(x.quantity for x in bill.lines if x.kind == "energy") == billed == bill.energy_kwh
    assert bill.intervals == len(rows)
    assert bill.missing == sum(1 for r in rows if r[2] == "missing")


def test_rounding_is_half_up_to_the_paisa() -> None:
    assert invoicing.paisa(Decimal("1.005")) == Decimal("1.01")
    assert invoicing.paisa(Decimal("1.004999")) == Decimal("1.00")
    assert invoicing.paisa(Decimal("-1.005")) == Decimal("-1.01")
    assert invoicing.paisa(Decimal("2.675")) == Decimal("2.68")  # a float would give 2.67


# -- through the service ---------------------------------------------------------------------

TOU = {
    "tariff_scheme": "time_of_use",
    "tariff_local_per_kwh": "20",
    "tou_periods": [{"name": "peak", "hours": [18, 19, 20, 21], "local_per_kwh": "30.123457"}],
}


def contract(http: Any, site: int, **terms: Any) -> int:
    body = {
        "site_id": site,
        "tariff_scheme": "flat",
        "tariff_local_per_kwh": "22.98",
        "firm_share": "0.1",
        "firm_service_level": "0.95",
        "notice_minutes": 30,
        "ramp_minutes": 10,
        "penalty_local_per_mwh": "1500",
        "start": "2026-01-01",
        "term_months": 36,
        "review_months": 6,
    } | terms
    r = http.post("/contracts", json=body)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_worked_example(client: Any, migrated: str) -> None:  # noqa: F811
    """docs/operations.md, "Worked example": March 2026 of a site on a time-of-use
    contract with a fixed charge and 18% tax. Readings: 2026-02-28T19:00Z (00:00 PKT on
    1 March: in March), four peak intervals 13:00-14:00Z (18:00-19:00 PKT), one missing,
    one estimated; 2026-03-31T19:00Z is 1 April PKT (not in March)."""
    w = world(client)
    contract(client, w["site"], **TOU, fixed_pkr_per_month="5000", tax_rate="0.18")
    rows = [
        {"meter": "M-1", "interval_start": "2026-02-28T18:45:00Z", "kwh": "999"},  # February PKT
        {"meter": "M-1", "interval_start": "2026-02-28T19:00:00Z", "kwh": "100.000001"},
        *[
            {"meter": "M-1", "interval_start": f"2026-03-10T13:{m:02d}:00Z", "kwh": "250.5"}
            for m in (0, 15, 30, 45)
        ],
        {
            "meter": "M-1",
            "interval_start": "2026-03-11T00:00:00Z",
            "kwh": None,
            "quality": "missing",
        },
        {
            "meter": "M-1",
            "interval_start": "2026-03-11T00:15:00Z",
            "kwh": "10",
            "quality": "estimated",
        },
        {"meter": "M-1", "interval_start": "2026-03-31T19:00:00Z", "kwh": "777"},  # April PKT
    ]
    assert client.post("/readings", json={"readings": rows}).status_code == 200
    r = client.post("/invoices", json={"site_id": w["site"], "month": "2026-03"})
    assert r.status_code == 201, r.text
    inv = r.json()
    lines = [(x["kind"], x["quantity"], x["unit_price"], x["amount"]) for x in inv["lines"]]
    # peak: 1002 kWh x 30.123457 = 30183.703914 -> 30183.70
    # off-band: 110.000001 kWh x 20 = 2200.00002 -> 2200.00
    # tax: 18% of (30183.70 + 2200.00 + 5000.00 = 37383.70) = 6729.066 -> 6729.07
    assert lines == [
        ("energy", "1002.000000", "30.1234570000", "30183.70"),
        ("energy", "110.000001", "20.0000000000", "2200.00"),
        ("fixed", "1.000000", "5000.0000000000", "5000.00"),
        ("tax", "37383.700000", "0.1800000000", "6729.07"),
    ]
    assert inv["total"] == "44112.77"
    assert (inv["energy_kwh"], inv["intervals"], inv["estimated"], inv["missing"]) == (
        "1112.000001",
        7,
        1,
        1,
    )
    assert (
        inv["period_start"] == "2026-02-28T19:00:00Z"
        and inv["period_end"] == "2026-03-31T19:00:00Z"
    )
    assert inv["period_local"] == "2026-03-01 00:00 PKT to 2026-04-01 00:00 PKT"

    # Issued invoices are immutable, in the database itself.
    engine = db.make_engine(migrated)
    try:
        for statement in (
            "UPDATE invoices SET total = 0",
            "DELETE FROM invoice_lines",
            "UPDATE readings SET kwh = NULL",
        ):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(text(statement))
    finally:
        engine.dispose()

    # A second invoice for the month is refused while the first stands.
    again = client.post("/invoices", json={"site_id": w["site"], "month": "2026-03"})
    assert again.status_code == 409 and again.json()["invoice_id"] == inv["id"]
    # A corrected reading, a credit note, a new invoice: the three reconcile.
    fix = {"meter": "M-1", "interval_start": "2026-03-11T00:15:00Z", "kwh": "12", "version": 2}
    assert client.post("/readings", json={"readings": [fix]}).json()["superseded"] == 1
    note = client.post(f"/invoices/{inv['id']}/credit-note", json={"reason": "meter M-1 corrected"})
    assert note.status_code == 201, note.text
    assert note.json()["total"] == "-44112.77" and note.json()["kind"] == "credit_note"
    assert (
        client.post(f"/invoices/{inv['id']}/credit-note", json={"reason": "twice"}).status_code
        == 409
    )
    new = client.post("/invoices", json={"site_id": w["site"], "month": "2026-03"}).json()
    # off-band 112.000001 x 20 = 2240.00002 -> 2240.00; tax 18% of 37423.70 = 6736.266 -> 6736.27
    assert new["total"] == "44159.97" and new["estimated"] == 0
    numbers = [x["number"] for x in client.get("/invoices", params={"site_id": w["site"]}).json()]
    assert numbers == [
        f"INV-{w['site']}-202603-1",
        f"CN-{w['site']}-202603-2",
        f"INV-{w['site']}-202603-3",
    ]
    audit = client.get("/audit", params={"entity": "invoice"}).json()
    assert [a["action"] for a in audit] == ["issue", "issue"]


def test_invoice_rules_refuse(client: Any, migrated: str) -> None:  # noqa: F811
    w = world(client)
    r = client.post("/invoices", json={"site_id": w["site"], "month": "2026-03"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "month"  # no contract
    contract(client, w["site"])
    r = client.post("/invoices", json={"site_id": w["site"], "month": "2099-03"})
    assert r.status_code == 422 and "not ended" in r.json()["detail"]
    r = client.post("/invoices", json={"site_id": w["site"], "month": "2026-13"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "month"
    r = client.post(
        "/contracts",
        json={
            "site_id": w["site"],
            **{k: v for k, v in TOU.items() if k != "tou_periods"},
            "firm_share": "0.1",
            "firm_service_level": "0.9",
            "notice_minutes": 1,
            "ramp_minutes": 1,
            "penalty_local_per_mwh": "1",
            "start": "2026-01-01",
            "term_months": 1,
            "review_months": 1,
        },
    )
    assert r.status_code == 422 and "tou_periods" in r.text
    # An empty month is an invoice of zero energy, not an error (and not zeros filled in).
    empty = client.post("/invoices", json={"site_id": w["site"], "month": "2026-04"}).json()
    assert empty["total"] == "0.00" and empty["lines"] == [] and empty["intervals"] == 0


def test_exports(client: Any, migrated: str) -> None:  # noqa: F811
    import xmlschema

    w = world(client, ("GB-1", "GB-2"))
    contract(client, w["site"], currency="USD", tariff_local_per_kwh="0.08", pkr_per_unit="280.5")
    rows = batch("GB-1", 200, start=dt.datetime(2026, 5, 1, tzinfo=dt.UTC)) + batch(
        "GB-2", 50, start=dt.datetime(2026, 5, 2, tzinfo=dt.UTC), kwh="0.000001"
    )
    rows[3] = {**rows[3], "quality": "estimated", "kwh": "1.234567"}
    rows[4] = {**rows[4], "quality": "missing", "kwh": None}
    assert client.post("/readings", json={"readings": rows}).status_code == 200
    inv = client.post("/invoices", json={"site_id": w["site"], "month": "2026-05"}).json()
    # 198 x 250.5 + 1.234567 + 50 x 0.000001 = 49600.234617 kWh x (0.08 x 280.5 = 22.44)
    assert inv["energy_kwh"] == "49600.234617"
    assert inv["total"] == str(
        (Decimal("49600.234617") * Decimal("22.44")).quantize(Decimal("0.01"), ROUND_HALF_UP)
    )

    got = client.get(f"/invoices/{inv['id']}/csv")
    assert got.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(got.text)))
    assert (
        sum(Decimal(x["amount"]) for x in table[:-1])
        == Decimal(table[-1]["amount"])
        == Decimal(inv["total"])
    )
    page = client.get(f"/invoices/{inv['id']}/html")
    assert page.headers["content-type"].startswith("text/html")
    assert (
        inv["number"] in page.text
        and inv["total"] in page.text
        and "local calendar month" in page.text
    )
    assert "2026-05-01 00:00 PKT" in page.text

    feed = client.get(
        f"/sites/{w['site']}/greenbutton",
        params={"start": "2026-05-01T00:00:00Z", "end": "2026-06-01T00:00:00Z"},
    )
    assert feed.status_code == 200 and feed.headers["content-type"].startswith(
        "application/atom+xml"
    )
    schema = xmlschema.XMLSchema(str(XSD))
    schema.validate(feed.content)  # raises on any violation
    # The ESPI content itself is checked (not skipped as foreign XML): a bad value fails.
    broken = feed.content.replace(b"<espi:uom>72</espi:uom>", b"<espi:uom>Wh</espi:uom>")
    assert not schema.is_valid(broken)
    wh = greenbutton.read_wh(feed.content)
    assert wh == {
        "GB-1": (Decimal("250.5") * 198 + Decimal("1.234567")) * 1000,
        "GB-2": Decimal("0.000001") * 50 * 1000,
    }
    assert b"<espi:quality>8</espi:quality>" in feed.content  # the estimated interval
    assert feed.content.count(b"<espi:IntervalReading>") == 249  # the missing one is absent


def test_a_contract_starting_mid_month_bills_only_its_days(client: Any, migrated: str) -> None:  # noqa: F811
    """A contract from 15 March (local) bills 15-31 March: the invoice's period starts
    at 2026-03-15 00:00 PKT and the readings of 1-14 March (no contract) are not on it.
    A second contract from 20 March in the same month is a 422 (one contract per
    invoice), never a silent choice."""
    w = world(client)
    contract(client, w["site"], start="2026-03-15")
    day = dt.timedelta(days=1)
    t0 = dt.datetime(2026, 2, 28, 19, tzinfo=dt.UTC)  # 2026-03-01 00:00 PKT
    rows = [r for d in range(31) for r in batch("M-1", 1, start=t0 + d * day, kwh="100")]
    assert client.post("/readings", json={"readings": rows}).status_code == 200
    inv = client.post("/invoices", json={"site_id": w["site"], "month": "2026-03"})
    assert inv.status_code == 201, inv.text
    body = inv.json()
    assert body["period_start"].startswith("2026-03-14T19:00:00")  # 15 March 00:00 PKT
    assert body["intervals"] == 17 and Decimal(body["energy_kwh"]) == Decimal(1700)
    assert Decimal(body["total"]) == Decimal("1700") * Decimal("22.98")
    w2 = world(client, ("M-2",), name="s2")
    contract(client, w2["site"], start="2026-01-01")
    contract(client, w2["site"], start="2026-03-20")
    r = client.post("/invoices", json={"site_id": w2["site"], "month": "2026-03"})
    assert r.status_code == 422 and "changes contract within 2026-03" in r.json()["detail"]
    ok = client.post("/invoices", json={"site_id": w2["site"], "month": "2026-02"})
    assert ok.status_code == 201, ok.text  # the first contract alone governs February
