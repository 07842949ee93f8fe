"""Rolling re-dispatch: day-ahead windows across the span on ONE HiGHS model.

This is how the operator re-plans each day. The LP of the first window is built and
passed to HiGHS once; for every later window only costs and bounds change in place
(``changeColsCost``, ``changeColsBounds``, ``changeRowsBounds``) and HiGHS re-solves
from the previous basis. The model's structure must not change between windows, so
span-level constraints become per-window ones: a take-or-pay minimum is prorated to
the window's hours, and a generator's monthly water caps become one cap per window,
the window's share (by hours) of each month it touches. Ramps do not couple windows,
and a committed fleet is taken as online before each window (no start-up in its
first hour).
With those, windows are independent, and where the full-span LP has no constraint
across windows (no ramps, take-or-pay, water caps or uptime) the rolling result
equals the full-span solve (a test checks it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import highspy
import numpy as np
import pandas as pd

from megawatt.errors import InfeasibleError
from megawatt.optimize.inputs import HourlyInputs
from megawatt.optimize.lp import build_lp, lp_vectors
from megawatt.optimize.solve import DispatchResult, SolveStats, extract, new_highs


def window_inputs(inputs: HourlyInputs, start: int, stop: int) -> HourlyInputs:
    """The inputs of hours ``start:stop``, with span-level limits turned per-window."""
    hours = slice(start, stop)
    length = stop - start
    caps: dict[int, float] = {}
    for g, mask, cap in inputs.monthly_energy_cap_mwh:
        in_month = int(mask.sum())
        share = mask[hours].sum() / in_month if in_month else 0.0
        caps[g] = caps.get(g, 0.0) + cap * share
    window_caps = [(g, np.ones(length, dtype=bool), cap) for g, cap in sorted(caps.items())]
    shed_cap = None if inputs.shed_cap_mw is None else inputs.shed_cap_mw[:, hours]
    return replace(
        inputs,
        index=inputs.index[hours],
        p_max_mw=inputs.p_max_mw[:, hours],
        p_min_mw=inputs.p_min_mw[:, hours],
        min_energy_mwh=inputs.min_energy_mwh * length / inputs.hours,
        monthly_energy_cap_mwh=window_caps,
        demand_mw=inputs.demand_mw[:, hours],
        may_draw=inputs.may_draw[:, hours] if inputs.may_draw.size else inputs.may_draw,
        tariff_usd_per_mwh=inputs.tariff_usd_per_mwh[hours]
        if len(inputs.tariff_usd_per_mwh)
        else inputs.tariff_usd_per_mwh,
        shed_cap_mw=shed_cap,
    )


def rolling_dispatch(
    inputs: HourlyInputs,
    window_h: int = 24,
    on_window: Callable[[int, int], None] | None = None,
) -> tuple[DispatchResult, pd.DataFrame]:
    """Solve the span window by window on one HiGHS model changed in place.

    Returns the concatenated result (allocations are the windows' maximum) and a
    table per window: start (UTC), objective [USD], iterations, solve time [s].
    """
    if inputs.hours % window_h:
        raise ValueError(
            f"the span ({inputs.hours} h) must be a whole number of {window_h}-h windows"
        )
    windows = inputs.hours // window_h
    first = window_inputs(inputs, 0, window_h)
    lp, layout = build_lp(first)
    h = new_highs()
    h.passModel(lp)
    num_col, num_row = lp.num_col_, lp.num_row_
    del lp
    cols = np.arange(num_col, dtype=np.int32)
    rows = np.arange(num_row, dtype=np.int32)
    parts: list[DispatchResult] = []
    log = []
    for w in range(windows):
        t0 = time.perf_counter()
        win = first if w == 0 else window_inputs(inputs, w * window_h, (w + 1) * window_h)
        if w:
            vec = lp_vectors(win)
            h.changeColsCost(num_col, cols, vec.col_cost)
            h.changeColsBounds(num_col, cols, vec.col_lower, vec.col_upper)
            h.changeRowsBounds(num_row, rows, vec.row_lower, vec.row_upper)
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            from megawatt.optimize.diagnose import diagnose

            raise InfeasibleError(
                f"window {w} ({win.index[0]}): "
                + diagnose(win, h.getModelStatus(), h.modelStatusToString(h.getModelStatus()))
            )
        part = extract(win, h, layout)
        info = h.getInfo()
        log.append(
            {
                "start": win.index[0],
                "objective_usd": part.objective_usd,
                "iterations": int(info.simplex_iteration_count),
                "solve_s": time.perf_counter() - t0,
            }
        )
        parts.append(part)
        if on_window:
            on_window(w + 1, windows)
    return _concat(inputs, parts), pd.DataFrame(log)


def _concat(inputs: HourlyInputs, parts: list[DispatchResult]) -> DispatchResult:
    def cat(name: str) -> pd.DataFrame:
        return pd.concat([getattr(p, name) for p in parts])

    breakdown = sum(
        (p.objective_breakdown_usd for p in parts), start=parts[0].objective_breakdown_usd * 0
    )
    return DispatchResult(
        inputs=inputs,
        dispatch_mw=cat("dispatch_mw"),
        flow_mw=cat("flow_mw"),
        shed_mw=cat("shed_mw"),
        price_usd_per_mwh=cat("price_usd_per_mwh"),
        served_mw=cat("served_mw"),
        backup_mw=cat("backup_mw"),
        allocation_mw=pd.concat([p.allocation_mw for p in parts], axis=1).max(axis=1)
        if inputs.applicants
        else parts[0].allocation_mw,
        objective_usd=float(sum(p.objective_usd for p in parts)),
        objective_breakdown_usd=breakdown,
        stats=SolveStats(0, 0, 0, 0, 0, 0, 0, "rolling"),
        online_mw=cat("online_mw"),
        start_up_mw=cat("start_up_mw"),
        reserve_mw=cat("reserve_mw"),
        reserve_price_usd_per_mw_h=cat("reserve_price_usd_per_mw_h"),
    )
