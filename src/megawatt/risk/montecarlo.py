"""Monte Carlo over the market and the grid: P10/P50/P90 of what the state keeps.

``run_risk(plan, n, seed)`` draws n market and grid paths over the years of
``economics.market_path`` (:mod:`megawatt.risk.draws`), keeps the calendar years of the
contract term (no rollover after it), values every applicant in every draw-year, and
dispatches every draw-year with the program LP under the cap in force that year (the
first-year cap in the year the contract starts: :func:`megawatt.economics.contract.term_years`).

The fast path: a draw-year's LP is fixed by its grid state (demand level, hydro year),
by which tariff hours each applicant's value clears, and by the applicants' priority
order (the LP's tie-break), and by the cap in force. Miners' values scale with
hashprice, so market draws produce only a handful of distinct LPs; each is solved once
and every draw-year that shares it reads its figures from that solution (a test checks
these against a fresh LP with the draw-year's own values). Demand and hydro draws add
grid states, solved by the LP path (:mod:`megawatt.risk.cases`): a baseline per state
and, per set of drawing applicants, one chain of in-place warm re-solves over its
states. The tasks run serially, on local worker processes, or on a Dask cluster, with
identical results.

A draw-year whose LP is infeasible (e.g. a committed firm load the grid of that draw
cannot carry) is recorded with its seed, draw number and parameters; the run goes on
and the percentiles are over the draws that solved.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from megawatt.economics.contract import term_years
from megawatt.economics.valuation import market_point, value_applicants
from megawatt.optimize.inputs import application_order, lp_keys, tariff_usd_per_mwh
from megawatt.optimize.solve import PlanResult
from megawatt.risk.cases import (
    FIGURES,
    CaseOutcome,
    ChainTask,
    GridState,
    figures_of,
    solve_baseline,
    solve_chain,
)
from megawatt.risk.draws import draw_scenarios
from megawatt.risk.runner import SerialRunner
from megawatt.scenario.model import Risk

#: Metrics whose P10/P50/P90 the percentile table gives.
PERCENTILE_METRICS = (
    "margin_musd",
    "charge_recovered_share",
    "served_gwh",
    "curtailment_hours",
    "hashprice_usd_per_ph_day",
    "btc_price_usd",
)


@dataclass
class RiskResult:
    """The draws, their results and percentiles.

    Attributes
    ----------
    draws
        One row per draw and year: the drawn market (btc_price_usd,
        network_hashrate_eh_s, fees_btc_per_block, subsidy_btc,
        hashprice_usd_per_ph_day) and grid (demand_level, hydro_year, hydro_factor),
        miners_drawing, failed, and the results (served_gwh, revenue_musd,
        margin_musd, charge_recovered_share, curtailment_hours; NaN where failed).
    miner_values
        draw, year and each Bitcoin miner's value [USD/MWh].
    percentiles
        Index year: ``<metric>_p10/_p50/_p90`` of :data:`PERCENTILE_METRICS` over the
        draws that solved, ``<miner>_viable_share`` and failed_draws.
    viability
        Long table: year, applicant, viable_share (value reaches the lowest tariff).
    failures
        One row per failed draw-year: draw, year, seed, the draw's parameters, message.
    cases
        One row per distinct LP (grid state, set of applicants drawing): how many
        draw-years share it, and its figures.
    stats
        Counts and timings of the run.
    """

    draws: pd.DataFrame
    miner_values: pd.DataFrame
    percentiles: pd.DataFrame
    viability: pd.DataFrame
    failures: pd.DataFrame
    cases: pd.DataFrame
    stats: dict[str, object] = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables written into a results directory (``risk_*``)."""
        return {
            "risk_draws": self.draws,
            "risk_percentiles": self.percentiles.reset_index(),
            "risk_viability": self.viability,
            "risk_failures": self.failures,
            "risk_cases": self.cases,
        }


@dataclass
class Progress:
    """What a progress callback is told: LP tasks and draws done."""

    stage: str  # what the tasks are ("LP tasks")
    tasks_done: int
    tasks_total: int
    draws_done: int
    draws_total: int


def run_risk(
    result: PlanResult,
    n: int,
    seed: int,
    risk: Risk | None = None,
    runner=None,
    on_progress: Callable[[Progress], None] | None = None,
) -> RiskResult:
    """Monte Carlo of ``result``'s scenario: n draws x the market path's years.

    ``risk`` overrides ``scenario.risk``; ``runner`` (:mod:`megawatt.risk.runner`)
    says where the LP tasks run (default: in this process).
    """
    t0 = time.perf_counter()
    sc = result.scenario
    risk = risk or sc.risk
    sc = sc.model_copy(update={"risk": risk})
    runner = runner or SerialRunner()
    values = value_applicants(sc)
    # Draw over the whole market path (so draw k is the same draw whatever the term),
    # keep the calendar years of the contract term, each with the cap share in force.
    cap_of_year = term_years(sc)
    draws = draw_scenarios(sc, n, seed, risk)
    draws = draws[draws.year.isin(list(cap_of_year))].reset_index(drop=True)
    year_share = draws.year.map(cap_of_year).to_numpy(dtype=float)
    rows = len(draws)
    point = market_point(sc)
    tariff = tariff_usd_per_mwh(sc)
    levels = np.unique(tariff)
    names = list(values.index)
    kind = values.kind.to_numpy()
    computed_miner = (kind == "btc_miner") & (values.value_source == "computed").to_numpy()

    # Every computed miner's value per MWh is proportional to hashprice.
    scale = draws.hashprice_usd_per_th_day.to_numpy() / point.hashprice_usd_per_th_day
    base = values.value_usd_per_mwh.to_numpy()
    draw_values = np.where(computed_miner[None, :], base[None, :] * scale[:, None], base[None, :])
    apps = {a.name: a for a in sc.applicants}
    by_date = application_order(sc, names)
    set_keys, set_of_row = np.unique(
        np.column_stack([lp_keys(draw_values, levels, by_date), year_share]),
        axis=0,
        return_inverse=True,
    )
    set_of_row = set_of_row.ravel()
    # Grid states in GridState order (hydro year, factor, demand level).
    grid_cols = ["hydro_year", "hydro_factor", "demand_level"]
    grid = draws[grid_cols]
    unique_grid = grid.drop_duplicates().sort_values(grid_cols, ignore_index=True)
    state_of_row = pd.MultiIndex.from_frame(unique_grid).get_indexer(pd.MultiIndex.from_frame(grid))
    state_list = [
        GridState(str(h), float(f), float(d)) for h, f, d in unique_grid.itertuples(index=False)
    ]
    pair_of_row = state_of_row * len(set_keys) + set_of_row
    pairs, first_row, pair_index = np.unique(pair_of_row, return_index=True, return_inverse=True)
    pair_index = pair_index.ravel()

    # Progress in draws: a draw is done when all of its years' distinct LPs are.
    Y = rows // n
    draw_pair = np.unique(np.arange(rows) // Y * len(pairs) + pair_index)
    missing = np.bincount(draw_pair // len(pairs), minlength=n)
    by_pair = np.argsort(draw_pair % len(pairs), kind="stable")
    rows_by_pair = dict(
        zip(
            (int(p) for p in pairs),
            np.split(
                draw_pair[by_pair] // len(pairs),
                np.cumsum(np.bincount(draw_pair % len(pairs), minlength=len(pairs)))[:-1],
            ),
            strict=True,
        )
    )
    outcomes: dict[int, CaseOutcome] = {}

    def resolve(pair: int, outcome: CaseOutcome) -> None:
        outcomes[pair] = outcome
        missing[rows_by_pair[pair]] -= 1

    def tell(stage: str, done: int, total: int) -> None:
        if on_progress:
            on_progress(Progress(stage, done, total, int((missing == 0).sum()), n))

    # 1. Baselines: the plan's for the scenario's own grid, the LP for the others. They
    #    stay where they were solved (on a cluster: on the workers).
    scenario_handle = runner.put(sc)
    baselines: dict[GridState, object] = {}
    todo = [s for s in state_list if not s.is_scenario]
    if len(todo) < len(state_list):
        baselines[next(s for s in state_list if s.is_scenario)] = runner.put(result.baseline)
    handles = [runner.submit(solve_baseline, scenario_handle, s) for s in todo]
    baselines.update(zip(todo, handles, strict=True))

    # 2. Program cases: chains per set of drawing applicants over its states, each
    #    starting as soon as its baselines are solved. The plan's own case (scenario
    #    grid, today's values) is not solved again.
    today_row = np.append(
        lp_keys(values.value_usd_per_mwh.to_numpy()[None, :], levels, by_date)[0], 1.0
    )
    snake = _snake_order(state_list)
    requested = np.array([apps[name].requested_mw for name in names])
    chain_pairs_of: list[list[int]] = []
    for k in range(len(set_keys)):
        chain_pairs = sorted(
            (int(p) for p in pairs if int(p) % len(set_keys) == k),
            key=lambda p: snake[state_list[p // len(set_keys)]],
        )
        if np.array_equal(set_keys[k], today_row):
            own = [p for p in chain_pairs if state_list[p // len(set_keys)].is_scenario]
            for p in own:
                resolve(p, CaseOutcome(figures=figures_of(result, values)))
            chain_pairs = [p for p in chain_pairs if p not in own]
        # A chain whose applicants ask for more than the cap starts with a 22-s IPM
        # solve and is the longest: submit it first, so it starts first on a cluster.
        drawing = set_keys[k][: len(names)] > 0
        if not chain_pairs:
            continue
        if float(requested[drawing].sum()) > sc.program.cap_mw + 1e-9:
            chain_pairs_of.insert(0, chain_pairs)
        else:
            chain_pairs_of.append(chain_pairs)
    chains = []
    for chain_pairs in chain_pairs_of:
        k = chain_pairs[0] % len(set_keys)
        case_values = values.copy()
        case_values["value_usd_per_mwh"] = draw_values[
            first_row[np.searchsorted(pairs, chain_pairs[0])]
        ]
        chain_states = [state_list[p // len(set_keys)] for p in chain_pairs]
        task = ChainTask(
            values=case_values,
            drawing=tuple(bool(c) for c in set_keys[k][: len(names)] > 0),
            states=chain_states,
            cap_share=float(set_keys[k][-1]),
        )
        chains.append(
            runner.submit(solve_chain, task, scenario_handle, *(baselines[s] for s in chain_states))
        )
    jobs = handles + chains
    tell("LP tasks", 0, len(jobs))
    for done, i in enumerate(runner.completed(jobs), 1):
        if i >= len(handles):
            chain_pairs = chain_pairs_of[i - len(handles)]
            for p, outcome in zip(chain_pairs, runner.fetch(chains[i - len(handles)]), strict=True):
                resolve(p, outcome)
        tell("LP tasks", done, len(jobs))

    out = _assemble(draws, values, set_keys, set_of_row, pair_of_row, outcomes)
    failures = _failures(out, pair_of_row, outcomes, seed)
    miners = [m for m, k in zip(names, kind, strict=True) if k == "btc_miner"]
    miner_values = pd.DataFrame(draw_values, columns=names)[miners]
    miner_values.insert(0, "year", draws.year.to_numpy())
    miner_values.insert(0, "draw", draws.draw.to_numpy())
    viability = _viability(miner_values, miners, float(levels[0]))
    pct = _percentiles(out, viability)
    cases = _cases_table(names, set_keys, state_list, pairs, pair_of_row, outcomes, len(names))
    stats = {
        "draws": n,
        "seed": seed,
        "years": sorted(int(y) for y in draws.year.unique()),
        "scenario_years": rows,
        "failed_draw_years": int(out.failed.sum()),
        "grid_states": len(state_list),
        "lp_cases": len(pairs),
        "baselines_solved": len(todo),
        "chains": len(chains),
        "price_model": risk.price_model,
        "workers": getattr(runner, "workers", 1),
        "runner": getattr(runner, "description", "serial"),
        "seconds": time.perf_counter() - t0,
    }
    return RiskResult(out, miner_values, pct, viability, failures, cases, stats)


def _snake_order(states: list[GridState]) -> dict[GridState, int]:
    """The order a chain visits its states in: hydro years by factor, demand up in one
    year and down in the next, so every warm re-solve is a short step."""
    hydro = sorted({(s.hydro_factor, s.hydro_year) for s in states})
    order = []
    for g, (factor, name) in enumerate(hydro):
        group = sorted(
            (s for s in states if (s.hydro_factor, s.hydro_year) == (factor, name)),
            key=lambda s: s.demand_level,
            reverse=bool(g % 2),
        )
        order += group
    return {s: i for i, s in enumerate(order)}


def _assemble(
    draws: pd.DataFrame,
    values: pd.DataFrame,
    set_keys: np.ndarray,
    set_of_row: np.ndarray,
    pair_of_row: np.ndarray,
    outcomes: dict[int, CaseOutcome],
) -> pd.DataFrame:
    out = draws.copy()
    out["hashprice_usd_per_ph_day"] = out.pop("hashprice_usd_per_th_day") * 1000.0
    A = len(values)
    miner = (values.kind == "btc_miner").to_numpy()
    out["miners_drawing"] = (set_keys[set_of_row][:, :A][:, miner] > 0).sum(axis=1)
    pairs = np.array(sorted(outcomes))
    at = np.searchsorted(pairs, pair_of_row)
    ok = [outcomes[int(p)].figures for p in pairs]
    out["failed"] = np.array([f is None for f in ok])[at]
    for col in FIGURES:
        out[col] = np.array([f[col] if f is not None else np.nan for f in ok], dtype=float)[at]
    return out


def _failures(
    out: pd.DataFrame, pair_of_row: np.ndarray, outcomes: dict[int, CaseOutcome], seed: int
) -> pd.DataFrame:
    columns = [
        "draw",
        "year",
        "seed",
        "demand_level",
        "hydro_year",
        "btc_price_usd",
        "hashprice_usd_per_ph_day",
        "miners_drawing",
        "message",
    ]
    bad = out[out.failed]
    if bad.empty:
        return pd.DataFrame(columns=columns)
    table = bad[[c for c in columns if c in bad.columns]].copy()
    table.insert(2, "seed", seed)
    table["message"] = [outcomes[int(p)].error for p in pair_of_row[out.failed.to_numpy()]]
    return table[columns].reset_index(drop=True)


def _viability(miner_values: pd.DataFrame, miners: list[str], tariff_min: float) -> pd.DataFrame:
    rows = []
    for year, group in miner_values.groupby("year"):
        for m in miners:
            rows.append(
                {
                    "year": int(year),
                    "applicant": m,
                    "viable_share": float((group[m] >= tariff_min).mean()),
                }
            )
    return pd.DataFrame(rows, columns=["year", "applicant", "viable_share"])


def _percentiles(out: pd.DataFrame, viability: pd.DataFrame) -> pd.DataFrame:
    rows = {}
    for year, group in out.groupby("year"):
        ok = group[~group.failed]
        row: dict[str, float] = {}
        for col in PERCENTILE_METRICS:
            data = ok[col].to_numpy()
            p10, p50, p90 = np.percentile(data, [10, 50, 90]) if len(data) else (np.nan,) * 3
            row.update({f"{col}_p10": p10, f"{col}_p50": p50, f"{col}_p90": p90})
        for _, v in viability[viability.year == year].iterrows():
            row[f"{v.applicant}_viable_share"] = v.viable_share
        row["failed_draws"] = int(group.failed.sum())
        rows[int(year)] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "year"
    return table


def _cases_table(
    names: list[str],
    set_keys: np.ndarray,
    state_list: list[GridState],
    pairs: np.ndarray,
    pair_of_row: np.ndarray,
    outcomes: dict[int, CaseOutcome],
    A: int,
) -> pd.DataFrame:
    counts = dict(zip(*np.unique(pair_of_row, return_counts=True), strict=True))
    rows = []
    for p in pairs:
        state = state_list[int(p) // len(set_keys)]
        key = set_keys[int(p) % len(set_keys)]
        outcome = outcomes[int(p)]
        rows.append(
            {
                "hydro_year": state.hydro_year,
                "hydro_factor": state.hydro_factor,
                "demand_level": state.demand_level,
                "cap_share": float(key[-1]),
                "applicants_drawing": ", ".join(
                    n for n, c in zip(names, key[:A], strict=True) if c
                ),
                "draw_years": int(counts[p]),
                **{f: (outcome.figures or {}).get(f, np.nan) for f in FIGURES},
                "error": outcome.error or "",
            }
        )
    return pd.DataFrame(rows)
