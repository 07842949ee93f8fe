"""The multi-year view (planning/horizon.py): each period's figures are those of a fresh
solve of that period, whatever the tariff."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from megawatt.planning import case_sheet, run_plan
from megawatt.planning.horizon import SCALED
from megawatt.scenario import validate
from megawatt.scenario.io import origin_of


@pytest.fixture(scope="module")
def time_of_use_outcome(default_scenario):
    """The default with a 4-hour evening peak band (18:00-22:00 local) at 30 PKR/kWh
    against 22.98 off-peak: miners whose value falls between the two levels draw off
    peak only, so the LP a period needs depends on the levels each value clears, not
    on the lowest tariff alone."""
    raw = default_scenario.model_dump()
    raw["program"]["tariff"] = {
        "scheme": "time_of_use",
        "local_per_kwh": 22.98,
        "periods": [{"name": "evening peak", "hours": [18, 19, 20, 21], "local_per_kwh": 30.0}],
    }
    return run_plan(validate(raw, origin_of(default_scenario)))


@pytest.mark.slow
def test_time_of_use_periods_match_a_fresh_solve(time_of_use_outcome) -> None:
    """Every 2027 period's served energy, revenue and margin equal a fresh solve of its
    values and cap, scaled by its days over the span's (the issue's case: 0.12 vs 0.24
    GWh before)."""
    out = time_of_use_outcome
    span_days = out.result.scenario.hours / 24
    view = out.horizon
    periods = view.periods[view.periods.index.map(lambda d: d.year == 2027)]
    assert len(periods)
    for start, row in periods.iterrows():
        values = view.values.loc[start].to_dict()
        fresh = case_sheet(out.result, out.values, values, row.cap_share).headline
        for figure in SCALED:
            assert row[figure] == pytest.approx(
                fresh[figure] * row.days / span_days, rel=1e-6, abs=1e-9
            ), (start, figure)
        assert row.allocated_mw == pytest.approx(fresh["allocated_mw"], abs=1e-6)


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
