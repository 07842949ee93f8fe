"""The planning LP: national dispatch and program allocation, solved with HiGHS.

>>> from megawatt import optimize, scenario
>>> result = optimize.plan(scenario.load_default())
>>> result.program.applicant_summary()
"""

from megawatt.optimize.inputs import HourlyInputs, build_inputs
from megawatt.optimize.solve import DispatchResult, PlanResult, plan, solve_inputs

__all__ = ["DispatchResult", "HourlyInputs", "PlanResult", "build_inputs", "plan", "solve_inputs"]
