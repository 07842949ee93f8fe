"""Plan against actual, per local calendar month: energy served and curtailed, revenue
and penalties, per site and for the program, against what the plan and the day-ahead
schedule expected; the state's margin as billed versus as planned
(docs/operations.md, "Plan against actual").

* **Planned** (a plan's output directory: ``served_mw``, ``curtailed_mw``,
  ``tariff_usd_per_mwh``, ``balance_monthly``): the plan's hours of the same calendar
  month of its span (the plan models one year; the schedule maps dates to it the same
  way), scaled by the actual month's days over the plan month's days. Money in PKR at
  the plan scenario's ``local_per_usd``. A site is matched to the plan's applicant of
  the same name (import-plan makes them so).
* **Scheduled**: the day-ahead schedule's events of the site that ended in the month:
  sum over their intervals of max(0, allocation - limit) x duration.
* **Actual**: served = the current readings' kWh in the month; curtailed = over the
  compliance intervals of those events, max(0, allocation x 15 min - metered kWh)
  (measured and estimated intervals); revenue = the energy and fixed lines of the
  month's standing invoices (not cancelled by a credit note; taxes are not the
  program's revenue), penalties = their penalty lines.
* **The state's margin**: planned = the plan's ``margin_usd`` of the month (revenue
  minus incremental fuel) in PKR, scaled; as billed = billed revenue + penalties -
  the plan's incremental fuel cost per MWh served x the MWh actually served (fuel is
  not metered here, so it is the plan's cost per MWh).

Planned figures come from floats (the plan's LP) and are shown rounded to 0.001 MWh and
the paisa; actual figures are exact Decimal.
"""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from megawatt import scenario as scenario_lib
from megawatt.errors import InputError
from megawatt.ops import compliance, invoicing, ledger
from megawatt.ops.models import Invoice, InvoiceLine, Site
from megawatt.ops.openadr.objects import interval_limits_kw
from megawatt.ops.openadr.tables import OadrEvent
from megawatt.report.export import read_results

MWH = Decimal("0.001")
NEEDED = ("served_mw", "curtailed_mw", "tariff_usd_per_mwh", "balance_monthly")


def _d(x: float, step: Decimal = MWH) -> Decimal:
    return Decimal(repr(float(x))).quantize(step)


def planned(plan_dir: Path, month: str) -> dict[str, Any]:
    """The plan's expectation for ``month`` (YYYY-MM): per applicant served and
    curtailed MWh and revenue PKR, and the program's served MWh, margin and fuel PKR."""
    tables, _ = read_results(Path(plan_dir))
    for name in NEEDED:
        if name not in tables:
            raise InputError(str(plan_dir), f"data/{name}.parquet", "missing: not a plan output")
    sc = scenario_lib.load(Path(plan_dir) / "scenario" / "scenario.yaml")
    rate = Decimal(repr(float(sc.currency.local_per_usd)))
    year, mon = (int(x) for x in month.split("-"))
    served = tables["served_mw"]
    index = pd.DatetimeIndex(served.index)
    if index.tz is None:
        index = index.tz_localize("UTC")
    local = index.tz_convert(sc.timezone)
    mask = local.month == mon
    if not mask.any():
        raise InputError(str(plan_dir), "served_mw", f"the plan's span has no month {mon:02d}")
    plan_days = len(set(local[mask].date))
    scale = calendar.monthrange(year, mon)[1] / plan_days
    tariff = tables["tariff_usd_per_mwh"]["tariff_usd_per_mwh"].to_numpy()[mask]
    curtailed = tables["curtailed_mw"]
    sites: dict[str, dict[str, Decimal]] = {}
    for name in served.columns:
        s = served[name].to_numpy()[mask]
        c = curtailed[name].to_numpy()[mask] if name in curtailed.columns else s * 0
        sites[str(name)] = {
            "served_mwh": _d(s.sum() * scale),
            "curtailed_mwh": _d(c.sum() * scale),
            "revenue_pkr": _d((s * tariff).sum() * scale) * rate,
        }
    for v in sites.values():
        v["revenue_pkr"] = invoicing.paisa(v["revenue_pkr"])
    bm = tables["balance_monthly"]
    rows = bm[[str(i).endswith(f"-{mon:02d}") for i in bm.index]]
    margin = float(rows["margin_usd"].sum()) * scale
    fuel = float(rows["incremental_fuel_usd"].sum()) * scale
    served_total = float(rows["served_mwh"].sum()) * scale
    return {
        "sites": sites,
        "served_mwh": _d(served_total),
        "margin_pkr": invoicing.paisa(_d(margin, Decimal("0.000001")) * rate),
        "fuel_pkr_per_mwh": (
            _d(fuel / served_total, Decimal("0.000001")) * rate if served_total else Decimal(0)
        ),
    }


def _standing(s: Session, site_id: int, month: str) -> tuple[Decimal, Decimal]:
    """(revenue, penalties) PKR of the month's standing invoices of the site."""
    credited = select(Invoice.credits_invoice_id).where(Invoice.credits_invoice_id.is_not(None))
    ids = list(
        s.scalars(
            select(Invoice.id).where(
                Invoice.site_id == site_id,
                Invoice.month == month,
                Invoice.kind == "invoice",
                Invoice.id.not_in(credited),
            )
        )
    )
    revenue, penalties = Decimal("0.00"), Decimal("0.00")
    for line in s.scalars(select(InvoiceLine).where(InvoiceLine.invoice_id.in_(ids))):
        if line.kind in ("energy", "fixed"):
            revenue += line.amount
        elif line.kind == "penalty":
            penalties += line.amount
    return revenue, penalties


def actual(s: Session, site: Site, month: str) -> dict[str, Any]:
    start, end = invoicing.month_bounds(month)
    served = sum(
        (r.kwh for r in invoicing.readings_of(s, site.id, start, end) if r.kwh is not None),
        Decimal(0),
    )
    scheduled = Decimal(0)
    curtailed = Decimal(0)
    results = compliance.month_results(s, site.id, month)
    for r in results:
        event = s.get(OadrEvent, r.event_id)
        for st, dur, limit in interval_limits_kw(event):
            hours = Decimal((dur or compliance.STEP).total_seconds()) / 3600
            alloc = ledger.level_kw(s, site.id, st)
            scheduled += max(Decimal(0), Decimal(alloc - limit)) * hours
        for i in r.intervals:
            if i.kwh is not None:
                alloc = Decimal(ledger.level_kw(s, site.id, i.start))
                curtailed += max(Decimal(0), alloc * compliance.HOURS - i.kwh)
    revenue, penalties = _standing(s, site.id, month)
    return {
        "served_mwh": served / 1000,
        "scheduled_curtailed_mwh": scheduled / 1000,
        "curtailed_mwh": curtailed / 1000,
        "revenue_pkr": revenue,
        "penalties_pkr": penalties,
        "events": len(results),
    }


def plan_vs_actual(
    s: Session,
    plan_dir: Path,
    month: str,
    *,
    visible: Any = None,
    site_id: int | None = None,
) -> dict[str, Any]:
    """Per site and for the program (see the module's docstring): the CLI's
    ``plan-vs-actual`` and the API's ``GET /plan-vs-actual``. ``visible``: a subquery
    of the site ids the caller may see (None: every site); ``site_id``: one site. With
    either, ``program`` sums the sites shown and ``margin`` is None (the state's margin
    is the whole program's; ``scope`` says which)."""
    invoicing.month_bounds(month)  # checks the format
    plan = planned(plan_dir, month)
    rows = []
    total: dict[str, Decimal] = {}
    stmt = select(Site).order_by(Site.id)
    if visible is not None:
        stmt = stmt.where(Site.id.in_(visible))
    if site_id is not None:
        stmt = stmt.where(Site.id == site_id)
    whole = visible is None and site_id is None
    for site in s.scalars(stmt):
        a = actual(s, site, month)
        p = plan["sites"].get(site.name, {})
        row = {
            "site_id": site.id,
            "site": site.name,
            "in_plan": site.name in plan["sites"],
            "planned_served_mwh": p.get("served_mwh", Decimal(0)),
            "planned_curtailed_mwh": p.get("curtailed_mwh", Decimal(0)),
            "planned_revenue_pkr": p.get("revenue_pkr", Decimal("0.00")),
            **a,
        }
        rows.append(row)
        for k, v in row.items():
            if isinstance(v, Decimal):
                total[k] = total.get(k, Decimal(0)) + v
    fuel = plan["fuel_pkr_per_mwh"] * total.get("served_mwh", Decimal(0))
    billed_margin = (
        total.get("revenue_pkr", Decimal(0)) + total.get("penalties_pkr", Decimal(0)) - fuel
    )
    return {
        "month": month,
        "scope": "program" if whole else "sites",
        "sites": rows,
        "program": total,
        "margin": (
            {
                "planned_pkr": plan["margin_pkr"],
                "billed_pkr": invoicing.paisa(billed_margin),
                "fuel_pkr_per_mwh_planned": plan["fuel_pkr_per_mwh"],
            }
            if whole
            else None
        ),
        "generated_at": dt.datetime.now(dt.UTC),
    }
