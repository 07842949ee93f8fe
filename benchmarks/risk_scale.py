"""Benchmark: Monte Carlo scenario-years per second, on the default scenario.

Three measurements in one run, each against a named peer measured in the same run:

1. fast path: ``--fast-draws`` market-only draws (price, hashrate, fees, halving) x
   the market path's years, serial, vs the naive way, a fresh baseline-capped program
   LP per draw-year (timed on ``--naive-samples`` draw-years, per draw-year rate);
2. the same fast path on ``--workers`` local Dask worker processes vs serial;
3. LP path: ``--grid-draws`` draws with the scenario's demand and hydro draws (every
   grid state a baseline LP and an in-place chain per set of drawing applicants),
   on ``--workers`` Dask workers vs serial.

The plan (baseline + program LP) is solved once before and is not in the timings.
Dask timings include starting the LocalCluster. Results of serial and parallel runs
are checked to be identical.

Run:  python benchmarks/risk_scale.py [--fast-draws 10000] [--grid-draws 100] [--workers 2]
"""

from __future__ import annotations

import argparse
import time

import pandas as pd


def _timed(label: str, fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast-draws", type=int, default=10_000)
    parser.add_argument("--grid-draws", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--naive-samples", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--only", choices=("fast", "grid"), help="run only the fast path or only the LP path"
    )
    args = parser.parse_args()

    from rich.console import Console
    from rich.table import Table

    from megawatt import scenario
    from megawatt.economics.valuation import market_point, value_applicants
    from megawatt.optimize.inputs import build_inputs
    from megawatt.optimize.solve import PlanResult, solve_inputs
    from megawatt.planning import plan
    from megawatt.risk.cases import figures_of
    from megawatt.risk.montecarlo import run_risk
    from megawatt.risk.runner import DaskRunner, SerialRunner
    from megawatt.scenario.model import Risk

    console = Console()
    sc = scenario.load_default()
    result, plan_s = _timed("plan", lambda: plan(sc))
    console.print(f"plan (baseline + program LP, not in the timings below): {plan_s:.1f} s")
    market_only = Risk(**{**sc.risk.model_dump(), "demand_growth_sd": 0.0, "hydro_years": []})
    rows = []

    if args.only != "grid":
        # 1. fast path, serial
        fast, fast_s = _timed(
            "fast", lambda: run_risk(result, args.fast_draws, args.seed, risk=market_only)
        )
        years = fast.stats["scenario_years"]
        console.print(
            f"fast path serial: {years:,} scenario-years in {fast_s:.1f} s, "
            f"{fast.stats['lp_cases']} distinct LPs"
        )

        # naive peer: one fresh program LP per draw-year
        values = value_applicants(sc)
        hp_today = market_point(sc).hashprice_usd_per_th_day
        sample = fast.draws.drop_duplicates("miners_drawing").head(args.naive_samples)
        t = time.perf_counter()
        for _, row in sample.iterrows():
            scale = row.hashprice_usd_per_ph_day / 1000 / hp_today
            vals = values.copy()
            vals["value_usd_per_mwh"] = [
                v * scale if k == "btc_miner" else v
                for v, k in zip(values.value_usd_per_mwh, values.kind, strict=True)
            ]
            inputs = build_inputs(sc, True, vals.value_usd_per_mwh.to_dict())
            inputs.shed_cap_mw = result.baseline.shed_mw.to_numpy().T + 1e-6
            figures_of(PlanResult(sc, result.baseline, solve_inputs(inputs)), vals)
        naive_per_year = (time.perf_counter() - t) / len(sample)
        rows.append(
            (
                "fast path, serial",
                "one fresh LP per draw-year",
                years / fast_s,
                1 / naive_per_year,
            )
        )

        # 2. fast path on workers
        with DaskRunner(workers=args.workers) as runner:
            t = time.perf_counter()
            fast_par = run_risk(result, args.fast_draws, args.seed, risk=market_only, runner=runner)
            fast_par_s = time.perf_counter() - t
        pd.testing.assert_frame_equal(fast_par.draws, fast.draws, check_exact=True)
        rows.append(
            (
                f"fast path, {args.workers} workers",
                "fast path, serial",
                years / fast_par_s,
                years / fast_s,
            )
        )

    if args.only != "fast":
        # 3. LP path (demand and hydro draws), serial vs workers
        grid, grid_s = _timed(
            "grid", lambda: run_risk(result, args.grid_draws, args.seed, runner=SerialRunner())
        )
        t = time.perf_counter()
        with DaskRunner(workers=args.workers) as runner:
            grid_par = run_risk(result, args.grid_draws, args.seed, runner=runner)
        grid_par_s = time.perf_counter() - t
        pd.testing.assert_frame_equal(grid_par.draws, grid.draws, check_exact=True)
        g_years = grid.stats["scenario_years"]
        console.print(
            f"LP path: {g_years:,} scenario-years, {grid.stats['grid_states']} grid states, "
            f"{grid.stats['lp_cases']} LPs in {grid.stats['chains']} chains; "
            f"serial {grid_s:.1f} s, {args.workers} workers {grid_par_s:.1f} s"
        )
        rows.append(
            (
                f"LP path (demand + hydro), {args.workers} workers",
                "LP path, serial",
                g_years / grid_par_s,
                g_years / grid_s,
            )
        )

    table = Table(title="Scenario-years per second (higher is better)")
    for col in ("run", "peer", "scenario-years/s", "peer scenario-years/s", "ratio"):
        table.add_column(col, justify="right" if "/" in col or col == "ratio" else "left")
    for run, peer, ours, theirs in rows:
        table.add_row(run, peer, f"{ours:,.1f}", f"{theirs:,.2f}", f"{ours / theirs:,.1f}x")
    console.print(table)
    if args.only != "grid":
        console.print(
            f"goal: >= 10,000 scenario-years in <= 60 s: {years:,} in {fast_s:.1f} s serial, "
            f"{fast_par_s:.1f} s on {args.workers} workers (+{plan_s:.1f} s plan) -> "
            + ("met" if min(fast_s, fast_par_s) + plan_s <= 60 and years >= 10_000 else "NOT met")
        )


if __name__ == "__main__":
    main()
