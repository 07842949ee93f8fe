"""The formulas every figure is built from (megawatt.metrics), by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from megawatt.metrics import (
    CURTAIL_TOL_MW,
    capacity_factor,
    curtailed_mask,
    curtailment_hours,
    run_lengths,
    runs,
)


def test_run_lengths() -> None:
    assert run_lengths(np.array([], dtype=bool)).tolist() == []
    assert run_lengths(np.zeros(5, dtype=bool)).tolist() == []
    assert run_lengths(np.ones(4, dtype=bool)).tolist() == [4]
    mask = np.array([1, 1, 0, 1, 0, 0, 1, 1, 1], dtype=bool)
    assert run_lengths(mask).tolist() == [2, 1, 3]
    starts, lengths = runs(mask)
    assert starts.tolist() == [0, 3, 6] and lengths.tolist() == [2, 1, 3]
    with pytest.raises(ValueError, match="one-dimensional"):
        runs(np.ones((2, 2), dtype=bool))


def test_capacity_factor() -> None:
    """876 MWh from 1 MW over 8,760 h is 10%; a group is summed first; no capacity
    has no factor."""
    assert capacity_factor(876.0, 1.0, 8760) == pytest.approx(0.1)
    group = capacity_factor(876.0 + 0.0, 1.0 + 1.0, 8760)
    assert group == pytest.approx(0.05)
    assert math.isnan(capacity_factor(5.0, 0.0, 24))
    out = capacity_factor([24.0, 12.0, 0.0], [1.0, 1.0, 0.0], 24)
    assert out[:2].tolist() == [1.0, 0.5] and math.isnan(out[2])


def test_curtailed_hours_need_an_allocation() -> None:
    """An applicant without an allocation is never curtailed; noise below the
    tolerance is not curtailment; an hour counts once whatever the applicants."""
    curtailed = np.array([[5.0, 0.0], [CURTAIL_TOL_MW / 2, 3.0], [1.0, 2.0], [0.0, 0.0]])
    mask = curtailed_mask(curtailed, np.array([10.0, 0.0]))
    assert mask.tolist() == [[True, False], [False, False], [True, False], [False, False]]
    assert curtailment_hours(mask) == 2
    both = curtailed_mask(curtailed, np.array([10.0, 10.0]))
    assert curtailment_hours(both) == 3
    assert curtailment_hours(np.zeros((0, 2), dtype=bool)) == 0
