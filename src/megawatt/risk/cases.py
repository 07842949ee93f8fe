"""The LP work of a Monte Carlo run, as tasks that can run anywhere (here or on Dask).

A draw-year's dispatch depends on two things only: its **grid state** (demand level
and hydro year) and the **set of applicants drawing** (whose value reaches the
tariff). Market draws move only the second, so many draw-years share one LP; this is
the fast path. The work is:

1. one baseline (national demand only) per grid state: :func:`solve_baseline`;
2. chains per set of drawing applicants: :func:`solve_chain` solves the program case
   for every grid state in which that set occurs, on ONE HiGHS model changed in place
   (bounds of demand, water caps and the shedding cap), each solve warm-started from
   the previous basis. Alternatives measured and dropped (100 default draws with
   demand and hydro, 20 states, 56 LPs; whole chains 201-235 s serial, 151-154 s on
   2 workers): cold pieces of 6 states 276 s / 179 s; a head state solved cold whose
   basis warm-starts pieces of 4 states 252 s / 138 s, but 389 s against 291 s for
   ``megawatt risk --draws 1000`` on 2 workers (28 states, 97 LPs): stepping from a
   neighbouring state beats restarting from a distant one. Chains visit states in a
   snake order (hydro years by factor, demand up then down): 286 s for the same
   command, within noise of 291 s, kept because every step is short.

Each task is a pure function of its arguments (a fresh model per chain, states in a
fixed order), so a run gives identical numbers serially or on any number of workers.

Solver choice, measured on the default (``benchmarks/risk_scale.py``): a program case
in which the drawing applicants request more than the program cap is slow for the
simplex from cold (57 s, 89k iterations) or warm from a case with one miner fewer
(137 s), and 22 s with the interior point method plus crossover; so a chain starts
with IPM when the cap binds and the simplex otherwise (3-5 s), then re-solves warm
(1-8 s per grid state).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import highspy
import numpy as np
import pandas as pd

from megawatt.accounts.balance import balance_sheet, case_figures
from megawatt.accounts.events import program_curtailment_hours
from megawatt.errors import InfeasibleError
from megawatt.optimize.inputs import HourlyInputs, build_inputs, scale_program
from megawatt.optimize.lp import build_lp, lp_vectors
from megawatt.optimize.solve import (
    SHED_CAP_SLACK_MW,
    DispatchResult,
    PlanResult,
    extract,
    new_highs,
    solve_inputs,
)
from megawatt.scenario.model import Scenario

#: The figures every solved draw-year carries.
FIGURES = (
    "served_gwh",
    "revenue_musd",
    "margin_musd",
    "charge_recovered_share",
    "curtailment_hours",
)


@dataclass(frozen=True, order=True)
class GridState:
    """A draw-year's grid: hydro year (name, factor) and national demand level."""

    hydro_year: str
    hydro_factor: float
    demand_level: float

    @property
    def is_scenario(self) -> bool:
        """True for the scenario's own grid (the plan's)."""
        return self.demand_level == 1.0 and self.hydro_factor == 1.0


@dataclass
class CaseOutcome:
    """One (grid state, drawing set): its figures, or why it failed."""

    figures: dict[str, float] | None = None
    error: str | None = None


def state_inputs(inputs: HourlyInputs, state: GridState, hydro: np.ndarray) -> HourlyInputs:
    """``inputs`` on the grid of ``state``: demand x level, hydro water caps x factor.

    ``hydro`` is a boolean mask over the generators whose water caps follow the year.
    """
    if state.is_scenario:
        return inputs
    caps = [
        (g, mask, cap * state.hydro_factor if hydro[g] else cap)
        for g, mask, cap in inputs.monthly_energy_cap_mwh
    ]
    return replace(
        inputs,
        demand_mw=inputs.demand_mw * state.demand_level,
        monthly_energy_cap_mwh=caps,
    )


def hydro_mask(scenario: Scenario) -> np.ndarray:
    """Which generators' water caps follow the drawn hydro year."""
    techs = set(scenario.risk.hydro_technologies)
    return np.array([g.technology in techs for g in scenario.generators])


def solve_baseline(scenario: Scenario, state: GridState) -> DispatchResult | str:
    """The baseline (national demand only) on ``state``'s grid, or the reason it failed."""
    inputs = state_inputs(build_inputs(scenario, with_program=False), state, hydro_mask(scenario))
    try:
        result = solve_inputs(inputs)
    except InfeasibleError as exc:
        return f"baseline: {exc}"
    result.highs = None
    return result


def figures_of(result: PlanResult, values: pd.DataFrame) -> dict[str, float]:
    """:data:`FIGURES` of a solved case (``values`` carry the case's values)."""
    return {
        **case_figures(balance_sheet(result, values)),
        "curtailment_hours": float(program_curtailment_hours(result.program)),
    }


@dataclass
class ChainTask:
    """The program case of one set of drawing applicants on several grid states."""

    values: pd.DataFrame  # value_applicants() with the case's value_usd_per_mwh
    drawing: tuple[bool, ...]
    states: list[GridState]
    cap_share: float = 1.0  # share of its MW each licence may use (first contract year)


def solve_chain(
    task: ChainTask, scenario: Scenario, *baselines: DispatchResult | str
) -> list[CaseOutcome]:
    """Solve ``task``'s states in order on one HiGHS model changed in place.

    ``baselines`` are the baselines of ``task.states``, in the same order (passed as
    arguments so that a cluster moves them worker to worker); a failed baseline (its
    message) fails its state.
    """
    sc = scenario
    by_state = dict(zip(task.states, baselines, strict=True))
    case_values = task.values.value_usd_per_mwh.to_dict()
    program_inputs = scale_program(
        build_inputs(sc, with_program=True, applicant_values=case_values), task.cap_share
    )
    hydro = hydro_mask(sc)
    cap_binds = float(program_inputs.requested_mw[list(task.drawing)].sum()) > (
        program_inputs.cap_mw + 1e-9
    )
    h: highspy.Highs | None = None
    layout = None
    outcomes: list[CaseOutcome] = []
    for state in task.states:
        if isinstance(by_state[state], str):
            outcomes.append(CaseOutcome(error=str(by_state[state])))
            continue
        inputs = state_inputs(program_inputs, state, hydro)
        inputs = replace(
            inputs,
            shed_cap_mw=by_state[state].shed_mw.to_numpy().T + SHED_CAP_SLACK_MW,  # type: ignore[union-attr]
        )
        if h is None:
            lp, layout = build_lp(inputs)
            h = new_highs(solver="ipm" if cap_binds else "choose")
            h.passModel(lp)
            del lp
        else:
            vec = lp_vectors(inputs)
            cols = np.arange(len(vec.col_cost), dtype=np.int32)
            rows = np.arange(len(vec.row_lower), dtype=np.int32)
            h.changeColsBounds(len(cols), cols, vec.col_lower, vec.col_upper)
            h.changeRowsBounds(len(rows), rows, vec.row_lower, vec.row_upper)
        h.run()
        h.setOptionValue("solver", "choose")  # later states: simplex from this basis
        status = h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            from megawatt.optimize.diagnose import diagnose

            outcomes.append(
                CaseOutcome(error=diagnose(inputs, status, h.modelStatusToString(status)))
            )
            h = None  # start the next state from a fresh model, not a failed basis
            continue
        assert layout is not None
        program = extract(inputs, h, layout)
        baseline = by_state[state]
        assert not isinstance(baseline, str)
        case = PlanResult(scenario=sc, baseline=baseline, program=program)
        outcomes.append(CaseOutcome(figures=figures_of(case, task.values)))
    return outcomes
