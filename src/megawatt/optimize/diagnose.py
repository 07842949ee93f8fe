"""Say in plain words why a scenario has no solution.

When HiGHS reports the LP infeasible, the same LP is rebuilt in *elastic* mode:
every constraint family that can fail gets a slack column at a penalty far above any
cost. The elastic LP always has a solution; its non-zero slacks name the family, the
zone or applicant, how many hours and the first of them (local time), e.g.
``firm load ai_karachi cannot be met in 212 hours (first 2024-12-03 18:00 PKT): no
backup and zone South short by up to 150 MW``.
"""

from __future__ import annotations

import highspy
import numpy as np

from megawatt.optimize.inputs import HourlyInputs
from megawatt.optimize.lp import build_lp

SLACK_TOL = 1e-5


def diagnose(inputs: HourlyInputs, status: object, status_text: str) -> str:
    """A plain message for an LP that did not solve to optimality."""
    if status not in (
        highspy.HighsModelStatus.kInfeasible,
        highspy.HighsModelStatus.kUnboundedOrInfeasible,
    ):
        return f"the solver stopped without a plan: {status_text}"
    lp, layout = build_lp(inputs, elastic=True)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.passModel(lp)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return f"the scenario is infeasible ({status_text}) and could not be diagnosed"
    col = np.asarray(h.getSolution().col_value)

    def slack(name: str) -> np.ndarray | None:
        b = layout.cols.get(name)
        return None if b is None else col[b.start : b.start + b.size].reshape(b.shape)

    local = inputs.index.tz_convert(inputs.timezone)
    tz = local[0].strftime("%Z") if len(local) else ""
    messages: list[str] = []

    def hours_text(mask: np.ndarray) -> str:
        hours = np.flatnonzero(mask)
        first = local[hours[0]].strftime("%Y-%m-%d %H:%M")
        return f"{hours.size} hour{'s' if hours.size != 1 else ''} (first {first} {tz})"

    spill = slack("spill")
    if spill is not None:
        for z, zone in enumerate(inputs.zones):
            mask = spill[z] > SLACK_TOL
            if mask.any():
                messages.append(
                    f"must-run generation exceeds what zone {zone} can use or export in "
                    f"{hours_text(mask)}, by up to {spill[z].max():,.0f} MW: lower p_min_pu "
                    "or add transmission"
                )
    extra = slack("extra_shed")
    if extra is not None:
        for z, zone in enumerate(inputs.zones):
            mask = extra[z] > SLACK_TOL
            if mask.any():
                messages.append(
                    f"program loads would shed national demand in zone {zone} in "
                    f"{hours_text(mask)}, up to {extra[z].max():,.0f} MW: national demand "
                    "comes first"
                )
    firm = slack("firm_slack")
    if firm is not None:
        for k, a in enumerate(layout.row_items["firm"]):
            mask = firm[k] > SLACK_TOL
            if mask.any():
                name = inputs.applicants[a]
                zone = inputs.zones[inputs.applicant_zone[a]]
                backup = (
                    "no backup"
                    if inputs.backup_mw[a] <= 0
                    else f"backup {inputs.backup_mw[a]:,.0f} MW too small"
                )
                messages.append(
                    f"firm load {name} cannot be met in {hours_text(mask)}: {backup} and "
                    f"zone {zone} short by up to {firm[k].max():,.0f} MW"
                )
    uptime = slack("uptime_slack")
    if uptime is not None:
        for k, a in enumerate(layout.row_items["uptime"]):
            if uptime[k] > SLACK_TOL:
                messages.append(
                    f"uptime {inputs.uptime[a]:.3%} of {inputs.applicants[a]} cannot be met: "
                    f"short by {uptime[k]:,.0f} MWh"
                )
    floor = slack("min_energy_slack")
    if floor is not None:
        for k, g in enumerate(layout.row_items["min_energy"]):
            if floor[k] > SLACK_TOL:
                messages.append(
                    f"take-or-pay minimum energy of {inputs.generators[g]} "
                    f"({inputs.min_energy_mwh[g] / 1e3:,.0f} GWh) cannot be absorbed: short by "
                    f"{floor[k] / 1e3:,.1f} GWh"
                )
    reserve = slack("reserve_slack")
    if reserve is not None:
        for k, z in enumerate(layout.row_items["reserve"]):
            mask = reserve[k] > SLACK_TOL
            if mask.any():
                messages.append(
                    f"reserve of {inputs.reserve_mw[z]:,.0f} MW in zone {inputs.zones[z]} "
                    f"cannot be held in {hours_text(mask)}, short by up to "
                    f"{reserve[k].max():,.0f} MW: lower zones[].reserve_mw or raise reserve_pu"
                )
    if not messages:
        return (
            f"the scenario is infeasible ({status_text}); no single constraint family "
            "explains it (check ramp limits against must-run floors)"
        )
    return "infeasible: " + "; ".join(messages)
