"""Say in plain words why a scenario has no solution.

When HiGHS reports the LP infeasible, the same LP is rebuilt in *elastic* mode:
every constraint family that can fail gets a slack column at a penalty far above any
cost. The elastic LP always has a solution; its non-zero slacks name the family, the
zone, generator or applicant, how many hours and the first of them (local time), e.g.
``firm share: firm load ai_karachi cannot be met in 212 hours (first 2024-12-03 18:00,
2024-12-03 19:00, 2024-12-04 18:00 PKT): no backup and zone South short by up to 150
MW``. Every message starts with the family: ``generator floors``, ``ramp limits``,
``national demand first``, ``firm share``, ``uptime``, ``take-or-pay``, ``reserve``,
``program cap`` (or ``zone cap``, ``plant cap``).

When HiGHS stops for another reason (a solve error, usually from numbers far outside
a power system's range), or the inputs hold such numbers, the message names the
largest inputs to check instead (:func:`input_magnitudes`); :func:`check_magnitudes`
rejects non-finite and absurd values before HiGHS sees them.
"""

from __future__ import annotations

import highspy
import numpy as np

from megawatt.errors import InputError
from megawatt.optimize.inputs import HourlyInputs
from megawatt.optimize.lp import build_lp, cap_groups

SLACK_TOL = 1e-5

#: Inputs at or above this [MW, USD/MWh, MWh per hour] are refused before the solve:
#: HiGHS takes 1e15 as its largest sane matrix value and bounds from 1e20 as infinite,
#: and such numbers (or inf/NaN) have crashed it. A national grid is ~1e5 MW.
ABSURD_INPUT = 1e15

#: Inputs above this make a failed solve suspect: HiGHS's tolerances (~1e-7) are then
#: coarser than a MW, so the failure is reported as the magnitudes, not a family.
SUSPECT_INPUT = 1e9

#: How many of the first hours a message lists.
FIRST_HOURS = 3


def input_magnitudes(inputs: HourlyInputs) -> list[tuple[str, float]]:
    """The largest value of each kind of LP input, as (``what it is``, value), e.g.
    ``("capacity: generator sahiwal p_nom_mw [MW]", 1320.0)``; non-finite values first.

    Infinity where it means "none" (ramp limits, caps) is left out."""
    out: list[tuple[str, float]] = []

    def largest(kind: str, names: list[str], values: np.ndarray, what: str) -> None:
        values = np.asarray(values, dtype=float)
        if not values.size:
            return
        flat = values.reshape(len(names), -1) if len(names) else values.reshape(1, -1)
        score = np.where(np.isnan(flat), np.inf, np.abs(flat)).max(axis=1)
        k = int(np.argmax(score))
        row = flat[k]
        bad = ~np.isfinite(row)
        value = float(row[np.argmax(bad)]) if bad.any() else float(row[np.argmax(np.abs(row))])
        name = f" {names[k]}" if names else ""
        out.append((f"{kind}{name} {what}", value))

    gens = inputs.generators
    largest("capacity: generator", gens, inputs.p_nom_mw, "p_nom_mw [MW]")
    largest("availability: generator", gens, inputs.p_max_mw, "p_max [MW]")
    largest("floor: generator", gens, inputs.p_min_mw, "p_min [MW]")
    largest("cost: generator", gens, inputs.marginal_cost_usd_per_mwh, "[USD/MWh]")
    largest("demand: zone", inputs.zones, inputs.demand_mw, "[MW]")
    largest("value of lost load", [], np.array([inputs.voll_usd_per_mwh]), "[USD/MWh]")
    if inputs.links:
        limits = np.stack([inputs.link_forward_mw, inputs.link_reverse_mw], axis=1)
        largest("transfer limit: link", inputs.links, limits, "[MW]")
    if len(inputs.start_up_cost_usd_per_mw):
        largest("start-up cost: generator", gens, inputs.start_up_cost_usd_per_mw, "[USD/MW]")
    per_hour = max(inputs.hours, 1)
    largest("take-or-pay: generator", gens, inputs.min_energy_mwh / per_hour, "[MWh per hour]")
    if inputs.applicants:
        apps = inputs.applicants
        largest("request: applicant", apps, inputs.requested_mw, "requested_mw [MW]")
        largest("commitment: applicant", apps, inputs.committed_mw, "committed_mw [MW]")
        largest("backup: applicant", apps, inputs.backup_mw, "backup_mw [MW]")
        largest("backup cost: applicant", apps, inputs.backup_cost_usd_per_mwh, "[USD/MWh]")
        largest("tariff", [], inputs.tariff_usd_per_mwh, "[USD/MWh]")
    order = sorted(
        range(len(out)),
        key=lambda i: (np.isfinite(out[i][1]), -abs(out[i][1]) if np.isfinite(out[i][1]) else 0),
    )
    return [out[i] for i in order]


def _magnitudes_text(items: list[tuple[str, float]]) -> str:
    return "; ".join(f"{what} = {value:,.6g}" for what, value in items)


def check_magnitudes(inputs: HourlyInputs) -> None:
    """Raise :class:`~megawatt.errors.InputError` for a NaN, an infinity or a value of
    ``ABSURD_INPUT`` or more among the LP's inputs, naming them (HiGHS would fail on
    them, or crash)."""
    bad = [
        (what, value)
        for what, value in input_magnitudes(inputs)
        if not np.isfinite(value) or abs(value) >= ABSURD_INPUT
    ]
    if bad:
        raise InputError(
            None,
            "",
            f"out of range for the solver (NaN, infinite or >= {ABSURD_INPUT:g}): "
            f"{_magnitudes_text(bad)}; check these values in the scenario",
        )


def diagnose(inputs: HourlyInputs, status: object, status_text: str) -> str:
    """A plain message for an LP that did not solve to optimality."""
    suspect = [
        (what, value)
        for what, value in input_magnitudes(inputs)
        if not np.isfinite(value) or abs(value) >= SUSPECT_INPUT
    ]
    if suspect:
        # Re-solving with such numbers is no help (and has crashed HiGHS): name them.
        return (
            f"the solver stopped without a plan ({status_text}): inputs far outside a "
            f"power system's range (>= {SUSPECT_INPUT:g}) make the LP numerically "
            f"meaningless; check {_magnitudes_text(suspect)}"
        )
    if status not in (
        highspy.HighsModelStatus.kInfeasible,
        highspy.HighsModelStatus.kUnboundedOrInfeasible,
    ):
        hint = (
            "give it more time"
            if status == highspy.HighsModelStatus.kTimeLimit
            else "check the largest inputs: " + _magnitudes_text(input_magnitudes(inputs)[:4])
        )
        return f"the solver stopped without a plan ({status_text}); {hint}"
    lp, layout = build_lp(inputs, elastic=True)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.passModel(lp)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return (
            f"the scenario is infeasible ({status_text}) and could not be diagnosed "
            f"(elastic re-solve: {h.modelStatusToString(h.getModelStatus())}); check the "
            f"largest inputs: {_magnitudes_text(input_magnitudes(inputs)[:4])}"
        )
    messages = _read_slacks(inputs, layout, np.asarray(h.getSolution().col_value))
    if not messages:
        return (
            f"the scenario is infeasible ({status_text}); no single constraint family "
            "explains it (check ramp limits against must-run floors)"
        )
    return "infeasible: " + "; ".join(messages)


def _read_slacks(inputs: HourlyInputs, layout, col: np.ndarray) -> list[str]:
    """One message per family, zone, generator or applicant with a non-zero slack."""

    def slack(name: str) -> np.ndarray | None:
        b = layout.cols.get(name)
        return None if b is None else col[b.start : b.start + b.size].reshape(b.shape)

    local = inputs.index.tz_convert(inputs.timezone)
    tz = local[0].strftime("%Z") if len(local) else ""
    messages: list[str] = []

    def hours_text(mask: np.ndarray, offset: int = 0) -> str:
        hours = np.flatnonzero(mask) + offset
        first = ", ".join(local[h].strftime("%Y-%m-%d %H:%M") for h in hours[:FIRST_HOURS])
        more = ", ..." if hours.size > FIRST_HOURS else ""
        return f"{hours.size} hour{'s' if hours.size != 1 else ''} (first {first}{more} {tz})"

    spill = slack("spill")
    if spill is not None:
        for z, zone in enumerate(inputs.zones):
            mask = spill[z] > SLACK_TOL
            if mask.any():
                messages.append(
                    f"generator floors: must-run generation exceeds what zone {zone} can use "
                    f"or export in {hours_text(mask)}, by up to {spill[z].max():,.0f} MW "
                    f"(zone demand as low as {inputs.demand_mw[z][mask].min():,.0f} MW): "
                    "lower p_min_pu or add transmission"
                )
    water = slack("monthly_energy_slack")
    if water is not None:
        over: dict[int, list[int]] = {}
        for k, (g, _, _) in enumerate(inputs.monthly_energy_cap_mwh):
            if water[k] > SLACK_TOL:
                over.setdefault(g, []).append(k)
        for g, ks in over.items():
            _, mask, cap = inputs.monthly_energy_cap_mwh[ks[0]]
            month = local[np.flatnonzero(mask)[0]].strftime("%Y-%m")
            need = float(inputs.p_min_mw[g, mask].sum())
            messages.append(
                f"generator floors: the hourly floor of {inputs.generators[g]} needs more "
                f"water than its monthly cap in {len(ks)} month{'s' if len(ks) != 1 else ''} "
                f"(first {month}: floor {need / 1e3:,.1f} GWh > water {cap / 1e3:,.1f} GWh): "
                "lower p_min_pu or min_release_share"
            )
    up, down = slack("ramp_up_slack"), slack("ramp_down_slack")
    if up is not None and down is not None:
        for k, g in enumerate(layout.row_items["ramp"]):
            excess = np.maximum(up[k], down[k])
            mask = excess > SLACK_TOL
            if mask.any():
                messages.append(
                    f"ramp limits: {inputs.generators[g]} cannot follow its floor and "
                    f"availability within {inputs.ramp_mw_per_h[g]:,.0f} MW/h in "
                    f"{hours_text(mask, offset=1)}, by up to {excess.max():,.0f} MW: raise "
                    "ramp_pu_per_h or lower p_min_pu"
                )
    extra = slack("extra_shed")
    if extra is not None:
        for z, zone in enumerate(inputs.zones):
            mask = extra[z] > SLACK_TOL
            if mask.any():
                messages.append(
                    f"national demand first: program loads would shed national demand in "
                    f"zone {zone} in {hours_text(mask)}, up to {extra[z].max():,.0f} MW"
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
                    f"firm share: firm load {name} cannot be met in {hours_text(mask)}: "
                    f"{backup} and zone {zone} short by up to {firm[k].max():,.0f} MW"
                )
    uptime = slack("uptime_slack")
    if uptime is not None:
        for k, a in enumerate(layout.row_items["uptime"]):
            if uptime[k] > SLACK_TOL:
                messages.append(
                    f"uptime: uptime {inputs.uptime[a]:.3%} of {inputs.applicants[a]} cannot "
                    f"be met: short by {uptime[k]:,.0f} MWh"
                )
    floor = slack("min_energy_slack")
    if floor is not None:
        for k, g in enumerate(layout.row_items["min_energy"]):
            if floor[k] > SLACK_TOL:
                messages.append(
                    f"take-or-pay: minimum energy of {inputs.generators[g]} "
                    f"({inputs.min_energy_mwh[g] / 1e3:,.0f} GWh) cannot be absorbed: short by "
                    f"{floor[k] / 1e3:,.1f} GWh"
                )
    reserve = slack("reserve_slack")
    if reserve is not None:
        for k, z in enumerate(layout.row_items["reserve"]):
            mask = reserve[k] > SLACK_TOL
            if mask.any():
                messages.append(
                    f"reserve: reserve of {inputs.reserve_mw[z]:,.0f} MW in zone "
                    f"{inputs.zones[z]} cannot be held in {hours_text(mask)}, short by up to "
                    f"{reserve[k].max():,.0f} MW: lower zones[].reserve_mw or raise reserve_pu"
                )
    caps = slack("cap_slack")
    if caps is not None:
        for k, (name, members, cap) in enumerate(cap_groups(inputs)):
            if caps[k] > SLACK_TOL:
                messages.append(_cap_text(inputs, name, members, cap))
    return messages


def _cap_text(inputs: HourlyInputs, name: str, members: np.ndarray, cap: float) -> str:
    """``program cap: committed 2,300 MW of firm load (ai1 1,300, ai2 1,000) > cap 2,000
    MW: ...`` for a cap below its applicants' committed MW."""
    committed = [int(a) for a in members if inputs.committed_mw[a] > 0]
    total = float(inputs.committed_mw[committed].sum())
    firm = committed and all(inputs.firm_share[a] > 0 for a in committed)
    listed = ", ".join(
        f"{inputs.applicants[a]} {inputs.committed_mw[a]:,.0f}"
        for a in sorted(committed, key=lambda a: -inputs.committed_mw[a])
    )
    kind, _, what = name.partition(" ")
    field = {
        "program": "program.cap_mw",
        "zone": f"program.zone_caps_mw.{what}",
        "plant": f"program.plant_caps_mw.{what}",
    }[kind]
    label = "program cap" if kind == "program" else f"{kind} cap {what}"
    return (
        f"{label}: committed {total:,.0f} MW{' of firm load' if firm else ''} ({listed}) > "
        f"cap {cap:,.0f} MW: lower applicants' committed_mw or raise {field}"
    )
