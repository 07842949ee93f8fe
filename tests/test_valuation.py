"""Each applicant's value per MWh, its bid (economics/valuation.py)."""

from __future__ import annotations

import numpy as np
import pytest

from megawatt.economics.valuation import market_point, value_applicants


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
