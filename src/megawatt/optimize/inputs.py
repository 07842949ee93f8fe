"""Hourly inputs of the planning LP: a scenario turned into numpy arrays.

This is the stage between the scenario (YAML, tables, series) and the LP: bounds and
costs per generator and hour, demand per zone and hour, the tariff per hour, which
applicant may draw in which hour, and the deterministic priorities that break the
LP's ties. Everything is in MW, MWh and USD.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from megawatt.errors import input_error
from megawatt.scenario.model import Scenario
from megawatt.scenario.origin import origin_of
from megawatt.scenario.series import local_snapshots, timeseries

#: Tie-break costs [USD/MWh]. The LP has many optima (equal-cost generators, equal
#: applicants); these tiny, documented preferences make the optimum unique and
#: independent of solver path and list order. They are 1e4-1e6 times the solver's
#: tolerances and far below any real cost difference (prices are quoted to 0.01).
GENERATOR_TIE_USD_PER_MWH = 1e-4  # times the generator's rank by name
LINK_TIE_USD_PER_MWH = 1e-3  # per MWh sent, so flows never circulate
APPLICANT_TIE_USD_PER_MWH = 1e-4  # times (number of applicants - rank) per MWh served
ALLOCATION_TIE_USD_PER_MW = 1e-3  # per MW allocated, so allocations are not padded


@dataclass
class HourlyInputs:
    """Arrays the LP is built from (shapes: T hours, G generators, Z zones, L links, A applicants).

    Attributes are documented by name and unit; ``index`` holds the UTC snapshots.
    """

    index: pd.DatetimeIndex
    zones: list[str]
    generators: list[str]
    generator_zone: np.ndarray  # [G] zone index
    technology: list[str]
    p_nom_mw: np.ndarray  # [G]
    p_max_mw: np.ndarray  # [G, T]
    p_min_mw: np.ndarray  # [G, T]
    marginal_cost_usd_per_mwh: np.ndarray  # [G] fuel / efficiency + VOM
    generator_tie_usd_per_mwh: np.ndarray  # [G] added in the LP only
    ramp_mw_per_h: np.ndarray  # [G], inf = none
    pro_rata_groups: list[np.ndarray]  # generators that share output pro rata to p_nom
    min_energy_mwh: np.ndarray  # [G], 0 = none, prorated to the span
    monthly_energy_cap_mwh: list[tuple[int, np.ndarray, float]]  # (g, hour mask, MWh)
    co2_t_per_mwh: np.ndarray  # [G]
    demand_mw: np.ndarray  # [Z, T]
    voll_usd_per_mwh: float
    links: list[str]
    link_from: np.ndarray  # [L] zone index
    link_to: np.ndarray  # [L]
    link_forward_mw: np.ndarray  # [L]
    link_reverse_mw: np.ndarray  # [L]
    link_efficiency: np.ndarray  # [L]
    min_stable_pu: np.ndarray = field(default_factory=lambda: np.zeros(0))  # [G] of online MW
    start_up_cost_usd_per_mw: np.ndarray = field(default_factory=lambda: np.zeros(0))  # [G]
    reserve_pu: np.ndarray = field(default_factory=lambda: np.zeros(0))  # [G] of p_nom
    reserve_mw: np.ndarray = field(default_factory=lambda: np.zeros(0))  # [Z] to hold hourly
    applicants: list[str] = field(default_factory=list)
    applicant_kind: list[str] = field(default_factory=list)
    applicant_zone: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    applicant_plant: list[str | None] = field(default_factory=list)
    requested_mw: np.ndarray = field(default_factory=lambda: np.zeros(0))
    committed_mw: np.ndarray = field(default_factory=lambda: np.zeros(0))
    firm_share: np.ndarray = field(default_factory=lambda: np.zeros(0))
    uptime: np.ndarray = field(default_factory=lambda: np.zeros(0))
    backup_mw: np.ndarray = field(default_factory=lambda: np.zeros(0))
    backup_cost_usd_per_mwh: np.ndarray = field(default_factory=lambda: np.zeros(0))
    applicant_reserve_share: np.ndarray = field(default_factory=lambda: np.zeros(0))  # [A]
    value_usd_per_mwh: np.ndarray = field(default_factory=lambda: np.zeros(0))
    may_draw: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=bool))  # [A, T]
    applicant_bonus_usd_per_mwh: np.ndarray = field(default_factory=lambda: np.zeros(0))
    tariff_usd_per_mwh: np.ndarray = field(default_factory=lambda: np.zeros(0))  # [T]
    cap_mw: float = np.inf
    zone_caps_mw: dict[int, float] = field(default_factory=dict)
    plant_caps_mw: dict[str, float] = field(default_factory=dict)
    shed_cap_mw: np.ndarray | None = None  # [Z, T] program case: no more than baseline
    allocation_cost_usd_per_mw: np.ndarray | None = None  # [A] replaces the tie-break cost
    timezone: str = "UTC"

    @property
    def hours(self) -> int:
        return len(self.index)

    @property
    def holds_reserve(self) -> bool:
        """True where some zone must hold spinning reserve (``dispatch.reserve`` on)."""
        return bool(len(self.reserve_mw) and (self.reserve_mw > 0).any())

    @property
    def committable(self) -> np.ndarray:
        """Generators under linearised unit commitment (a minimum stable level or a
        start-up cost), as indices."""
        if not len(self.min_stable_pu):
            return np.zeros(0, dtype=int)
        return np.flatnonzero((self.min_stable_pu > 0) | (self.start_up_cost_usd_per_mw > 0))


def scale_program(inputs: HourlyInputs, share: float) -> HourlyInputs:
    """``inputs`` with every applicant's request and commitment and the program, zone
    and plant caps times ``share`` (the first contract year: each licence may use
    that share of its MW, pro rata, so no applicant is preferred to another)."""
    if share == 1.0:
        return inputs
    return replace(
        inputs,
        requested_mw=inputs.requested_mw * share,
        committed_mw=inputs.committed_mw * share,
        cap_mw=inputs.cap_mw * share,
        zone_caps_mw={z: v * share for z, v in inputs.zone_caps_mw.items()},
        plant_caps_mw={p: v * share for p, v in inputs.plant_caps_mw.items()},
    )


def tariff_usd_per_mwh(scenario: Scenario) -> np.ndarray:
    """The program tariff for each hour [USD/MWh] (flat, or time-of-use by local hour)."""
    tariff = scenario.program.tariff
    usd_per_mwh = 1000.0 / scenario.currency.local_per_usd
    local = local_snapshots(scenario)
    out = np.full(len(local), tariff.local_per_kwh * usd_per_mwh)
    hours = local.hour.to_numpy()
    months = local.month.to_numpy()
    for period in tariff.periods:  # later periods override earlier ones
        mask = np.isin(hours, period.hours) & np.isin(months, period.months)
        out[mask] = period.local_per_kwh * usd_per_mwh
    return out


def application_order(scenario: Scenario, names: list[str]) -> np.ndarray:
    """Indices into ``names`` (applicant names) by application date, then name: the
    tie-break after value in :func:`lp_keys`."""
    dates = {a.name: a.application_date for a in scenario.applicants}
    order = sorted(range(len(names)), key=lambda i: (dates[names[i]], names[i]))
    return np.array(order, dtype=int)


def lp_keys(values: np.ndarray, levels: np.ndarray, by_date: np.ndarray) -> np.ndarray:
    """What fixes the program LP given its grid and cap, per row of ``values`` [rows, A]
    [USD/MWh]: how many tariff ``levels`` each applicant's value clears (the hours it
    draws in), then the applicants' priority order (value high first, then
    ``by_date``: applicant indices by application date and name). Two value sets with
    the same key give the same LP; the Monte Carlo and the multi-year view both key
    their solves by it."""
    cleared = np.searchsorted(levels, values, side="right")
    order = by_date[np.argsort(-values[:, by_date], axis=1, kind="stable")]
    return np.concatenate([cleared, order], axis=1)


def pro_rata_groups(scenario: Scenario) -> list[np.ndarray]:
    """Groups of identical-cost generators that share their output pro rata to capacity.

    Generators in one zone with the same technology, marginal cost, availability,
    floor, profile and ramp limit are interchangeable for the grid; an LP would give
    all of their output to one of them (which one depends on the solver). Merit-order
    practice, and this model, share it pro rata to net capacity instead, so equal
    plants get equal capacity factors.
    """
    groups: dict[tuple, list[int]] = {}
    for i, g in enumerate(scenario.generators):
        if g.p_nom_mw <= 0 or g.monthly_energy_profile or g.min_energy_mwh_per_year:
            continue
        key = (
            g.zone,
            g.technology,
            g.fuel_cost_local_per_kwh,
            g.vom_usd_per_mwh,
            g.p_max_pu,
            g.p_min_pu,
            g.p_max_pu_profile,
            g.ramp_pu_per_h,
            g.min_stable_pu,
            g.start_up_cost_usd_per_mw,
            g.reserve_pu,
        )
        groups.setdefault(key, []).append(i)
    return [np.array(v) for v in groups.values() if len(v) > 1]


def applicant_priority(scenario: Scenario) -> list[str]:
    """Applicants in allocation priority: by value (high first), then date, then name.

    This is the documented tie-break rule: when applicants are otherwise equal for
    the grid (same zone, same terms), the one that values the power more gets it
    first, then the earlier application, then the name. It does not depend on the
    order applicants are listed.
    """
    return [
        a.name
        for a in sorted(
            scenario.applicants,
            key=lambda a: (-(a.value_usd_per_mwh or 0.0), a.application_date, a.name),
        )
    ]


def build_inputs(
    scenario: Scenario,
    with_program: bool = True,
    applicant_values: dict[str, float] | None = None,
) -> HourlyInputs:
    """Turn a scenario into LP input arrays.

    Parameters
    ----------
    scenario
        A validated scenario.
    with_program
        False gives the baseline: no applicants, national demand only.
    applicant_values
        Value [USD/MWh] per applicant overriding the scenario's ``value_usd_per_mwh``
        (the economics computes these from hashprice and GPU prices).
    """
    series = timeseries(scenario)
    rate = scenario.currency.local_per_usd
    zones = scenario.zone_names
    zone_ix = {z: i for i, z in enumerate(zones)}
    T = scenario.hours
    gens = scenario.generators
    by_name_rank = {name: r for r, name in enumerate(sorted(g.name for g in gens))}

    p_nom = np.array([g.p_nom_mw for g in gens])
    avail = np.empty((len(gens), T))
    for i, g in enumerate(gens):
        profile = (
            series.profiles[g.p_max_pu_profile].to_numpy() if g.p_max_pu_profile else np.ones(T)
        )
        avail[i] = g.p_max_pu * profile
    floor_pu = np.minimum(np.array([g.p_min_pu for g in gens])[:, None], avail)
    cost = np.array([g.marginal_cost_usd_per_mwh(rate) for g in gens])
    tie = np.array([GENERATOR_TIE_USD_PER_MWH * by_name_rank[g.name] for g in gens])
    ramp = np.array(
        [g.ramp_pu_per_h * g.p_nom_mw if g.ramp_pu_per_h is not None else np.inf for g in gens]
    )
    min_energy = np.array([(g.min_energy_mwh_per_year or 0.0) * T / 8760.0 for g in gens])
    local = local_snapshots(scenario)
    month_key = (local.year * 12 + local.month - 1).to_numpy()
    monthly_caps: list[tuple[int, np.ndarray, float]] = []
    for i, g in enumerate(gens):
        if g.monthly_energy_profile is None:
            continue
        profile = series.profiles[g.monthly_energy_profile].to_numpy()
        for key in np.unique(month_key):
            mask = month_key == key
            water_mwh = float(profile[mask].sum() * g.p_nom_mw)
            monthly_caps.append((i, mask, water_mwh))
            if g.min_release_share:
                # irrigation and run-of-river: this share of the water flows every hour
                release_pu = g.min_release_share * water_mwh / mask.sum() / g.p_nom_mw
                floor_pu[i, mask] = np.minimum(
                    np.maximum(floor_pu[i, mask], release_pu), avail[i, mask]
                )

    links = scenario.links
    uc = float(scenario.dispatch.unit_commitment)
    reserve = float(scenario.dispatch.reserve)
    inputs = HourlyInputs(
        pro_rata_groups=pro_rata_groups(scenario),
        index=series.snapshots,
        zones=zones,
        generators=[g.name for g in gens],
        generator_zone=np.array([zone_ix[g.zone] for g in gens], dtype=int),
        technology=[g.technology for g in gens],
        p_nom_mw=p_nom,
        p_max_mw=p_nom[:, None] * avail,
        p_min_mw=p_nom[:, None] * floor_pu,
        marginal_cost_usd_per_mwh=cost,
        generator_tie_usd_per_mwh=tie,
        ramp_mw_per_h=ramp,
        min_energy_mwh=min_energy,
        monthly_energy_cap_mwh=monthly_caps,
        co2_t_per_mwh=np.array([g.co2_t_per_mwh for g in gens]),
        demand_mw=series.demand_mw[zones].to_numpy().T.copy(),
        voll_usd_per_mwh=scenario.voll_usd_per_mwh,
        links=[x.name for x in links],
        link_from=np.array([zone_ix[x.from_zone] for x in links], dtype=int),
        link_to=np.array([zone_ix[x.to_zone] for x in links], dtype=int),
        link_forward_mw=np.array([x.p_nom_mw for x in links], dtype=float),
        link_reverse_mw=np.array([x.reverse_limit_mw for x in links], dtype=float),
        link_efficiency=np.array([x.efficiency for x in links], dtype=float),
        min_stable_pu=np.array([g.min_stable_pu for g in gens], dtype=float) * uc,
        start_up_cost_usd_per_mw=np.array([g.start_up_cost_usd_per_mw for g in gens], dtype=float)
        * uc,
        reserve_pu=np.array([g.reserve_pu for g in gens], dtype=float),
        reserve_mw=np.array(
            [{z.name: z.reserve_mw for z in scenario.zones}[z] for z in zones], dtype=float
        )
        * reserve,
        timezone=scenario.timezone,
    )
    if not with_program:
        return inputs

    apps = scenario.applicants
    values = []
    for i, a in enumerate(apps):
        value = (applicant_values or {}).get(a.name, a.value_usd_per_mwh)
        if value is None:
            raise input_error(
                origin_of(scenario).label,
                f"applicants[{i}].value_usd_per_mwh",
                "needed by the optimiser: give the applicant's value per MWh",
            )
        values.append(value)
    value_arr = np.array(values, dtype=float)
    tariff = tariff_usd_per_mwh(scenario)
    priority = applicant_priority(
        scenario.model_copy(
            update={
                "applicants": [
                    a.model_copy(update={"value_usd_per_mwh": v})
                    for a, v in zip(apps, values, strict=True)
                ]
            }
        )
    )
    rank = {name: r for r, name in enumerate(priority)}
    inputs.applicants = [a.name for a in apps]
    inputs.applicant_kind = [a.kind for a in apps]
    inputs.applicant_zone = np.array([zone_ix[a.zone] for a in apps], dtype=int)
    inputs.applicant_plant = [a.plant for a in apps]
    inputs.requested_mw = np.array([a.requested_mw for a in apps], dtype=float)
    inputs.committed_mw = np.array([a.committed_mw or 0.0 for a in apps], dtype=float)
    inputs.firm_share = np.array([a.firm_share for a in apps], dtype=float)
    inputs.uptime = np.array([a.uptime for a in apps], dtype=float)
    inputs.backup_mw = np.array([a.backup_mw for a in apps], dtype=float)
    inputs.backup_cost_usd_per_mwh = np.array([a.backup_cost_usd_per_mwh for a in apps])
    inputs.applicant_reserve_share = np.array([a.reserve_share for a in apps], dtype=float)
    inputs.value_usd_per_mwh = value_arr
    inputs.may_draw = value_arr[:, None] >= tariff[None, :]
    inputs.applicant_bonus_usd_per_mwh = np.array(
        [APPLICANT_TIE_USD_PER_MWH * (len(apps) - rank[a.name]) for a in apps], dtype=float
    )
    inputs.tariff_usd_per_mwh = tariff
    inputs.cap_mw = scenario.program.cap_mw
    inputs.zone_caps_mw = {zone_ix[z]: v for z, v in scenario.program.zone_caps_mw.items()}
    inputs.plant_caps_mw = dict(scenario.program.plant_caps_mw)
    return inputs
