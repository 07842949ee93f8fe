"""Solve the planning LP with HiGHS and return tidy results.

``solve_inputs`` runs one LP (baseline or program case). ``solve_program`` runs the
program case with shedding capped at the baseline's, so that the program is served
only from true surplus: national demand comes first (``megawatt.planning.plan`` runs
both). Results are pandas tables indexed by UTC snapshot, plus per-applicant
and per-generator summaries, and an objective breakdown that adds up to HiGHS's
objective.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import highspy
import numpy as np
import pandas as pd

from megawatt.errors import InfeasibleError
from megawatt.metrics import capacity_factor, curtailed_mask, run_lengths
from megawatt.optimize.inputs import HourlyInputs, build_inputs, scale_program
from megawatt.optimize.lp import LpLayout, build_lp
from megawatt.optimize.unique import FaceStats, face_solution
from megawatt.scenario.model import Scenario

#: A shadow price above this binds [USD/MWh or USD/MW]: above the tie-break costs'
#: 1e-3 USD/MWh, so a link is not called congested by its own tie-break.
SHADOW_TOL_USD = 1e-2


@dataclass
class SolveStats:
    """Timings [s] and sizes of one solve."""

    build_s: float
    solve_s: float
    extract_s: float
    num_col: int
    num_row: int
    num_nz: int
    iterations: int
    solver: str
    unique_s: float = 0.0  # stage 2: the least-squares point of the optimal face


@dataclass
class DispatchResult:
    """The solution of one LP (baseline or program case).

    Power tables are [MW] with UTC snapshots as index; prices [USD/MWh].
    """

    inputs: HourlyInputs
    dispatch_mw: pd.DataFrame  # columns: generators
    flow_mw: pd.DataFrame  # columns: links; + = from_zone -> to_zone, as sent
    shed_mw: pd.DataFrame  # columns: zones
    price_usd_per_mwh: pd.DataFrame  # columns: zones (duals of the balance rows)
    served_mw: pd.DataFrame  # columns: applicants
    backup_mw: pd.DataFrame  # columns: applicants
    allocation_mw: pd.Series  # index: applicants
    objective_usd: float
    objective_breakdown_usd: pd.Series
    stats: SolveStats
    # Shadow prices (LP duals): per program/zone/plant cap, the value of one more MW of
    # cap over the span [USD/MW]; per link and hour, of one more MW of transfer limit
    # in the direction of the flow [USD/MWh] (0 where the link does not bind).
    cap_shadow: pd.DataFrame = field(default_factory=pd.DataFrame)
    link_shadow_usd_per_mwh: pd.DataFrame = field(default_factory=pd.DataFrame)
    face: FaceStats | None = None  # stage 2 of megawatt.optimize.unique; None: LP vertex
    # Linearised unit commitment (columns: committed fleets): online MW (u x p_nom) and
    # MW started in the hour (su x p_nom).
    online_mw: pd.DataFrame = field(default_factory=pd.DataFrame)
    start_up_mw: pd.DataFrame = field(default_factory=pd.DataFrame)
    # Spinning reserve held [MW] (columns: providing generators and program loads) and
    # its price per zone and hour [USD/MW per h] (duals of the reserve rows).
    reserve_mw: pd.DataFrame = field(default_factory=pd.DataFrame)
    reserve_price_usd_per_mw_h: pd.DataFrame = field(default_factory=pd.DataFrame)
    highs: highspy.Highs | None = field(default=None, repr=False)
    layout: LpLayout | None = field(default=None, repr=False)

    def tidy(self) -> dict[str, pd.DataFrame]:
        """The hourly results as long ("tidy") tables: one row per hour and entity.

        Keys: dispatch (snapshot, generator, zone, technology, p_mw), flow (snapshot,
        link, p_mw), shed (snapshot, zone, shed_mw), price (snapshot, zone,
        price_usd_per_mwh), served (snapshot, applicant, served_mw, curtailed_mw,
        backup_mw), allocation (applicant, allocated_mw).
        """
        inp = self.inputs

        def long(frame: pd.DataFrame, key: str, value: str) -> pd.DataFrame:
            out = frame.rename_axis(index="snapshot", columns=key).stack().rename(value)
            return out.reset_index()

        dispatch = long(self.dispatch_mw, "generator", "p_mw")
        zone_of = dict(zip(inp.generators, (inp.zones[z] for z in inp.generator_zone), strict=True))
        tech_of = dict(zip(inp.generators, inp.technology, strict=True))
        dispatch.insert(2, "zone", dispatch.generator.map(zone_of))
        dispatch.insert(3, "technology", dispatch.generator.map(tech_of))
        served = long(self.served_mw, "applicant", "served_mw")
        served["curtailed_mw"] = long(self.curtailed_mw, "applicant", "c").c.to_numpy()
        served["backup_mw"] = long(self.backup_mw, "applicant", "b").b.to_numpy()
        return {
            "dispatch": dispatch,
            "flow": long(self.flow_mw, "link", "p_mw"),
            "shed": long(self.shed_mw, "zone", "shed_mw"),
            "price": long(self.price_usd_per_mwh, "zone", "price_usd_per_mwh"),
            "served": served,
            "allocation": self.allocation_mw.rename("allocated_mw").reset_index(),
        }

    @property
    def curtailed_mw(self) -> pd.DataFrame:
        """Allocated but not served [MW], per applicant and hour."""
        return (self.allocation_mw - self.served_mw).clip(lower=0.0)

    def link_summary(self) -> pd.DataFrame:
        """Per link: limits [MW], energy sent each way [MWh], hours at a limit (congested)
        and the value of one more MW of limit over the span [USD/MW] (sum of the hourly
        shadow prices)."""
        inp = self.inputs
        flow = self.flow_mw.to_numpy()
        shadow = self.link_shadow_usd_per_mwh.to_numpy()
        return pd.DataFrame(
            {
                "from_zone": [inp.zones[z] for z in inp.link_from],
                "to_zone": [inp.zones[z] for z in inp.link_to],
                "forward_limit_mw": inp.link_forward_mw,
                "reverse_limit_mw": inp.link_reverse_mw,
                "forward_mwh": np.clip(flow, 0.0, None).sum(axis=0),
                "reverse_mwh": np.clip(-flow, 0.0, None).sum(axis=0),
                "congested_hours": (shadow > SHADOW_TOL_USD).sum(axis=0),
                "value_usd_per_mw": shadow.sum(axis=0),
            },
            index=pd.Index(inp.links, name="link"),
        )

    def generator_summary(self) -> pd.DataFrame:
        """Per generator: zone, technology, energy [MWh], capacity factor, cost [USD], CO2 [t]."""
        inp = self.inputs
        energy = self.dispatch_mw.sum()
        hours = inp.hours
        return pd.DataFrame(
            {
                "zone": [inp.zones[z] for z in inp.generator_zone],
                "technology": inp.technology,
                "p_nom_mw": inp.p_nom_mw,
                "energy_mwh": energy.to_numpy(),
                "capacity_factor": capacity_factor(energy.to_numpy(), inp.p_nom_mw, hours),
                "cost_usd": energy.to_numpy() * inp.marginal_cost_usd_per_mwh,
                "co2_t": energy.to_numpy() * inp.co2_t_per_mwh,
            },
            index=pd.Index(inp.generators, name="generator"),
        )

    def applicant_summary(self) -> pd.DataFrame:
        """Per applicant: allocation [MW], served, curtailed and backup energy [MWh],
        curtailed hours, curtailment events and their mean length [h], tariff paid [USD]."""
        inp = self.inputs
        curtailed_all = self.curtailed_mw[inp.applicants].to_numpy()
        mask = curtailed_mask(curtailed_all, self.allocation_mw[inp.applicants].to_numpy())
        rows = []
        for i, name in enumerate(inp.applicants):
            alloc = float(self.allocation_mw[name])
            served = self.served_mw[name].to_numpy()
            curtailed = curtailed_all[:, i]
            hours_mask = mask[:, i]
            lengths = run_lengths(hours_mask)
            rows.append(
                {
                    "applicant": name,
                    "kind": inp.applicant_kind[i],
                    "zone": inp.zones[inp.applicant_zone[i]],
                    "plant": inp.applicant_plant[i] or "",
                    "requested_mw": inp.requested_mw[i],
                    "allocated_mw": alloc,
                    "served_mwh": served.sum(),
                    "curtailed_mwh": curtailed.sum(),
                    "backup_mwh": self.backup_mw[name].sum(),
                    "curtailed_hours": int(hours_mask.sum()),
                    "events": len(lengths),
                    "mean_event_h": float(np.mean(lengths)) if len(lengths) else 0.0,
                    "tariff_paid_usd": float(served @ inp.tariff_usd_per_mwh),
                    "value_usd_per_mwh": inp.value_usd_per_mwh[i],
                }
            )
        columns = [
            "applicant",
            "kind",
            "zone",
            "plant",
            "requested_mw",
            "allocated_mw",
            "served_mwh",
            "curtailed_mwh",
            "backup_mwh",
            "curtailed_hours",
            "events",
            "mean_event_h",
            "tariff_paid_usd",
            "value_usd_per_mwh",
        ]
        return pd.DataFrame(rows, columns=columns).set_index("applicant")


def new_highs(
    threads: int | None = None, time_limit_s: float | None = None, solver: str = "choose"
) -> highspy.Highs:
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("solver", solver)
    if threads:
        h.setOptionValue("threads", threads)
    if time_limit_s:
        h.setOptionValue("time_limit", float(time_limit_s))
    return h


def solve_inputs(
    inputs: HourlyInputs,
    solver: str = "choose",
    time_limit_s: float | None = None,
    keep_model: bool = False,
) -> DispatchResult:
    """Build and solve the LP for ``inputs``.

    Raises
    ------
    InfeasibleError
        With a plain message naming the failing constraint family, zone or applicant
        and the first hours involved.
    InputError
        For a NaN, an infinity or an absurdly large number among the inputs
        (:func:`megawatt.optimize.diagnose.check_magnitudes`), before HiGHS sees it.
    """
    from megawatt.optimize.diagnose import check_magnitudes, diagnose

    check_magnitudes(inputs)
    t0 = time.perf_counter()
    lp, layout = build_lp(inputs)
    t1 = time.perf_counter()
    h = new_highs(time_limit_s=time_limit_s, solver=solver)
    h.passModel(lp)
    sizes = (lp.num_col_, lp.num_row_, len(lp.a_matrix_.value_))
    del lp  # HiGHS holds its own copy; ours would only add to the peak memory
    h.run()
    t2 = time.perf_counter()
    status = h.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        raise InfeasibleError(diagnose(inputs, status, h.modelStatusToString(status)))
    result = extract(inputs, h, layout)
    t3 = time.perf_counter()
    info = h.getInfo()
    result.stats = SolveStats(
        build_s=t1 - t0,
        solve_s=t2 - t1,
        extract_s=t3 - t2,
        num_col=sizes[0],
        num_row=sizes[1],
        num_nz=sizes[2],
        iterations=int(info.simplex_iteration_count + info.ipm_iteration_count),
        solver=solver,
        unique_s=result.face.solve_s if result.face else 0.0,
    )
    if keep_model:
        result.highs, result.layout = h, layout
    return result


def extract(
    inputs: HourlyInputs, h: highspy.Highs, layout: LpLayout, unique: bool = True
) -> DispatchResult:
    """Read the solution into tables.

    With ``unique`` (the default) the power tables are the one schedule of
    :func:`megawatt.optimize.unique.face_solution`, the same whatever the solver path;
    prices are the LP's duals and the objective the LP's optimum either way.
    """
    sol = h.getSolution()
    row_dual = np.asarray(sol.row_dual)
    face = None
    if unique:
        col, face = face_solution(h, inputs, layout)
        if not face.ok:
            warnings.warn(
                f"the unique-schedule stage failed ({face.status}); the LP's own "
                "vertex is reported, which may differ between solver paths",
                RuntimeWarning,
                stacklevel=2,
            )
    else:
        col = np.asarray(sol.col_value)
    index = inputs.index
    T = inputs.hours

    def block(name: str) -> np.ndarray:
        b = layout.cols[name]
        return col[b.start : b.start + b.size].reshape(b.shape)

    dispatch = block("p")
    flow = block("f_fwd") - block("f_rev")
    shed = block("shed")
    bal = layout.rows["balance"]
    prices = row_dual[bal.start : bal.start + bal.size].reshape(bal.shape)
    A = len(inputs.applicants)
    if A:
        served = block("c")
        alloc = block("x")
        backup = np.zeros((A, T))
        backup[layout.row_items["b"]] = block("b")
    else:
        served, alloc, backup = np.zeros((0, T)), np.zeros(0), np.zeros((0, T))

    gen_cost = float((dispatch.sum(axis=1) * inputs.marginal_cost_usd_per_mwh).sum())
    revenue = float((served @ inputs.tariff_usd_per_mwh).sum()) if A else 0.0
    breakdown = pd.Series(
        {
            "generation_cost_usd": gen_cost,
            "shed_cost_usd": float(shed.sum() * inputs.voll_usd_per_mwh),
            "backup_cost_usd": float((backup.sum(axis=1) * inputs.backup_cost_usd_per_mwh).sum())
            if A
            else 0.0,
            "tariff_revenue_usd": -revenue,
        }
    )
    K = layout.row_items.get("u", np.zeros(0, dtype=int))
    online = block("u") * inputs.p_nom_mw[K, None] if K.size else np.zeros((0, T))
    started = np.zeros((K.size, T))
    if K.size and T > 1:
        started[:, 1:] = block("su") * inputs.p_nom_mw[K, None]
    breakdown["start_up_cost_usd"] = float(
        (started.sum(axis=1) * inputs.start_up_cost_usd_per_mw[K]).sum()
    )
    objective = float(h.getInfo().objective_function_value)
    breakdown["tie_break_usd"] = objective - float(breakdown.sum())

    def frame(values: np.ndarray, columns: list[str]) -> pd.DataFrame:
        return pd.DataFrame(values.T, index=index, columns=pd.Index(columns))

    col_dual = np.asarray(sol.col_dual)

    def dual_block(name: str) -> np.ndarray:
        b = layout.cols[name]
        return col_dual[b.start : b.start + b.size].reshape(b.shape)

    # d objective / d upper bound = the reduced cost (<= 0 at the upper bound)
    link_shadow = np.clip(-dual_block("f_fwd"), 0.0, None) + np.clip(
        -dual_block("f_rev"), 0.0, None
    )
    cap_shadow = pd.DataFrame()
    if A:
        caps = layout.rows["caps"]
        names = list(layout.row_items["caps"])
        row_value = np.asarray(sol.row_value)[caps.start : caps.start + caps.size]
        value = -row_dual[caps.start : caps.start + caps.size]
        limit = np.asarray(h.getRows(caps.size, caps.index().astype(np.int32))[3])
        cap_shadow = pd.DataFrame(
            {
                "limit_mw": limit,
                "allocated_mw": row_value,
                "value_usd_per_mw": np.clip(value, 0.0, None),
                "binding": value > SHADOW_TOL_USD,
            },
            index=pd.Index(names, name="cap"),
        )

    R = layout.row_items.get("r", np.zeros(0, dtype=int))
    Q = layout.row_items.get("q", np.zeros(0, dtype=int))
    reserve = np.vstack(
        [block("r") if R.size else np.zeros((0, T)), block("q") if Q.size else np.zeros((0, T))]
    )
    reserve_names = [inputs.generators[g] for g in R] + [inputs.applicants[a] for a in Q]
    price_zones = layout.row_items.get("reserve", np.zeros(0, dtype=int))
    res_rows = layout.rows.get("reserve")
    reserve_price = (
        row_dual[res_rows.start : res_rows.start + res_rows.size].reshape(res_rows.shape)
        if res_rows is not None and res_rows.size
        else np.zeros((0, T))
    )

    return DispatchResult(
        inputs=inputs,
        dispatch_mw=frame(dispatch, inputs.generators),
        flow_mw=frame(flow, inputs.links),
        shed_mw=frame(shed, inputs.zones),
        price_usd_per_mwh=frame(prices, inputs.zones),
        served_mw=frame(served, inputs.applicants),
        backup_mw=frame(backup, inputs.applicants),
        allocation_mw=pd.Series(
            alloc, index=pd.Index(inputs.applicants, name="applicant"), dtype=float
        ),
        objective_usd=objective,
        objective_breakdown_usd=breakdown,
        stats=SolveStats(0, 0, 0, 0, 0, 0, 0, ""),
        cap_shadow=cap_shadow,
        link_shadow_usd_per_mwh=frame(link_shadow, inputs.links),
        face=face,
        online_mw=frame(online, [inputs.generators[g] for g in K]),
        start_up_mw=frame(started, [inputs.generators[g] for g in K]),
        reserve_mw=frame(reserve, reserve_names),
        reserve_price_usd_per_mw_h=frame(
            np.clip(reserve_price, 0.0, None), [inputs.zones[z] for z in price_zones]
        ),
    )


@dataclass
class PlanResult:
    """Baseline (no program) and program case of one scenario."""

    scenario: Scenario
    baseline: DispatchResult
    program: DispatchResult


#: Slack on the baseline's shedding when it caps the program case's [MW]: a solver
#: tolerance, not room to shed more.
SHED_CAP_SLACK_MW = 1e-6


def solve_program(
    scenario: Scenario,
    baseline: DispatchResult,
    applicant_values: dict[str, float],
    solver: str = "choose",
    cap_share: float = 1.0,
) -> DispatchResult:
    """The program case after ``baseline``: shedding capped at the baseline's, so the
    program is served only from surplus (national demand first). ``cap_share`` scales
    requests and caps (:func:`megawatt.optimize.inputs.scale_program`: the first year)."""
    inputs = scale_program(
        build_inputs(scenario, with_program=True, applicant_values=applicant_values), cap_share
    )
    inputs.shed_cap_mw = baseline.shed_mw.to_numpy().T + SHED_CAP_SLACK_MW
    return solve_inputs(inputs, solver=solver)
