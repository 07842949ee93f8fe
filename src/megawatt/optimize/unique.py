"""One hourly schedule: the least-squares point of the LP's optimal face.

The planning LP has many optimal solutions. Identical days of demand, a monthly water
budget that may be spent in any hour at the same marginal price, equal-cost plants:
all of them leave a whole face of the feasible set at the optimal cost, and simplex,
the interior-point method, a warm start or a different column order each return a
different vertex of it. Measured on the default baseline before this stage: simplex
and IPM agreed on the cost to 2e-14 but 28,728 generator-hours differed by more than
1 MW (hydro by up to 8,513 MW). A grid operator cannot act on a schedule that depends
on the solver.

The schedule is therefore chosen in two stages.

1. The LP gives the optimal cost, the prices and a dual solution: reduced costs
   :math:`d_j` and row duals :math:`y_i`. By complementary slackness a feasible
   :math:`x` is optimal if and only if :math:`x_j` sits at its bound wherever
   :math:`d_j \\ne 0` and row :math:`i` sits at its bound wherever :math:`y_i \\ne 0`,
   for *any* optimal dual solution ([1], Thm. 4.5). Those columns and rows are fixed at
   their bounds; what remains free is exactly the optimal face.
2. Over the face, minimise the strictly convex

   .. math:: \\sum_j \\frac{x_j^2}{2 s_j}

   with :math:`s_j` the column's scale [MW]: the generator's ``p_nom``, the link's
   limit, the zone's peak demand for shedding, the applicant's requested MW. The
   minimiser is unique, so the schedule no longer depends on the solver path. Its
   meaning: among the cheapest schedules, the flattest one. Equal-cost plants share
   output pro rata to capacity (:math:`p_g/s_g` equal), a water budget that may go in
   any of several equal-price hours is spread evenly over them, and curtailment that
   may fall in any of several equal hours is shared across them (a shallower cut for
   more hours, which an ASIC fleet does by sleeping a share of its machines).

Stage 2 never changes the cost (the face is the set of optima; measured change
< 1e-2 USD on the 3.9 bn USD default year), the prices (the stage-1 duals) or any
allocation the LP fixed. It is a QP over the face only (the default year: 60,834 free
columns of 289,086), solved by the interior-point method of Clarabel [2] to 1e-8;
HiGHS's active-set QP solver took 25 s on four weeks and did not finish one year.

A reduced cost or dual counts as non-zero above :data:`FACE_TOL` [USD/MWh]: 100 times
below the smallest tie-break cost of :mod:`megawatt.optimize.inputs` and 10 times above
HiGHS's dual feasibility tolerance.

References
----------
.. [1] D. Bertsimas, J. N. Tsitsiklis, *Introduction to Linear Optimization*, Athena
   Scientific, 1997, section 4.3 (complementary slackness).
.. [2] P. J. Goulart, Y. Chen, "Clarabel: An interior-point solver for conic programs
   with quadratic objectives", arXiv:2405.12762, 2024.
"""

from __future__ import annotations

from dataclasses import dataclass

import clarabel
import highspy
import numpy as np
import scipy.sparse as sp

from megawatt.optimize.inputs import HourlyInputs
from megawatt.optimize.lp import LpLayout

#: |reduced cost| or |row dual| above this is non-zero [USD/MWh].
FACE_TOL = 1e-6
#: Clarabel's feasibility, gap and KKT tolerances for the stage-2 QP, tried in turn
#: (1e-9 stalls on some fortnights of the default; 1e-8 solves nearly all).
QP_TOLS = (1e-8, 1e-7)
#: The stage-2 schedule is accepted only if it meets every row and bound of the LP to
#: this [MW] and costs no more than the optimum plus ``COST_TOL`` times its size (at
#: least ``COST_FLOOR_USD``) plus what reduced costs below ``FACE_TOL`` allow.
FEASIBILITY_TOL_MW = 1e-6
COST_TOL = 1e-9
COST_FLOOR_USD = 0.01


@dataclass
class FaceStats:
    """How stage 2 went: sizes, time [s], and whether it succeeded."""

    free_cols: int
    rows: int
    solve_s: float
    iterations: int
    status: str  # Clarabel's
    ok: bool = True  # the schedule met the LP's rows, bounds and optimal cost


def column_scale(inputs: HourlyInputs, layout: LpLayout, num_col: int) -> np.ndarray:
    """The scale s_j [MW] of every column of the LP (1 where no natural scale exists)."""
    scale = np.ones(num_col)
    T = inputs.hours

    def put(name: str, per_row: np.ndarray) -> None:
        block = layout.cols.get(name)
        if block is not None and block.size:
            scale[block.start : block.start + block.size] = np.repeat(per_row, T)

    put("p", inputs.p_nom_mw)
    link = np.maximum(inputs.link_forward_mw, inputs.link_reverse_mw)
    put("f_fwd", link)
    put("f_rev", link)
    put("shed", inputs.demand_mw.max(axis=1))
    # u and su (unit commitment) are shares of the fleet already: scale 1
    r = layout.row_items.get("r")
    if r is not None:
        put("r", inputs.reserve_pu[r] * inputs.p_nom_mw[r])
    if inputs.applicants:
        x = layout.cols["x"]
        scale[x.start : x.start + x.size] = inputs.requested_mw
        put("c", inputs.requested_mw)
        put("b", inputs.backup_mw[layout.row_items["b"]])
        q = layout.row_items.get("q")
        if q is not None:
            put("q", inputs.requested_mw[q])
    return np.where(np.isfinite(scale) & (scale > 1.0), scale, 1.0)


def _nearest_bound(value: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    to_lower = np.abs(value - lower)
    to_upper = np.abs(value - upper)
    return np.where(to_lower <= to_upper, lower, upper)


def face_solution(
    h: highspy.Highs, inputs: HourlyInputs, layout: LpLayout
) -> tuple[np.ndarray, FaceStats]:
    """The unique least-squares optimal solution of the LP solved in ``h``.

    ``h`` must hold an optimal solution with duals; it is not changed. Returns the
    column values and the stage's statistics. If the QP fails (it should not), the
    LP's own solution is returned and ``stats.ok`` is False.
    """
    import time

    t0 = time.perf_counter()
    lp = h.getLp()
    sol = h.getSolution()
    x = np.asarray(sol.col_value)
    n, m = lp.num_col_, lp.num_row_
    col_lower, col_upper = np.asarray(lp.col_lower_), np.asarray(lp.col_upper_)
    row_lower, row_upper = np.asarray(lp.row_lower_), np.asarray(lp.row_upper_)
    row_act = np.asarray(sol.row_value)

    fixed = (np.abs(np.asarray(sol.col_dual)) > FACE_TOL) | (col_lower == col_upper)
    x_fixed = np.where(fixed, _nearest_bound(x, col_lower, col_upper), 0.0)
    free = np.flatnonzero(~fixed)
    if free.size == 0:
        return x_fixed, FaceStats(0, 0, time.perf_counter() - t0, 0, "empty")

    a = lp.a_matrix_
    A = sp.csc_matrix(
        (np.asarray(a.value_), np.asarray(a.index_), np.asarray(a.start_)), shape=(m, n)
    )
    shift = A @ x_fixed
    A_free = A[:, free].tocsr()
    touches = np.diff(A_free.indptr) > 0
    row_dual = np.asarray(sol.row_dual)
    tight = np.abs(row_dual) > FACE_TOL
    tight_dual_sum = float(np.abs(row_dual[tight]).sum())
    at = _nearest_bound(row_act, row_lower, row_upper) - shift
    lower, upper = row_lower - shift, row_upper - shift
    eq = touches & (tight | (row_lower == row_upper))
    le = touches & ~eq & np.isfinite(upper)
    ge = touches & ~eq & np.isfinite(lower)
    lo, up = col_lower[free], col_upper[free]
    eye = sp.identity(free.size, format="csr")
    has_lo, has_up = np.isfinite(lo), np.isfinite(up)
    K = sp.vstack([A_free[eq], A_free[le], -A_free[ge], eye[has_up], -eye[has_lo]], format="csc")
    b = np.concatenate(
        [np.where(tight, at, upper)[eq], upper[le], -lower[ge], up[has_up], -lo[has_lo]]
    )
    num_eq = int(eq.sum())

    scale = column_scale(inputs, layout, n)[free]
    P = sp.diags(1.0 / scale, format="csc")
    cones = [clarabel.ZeroConeT(num_eq), clarabel.NonnegativeConeT(K.shape[0] - num_eq)]
    cost = np.asarray(lp.col_cost_)
    optimum = float(cost @ x)
    stats = FaceStats(int(free.size), int(K.shape[0]), 0.0, 0, "")
    out = x
    # The face is fixed from a solution feasible to HiGHS's 1e-7: where the tight rows
    # are that much inconsistent, the QP cannot reach 1e-8, and a looser pass is made.
    for tol in QP_TOLS:
        settings = clarabel.DefaultSettings()
        settings.verbose = False
        settings.tol_gap_abs = settings.tol_gap_rel = tol
        settings.tol_feas = settings.tol_ktratio = tol
        result = clarabel.DefaultSolver(P, np.zeros(free.size), K, b, cones, settings).solve()
        stats.iterations += int(result.iterations)
        candidate = x_fixed.copy()
        candidate[free] = np.clip(np.asarray(result.x), lo, up)
        # Trust the schedule only once it is checked against the LP itself: every row
        # and bound, and the cost, which may move only by what the free columns' reduced
        # costs (below FACE_TOL, the LP's own optimality tolerance) allow.
        activity = A @ candidate
        violation = float(
            np.max(np.maximum(activity - row_upper, row_lower - activity), initial=0.0)
        )
        excess = float(cost @ candidate) - optimum
        # c.dx = d.dx + y.(A dx): reduced costs below FACE_TOL on the free columns,
        # duals below it on the loose rows, and the tight rows' feasibility tolerance.
        moved = float(np.abs(candidate - x).sum() + np.abs(activity - row_act).sum())
        allowed = (
            FACE_TOL * moved
            + FEASIBILITY_TOL_MW * tight_dual_sum
            + max(COST_TOL * abs(optimum), COST_FLOOR_USD)
        )
        stats.status = str(result.status)
        if violation <= FEASIBILITY_TOL_MW and excess <= allowed:
            out = candidate
            break
        stats.status += f": rows off by {violation:.2g} MW, cost +{excess:.2g} USD"
    else:
        stats.ok = False
    stats.solve_s = time.perf_counter() - t0
    return out, stats
