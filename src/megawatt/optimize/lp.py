"""The planning LP, assembled from numpy arrays and passed to HiGHS in one call.

Variables (T hours; every block is a dense [n, T] slab of columns):

* ``p[g,t]`` dispatch [MW], ``p_min[g,t] <= p <= p_max[g,t]``, cost ``marginal_cost[g]``;
* ``f+[l,t]``, ``f-[l,t]`` flow sent along / against link l [MW], ``0 <= f <= limit``;
* ``shed[z,t]`` national load shed [MW] at VOLL, ``0 <= shed <= demand`` (program case:
  ``<= baseline shed``, so the program never sheds national demand: demand comes first);
* ``x[a]`` allocation [MW], ``committed <= x <= requested``;
* ``c[a,t]`` served to applicant a [MW], ``0 <= c <= requested`` (0 in hours where its
  value is below the tariff: it curtails itself), earning ``tariff[t]`` per MWh;
* ``b[a,t]`` on-site backup [MW], ``0 <= b <= backup_mw``, at the backup cost;
* linearised unit commitment (generators with ``min_stable_pu`` or a start-up cost,
  after PyPSA's ``linearized_unit_commitment`` without the Hua et al. tightening):
  ``u[k,t]`` online share of the fleet ``0 <= u <= 1``, ``su[k,t]`` share started in
  hour t ``0 <= su <= 1`` (t >= 1; online before the span) at ``start_up_cost x p_nom``;
* operating reserve: ``r[g,t]`` spinning reserve of a generator with ``reserve_pu``
  [MW], ``0 <= r <= reserve_pu p_nom``; ``q[a,t]`` reserve from interruptible program
  load [MW], ``q <= reserve_share c``.

Rows:

* balance, each zone and hour: ``sum_g p + sum_l (eff f_in - f_out) + shed - sum_a c = d``;
* ramp: ``-R <= p[g,t] - p[g,t-1] <= R``; identical generators (same zone, technology,
  cost and limits) share output pro rata to capacity; take-or-pay: ``sum_t p[g,t] >= E_min``;
  water: ``sum_{t in month} p[g,t] <= E_month``;
* ``c[a,t] <= x[a]``; firm: ``c + b >= firm * x``; uptime: ``sum_t (c + b) >= uptime x T``;
* program cap ``sum_a x <= cap``; per-zone and per-plant caps;
* commitment: ``p + r <= p_max[g,t] u`` (r only for reserve providers), ``p >= min_stable
  p_nom u``, ``su[t] >= u[t] - u[t-1]``; headroom of other providers ``p + r <= p_max``;
* reserve, each zone with a requirement and hour: ``sum_g r + sum_a q >= reserve_mw``.

Objective: minimise generation cost + VOLL shed + backup cost - tariff revenue, plus
the tie-break terms of :mod:`megawatt.optimize.inputs`. Zonal marginal prices are the
duals of the balance rows (HiGHS: d objective / d demand).

In *elastic* mode the families that can make a scenario infeasible get penalised
slack columns (spill of must-run power, take-or-pay shortfall, firm and uptime
shortfall, extra shedding, reserve shortfall, ramp excess, water beyond a month's cap,
allocation beyond a program, zone or plant cap); :mod:`megawatt.optimize.diagnose`
reads them to say which constraint failed, where and when.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import highspy
import numpy as np

from megawatt.optimize.inputs import ALLOCATION_TIE_USD_PER_MW, LINK_TIE_USD_PER_MWH, HourlyInputs

#: Penalty on elastic slack [USD/MWh]: above any cost in the model, so slack is used
#: only where the hard constraint cannot hold.
ELASTIC_PENALTY = 1e6


@dataclass
class Block:
    """A block of columns or rows: the first index and the shape."""

    start: int
    shape: tuple[int, ...]

    @property
    def size(self) -> int:
        return int(np.prod(self.shape)) if self.shape else 0

    def index(self) -> np.ndarray:
        return self.start + np.arange(self.size).reshape(self.shape)


@dataclass
class LpLayout:
    """Where each variable and row family sits in the matrix."""

    cols: dict[str, Block] = field(default_factory=dict)
    rows: dict[str, Block] = field(default_factory=dict)
    # extra row metadata for families whose rows are not a dense slab
    row_items: dict[str, np.ndarray] = field(default_factory=dict)


class _Assembler:
    """Collect columns, rows and COO entries as arrays; emit a HiGHS model.

    With ``matrix=False`` only costs and bounds are collected: the same code path then
    gives the vectors to change in place on a model already in HiGHS (rolling
    re-dispatch), which is what guarantees that both use one column and row order.
    """

    def __init__(self, matrix: bool = True) -> None:
        self.matrix = matrix
        self.num_col = 0
        self.num_row = 0
        self.cost: list[np.ndarray] = []
        self.col_lower: list[np.ndarray] = []
        self.col_upper: list[np.ndarray] = []
        self.row_lower: list[np.ndarray] = []
        self.row_upper: list[np.ndarray] = []
        self.entry_row: list[np.ndarray] = []
        self.entry_col: list[np.ndarray] = []
        self.entry_val: list[np.ndarray] = []

    def cols(self, shape: tuple[int, ...], cost, lower, upper) -> Block:
        block = Block(self.num_col, shape)
        n = block.size
        self.cost.append(np.broadcast_to(np.asarray(cost, dtype=float), shape).ravel())
        self.col_lower.append(np.broadcast_to(np.asarray(lower, dtype=float), shape).ravel())
        self.col_upper.append(np.broadcast_to(np.asarray(upper, dtype=float), shape).ravel())
        self.num_col += n
        return block

    def rows(self, shape: tuple[int, ...], lower, upper) -> Block:
        block = Block(self.num_row, shape)
        self.row_lower.append(np.broadcast_to(np.asarray(lower, dtype=float), shape).ravel())
        self.row_upper.append(np.broadcast_to(np.asarray(upper, dtype=float), shape).ravel())
        self.num_row += block.size
        return block

    def entries(self, rows, cols, vals) -> None:
        if not self.matrix:
            return
        rows, cols, vals = np.broadcast_arrays(
            np.asarray(rows), np.asarray(cols), np.asarray(vals, dtype=float)
        )
        self.entry_row.append(rows.ravel())
        self.entry_col.append(cols.ravel())
        self.entry_val.append(vals.ravel())

    def to_lp(self) -> highspy.HighsLp:
        lp = highspy.HighsLp()
        lp.num_col_ = self.num_col
        lp.num_row_ = self.num_row
        lp.col_cost_ = _cat(self.cost)
        lp.col_lower_ = _cat(self.col_lower)
        lp.col_upper_ = _cat(self.col_upper)
        lp.row_lower_ = _cat(self.row_lower)
        lp.row_upper_ = _cat(self.row_upper)
        # int32 indices halve the COO's memory; HiGHS itself uses int32 (HighsInt).
        rows = _cat(self.entry_row, np.int32)
        cols = _cat(self.entry_col, np.int32)
        vals = _cat(self.entry_val)
        self.entry_row, self.entry_col, self.entry_val = [], [], []
        keep = vals != 0.0
        rows, cols, vals = rows[keep], cols[keep], vals[keep]
        order = np.lexsort((rows, cols))
        counts = np.bincount(cols, minlength=self.num_col)
        start = np.zeros(self.num_col + 1, dtype=np.int32)
        np.cumsum(counts, out=start[1:])
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.num_col_ = self.num_col
        lp.a_matrix_.num_row_ = self.num_row
        lp.a_matrix_.start_ = start
        lp.a_matrix_.index_ = rows[order]
        lp.a_matrix_.value_ = vals[order]
        return lp


def _cat(parts: list[np.ndarray], dtype: type = float) -> np.ndarray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype)


@dataclass
class LpVectors:
    """Costs and bounds of an LP (no matrix), in the order of :func:`build_lp`."""

    col_cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray


def lp_vectors(inputs: HourlyInputs) -> LpVectors:
    """Costs and bounds of the LP for ``inputs`` without assembling the matrix."""
    asm = _assembler_for(inputs, elastic=False, matrix=False)[0]
    return LpVectors(
        _cat(asm.cost),
        _cat(asm.col_lower),
        _cat(asm.col_upper),
        _cat(asm.row_lower),
        _cat(asm.row_upper),
    )


def build_lp(inputs: HourlyInputs, elastic: bool = False) -> tuple[highspy.HighsLp, LpLayout]:
    """Assemble the LP for ``inputs``; return the HiGHS model and its layout."""
    asm, lay = _assembler_for(inputs, elastic=elastic, matrix=True)
    return asm.to_lp(), lay


def _assembler_for(
    inputs: HourlyInputs, elastic: bool, matrix: bool
) -> tuple[_Assembler, LpLayout]:
    T = inputs.hours
    G, Z, L, A = (
        len(inputs.generators),
        len(inputs.zones),
        len(inputs.links),
        len(inputs.applicants),
    )
    t = np.arange(T)
    asm = _Assembler(matrix=matrix)
    lay = LpLayout()

    # --- columns
    gen_cost = inputs.marginal_cost_usd_per_mwh + inputs.generator_tie_usd_per_mwh
    lay.cols["p"] = asm.cols((G, T), gen_cost[:, None], inputs.p_min_mw, inputs.p_max_mw)
    lay.cols["f_fwd"] = asm.cols((L, T), LINK_TIE_USD_PER_MWH, 0.0, inputs.link_forward_mw[:, None])
    lay.cols["f_rev"] = asm.cols((L, T), LINK_TIE_USD_PER_MWH, 0.0, inputs.link_reverse_mw[:, None])
    shed_cap = (
        inputs.demand_mw
        if inputs.shed_cap_mw is None
        else np.minimum(inputs.shed_cap_mw, inputs.demand_mw)
    )
    lay.cols["shed"] = asm.cols((Z, T), inputs.voll_usd_per_mwh, 0.0, shed_cap)
    K = inputs.committable
    lay.row_items["u"] = K
    lay.cols["u"] = asm.cols((K.size, T), 0.0, 0.0, 1.0)
    lay.cols["su"] = asm.cols(
        (K.size, max(T - 1, 0)),
        (inputs.start_up_cost_usd_per_mw[K] * inputs.p_nom_mw[K])[:, None],
        0.0,
        1.0,
    )
    # reserve columns only where some zone must hold reserve
    R = np.flatnonzero(inputs.reserve_pu > 0) if inputs.holds_reserve else np.zeros(0, int)
    lay.row_items["r"] = R
    lay.cols["r"] = asm.cols(
        (R.size, T), 0.0, 0.0, (inputs.reserve_pu[R] * inputs.p_nom_mw[R])[:, None]
    )
    if A:
        x_cost = (
            ALLOCATION_TIE_USD_PER_MW
            if inputs.allocation_cost_usd_per_mw is None
            else inputs.allocation_cost_usd_per_mw
        )
        lay.cols["x"] = asm.cols((A,), x_cost, inputs.committed_mw, inputs.requested_mw)
        revenue = inputs.tariff_usd_per_mwh[None, :] + inputs.applicant_bonus_usd_per_mwh[:, None]
        draw_upper = np.where(inputs.may_draw, inputs.requested_mw[:, None], 0.0)
        lay.cols["c"] = asm.cols((A, T), -revenue, 0.0, draw_upper)
        with_backup = np.flatnonzero(inputs.backup_mw > 0)
        lay.row_items["b"] = with_backup
        lay.cols["b"] = asm.cols(
            (len(with_backup), T),
            inputs.backup_cost_usd_per_mwh[with_backup, None],
            0.0,
            inputs.backup_mw[with_backup, None],
        )
        if inputs.holds_reserve:
            offer = np.flatnonzero(
                (inputs.applicant_reserve_share > 0)
                & (inputs.reserve_mw[inputs.applicant_zone] > 0)
            )
            lay.row_items["q"] = offer
            lay.cols["q"] = asm.cols((offer.size, T), 0.0, 0.0, np.inf)

    # --- balance rows: one per zone and hour
    bal = asm.rows((Z, T), inputs.demand_mw, inputs.demand_mw)
    lay.rows["balance"] = bal
    p_ix = lay.cols["p"].index()
    asm.entries(bal.start + inputs.generator_zone[:, None] * T + t, p_ix, 1.0)
    fwd, rev = lay.cols["f_fwd"].index(), lay.cols["f_rev"].index()
    eff = inputs.link_efficiency[:, None]
    frm, to = inputs.link_from[:, None] * T + t, inputs.link_to[:, None] * T + t
    asm.entries(bal.start + frm, fwd, -1.0)
    asm.entries(bal.start + to, fwd, eff)
    asm.entries(bal.start + to, rev, -1.0)
    asm.entries(bal.start + frm, rev, eff)
    asm.entries(bal.index(), lay.cols["shed"].index(), 1.0)
    if A:
        c_ix = lay.cols["c"].index()
        asm.entries(bal.start + inputs.applicant_zone[:, None] * T + t, c_ix, -1.0)
    if elastic:
        lay.cols["spill"] = asm.cols((Z, T), ELASTIC_PENALTY, 0.0, np.inf)
        asm.entries(bal.index(), lay.cols["spill"].index(), -1.0)
        if inputs.shed_cap_mw is not None:
            extra_upper = np.maximum(inputs.demand_mw - shed_cap, 0.0)
            # Dearer than the other slacks: blame the program's hard terms, not demand.
            lay.cols["extra_shed"] = asm.cols((Z, T), 10 * ELASTIC_PENALTY, 0.0, extra_upper)
            asm.entries(bal.index(), lay.cols["extra_shed"].index(), 1.0)

    # --- ramp limits: one ranged row per generator with a limit and hour after the first
    ramped = np.flatnonzero(np.isfinite(inputs.ramp_mw_per_h))
    if ramped.size and T > 1:
        limit = inputs.ramp_mw_per_h[ramped, None]
        ramp = asm.rows((ramped.size, T - 1), -limit, limit)
        lay.rows["ramp"] = ramp
        lay.row_items["ramp"] = ramped
        asm.entries(ramp.index(), p_ix[ramped, 1:], 1.0)
        asm.entries(ramp.index(), p_ix[ramped, :-1], -1.0)
        if elastic:  # p[t] - p[t-1] - up <= R and p[t] - p[t-1] + down >= -R
            # Bounded by what the bounds alone force (a floor above the last hour's
            # availability plus R, or the reverse), so the slack cannot stand in for
            # another family's shortfall: it names only floors that outrun the ramp.
            p_lo, p_hi = inputs.p_min_mw[ramped], inputs.p_max_mw[ramped]
            need_up = np.clip(p_lo[:, 1:] - p_hi[:, :-1] - limit, 0.0, None)
            need_down = np.clip(p_lo[:, :-1] - p_hi[:, 1:] - limit, 0.0, None)
            lay.cols["ramp_up_slack"] = asm.cols(ramp.shape, ELASTIC_PENALTY, 0.0, need_up)
            lay.cols["ramp_down_slack"] = asm.cols(ramp.shape, ELASTIC_PENALTY, 0.0, need_down)
            asm.entries(ramp.index(), lay.cols["ramp_up_slack"].index(), -1.0)
            asm.entries(ramp.index(), lay.cols["ramp_down_slack"].index(), 1.0)

    # --- identical generators share output pro rata: p[g]/p_nom[g] = p[g0]/p_nom[g0]
    pairs = [(grp[0], g) for grp in inputs.pro_rata_groups for g in grp[1:]]
    if pairs:
        lead, other = np.array(pairs).T
        rows = asm.rows((len(pairs), T), 0.0, 0.0)
        lay.rows["pro_rata"] = rows
        asm.entries(rows.index(), p_ix[other], 1.0 / inputs.p_nom_mw[other, None])
        asm.entries(rows.index(), p_ix[lead], -1.0 / inputs.p_nom_mw[lead, None])

    # --- take-or-pay minimum energy
    floor = np.flatnonzero(inputs.min_energy_mwh > 0)
    if floor.size:
        rows = asm.rows((floor.size,), inputs.min_energy_mwh[floor], np.inf)
        lay.rows["min_energy"] = rows
        lay.row_items["min_energy"] = floor
        asm.entries(rows.index()[:, None], p_ix[floor], 1.0)
        if elastic:
            lay.cols["min_energy_slack"] = asm.cols((floor.size,), ELASTIC_PENALTY, 0.0, np.inf)
            asm.entries(rows.index(), lay.cols["min_energy_slack"].index(), 1.0)

    # --- monthly water (energy) caps
    if inputs.monthly_energy_cap_mwh:
        caps = inputs.monthly_energy_cap_mwh
        rows = asm.rows((len(caps),), -np.inf, np.array([c[2] for c in caps]))
        lay.rows["monthly_energy"] = rows
        for k, (g, mask, _) in enumerate(caps):
            asm.entries(rows.start + k, p_ix[g, mask], 1.0)
        if elastic:  # water beyond the month's: only what the hourly floors need beyond it
            need = np.array(
                [max(float(inputs.p_min_mw[g, mask].sum()) - cap, 0.0) for g, mask, cap in caps]
            )
            lay.cols["monthly_energy_slack"] = asm.cols((len(caps),), ELASTIC_PENALTY, 0.0, need)
            asm.entries(rows.index(), lay.cols["monthly_energy_slack"].index(), -1.0)

    if A:
        _program_rows(asm, lay, inputs, elastic)
    _commitment_rows(asm, lay, inputs)
    _reserve_rows(asm, lay, inputs, elastic)

    return asm, lay


def _commitment_rows(asm: _Assembler, lay: LpLayout, inputs: HourlyInputs) -> None:
    """Linearised unit commitment of the fleets in ``inputs.committable``."""
    K = lay.row_items["u"]
    if not K.size:
        return
    T = inputs.hours
    p_ix = lay.cols["p"].index()
    u_ix = lay.cols["u"].index()
    # p + r - p_max u <= 0 (r where the fleet also offers reserve)
    upper = asm.rows((K.size, T), -np.inf, 0.0)
    lay.rows["commit_upper"] = upper
    asm.entries(upper.index(), p_ix[K], 1.0)
    asm.entries(upper.index(), u_ix, -inputs.p_max_mw[K])
    r_of = {int(g): k for k, g in enumerate(lay.row_items["r"])}
    r_ix = lay.cols["r"].index()
    for i, g in enumerate(K):
        if int(g) in r_of:
            asm.entries(upper.index()[i], r_ix[r_of[int(g)]], 1.0)
    # p - min_stable p_nom u >= 0
    stable = np.flatnonzero(inputs.min_stable_pu[K] > 0)
    if stable.size:
        lower = asm.rows((stable.size, T), 0.0, np.inf)
        lay.rows["commit_lower"] = lower
        lay.row_items["commit_lower"] = K[stable]
        asm.entries(lower.index(), p_ix[K[stable]], 1.0)
        asm.entries(
            lower.index(),
            u_ix[stable],
            -(inputs.min_stable_pu[K[stable]] * inputs.p_nom_mw[K[stable]])[:, None],
        )
    # su[t] - u[t] + u[t-1] >= 0, t >= 1 (online before the span: no start at t = 0)
    if T > 1:
        start = asm.rows((K.size, T - 1), 0.0, np.inf)
        lay.rows["start_up"] = start
        asm.entries(start.index(), lay.cols["su"].index(), 1.0)
        asm.entries(start.index(), u_ix[:, 1:], -1.0)
        asm.entries(start.index(), u_ix[:, :-1], 1.0)


def _reserve_rows(asm: _Assembler, lay: LpLayout, inputs: HourlyInputs, elastic: bool) -> None:
    """Spinning reserve per zone and hour from generator headroom and program load."""
    R = lay.row_items["r"]
    if not R.size and "q" not in lay.cols:
        return
    T = inputs.hours
    p_ix = lay.cols["p"].index()
    r_ix = lay.cols["r"].index()
    committed = set(lay.row_items["u"].tolist())
    free = np.array([k for k, g in enumerate(R) if int(g) not in committed], dtype=int)
    if free.size:  # headroom of providers not under commitment: p + r <= p_max
        head = asm.rows((free.size, T), -np.inf, inputs.p_max_mw[R[free]])
        lay.rows["reserve_headroom"] = head
        asm.entries(head.index(), p_ix[R[free]], 1.0)
        asm.entries(head.index(), r_ix[free], 1.0)
    zones = np.flatnonzero(inputs.reserve_mw > 0)
    rows = asm.rows((zones.size, T), inputs.reserve_mw[zones, None], np.inf)
    lay.rows["reserve"] = rows
    lay.row_items["reserve"] = zones
    row_of = {int(z): k for k, z in enumerate(zones)}
    ix = rows.index()
    for k, g in enumerate(R):
        z = int(inputs.generator_zone[g])
        if z in row_of:
            asm.entries(ix[row_of[z]], r_ix[k], 1.0)
    if "q" in lay.cols:
        q_ix = lay.cols["q"].index()
        for k, a in enumerate(lay.row_items["q"]):
            z = int(inputs.applicant_zone[a])
            if z in row_of:
                asm.entries(ix[row_of[z]], q_ix[k], 1.0)
    if elastic and zones.size:
        lay.cols["reserve_slack"] = asm.cols((zones.size, T), ELASTIC_PENALTY, 0.0, np.inf)
        asm.entries(ix, lay.cols["reserve_slack"].index(), 1.0)


def cap_groups(inputs: HourlyInputs) -> list[tuple[str, np.ndarray, float]]:
    """The program cap, then the zone and plant caps: (name, applicant indices, MW), in
    the order of the LP's cap rows (names ``program``, ``zone NAME``, ``plant NAME``)."""
    A = len(inputs.applicants)
    caps: list[tuple[str, np.ndarray, float]] = [("program", np.arange(A), inputs.cap_mw)]
    for z, cap in sorted(inputs.zone_caps_mw.items()):
        caps.append((f"zone {inputs.zones[z]}", np.flatnonzero(inputs.applicant_zone == z), cap))
    plants = np.array([p or "" for p in inputs.applicant_plant])
    for plant, cap in sorted(inputs.plant_caps_mw.items()):
        caps.append((f"plant {plant}", np.flatnonzero(plants == plant), cap))
    return caps


def _program_rows(asm: _Assembler, lay: LpLayout, inputs: HourlyInputs, elastic: bool) -> None:
    T = inputs.hours
    A = len(inputs.applicants)
    x_ix = lay.cols["x"].index()
    c_ix = lay.cols["c"].index()
    b_ix = lay.cols["b"].index()
    backup_row_of = {int(a): k for k, a in enumerate(lay.row_items["b"])}

    # reserve from interruptible load: q - share c <= 0
    if "q" in lay.cols and lay.row_items["q"].size:
        offer = lay.row_items["q"]
        rows = asm.rows((offer.size, T), -np.inf, 0.0)
        lay.rows["load_reserve"] = rows
        asm.entries(rows.index(), lay.cols["q"].index(), 1.0)
        asm.entries(rows.index(), c_ix[offer], -inputs.applicant_reserve_share[offer, None])

    # served <= allocation
    serve = asm.rows((A, T), -np.inf, 0.0)
    lay.rows["serve"] = serve
    asm.entries(serve.index(), c_ix, 1.0)
    asm.entries(serve.index(), x_ix[:, None], -1.0)

    # firm share every hour: c + b - firm x >= 0
    firm = np.flatnonzero(inputs.firm_share > 0)
    if firm.size:
        rows = asm.rows((firm.size, T), 0.0, np.inf)
        lay.rows["firm"] = rows
        lay.row_items["firm"] = firm
        ix = rows.index()
        asm.entries(ix, c_ix[firm], 1.0)
        asm.entries(ix, x_ix[firm, None], -inputs.firm_share[firm, None])
        for k, a in enumerate(firm):
            if int(a) in backup_row_of:
                asm.entries(ix[k], b_ix[backup_row_of[int(a)]], 1.0)
        if elastic:
            lay.cols["firm_slack"] = asm.cols((firm.size, T), ELASTIC_PENALTY, 0.0, np.inf)
            asm.entries(ix, lay.cols["firm_slack"].index(), 1.0)

    # uptime over the span: sum_t (c + b) - uptime T x >= 0
    up = np.flatnonzero(inputs.uptime > 0)
    if up.size:
        rows = asm.rows((up.size,), 0.0, np.inf)
        lay.rows["uptime"] = rows
        lay.row_items["uptime"] = up
        ix = rows.index()
        asm.entries(ix[:, None], c_ix[up], 1.0)
        asm.entries(ix, x_ix[up], -inputs.uptime[up] * T)
        for k, a in enumerate(up):
            if int(a) in backup_row_of:
                asm.entries(ix[k], b_ix[backup_row_of[int(a)]], 1.0)
        if elastic:
            lay.cols["uptime_slack"] = asm.cols((up.size,), ELASTIC_PENALTY, 0.0, np.inf)
            asm.entries(ix, lay.cols["uptime_slack"].index(), 1.0)

    # program cap, per-zone and per-plant caps
    caps = cap_groups(inputs)
    rows = asm.rows((len(caps),), -np.inf, np.array([c[2] for c in caps]))
    lay.rows["caps"] = rows
    lay.row_items["caps"] = np.array([c[0] for c in caps], dtype=object)
    for k, (_, members, _) in enumerate(caps):
        if members.size:
            asm.entries(rows.start + k, x_ix[members], 1.0)
    if elastic:  # allocation beyond a cap: only the committed MW above it
        over = [max(float(inputs.committed_mw[m].sum()) - cap, 0.0) for _, m, cap in caps]
        lay.cols["cap_slack"] = asm.cols((len(caps),), ELASTIC_PENALTY, 0.0, np.array(over))
        asm.entries(rows.index(), lay.cols["cap_slack"].index(), -1.0)
