"""Solve a plan's cases: the baseline and the program (:func:`plan`), and the program
again under other applicant values or a scaled cap (:func:`case_sheet`, the multi-year
view's periods)."""

from __future__ import annotations

import pandas as pd

from megawatt.accounts.balance import BalanceSheet, balance_sheet
from megawatt.economics.valuation import bids, value_applicants
from megawatt.optimize.inputs import build_inputs
from megawatt.optimize.solve import PlanResult, solve_inputs, solve_program
from megawatt.scenario.model import Scenario


def plan(
    scenario: Scenario,
    applicant_values: dict[str, float] | None = None,
    solver: str = "choose",
) -> PlanResult:
    """Solve the baseline, then the program case with shedding capped at the baseline's.

    Parameters
    ----------
    scenario
        A validated scenario.
    applicant_values
        Value [USD/MWh] per applicant (its bid). By default the economics computes it
        from the market (:func:`megawatt.economics.valuation.value_applicants`), or
        takes the scenario's ``value_usd_per_mwh`` where given.
    solver
        HiGHS method: "choose", "simplex" or "ipm".
    """
    if applicant_values is None:
        applicant_values = bids(value_applicants(scenario))
    baseline = solve_inputs(build_inputs(scenario, with_program=False), solver=solver)
    program = solve_program(scenario, baseline, applicant_values, solver=solver)
    return PlanResult(scenario=scenario, baseline=baseline, program=program)


def case_sheet(
    result: PlanResult,
    values: pd.DataFrame,
    applicant_values: dict[str, float],
    cap_share: float = 1.0,
) -> BalanceSheet:
    """Re-solve the program case of ``result`` with other applicant values and,
    optionally, requests and caps scaled by ``cap_share`` (the first contract year);
    same grid, same baseline. Its balance sheet."""
    program = solve_program(result.scenario, result.baseline, applicant_values, cap_share=cap_share)
    case = PlanResult(scenario=result.scenario, baseline=result.baseline, program=program)
    case_values = values.copy()
    case_values["value_usd_per_mwh"] = pd.Series(applicant_values)
    return balance_sheet(case, case_values)
