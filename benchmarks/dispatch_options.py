"""Benchmark: what unit commitment and spinning reserve cost in HiGHS solve time.

The default scenario's baseline LP for the first --hours hours (take-or-pay and water
prorated as in a rolling window), solved four ways in one run: plain (the default,
both switched off), + reserve, + unit commitment, + both; the plain LP is the peer
the others are measured against. The [E] figures come from the default data
(generators.csv, zones' reserve_mw); docs/calibration.md records the results.

Run:  python benchmarks/dispatch_options.py [--hours 2016] [--solver choose|ipm|simplex]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import highspy
import numpy as np


def case(hours: int, commitment: bool, reserve: bool):
    from megawatt import scenario
    from megawatt.optimize.inputs import build_inputs
    from megawatt.optimize.rolling import window_inputs

    sc = scenario.load_default()
    sc.dispatch.unit_commitment = True
    sc.dispatch.reserve = True
    inputs = build_inputs(sc, with_program=False)
    if hours < inputs.hours:
        inputs = window_inputs(inputs, 0, hours)
    G = len(inputs.generators)
    if not commitment:
        inputs = replace(inputs, min_stable_pu=np.zeros(G), start_up_cost_usd_per_mw=np.zeros(G))
    if not reserve:
        inputs = replace(inputs, reserve_mw=np.zeros(len(inputs.zones)))
    return inputs


def solve(inputs, solver: str) -> tuple[float, int, int, float, int, int]:
    from megawatt.optimize.lp import build_lp

    lp, _ = build_lp(inputs)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("solver", solver)
    h.passModel(lp)
    t0 = time.perf_counter()
    h.run()
    seconds = time.perf_counter() - t0
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise RuntimeError(h.modelStatusToString(h.getModelStatus()))
    info = h.getInfo()
    return (
        seconds,
        int(info.simplex_iteration_count),
        int(info.ipm_iteration_count),
        float(info.objective_function_value),
        lp.num_col_,
        lp.num_row_,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=int, default=2016)
    parser.add_argument("--solver", default="choose")
    args = parser.parse_args()
    plain = None
    print(f"default baseline, first {args.hours} h, HiGHS solver={args.solver}")
    for label, uc, res in (
        ("plain (default)", False, False),
        ("+ reserve", False, True),
        ("+ unit commitment", True, False),
        ("+ both", True, True),
    ):
        s, it, ipm, obj, cols, rows = solve(case(args.hours, uc, res), args.solver)
        plain = plain or (s, obj)
        print(
            f"{label:18s} {cols:>8,} cols {rows:>8,} rows  {s:8.1f} s  x{s / plain[0]:6.1f}  "
            f"simplex it {it:>7,}  ipm it {ipm:>3}  cost {obj / 1e6:10.1f} M$ "
            f"({obj / plain[1] - 1:+.1%})",
            flush=True,
        )


if __name__ == "__main__":
    main()
