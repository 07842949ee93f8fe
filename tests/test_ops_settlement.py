"""Plan against actual (docs/operations.md, "Plan against actual"): a month of one
site against a plan output made here (fast), with an event and an invoice."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from megawatt import scenario as scenario_lib
from megawatt.cli import app as cli
from megawatt.ops import db
from megawatt.ops.settlement import plan_vs_actual
from opsdb import client, db_url, migrated  # noqa: F401  (fixtures)
from test_ops_compliance import START, event, readings, site


def plan_dir(tmp: Path, name: str) -> tuple[Path, Decimal]:
    """June 2025 (local) of a plan: ``name`` served 4 MW every hour but 10 curtailed to
    1 MW, tariff 80 USD/MWh; the month's margin 100,000 USD after 50,000 USD of fuel."""
    sc = scenario_lib.load_default()
    out = tmp / "plan"
    scenario_lib.dump(sc, out / "scenario")
    (out / "data").mkdir()
    hours = pd.date_range("2025-05-31T19:00Z", "2025-06-30T19:00Z", freq="h", inclusive="left")
    served = np.full(len(hours), 4.0)
    served[:10] = 1.0
    tables = {
        "served_mw": pd.DataFrame({name: served, "someone-else": served}, index=hours),
        "curtailed_mw": pd.DataFrame({name: 4.0 - served, "someone-else": 0.0}, index=hours),
        "tariff_usd_per_mwh": pd.DataFrame({"tariff_usd_per_mwh": 80.0}, index=hours),
        "balance_monthly": pd.DataFrame(
            {
                "served_mwh": [5700.0],
                "revenue_usd": [150000.0],
                "incremental_fuel_usd": [50000.0],
                "margin_usd": [100000.0],
            },
            index=pd.Index(["2025-06"], name="month"),
        ),
    }
    for key, frame in tables.items():
        frame.to_parquet(out / "data" / f"{key}.parquet")
    summary = {"megawatt_version": "test", "generated_utc": "2026-12-01", "tables": list(tables)}
    (out / "summary.json").write_text(json.dumps(summary))
    return out, Decimal(repr(float(sc.currency.local_per_usd)))


def test_plan_against_actual(client: Any, migrated: str, tmp_path: Path) -> None:  # noqa: F811
    s = site(client, "pva")  # 4 MW, flat 20 PKR/kWh, penalty 1500 PKR/MWh
    readings(client, s["serial"], ["400", "250", "200", "200"])  # the event hour
    readings(client, s["serial"], ["1000"], start=START + dt.timedelta(hours=2))
    event(migrated, s["id"])  # limit 1000 kW for an hour: 3 MWh scheduled off 4 MW
    inv = client.post("/invoices", json={"site_id": s["id"], "month": "2026-06"}).json()
    assert inv["total"] == "41225.00"  # 2050 kWh x 20 + 225 penalty
    out, rate = plan_dir(tmp_path, "pva")
    engine = db.make_engine(migrated)
    try:
        with db.transaction(db.session_factory(engine)) as session:
            got = plan_vs_actual(session, out, "2026-06")
    finally:
        engine.dispose()
    (row,) = got["sites"]
    assert row["in_plan"] is True
    assert row["planned_served_mwh"] == Decimal("2850.000")  # 710 x 4 + 10 x 1
    assert row["planned_curtailed_mwh"] == Decimal("30.000")
    assert row["planned_revenue_pkr"] == (Decimal(2850 * 80) * rate).quantize(Decimal("0.01"))
    assert row["served_mwh"] == Decimal("2.05")
    assert row["scheduled_curtailed_mwh"] == Decimal(3)  # (4000 - 1000) kW x 1 h
    # Allocation 1000 kWh per 15 minutes: 600 + 750 + 800 + 800 kWh not drawn.
    assert row["curtailed_mwh"] == Decimal("2.95")
    assert (row["revenue_pkr"], row["penalties_pkr"], row["events"]) == (
        Decimal("41000.00"),
        Decimal("225.00"),
        1,
    )
    margin = got["margin"]
    assert margin["planned_pkr"] == (Decimal(100000) * rate).quantize(Decimal("0.01"))
    fuel = (Decimal(50000) / Decimal(5700)).quantize(Decimal("0.000001")) * rate
    assert margin["billed_pkr"] == (Decimal("41225.00") - fuel * Decimal("2.05")).quantize(
        Decimal("0.01")
    )
    done = CliRunner().invoke(
        cli, ["ops", "--db", migrated, "plan-vs-actual", str(out), "--month", "2026-06", "--json"]
    )
    assert done.exit_code == 0, done.output
    assert Decimal(json.loads(done.output)["sites"][0]["curtailed_mwh"]) == Decimal("2.95")
    table = CliRunner().invoke(
        cli, ["ops", "--db", migrated, "plan-vs-actual", str(out), "--month", "2026-06"]
    )
    assert table.exit_code == 0 and "state's margin" in table.output


def test_plan_against_actual_over_the_api(client: Any, migrated: str, tmp_path: Path) -> None:  # noqa: F811
    """GET /plan-vs-actual gives the CLI's figures (one implementation): the whole
    program to the authority; a site client sees only its own site, without the
    program's margin; 409 while the server has no plan."""
    from opsdb import add_client, token

    a = site(client, "pva")
    b = site(client, "pvb")
    readings(client, a["serial"], ["400", "250", "200", "200"])
    readings(client, b["serial"], ["100", "100"])
    event(migrated, a["id"])
    june = {"month": "2026-06"}
    none = client.get("/plan-vs-actual", params=june)
    assert none.status_code == 409 and none.json()["errors"][0]["field"] == "plan"
    out, _ = plan_dir(tmp_path, "pva")
    client.app.state.plan_dir = str(out)
    got = client.get("/plan-vs-actual", params=june)
    assert got.status_code == 200, got.text
    done = CliRunner().invoke(
        cli, ["ops", "--db", migrated, "plan-vs-actual", str(out), "--month", "2026-06", "--json"]
    )
    assert done.exit_code == 0, done.output
    api, cli_out = got.json(), json.loads(done.output)
    api.pop("generated_at"), cli_out.pop("generated_at")
    assert api == cli_out
    assert api["scope"] == "program" and api["margin"] is not None
    d = Decimal
    assert [
        (x["site"], d(x["served_mwh"]), d(x["curtailed_mwh"]), d(x["penalties_pkr"]))
        for x in api["sites"]
    ] == [("pva", d("1.05"), d("2.95"), 0), ("pvb", d("0.2"), 0, 0)]
    assert d(api["program"]["served_mwh"]) == d("1.25")
    h = token(client, "c-pvb", add_client(migrated, "c-pvb", "site", site_id=b["id"]))
    mine = client.get("/plan-vs-actual", params=june, headers=h).json()
    assert (mine["scope"], mine["margin"], [x["site_id"] for x in mine["sites"]]) == (
        "sites",
        None,
        [b["id"]],
    )
    assert d(mine["program"]["served_mwh"]) == d("0.2")
    other = client.get("/plan-vs-actual", params={**june, "site_id": a["id"]}, headers=h)
    assert other.status_code == 200 and other.json()["sites"] == []
    one = client.get("/plan-vs-actual", params={**june, "site_id": a["id"]}).json()
    assert [x["site"] for x in one["sites"]] == ["pva"] and one["margin"] is None
