"""Export a scenario to a PyPSA network, for cross-checking and benchmarks.

PyPSA is an optional extra (``pip install megawatt[pypsa]``), never needed at run
time. The export builds the same LP as :mod:`megawatt.optimize.lp`:

* zones -> buses; generators -> generators with ``p_max_pu``/``p_min_pu`` series,
  ``marginal_cost`` (plus the same tie-break), ``ramp_limit_up/down``, ``e_sum_min``;
* national demand -> loads, and shedding -> a generator per zone at VOLL whose
  ``p_max_pu`` follows demand (or the baseline shed in the program case);
* each link -> two one-way PyPSA links (``f+`` and ``f-``) with the efficiency, since
  a two-way PyPSA link with losses would gain energy when flowing backwards;
* applicants -> extendable generators with ``sign=-1`` (a load), ``p_nom`` = the
  allocation between committed and requested MW, ``p_max_pu`` = 1 in hours they may
  draw, ``marginal_cost`` = -(tariff + tie-break bonus);
* committed fleets -> ``committable=True`` generators with ``p_min_pu`` = the minimum
  stable level, ``start_up_cost`` = cost per MW x p_nom and no shut-down cost, solved
  with ``linearized_unit_commitment=True`` (with unequal start-up and shut-down costs
  PyPSA adds no Hua et al. tightening: the plain relaxation, as ours); their must-run
  floor and ramp limits go to :func:`extra_functionality` (PyPSA's committable ramp
  rows depend on the status, ours do not);
* what PyPSA has no component for (pro-rata sharing, monthly water caps, the program and per-plant
  caps, on-site backup, firm and uptime rows, spinning reserve) is added by
  :func:`extra_functionality` to PyPSA's linopy model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from megawatt.optimize.inputs import (
    ALLOCATION_TIE_USD_PER_MW,
    LINK_TIE_USD_PER_MWH,
    HourlyInputs,
    build_inputs,
)
from megawatt.scenario.model import Scenario


def to_pypsa(scenario: Scenario | HourlyInputs, with_program: bool = True) -> Any:
    """A PyPSA network equivalent to the scenario's LP (requires the ``pypsa`` extra).

    Solve it with ``n.optimize(solver_name="highs",
    extra_functionality=extra_functionality(inputs))`` for the same optimum.
    """
    try:
        import pypsa
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("to_pypsa needs PyPSA: pip install 'megawatt[pypsa]'") from exc

    inputs = (
        scenario
        if isinstance(scenario, HourlyInputs)
        else build_inputs(scenario, with_program=with_program)
    )
    n = pypsa.Network()
    snapshots = inputs.index.tz_convert("UTC").tz_localize(None)
    n.set_snapshots(snapshots)
    for zone in inputs.zones:
        n.add("Bus", zone, carrier="AC")

    gens = inputs.generators
    n.add(
        "Generator",
        gens,
        bus=[inputs.zones[z] for z in inputs.generator_zone],
        carrier=inputs.technology,
        p_nom=inputs.p_nom_mw,
        marginal_cost=inputs.marginal_cost_usd_per_mwh + inputs.generator_tie_usd_per_mwh,
        p_max_pu=_per_unit(inputs.p_max_mw, inputs.p_nom_mw, gens, snapshots),
        p_min_pu=_per_unit(inputs.p_min_mw, inputs.p_nom_mw, gens, snapshots),
        e_sum_min=np.where(inputs.min_energy_mwh > 0, inputs.min_energy_mwh, -np.inf),
    )
    committed = np.zeros(len(gens), dtype=bool)
    committed[inputs.committable] = True
    if committed.any():
        names = [g for g, c in zip(gens, committed, strict=True) if c]
        k = inputs.committable
        n.generators.loc[names, "committable"] = True
        n.generators.loc[names, "p_min_pu"] = inputs.min_stable_pu[k]
        n.generators_t.p_min_pu = n.generators_t.p_min_pu.drop(columns=names)
        n.generators.loc[names, "start_up_cost"] = (
            inputs.start_up_cost_usd_per_mw[k] * inputs.p_nom_mw[k]
        )
        # unequal to the start-up cost even where that is 0: no Hua tightening
        n.generators.loc[names, "shut_down_cost"] = np.where(
            inputs.start_up_cost_usd_per_mw[k] > 0, 0.0, 1e-9
        )
    ramped = np.isfinite(inputs.ramp_mw_per_h) & ~committed
    if ramped.any():
        ramp_pu = inputs.ramp_mw_per_h[ramped] / inputs.p_nom_mw[ramped]
        names = [g for g, r in zip(gens, ramped, strict=True) if r]
        n.generators.loc[names, "ramp_limit_up"] = ramp_pu
        n.generators.loc[names, "ramp_limit_down"] = ramp_pu

    demand = pd.DataFrame(inputs.demand_mw.T, index=snapshots, columns=inputs.zones)
    n.add(
        "Load",
        [f"demand_{z}" for z in inputs.zones],
        bus=inputs.zones,
        p_set=demand.set_axis([f"demand_{z}" for z in inputs.zones], axis=1),
    )
    shed_cap = (
        inputs.demand_mw
        if inputs.shed_cap_mw is None
        else np.minimum(inputs.shed_cap_mw, inputs.demand_mw)
    )
    shed_nom = np.maximum(shed_cap.max(axis=1), 1e-9)
    shed_names = [f"shed_{z}" for z in inputs.zones]
    n.add(
        "Generator",
        shed_names,
        bus=inputs.zones,
        carrier="shed",
        p_nom=shed_nom,
        marginal_cost=inputs.voll_usd_per_mwh,
        p_max_pu=pd.DataFrame(
            (shed_cap / shed_nom[:, None]).T, index=snapshots, columns=shed_names
        ),
    )

    for k, link in enumerate(inputs.links):
        a, b = inputs.zones[inputs.link_from[k]], inputs.zones[inputs.link_to[k]]
        eff = inputs.link_efficiency[k]
        n.add(
            "Link",
            f"{link}_fwd",
            bus0=a,
            bus1=b,
            p_nom=inputs.link_forward_mw[k],
            efficiency=eff,
            marginal_cost=LINK_TIE_USD_PER_MWH,
        )
        n.add(
            "Link",
            f"{link}_rev",
            bus0=b,
            bus1=a,
            p_nom=inputs.link_reverse_mw[k],
            efficiency=eff,
            marginal_cost=LINK_TIE_USD_PER_MWH,
        )

    if inputs.applicants:
        apps = inputs.applicants
        revenue = inputs.tariff_usd_per_mwh[None, :] + inputs.applicant_bonus_usd_per_mwh[:, None]
        n.add(
            "Generator",
            apps,
            bus=[inputs.zones[z] for z in inputs.applicant_zone],
            carrier=inputs.applicant_kind,
            sign=-1.0,
            p_nom_extendable=True,
            p_nom_min=inputs.committed_mw,
            p_nom_max=inputs.requested_mw,
            capital_cost=(
                ALLOCATION_TIE_USD_PER_MW
                if inputs.allocation_cost_usd_per_mw is None
                else inputs.allocation_cost_usd_per_mw
            ),
            marginal_cost=pd.DataFrame(-revenue.T, index=snapshots, columns=apps),
            p_max_pu=pd.DataFrame(inputs.may_draw.T.astype(float), index=snapshots, columns=apps),
        )
    return n


def _per_unit(
    mw: np.ndarray, p_nom: np.ndarray, names: list[str], snapshots: pd.DatetimeIndex
) -> pd.DataFrame:
    pu = np.divide(mw, p_nom[:, None], out=np.zeros_like(mw), where=p_nom[:, None] > 0)
    return pd.DataFrame(pu.T, index=snapshots, columns=names)


def extra_functionality(inputs: HourlyInputs):
    """Constraints PyPSA has no component for, as a PyPSA ``extra_functionality``."""

    def add(n: Any, snapshots: Any) -> None:
        m = n.model
        p = m["Generator-p"]
        _commitment(m, p, snapshots, inputs)
        _reserve(m, p, snapshots, inputs)
        for k, group in enumerate(inputs.pro_rata_groups):
            lead = inputs.generators[group[0]]
            for g in group[1:]:
                m.add_constraints(
                    p.sel(name=inputs.generators[g]) / inputs.p_nom_mw[g]
                    - p.sel(name=lead) / inputs.p_nom_mw[group[0]]
                    == 0,
                    name=f"pro_rata_{k}_{g}",
                )
        for k, (g, mask, cap) in enumerate(inputs.monthly_energy_cap_mwh):
            name = inputs.generators[g]
            hours = snapshots[mask]
            m.add_constraints(
                p.sel(name=name, snapshot=hours).sum() <= cap, name=f"monthly_energy_{k}"
            )
        if not inputs.applicants:
            return
        x = m["Generator-p_nom"]
        apps = inputs.applicants
        m.add_constraints(x.sel(name=apps).sum() <= inputs.cap_mw, name="program_cap")
        for z, cap in inputs.zone_caps_mw.items():
            members = [a for a, az in zip(apps, inputs.applicant_zone, strict=True) if az == z]
            if members:
                m.add_constraints(x.sel(name=members).sum() <= cap, name=f"zone_cap_{z}")
        for plant, cap in inputs.plant_caps_mw.items():
            members = [a for a, pl in zip(apps, inputs.applicant_plant, strict=True) if pl == plant]
            if members:
                m.add_constraints(x.sel(name=members).sum() <= cap, name=f"plant_cap_{plant}")
        for i, a in enumerate(apps):
            need_firm = inputs.firm_share[i] > 0
            need_uptime = inputs.uptime[i] > 0
            if not (need_firm or need_uptime):
                continue
            served = p.sel(name=a)
            total = served
            if inputs.backup_mw[i] > 0:
                b = m.add_variables(
                    lower=0, upper=inputs.backup_mw[i], coords=[snapshots], name=f"backup_{a}"
                )
                m.objective += (inputs.backup_cost_usd_per_mwh[i] * b).sum()
                total = served + b
            if need_firm:
                m.add_constraints(
                    total - inputs.firm_share[i] * x.sel(name=a) >= 0, name=f"firm_{a}"
                )
            if need_uptime:
                m.add_constraints(
                    total.sum() - inputs.uptime[i] * inputs.hours * x.sel(name=a) >= 0,
                    name=f"uptime_{a}",
                )

    return add


def _commitment(m: Any, p: Any, snapshots: Any, inputs: HourlyInputs) -> None:
    """Must-run floors and ramps of committed fleets (kept off PyPSA's own rows)."""
    for g in inputs.committable:
        name = inputs.generators[g]
        floor = inputs.p_min_mw[g]
        if (floor > 0).any():
            m.add_constraints(
                p.sel(name=name) >= pd.Series(floor, index=snapshots), name=f"floor_{name}"
            )
        ramp = inputs.ramp_mw_per_h[g]
        if np.isfinite(ramp) and len(snapshots) > 1:
            step = p.sel(name=name, snapshot=snapshots[1:]) - p.sel(
                name=name, snapshot=snapshots[:-1]
            ).assign_coords(snapshot=snapshots[1:])
            m.add_constraints(step <= ramp, name=f"ramp_up_{name}")
            m.add_constraints(step >= -ramp, name=f"ramp_down_{name}")


def _reserve(m: Any, p: Any, snapshots: Any, inputs: HourlyInputs) -> None:
    """Spinning reserve per zone and hour: generator headroom and interruptible load."""
    if not inputs.holds_reserve:
        return
    committed = set(inputs.committable.tolist())
    held: dict[int, Any] = {}
    for g in np.flatnonzero(inputs.reserve_pu > 0):
        name = inputs.generators[g]
        r = m.add_variables(
            lower=0,
            upper=inputs.reserve_pu[g] * inputs.p_nom_mw[g],
            coords=[snapshots],
            name=f"reserve_{name}",
        )
        p_max = pd.Series(inputs.p_max_mw[g], index=snapshots)
        if g in committed:
            u = m["Generator-status"].sel(name=name)
            m.add_constraints(p.sel(name=name) + r - p_max * u <= 0, name=f"headroom_{name}")
        else:
            m.add_constraints(p.sel(name=name) + r <= p_max, name=f"headroom_{name}")
        z = int(inputs.generator_zone[g])
        held[z] = r if z not in held else held[z] + r
    for a in np.flatnonzero(inputs.applicant_reserve_share > 0) if inputs.applicants else []:
        z = int(inputs.applicant_zone[a])
        if inputs.reserve_mw[z] <= 0:
            continue
        name = inputs.applicants[a]
        q = m.add_variables(lower=0, coords=[snapshots], name=f"reserve_{name}")
        m.add_constraints(
            q - inputs.applicant_reserve_share[a] * p.sel(name=name) <= 0, name=f"offer_{name}"
        )
        held[z] = q if z not in held else held[z] + q
    for z in np.flatnonzero(inputs.reserve_mw > 0):
        if z in held:
            m.add_constraints(held[z] >= inputs.reserve_mw[z], name=f"reserve_{inputs.zones[z]}")
        else:
            raise ValueError(f"zone {inputs.zones[z]} needs reserve that nothing can give")


def solve_pypsa(n: Any, inputs: HourlyInputs, **kwargs: Any) -> tuple[float, pd.DataFrame]:
    """Optimise a network from :func:`to_pypsa`; return (objective, zonal prices)."""
    if len(inputs.committable):
        kwargs = {"linearized_unit_commitment": True, **kwargs}
    status, condition = n.optimize(
        solver_name="highs",
        extra_functionality=extra_functionality(inputs),
        **{"io_api": "direct", "log_to_console": False, **kwargs},
    )
    if status != "ok":
        raise RuntimeError(f"PyPSA did not solve: {status} {condition}")
    return float(n.objective), n.buses_t.marginal_price[inputs.zones]
