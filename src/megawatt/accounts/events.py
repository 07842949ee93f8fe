"""Curtailment as the operator sees it: hours and events of a solved program case.

An hour is curtailed for an applicant when its allocation exceeds what it is served by
more than :data:`megawatt.metrics.CURTAIL_TOL_MW`; an event is a run of such hours
(:func:`megawatt.metrics.runs`). The plan's tables, its headline, the risk runs and
the report all count them here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from megawatt.metrics import curtailed_mask, curtailment_hours, runs
from megawatt.optimize.solve import DispatchResult

EVENT_COLUMNS = ["applicant", "start_utc", "length_h", "curtailed_mwh", "notify_utc", "notice_h"]


def program_curtailment_hours(program: DispatchResult) -> int:
    """Hours in which at least one applicant with an allocation is curtailed."""
    names = list(program.allocation_mw.index)
    mask = curtailed_mask(
        program.curtailed_mw[names].to_numpy(), program.allocation_mw[names].to_numpy()
    )
    return curtailment_hours(mask)


def curtailment_events(
    curtailed_mw: pd.DataFrame,
    allocation_mw: pd.Series,
    notice_minutes: int = 0,
    timezone: str = "UTC",
) -> pd.DataFrame:
    """One row per curtailment event: applicant, start_utc, length [h], energy [MWh],
    and notify_utc: when the site is told, at the latest. The day-ahead schedule of a
    local day is due ``notice_minutes`` before the day starts (``program.contract``), so
    an event is notified with at least its notice, more the later in the day it starts.
    """
    names = list(curtailed_mw.columns)
    values = curtailed_mw.to_numpy()
    mask = curtailed_mask(values, allocation_mw[names].to_numpy())
    rows = []
    for k, name in enumerate(names):
        starts, lengths = runs(mask[:, k])
        for start, length in zip(starts, lengths, strict=True):
            rows.append(
                {
                    "applicant": name,
                    "start_utc": curtailed_mw.index[start],
                    "length_h": int(length),
                    "curtailed_mwh": float(values[start : start + length, k].sum()),
                }
            )
    events = pd.DataFrame(rows, columns=EVENT_COLUMNS[:4])
    start = pd.DatetimeIndex(events.start_utc)
    if start.tz is None:
        start = start.tz_localize("UTC")
    day = start.tz_convert(timezone).normalize()
    notify = (day - pd.Timedelta(minutes=notice_minutes)).tz_convert("UTC")
    events["notify_utc"] = notify
    events["notice_h"] = np.asarray((start - notify).total_seconds()) / 3600.0
    return events
