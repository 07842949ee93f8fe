"""Benchmark: `megawatt plan` end to end vs the same LP built and solved by PyPSA.

Both sides solve the default scenario (Pakistan FY2025, 8760 h) twice, as `plan`
does: the baseline without the program, then the program case with shedding capped
at the baseline's. The PyPSA side builds the network with
`megawatt.optimize.pypsa_bridge.to_pypsa`, adds the constraints PyPSA has no
component for through `extra_functionality`, and solves with linopy's direct HiGHS
interface (`io_api="direct"`), the fastest PyPSA path. Each side runs in its own
subprocess so that peak memory (VmHWM) and imports are measured separately.

Run:  python benchmarks/plan_vs_pypsa.py [--repeat 3]
Needs the dev extra (PyPSA). Prints times, peak memory and the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time


def run_megawatt() -> dict[str, float]:
    t0 = time.perf_counter()
    from megawatt import scenario
    from megawatt.economics.valuation import bids, value_applicants
    from megawatt.optimize.inputs import build_inputs
    from megawatt.optimize.lp import build_lp
    from megawatt.optimize.solve import solve_inputs

    t_import = time.perf_counter() - t0
    sc = scenario.load_default()
    values = bids(value_applicants(sc))
    t_load = time.perf_counter() - t0 - t_import
    build = solve = extract = objective = 0.0
    shed_cap = None
    for with_program in (False, True):
        inputs = build_inputs(sc, with_program=with_program, applicant_values=values)
        inputs.shed_cap_mw = shed_cap
        result = solve_inputs(inputs)
        build += result.stats.build_s
        solve += result.stats.solve_s
        extract += result.stats.extract_s
        shed_cap = result.shed_mw.to_numpy().T + 1e-6
        objective = result.objective_usd
    # time the bare matrix assembly once more, apart from input preparation
    t = time.perf_counter()
    build_lp(inputs)
    assembly = time.perf_counter() - t
    total = time.perf_counter() - t0
    return {
        "import_s": t_import,
        "load_s": t_load,
        "build_s": build,
        "assembly_s": assembly,
        "solve_s": solve,
        "extract_s": extract,
        "total_s": total,
        "objective": objective,
    }


def run_pypsa() -> dict[str, float]:
    import logging
    import warnings

    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    t0 = time.perf_counter()
    import pypsa  # noqa: F401

    from megawatt import scenario
    from megawatt.economics.valuation import bids, value_applicants
    from megawatt.optimize.inputs import build_inputs
    from megawatt.optimize.pypsa_bridge import extra_functionality, to_pypsa

    t_import = time.perf_counter() - t0
    sc = scenario.load_default()
    values = bids(value_applicants(sc))
    t_load = time.perf_counter() - t0 - t_import
    build = solve = 0.0
    shed_cap = None
    objective = 0.0
    for with_program in (False, True):
        t = time.perf_counter()
        inputs = build_inputs(sc, with_program=with_program, applicant_values=values)
        inputs.shed_cap_mw = shed_cap
        n = to_pypsa(inputs)
        n.optimize.create_model()
        extra_functionality(inputs)(n, n.snapshots)
        build += time.perf_counter() - t
        t = time.perf_counter()
        status, condition = n.optimize.solve_model(
            solver_name="highs", io_api="direct", log_to_console=False
        )
        solve += time.perf_counter() - t
        if status != "ok":
            raise SystemExit(f"PyPSA failed: {status} {condition}")
        shed = n.generators_t.p[[f"shed_{z}" for z in inputs.zones]].to_numpy().T
        shed_cap = shed + 1e-6
        objective = float(n.objective)
    total = time.perf_counter() - t0
    return {
        "import_s": t_import,
        "load_s": t_load,
        "build_s": build,
        "solve_s": solve,
        "total_s": total,
        "objective": objective,
    }


def peak_rss_mb() -> float:
    """This process's peak resident memory [MB] (Linux VmHWM; ru_maxrss can carry the
    parent's high-water mark into a child)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def child(which: str) -> None:
    result = run_megawatt() if which == "megawatt" else run_pypsa()
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result))


def measure(which: str) -> dict[str, float]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(
        [sys.executable, __file__, "--child", which],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs per side (best is kept)")
    parser.add_argument("--child", choices=["megawatt", "pypsa"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return

    from rich.console import Console
    from rich.table import Table

    console = Console()
    runs: dict[str, list[dict[str, float]]] = {"megawatt": [], "pypsa": []}
    for i in range(args.repeat):
        for which in runs:
            console.print(f"run {i + 1}/{args.repeat}: {which} ...")
            runs[which].append(measure(which))
    best = {k: min(v, key=lambda r: r["total_s"]) for k, v in runs.items()}
    ours, peer = best["megawatt"], best["pypsa"]

    table = Table(
        title="megawatt plan vs PyPSA 1.x (linopy, HiGHS, io_api='direct'), "
        "default scenario, baseline + program LPs"
    )
    table.add_column("measure")
    table.add_column("megawatt", justify="right")
    table.add_column("PyPSA", justify="right")
    table.add_column("PyPSA / megawatt", justify="right")
    for key, label in [
        ("import_s", "import (s)"),
        ("load_s", "load scenario (s)"),
        ("build_s", "build model (s)"),
        ("solve_s", "HiGHS solve (s)"),
        ("total_s", "end to end (s)"),
        ("peak_rss_mb", "peak memory (MB)"),
    ]:
        table.add_row(
            label, f"{ours[key]:.2f}", f"{peer[key]:.2f}", f"{peer[key] / ours[key]:.1f}x"
        )
    console.print(table)
    rel = abs(ours["objective"] - peer["objective"]) / abs(peer["objective"])
    console.print(
        f"objective: megawatt {ours['objective']:.6e}, PyPSA {peer['objective']:.6e} "
        f"(relative difference {rel:.1e})"
    )
    console.print(
        f"model build (arrays -> HiGHS matrix) {ours['assembly_s']:.3f} s per LP = "
        f"{ours['assembly_s'] * 2 / ours['solve_s']:.1%} of HiGHS's solve time; "
        f"with input preparation {ours['build_s'] / ours['solve_s']:.1%}"
    )
    console.print(
        f"goals: end to end >= 3x faster: {peer['total_s'] / ours['total_s']:.1f}x; "
        f"peak memory <= 1/3: {ours['peak_rss_mb'] / peer['peak_rss_mb']:.2f}; "
        f"build < 10% of solve: {ours['build_s'] / ours['solve_s']:.1%}"
    )


if __name__ == "__main__":
    main()
