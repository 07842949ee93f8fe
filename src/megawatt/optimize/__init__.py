"""The planning LP: national dispatch and program allocation, solved with HiGHS.

>>> from megawatt import planning, scenario
>>> result = planning.plan(scenario.load_default())  # baseline, then the program case
>>> result.program.applicant_summary()
"""

from megawatt.optimize.inputs import HourlyInputs, build_inputs
from megawatt.optimize.solve import DispatchResult, PlanResult, solve_inputs, solve_program

__all__ = [
    "DispatchResult",
    "HourlyInputs",
    "PlanResult",
    "build_inputs",
    "solve_inputs",
    "solve_program",
]
