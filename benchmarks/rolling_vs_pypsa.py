"""Benchmark: day-ahead rolling re-dispatch, megawatt (one HiGHS model changed in place)
vs PyPSA's rolling horizon (a linopy model built and solved per window), same run.

Case: the default scenario's baseline for the first --days days, made window-
independent so that both sides solve exactly the same LPs: no ramps (PyPSA couples
windows through them), no take-or-pay or monthly water caps (PyPSA applies e_sum_min
in full to every window). Checks that the objectives agree, prints times and ratio.

Run:  python benchmarks/rolling_vs_pypsa.py [--days 365]
"""

from __future__ import annotations

import argparse
import logging
import time
import warnings

import numpy as np


def independent_inputs(days: int):
    from dataclasses import replace

    from megawatt import scenario
    from megawatt.optimize.inputs import build_inputs
    from megawatt.optimize.rolling import window_inputs

    inputs = build_inputs(scenario.load_default(), with_program=False)
    inputs = window_inputs(inputs, 0, 24 * days)
    return replace(
        inputs,
        ramp_mw_per_h=np.full(len(inputs.generators), np.inf),
        min_energy_mwh=np.zeros(len(inputs.generators)),
        monthly_energy_cap_mwh=[],
        pro_rata_groups=inputs.pro_rata_groups,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365, help="days (24-h windows) to solve")
    args = parser.parse_args()
    from rich.console import Console

    from megawatt.optimize.pypsa_bridge import extra_functionality, to_pypsa
    from megawatt.optimize.rolling import rolling_dispatch

    console = Console()
    inputs = independent_inputs(args.days)
    t = time.perf_counter()
    ours, _ = rolling_dispatch(inputs, window_h=24)
    ours_s = time.perf_counter() - t
    console.print(
        f"megawatt: {args.days} windows in {ours_s:.2f} s "
        f"({ours_s / args.days * 1000:.1f} ms per window)"
    )

    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    n = to_pypsa(inputs)
    t = time.perf_counter()
    n.optimize.optimize_with_rolling_horizon(
        horizon=24,
        overlap=0,
        solver_name="highs",
        io_api="direct",
        extra_functionality=extra_functionality(inputs),
        log_to_console=False,
    )
    peer_s = time.perf_counter() - t
    # n.objective holds the last window only; the total from the dispatch and costs:
    gen_cost = (n.generators_t.p * n.generators.marginal_cost).to_numpy().sum()
    link_cost = (n.links_t.p0 * n.links.marginal_cost).to_numpy().sum()
    objective = float(gen_cost + link_cost)
    console.print(
        f"PyPSA optimize_with_rolling_horizon(horizon=24): "
        f"{args.days} windows in {peer_s:.2f} s ({peer_s / args.days * 1000:.0f} ms "
        "per window)"
    )
    rel = abs(objective - ours.objective_usd) / abs(objective)
    console.print(
        f"objective: megawatt {ours.objective_usd:.6e}, PyPSA {objective:.6e} "
        f"(relative difference {rel:.1e})"
    )
    console.print(f"ratio PyPSA / megawatt: {peer_s / ours_s:.0f}x (goal >= 100x)")


if __name__ == "__main__":
    main()
