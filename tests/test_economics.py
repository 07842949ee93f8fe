"""Economics: AI unit economics, the state's balance sheet (identities), the multi-year view."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from megawatt.accounts.balance import REST, TOTAL
from megawatt.economics import ai
from megawatt.economics.valuation import market_point, value_applicants


def test_gpu_catalogue_and_sizing() -> None:
    cat = ai.load_gpu_catalogue()
    assert set(cat.index) >= {"H100", "H200", "B200"}
    assert cat.loc["H100", "gpu_power_w"] == 700
    # 100 MW facility at PUE 1.25 -> 80 MW IT -> 80e6 / 1275 W = 62,745 GPUs
    center = ai.data_center(100, 1.25, "H100", cat)
    assert center.gpus == 62_745
    assert center.gpu_capex_usd == pytest.approx(62_745 * 35_000)
    # value = rental x 1e6 / (W per GPU x PUE): $2/h -> 2e6 / (1275 x 1.25) = 1254.9 $/MWh
    assert center.value_usd_per_mwh(2.0) == pytest.approx(2e6 / (1275 * 1.25))
    # GPU-hours of a MWh at the meter times rental = value
    assert center.gpu_hours(1.0) * 2.0 == pytest.approx(center.value_usd_per_mwh(2.0))
    with pytest.raises(ValueError, match="unknown GPU model"):
        ai.data_center(10, 1.2, "TPU", cat)
    with pytest.raises(ValueError, match="PUE must be >= 1"):
        ai.it_load_mw(10, 0.9)


def test_uptime_achieved() -> None:
    assert ai.uptime_achieved(8760 * 90, 8760 * 10, 100, 8760) == pytest.approx(1.0)
    assert np.isnan(ai.uptime_achieved(0, 0, 0, 8760))


def test_applicant_values_are_computed(default_scenario) -> None:
    values = value_applicants(default_scenario)
    assert (values.value_source == "computed").all()
    point = market_point(default_scenario)
    # hub_miner_a: 50/50 S21 XP (13.5 J/TH) and S21 (17.5), pool fee 2%, PUE 1.05
    hp = point.hashprice_usd_per_th_day
    by_hand = np.mean([hp * 0.98 / (0.024 * j) * 1000 for j in (13.5, 17.5)]) / 1.05
    assert values.loc["hub_miner_a", "value_usd_per_mwh"] == pytest.approx(by_hand, rel=1e-3)
    # the old fleet's break-even is below the tariff: it will not draw
    tariff = 22.98 * 1000 / 280
    assert values.loc["qasim_miner_b", "value_usd_per_mwh"] < tariff
    assert values.loc["karachi_ai", "value_usd_per_mwh"] > 10 * tariff


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


def test_horizon_halving(default_outcome) -> None:
    view = default_outcome.horizon
    assert view is not None
    years = view.years
    assert list(years.index) == [2026, 2027, 2028]  # the contract term (docs: contract.py)
    assert pd.Timestamp("2028-03-01") <= view.halving_date <= pd.Timestamp("2028-06-30")
    # subsidy: 3.125 before, 1.5625 after; the halving year is in between
    assert years.loc[2027, "subsidy_btc"] == pytest.approx(3.125)
    assert view.periods.subsidy_btc.iloc[-1] == pytest.approx(1.5625)
    assert 1.5625 < years.loc[2028, "subsidy_btc"] < 3.125
    # hashprice falls every year on this path (price flat, hashrate up, halving)
    assert (np.diff(years.hashprice_usd_per_ph_day) < 0).all()
    # miners leave as hashprice falls; the AI data centers stay
    assert years.applicants_drawing.iloc[-1] <= years.applicants_drawing.iloc[0]
    assert view.viable["karachi_ai"].all()
    assert not view.viable["hub_miner_a"].iloc[-1]
    # with fewer loads drawing the margin does not grow (years two and three: full cap)
    assert years.margin_musd.iloc[-1] <= years.margin_musd.iloc[1] + 1e-6


def test_supplier_shares_by_hand() -> None:
    """Hour 0: a rises 30, b 10, c falls 5 -> a 3/4, b 1/4. Hour 1: nothing rises."""
    from megawatt.accounts.balance import supplier_shares

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
