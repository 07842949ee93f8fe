"""AI data-center unit economics (economics/ai.py): GPU catalogue, sizing, value, uptime."""

from __future__ import annotations

import numpy as np
import pytest

from megawatt.economics import ai


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
