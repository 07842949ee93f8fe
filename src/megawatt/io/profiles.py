"""Availability profiles: ``timestamp`` plus one column per profile, values in [0, 1]."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from megawatt.io.hourly import read_hourly_csv

PROFILE_RANGE = (0.0, 1.0)


def read_profiles(path: Path, index: pd.DatetimeIndex, timezone: str) -> pd.DataFrame:
    """Profiles [per unit] on ``index`` (UTC), one column per profile."""
    return read_hourly_csv(path, index, timezone, value_range=PROFILE_RANGE)
