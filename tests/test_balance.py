"""The state's balance sheet (accounts/balance.py): identities, by-hand figures, attribution."""

from __future__ import annotations

import pandas as pd
import pytest
from numpy.testing import assert_allclose

from megawatt.accounts.balance import REST, TOTAL, supplier_shares


def test_balance_sheet_identities(default_outcome) -> None:
    sheet = default_outcome.balance
    plants = sheet.plants
    sc = default_outcome.result.scenario
    # revenue - fuel = margin, row by row
    assert_allclose(plants.revenue_usd - plants.incremental_fuel_usd, plants.margin_usd)
    # plants + rest of system = total
    parts = plants.drop(index=TOTAL)
    for col in (
        "revenue_usd",
        "incremental_fuel_usd",
        "margin_usd",
        "fx_net_usd",
        "incremental_co2_t",
        "imported_fuel_usd",
    ):
        assert parts[col].sum() == pytest.approx(plants.loc[TOTAL, col], rel=1e-9, abs=1e-3)
    # local = USD x rate
    assert_allclose(plants.revenue_local, plants.revenue_usd * sc.currency.local_per_usd)
    # revenue = served x tariff from the dispatch tables
    prog = default_outcome.result.program
    served = prog.served_mw.to_numpy().sum(axis=1)
    assert plants.loc[TOTAL, "revenue_usd"] == pytest.approx(
        float(served @ prog.inputs.tariff_usd_per_mwh)
    )
    # incremental fuel = program - baseline generation cost
    base = default_outcome.result.baseline
    delta = (
        prog.objective_breakdown_usd.generation_cost_usd
        - base.objective_breakdown_usd.generation_cost_usd
    )
    assert plants.loc[TOTAL, "incremental_fuel_usd"] == pytest.approx(delta, rel=1e-9)
    # capacity charge of Sahiwal for a year: 7,620 PKR/kW-month x 1,243,500 kW x 12 / 280
    assert plants.loc["sahiwal", "capacity_charge_usd"] == pytest.approx(
        7620 * 1_243_500 * 12 / 280
    )
    assert plants.loc[REST, "capacity_charge_usd"] == 0
    # the monthly table adds up to the span
    monthly = sheet.monthly
    assert len(monthly) == 12
    assert monthly.revenue_usd.sum() == pytest.approx(plants.loc[TOTAL, "revenue_usd"])
    assert monthly.margin_usd.sum() == pytest.approx(plants.loc[TOTAL, "margin_usd"])
    assert sheet.headline["charge_recovered_share"] == pytest.approx(
        plants.loc[TOTAL, "margin_usd"]
        / plants.loc[["sahiwal", "port_qasim", "china_power_hub"], "capacity_charge_usd"].sum()
    )


def test_applicant_accounts(default_outcome) -> None:
    apps = default_outcome.balance.applicants
    assert_allclose(
        apps.net_usd, apps.revenue_usd - apps.energy_cost_usd - apps.backup_cost_usd - apps.opex_usd
    )
    drawing = apps[apps.allocated_mw > 0]
    assert (drawing.jobs > 0).all() and (drawing.capex_usd > 0).all()
    # AI data centers meet their uptime
    ai_rows = apps[apps.kind == "ai_datacenter"]
    assert (ai_rows.uptime_achieved >= 0.99982 - 1e-9).all()
    # a miner's revenue per MWh served is its value
    miner = apps.loc["hub_miner_a"]
    assert miner.revenue_usd == pytest.approx(miner.served_mwh * miner.value_usd_per_mwh)
    assert miner.btc_mined > 0


def test_supplier_shares_by_hand() -> None:
    """Hour 0: a rises 30, b 10, c falls 5 -> a 3/4, b 1/4. Hour 1: nothing rises."""
    delta = pd.DataFrame({"a": [30.0, -1.0], "b": [10.0, 0.0], "c": [-5.0, 0.0]})
    shares = supplier_shares(delta)
    assert_allclose(shares.to_numpy(), [[0.75, 0.25, 0.0], [0.0, 0.0, 0.0]])


def test_revenue_goes_to_the_plants_that_supplied_it(default_outcome) -> None:
    """Revenue per plant = the tariff on the hourly rise of its own output, shared."""
    plants = default_outcome.balance.plants
    prog, base = default_outcome.result.program, default_outcome.result.baseline
    rise = (prog.dispatch_mw - base.dispatch_mw).clip(lower=0.0)
    revenue_t = prog.served_mw.sum(axis=1) * prog.inputs.tariff_usd_per_mwh
    for plant in ("sahiwal", "port_qasim", "china_power_hub"):
        expected = (rise[plant] / rise.sum(axis=1).where(rise.sum(axis=1) > 0) * revenue_t).sum()
        assert plants.loc[plant, "revenue_usd"] == pytest.approx(expected, rel=1e-9)
    # a plant whose output barely rises cannot recover most of its charges
    assert plants.loc["sahiwal", "charge_recovered_share"] < 0.2
