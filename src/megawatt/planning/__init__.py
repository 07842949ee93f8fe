"""The main job as one library call: value the applicants, plan, account, look ahead.

``run_plan(scenario)`` is what ``megawatt plan`` does: compute each applicant's value
per MWh (its bid) from the market, solve the baseline and the program case, draw up
the state's balance sheet and, if the scenario has a market path, the multi-year view
across the halving. Each stage is also a function of its own module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from megawatt.accounts.balance import BalanceSheet, balance_sheet
from megawatt.accounts.compare import PlanChanges, compare
from megawatt.economics.valuation import bids, value_applicants
from megawatt.optimize.inputs import build_inputs
from megawatt.optimize.solve import PlanResult, solve_inputs, solve_program
from megawatt.planning.cases import case_sheet, plan
from megawatt.planning.horizon import Horizon, horizon
from megawatt.scenario.model import Scenario
from megawatt.scenario.series import timeseries

__all__ = [
    "STAGES",
    "Horizon",
    "PlanOutcome",
    "case_sheet",
    "horizon",
    "plan",
    "run_plan",
]

#: Stage names in order, for progress displays.
STAGES = (
    "applicant values",
    "baseline dispatch",
    "program dispatch",
    "balance sheet",
    "multi-year view",
)


@dataclass(frozen=True)
class PlanOutcome:
    """Everything ``megawatt plan`` computes for a scenario."""

    result: PlanResult
    values: pd.DataFrame
    changes: PlanChanges
    balance: BalanceSheet
    horizon: Horizon | None


def run_plan(
    scenario: Scenario,
    solver: str = "choose",
    on_stage: Callable[[str], None] | None = None,
    with_horizon: bool = True,
) -> PlanOutcome:
    """Run the whole plan; ``on_stage(name)`` is called as each stage starts."""

    def stage(name: str) -> None:
        if on_stage:
            on_stage(name)

    timeseries(scenario)
    stage("applicant values")
    values = value_applicants(scenario)
    stage("baseline dispatch")
    baseline = solve_inputs(build_inputs(scenario, with_program=False), solver=solver)
    stage("program dispatch")
    program = solve_program(scenario, baseline, bids(values), solver=solver)
    result = PlanResult(scenario=scenario, baseline=baseline, program=program)
    stage("balance sheet")
    sheet = balance_sheet(result, values)
    view = None
    if with_horizon and scenario.economics and scenario.economics.market_path:
        stage("multi-year view")
        view = horizon(result, values, on_solve=on_stage, sheet=sheet)
    return PlanOutcome(
        result=result, values=values, changes=compare(result), balance=sheet, horizon=view
    )
