"""Headroom for new flexible load answered with the zonal dispatch.

The Duke "Rethinking Load Growth" method (:mod:`megawatt.grid.headroom`) asks how
much constant new load a system can take if the load accepts curtailment in a share
r of its energy; it compares load with seasonal peaks and so ignores transmission,
plant availability and energy limits. Here the same question is an LP on the
scenario's grid: one new load ``L`` in a zone, served in each hour only from what is
left after national demand (shedding capped at the baseline's), must receive at
least (1 - r) of ``L x hours``; maximise ``L``. It reuses the program LP: the new load
is an applicant with uptime 1 - r, no tariff, and a large value per MW allocated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from megawatt.metrics import run_lengths
from megawatt.optimize.inputs import build_inputs
from megawatt.optimize.solve import SHED_CAP_SLACK_MW, solve_inputs
from megawatt.scenario.model import Scenario

#: Value per MW of new load [USD/MW]: above any generation cost a MW can cause in a
#: year (~100 USD/MWh x 8784 h), so the LP maximises the load first, cost second.
NEW_LOAD_VALUE_USD_PER_MW = 1e7
DEFAULT_TARGETS = (0.0025, 0.005, 0.01, 0.05)


def dispatch_headroom(
    scenario: Scenario,
    zones: Sequence[str] | None = None,
    targets: Sequence[float] = DEFAULT_TARGETS,
    on_solve: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Largest constant new load [MW] per zone at each curtailment rate, from the LP.

    Returns one row per (zone, target_rate) with new_load_mw, curtailed_mwh,
    curtailed_hours, events, mean_event_h and share_hours_keep_50/75/90 (share of
    curtailed hours in which the load still gets at least 50/75/90% of L).
    """
    base_inputs = build_inputs(scenario, with_program=False)
    baseline = solve_inputs(base_inputs)
    shed_cap = baseline.shed_mw.to_numpy().T + SHED_CAP_SLACK_MW
    upper = float(sum(g.p_nom_mw for g in scenario.generators))
    rows = []
    for zone in zones or scenario.zone_names:
        for rate in targets:
            if on_solve:
                on_solve(f"zone {zone}, curtailment {rate:.2%}")
            inputs = build_inputs(scenario, with_program=False)
            T = inputs.hours
            inputs.applicants = ["new_load"]
            inputs.applicant_kind = ["new_load"]
            inputs.applicant_zone = np.array([scenario.zone_names.index(zone)])
            inputs.applicant_plant = [None]
            inputs.requested_mw = np.array([upper])
            inputs.committed_mw = np.zeros(1)
            inputs.firm_share = np.zeros(1)
            inputs.uptime = np.array([1.0 - rate])
            inputs.backup_mw = np.zeros(1)
            inputs.backup_cost_usd_per_mwh = np.zeros(1)
            inputs.value_usd_per_mwh = np.array([np.inf])
            inputs.may_draw = np.ones((1, T), dtype=bool)
            inputs.applicant_bonus_usd_per_mwh = np.zeros(1)
            inputs.tariff_usd_per_mwh = np.zeros(T)
            inputs.cap_mw = upper
            inputs.allocation_cost_usd_per_mw = np.array([-NEW_LOAD_VALUE_USD_PER_MW])
            inputs.shed_cap_mw = shed_cap
            result = solve_inputs(inputs)
            load = float(result.allocation_mw.iloc[0])
            served = result.served_mw.iloc[:, 0].to_numpy()
            rows.append({"zone": zone, "target_rate": rate, **_stats(load, served)})
    return pd.DataFrame(rows).set_index(["zone", "target_rate"])


def _stats(load: float, served: np.ndarray) -> dict[str, float]:
    curtailed = np.clip(load - served, 0.0, None)
    tol = max(1e-6 * load, 1e-6)
    mask = curtailed > tol
    lengths = run_lengths(mask)
    hours = int(mask.sum())
    keep = {}
    for share in (50, 75, 90):
        kept = curtailed[mask] <= (1 - share / 100) * load + tol
        keep[f"share_hours_keep_{share}"] = float(kept.mean()) if hours else np.nan
    return {
        "new_load_mw": load,
        "curtailed_mwh": float(curtailed.sum()),
        "curtailment_rate": float(curtailed.sum() / (load * len(served))) if load else np.nan,
        "curtailed_hours": hours,
        "events": len(lengths),
        "mean_event_h": float(np.mean(lengths)) if len(lengths) else 0.0,
        **keep,
    }
