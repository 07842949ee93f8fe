"""The scenario: everything the planner needs, as validated pydantic models.

A scenario is one YAML file plus the tables and hourly series it references
(generators CSV, applicants YAML, demand and availability CSVs). Every field carries
a unit and a description in its schema, which ``docs/scenario.md`` is generated from.
Field names follow PyPSA where PyPSA has a name for the thing (``p_nom``,
``p_max_pu``, ``p_min_pu``, ``marginal_cost``, ``efficiency``), with the unit in the
name as everywhere in this project.

Money is kept in the currency of its source: fuel costs, capacity charges and the
tariff in the local currency (PKR for the default), per-MWh values of applicants and
market prices in USD, with one explicit exchange rate per scenario.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import zoneinfo
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from megawatt.economics.bitcoin import block_subsidy_btc, hashrate_from_difficulty_th_s

NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_\-]*$"
Name = Annotated[
    str,
    Field(
        pattern=NAME_PATTERN,
        max_length=64,
        description="Identifier: a letter, then letters, digits, '_' or '-'.",
    ),
]


def _unit(unit: str) -> dict[str, Any]:
    return {"unit": unit}


class _Model(BaseModel):
    # allow_inf_nan=False: inf, .inf, 1e999 and nan are rejected in every float field
    # (YAML values and CSV cells alike), wherever a finite number is meant.
    model_config = ConfigDict(
        extra="forbid", frozen=False, validate_assignment=True, allow_inf_nan=False
    )


class Provenance(_Model):
    """Where a row of data came from."""

    source: str = Field(
        "",
        description="Reference id(s) from the dataset's sources.yaml, ';'-separated, "
        "or free text citing the source and its date.",
    )
    basis: Literal["R", "E", "R+E", "user"] = Field(
        "user",
        description="R = reported by the source; E = an estimate (method in notes); "
        "R+E = reported figures combined by an estimate; user = supplied by the user.",
    )
    notes: str = Field("", description="How an estimate was made, caveats.")


class Currency(_Model):
    """The local currency and its exchange rate to USD."""

    code: str = Field("USD", pattern=r"^[A-Z]{3}$", description="ISO 4217 code.")
    local_per_usd: float = Field(
        1.0,
        gt=0,
        description="Exchange rate: units of local currency per US dollar.",
        json_schema_extra=_unit("local/USD"),
    )
    source: str = Field("", description="Where the exchange rate comes from.")


class Zone(_Model):
    """A price zone (a bus of the zonal model)."""

    name: Name
    description: str = Field("", description="What the zone covers.")
    reserve_mw: float = Field(
        0.0,
        ge=0,
        description="Spinning reserve to hold in the zone every hour (online headroom of "
        "generators with reserve_pu, or interruptible program load); 0 = none.",
        json_schema_extra=_unit("MW"),
    )


class Link(_Model):
    """A transmission corridor between two zones, usable both ways."""

    name: Name
    from_zone: Name = Field(description="Zone at one end (PyPSA bus0).")
    to_zone: Name = Field(description="Zone at the other end (PyPSA bus1).")
    p_nom_mw: float = Field(
        ge=0,
        description="Transfer limit from from_zone to to_zone.",
        json_schema_extra=_unit("MW"),
    )
    reverse_p_nom_mw: float | None = Field(
        None,
        ge=0,
        description="Transfer limit from to_zone to from_zone; empty = same as p_nom_mw.",
        json_schema_extra=_unit("MW"),
    )
    efficiency: float = Field(
        1.0,
        gt=0,
        le=1,
        description="Share of the power sent that arrives (1 - losses).",
        json_schema_extra=_unit("-"),
    )
    provenance: Provenance = Field(default_factory=Provenance)

    @property
    def reverse_limit_mw(self) -> float:
        """Limit [MW] from ``to_zone`` to ``from_zone``."""
        return self.p_nom_mw if self.reverse_p_nom_mw is None else self.reverse_p_nom_mw


class Generator(_Model):
    """A generating unit or an aggregate of like units in one zone (a generators.csv row)."""

    name: Name
    zone: Name = Field(description="Zone the generator feeds.")
    technology: str = Field(
        pattern=r"^[a-z][a-z0-9_]*$",
        description="Technology label used for grouping (hydro, nuclear, imported_coal, ...).",
    )
    p_nom_mw: float = Field(ge=0, description="Net capacity.", json_schema_extra=_unit("MW"))
    p_max_pu: float = Field(
        1.0,
        ge=0,
        le=1,
        description="Static availability (forced and planned outages), times the hourly "
        "profile if one is named.",
        json_schema_extra=_unit("per unit of p_nom"),
    )
    p_max_pu_profile: Name | None = Field(
        None,
        description="Column of the profiles CSV giving hourly availability in [0, 1].",
    )
    p_min_pu: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Must-run floor; capped at the hour's availability.",
        json_schema_extra=_unit("per unit of p_nom"),
    )
    monthly_energy_profile: Name | None = Field(
        None,
        description="Column of the profiles CSV whose mean over each calendar month caps "
        "the month's energy (reservoir hydro: water is scheduled within the month).",
    )
    min_release_share: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Share of each month's water (``monthly_energy_profile``) that flows "
        "evenly through every hour of the month whatever the price: irrigation releases "
        "and run-of-river flow. The floor is share x the month's energy / its hours, "
        "capped at the hour's availability; empty = none.",
        json_schema_extra=_unit("-"),
    )
    fuel_cost_local_per_kwh: float = Field(
        0.0,
        ge=0,
        description="Fuel cost per kWh generated (fuel price / net efficiency), in the "
        "local currency.",
        json_schema_extra=_unit("local/kWh"),
    )
    vom_usd_per_mwh: float = Field(
        0.0,
        ge=0,
        description="Variable operation and maintenance cost.",
        json_schema_extra=_unit("USD/MWh"),
    )
    efficiency: float | None = Field(
        None,
        gt=0,
        le=1,
        description="Net efficiency (electric output / fuel input, LHV); informational and "
        "for fuel quantities.",
        json_schema_extra=_unit("-"),
    )
    ramp_pu_per_h: float | None = Field(
        None,
        gt=0,
        le=1,
        description="Ramp limit up and down per hour; empty = unlimited.",
        json_schema_extra=_unit("per unit of p_nom per hour"),
    )
    min_stable_pu: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="Minimum stable generation of the online part of the fleet (linearised "
        "unit commitment: the fleet's online MW is a variable, output between this share "
        "of it and its availability); 0 with no start-up cost = not committed.",
        json_schema_extra=_unit("per unit of online MW"),
    )
    start_up_cost_usd_per_mw: float = Field(
        0.0,
        ge=0,
        description="Cost of bringing one MW of the fleet online (wear and start-up fuel).",
        json_schema_extra=_unit("USD/MW"),
    )
    reserve_pu: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Spinning reserve the fleet can offer from online headroom (what it can "
        "add within the reserve's response time); 0 = none.",
        json_schema_extra=_unit("per unit of p_nom"),
    )
    capacity_charge_local_per_kw_month: float | None = Field(
        None,
        ge=0,
        description="Capacity payment per kW of net capacity per month, paid whatever the "
        "plant runs; empty = unknown. Not a dispatch cost: it enters the economics.",
        json_schema_extra=_unit("local/kW/month"),
    )
    co2_t_per_mwh: float = Field(
        0.0,
        ge=0,
        le=2,
        description="CO2 emitted per MWh generated.",
        json_schema_extra=_unit("t/MWh"),
    )
    min_energy_mwh_per_year: float | None = Field(
        None,
        ge=0,
        description="Minimum energy per year (take-or-pay fuel contracts), prorated to the "
        "scenario span (hours / 8760); empty = none.",
        json_schema_extra=_unit("MWh/year"),
    )
    fuel_imported: bool = Field(False, description="Fuel is imported and paid in foreign currency.")
    provenance: Provenance = Field(default_factory=Provenance)

    @model_validator(mode="after")
    def _floor_below_ceiling(self) -> Generator:
        if self.p_min_pu > self.p_max_pu:
            raise ValueError(f"p_min_pu ({self.p_min_pu}) must be <= p_max_pu ({self.p_max_pu})")
        if self.min_release_share and self.monthly_energy_profile is None:
            raise ValueError("min_release_share needs a monthly_energy_profile (the water)")
        return self

    def marginal_cost_usd_per_mwh(self, local_per_usd: float) -> float:
        """Dispatch cost [USD/MWh] = fuel [local/kWh] * 1000 / rate [local/USD] + VOM."""
        return self.fuel_cost_local_per_kwh * 1000.0 / local_per_usd + self.vom_usd_per_mwh


class AsicShare(_Model):
    """One ASIC model's share of a mining fleet's power."""

    model: str = Field(description="ASIC model name from the ASIC catalogue.")
    share: float = Field(
        gt=0, le=1, description="Share of the fleet's power.", json_schema_extra=_unit("-")
    )


class Applicant(_Model):
    """A miner or data center applying for an allocation."""

    name: Name
    kind: Literal["btc_miner", "ai_datacenter"] = Field(
        description="Bitcoin miner (interruptible) or AI data center (firm)."
    )
    zone: Name = Field(description="Zone the load connects in.")
    plant: Name | None = Field(
        None, description="Program plant the load is sited at (for per-plant caps)."
    )
    requested_mw: float = Field(
        gt=0, description="Power requested at the grid connection.", json_schema_extra=_unit("MW")
    )
    committed_mw: float | None = Field(
        None,
        ge=0,
        description="MW already contracted (a licensed site): the allocation is at least "
        "this. Empty = none; the optimiser decides the whole allocation.",
        json_schema_extra=_unit("MW"),
    )
    firm_share: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Share of the allocation that must be served every hour (by grid or "
        "backup). AI: ~1.0; miners: 0.",
        json_schema_extra=_unit("-"),
    )
    uptime: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Minimum share of allocated energy over the span (grid + backup).",
        json_schema_extra=_unit("-"),
    )
    backup_mw: float = Field(
        0.0, ge=0, description="On-site backup generation.", json_schema_extra=_unit("MW")
    )
    backup_cost_usd_per_mwh: float = Field(
        0.0,
        ge=0,
        description="Cost of running the on-site backup.",
        json_schema_extra=_unit("USD/MWh"),
    )
    reserve_share: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Share of the MW it draws that the site drops within the reserve's "
        "response time when the system operator calls (interruptible load counted as "
        "spinning reserve); miners ~1, AI 0 unless it has a flexible share.",
        json_schema_extra=_unit("-"),
    )
    value_usd_per_mwh: float | None = Field(
        None,
        ge=0,
        description="What a MWh is worth to the applicant (its bid). Empty = computed by "
        "the economics from the ASIC mix and market, or the GPU rental price.",
        json_schema_extra=_unit("USD/MWh"),
    )
    application_date: dt.date = Field(
        description="Date the application was filed (deterministic tie-break)."
    )
    asic_mix: list[AsicShare] = Field(
        default_factory=list, description="Miners: the fleet's ASIC models by power share."
    )
    pue: float = Field(
        1.0,
        ge=1,
        le=3,
        description="Power usage effectiveness: facility power / IT power.",
        json_schema_extra=_unit("-"),
    )
    gpu_model: str | None = Field(None, description="AI: GPU model from the GPU catalogue.")
    illustrative: bool = Field(
        True, description="True for made-up applicants that illustrate the method."
    )
    provenance: Provenance = Field(default_factory=Provenance)

    @model_validator(mode="after")
    def _consistent(self) -> Applicant:
        if self.asic_mix:
            models = [share.model for share in self.asic_mix]
            twice = next((m for i, m in enumerate(models) if m in models[:i]), None)
            if twice is not None:
                raise ValueError(f"asic_mix lists ASIC model {twice!r} twice; give it one share")
            total = sum(share.share for share in self.asic_mix)
            if abs(total - 1.0) > 1e-6:
                raise ValueError(f"asic_mix shares must sum to 1 (they sum to {total:g})")
        if self.committed_mw is not None and self.committed_mw > self.requested_mw:
            raise ValueError(
                f"committed_mw ({self.committed_mw:g}) must be <= requested_mw "
                f"({self.requested_mw:g})"
            )
        if self.kind == "ai_datacenter" and self.asic_mix:
            raise ValueError("an ai_datacenter has no asic_mix")
        return self


class TouPeriod(_Model):
    """One time-of-use band of a tariff."""

    name: str = Field(description="Label, e.g. 'peak'.")
    hours: list[Annotated[int, Field(ge=0, le=23)]] = Field(
        description="Local hours of day (hour beginning, 0-23) the band applies to."
    )
    months: list[Annotated[int, Field(ge=1, le=12)]] = Field(
        default_factory=lambda: list(range(1, 13)),
        description="Calendar months the band applies to.",
    )
    local_per_kwh: float = Field(
        ge=0, description="Energy price in the band.", json_schema_extra=_unit("local/kWh")
    )


class Tariff(_Model):
    """What program loads pay per kWh drawn from the grid."""

    scheme: Literal["flat", "time_of_use"] = Field(
        "flat", description="flat: one price; time_of_use: bands by local hour and month."
    )
    local_per_kwh: float = Field(
        ge=0,
        description="Flat energy price, and the price outside any time-of-use band.",
        json_schema_extra=_unit("local/kWh"),
    )
    periods: list[TouPeriod] = Field(
        default_factory=list, description="Time-of-use bands (scheme time_of_use)."
    )
    source: str = Field("", description="Where the tariff comes from.")

    @model_validator(mode="after")
    def _periods_match_scheme(self) -> Tariff:
        if self.scheme == "time_of_use" and not self.periods:
            raise ValueError("a time_of_use tariff needs at least one period")
        if self.scheme == "flat" and self.periods:
            raise ValueError("a flat tariff has no periods (use scheme: time_of_use)")
        return self


class ContractTerms(_Model):
    """Terms of the program's supply contract (how each acts: economics/contract.py)."""

    start: dt.date | None = Field(
        None,
        description="First day of supply under the contract; default 1 January of the "
        "market path's first year. The multi-year view and the Monte Carlo cover the "
        "term from here.",
    )
    term_years: float = Field(
        3.0,
        gt=0,
        le=30,
        description="Contract length; nothing is sold after it (no rollover).",
        json_schema_extra=_unit("years"),
    )
    first_year_cap_share: float = Field(
        1.0,
        gt=0,
        le=1,
        description="Share of program.cap_mw that may be allocated in the first 12 months.",
        json_schema_extra=_unit("-"),
    )
    review_months: int = Field(
        12,
        ge=1,
        le=120,
        description="Review interval: the allocation is decided anew for each period.",
        json_schema_extra=_unit("months"),
    )
    notice_minutes: int = Field(
        30,
        ge=0,
        le=24 * 60,
        description="Notice before a curtailment event: the day-ahead schedule of a "
        "local day is due this long before the day starts, so each event is notified at "
        "least this long before it starts (curtailment_events.notify_utc).",
        json_schema_extra=_unit("min"),
    )


class Program(_Model):
    """The program that sells surplus power to miners and data centers."""

    name: str = Field("program", description="Program name.")
    cap_mw: float = Field(
        gt=0, description="Cap on total allocated MW.", json_schema_extra=_unit("MW")
    )
    tariff: Tariff = Field(description="What program loads pay per kWh.")
    zone_caps_mw: dict[Name, Annotated[float, Field(ge=0)]] = Field(
        default_factory=dict,
        description="Cap on MW allocated per zone.",
        json_schema_extra=_unit("MW"),
    )
    plant_caps_mw: dict[Name, Annotated[float, Field(ge=0)]] = Field(
        default_factory=dict,
        description="Program plants (generator names) and the MW that may be allocated at each.",
        json_schema_extra=_unit("MW"),
    )
    contract: ContractTerms = Field(
        default_factory=ContractTerms, description="Terms of the supply contract."
    )
    source: str = Field("", description="Where the program's terms come from.")


class Market(_Model):
    """Market assumptions for the applicants' economics.

    Today's hashprice is one function of these inputs
    (:func:`megawatt.economics.bitcoin.hashprice`): the subsidy of ``block_height``, the
    fees and the ``difficulty``; the subsidy and the hashrate are derived, not typed.
    """

    as_of: dt.date = Field(description="Date the figures describe.")
    btc_price_usd: float = Field(
        gt=0, description="Bitcoin price.", json_schema_extra=_unit("USD/BTC")
    )
    difficulty: float = Field(
        gt=0,
        description="Network mining difficulty at as_of: a block takes difficulty x 2^32 "
        "hashes on average, so it fixes the revenue per hash (the network hashrate is "
        "derived from it, not typed).",
        json_schema_extra=_unit("-"),
    )
    fees_btc_per_block: float = Field(
        ge=0, description="Mean transaction fees per block.", json_schema_extra=_unit("BTC/block")
    )
    block_height: int = Field(
        ge=0,
        description="Block height at as_of: gives the block subsidy and the halving schedule.",
    )
    blocks_per_day: float = Field(
        144.0,
        gt=100,
        le=200,
        description="Mean blocks found per day: 144 at the 600 s target; more while "
        "hashrate grows faster than difficulty retargets. It times the halving and goes "
        "with the market path's hashrates; today's hashprice is fixed by the difficulty.",
        json_schema_extra=_unit("blocks/day"),
    )
    pool_fee_share: float = Field(
        0.02, ge=0, lt=1, description="Mining pool fee.", json_schema_extra=_unit("-")
    )
    gpu_rental_usd_per_gpu_hour: float = Field(
        gt=0,
        description="Rental price of one data-center GPU hour.",
        json_schema_extra=_unit("USD/GPU-h"),
    )
    source: str = Field("", description="Where the figures come from.")

    @model_validator(mode="before")
    @classmethod
    def _derived_not_typed(cls, data: Any) -> Any:
        """The subsidy and the hashrate are derived: typed, they could disagree."""
        if not isinstance(data, dict):
            return data
        if "block_subsidy_btc" in data:
            height = data.get("block_height")
            try:
                allowed = f"{block_subsidy_btc(int(height)):g} BTC at block_height {int(height)}"
            except (TypeError, ValueError):
                allowed = "the subsidy of block_height"
            raise ReferenceProblem(
                "market.block_subsidy_btc",
                data["block_subsidy_btc"],
                f"not an input: the subsidy is derived from market.block_height ({allowed}); "
                "remove the field",
            )
        if "network_hashrate_eh_s" in data:
            raise ReferenceProblem(
                "market.network_hashrate_eh_s",
                data["network_hashrate_eh_s"],
                "not an input: give market.difficulty (the hashrate is derived from it; a "
                "day's hashrate estimate counts that day's blocks, not 144)",
            )
        return data

    @property
    def implied_hashrate_eh_s(self) -> float:
        """Network hashrate that finds ``blocks_per_day`` blocks at ``difficulty`` [EH/s]."""
        return float(hashrate_from_difficulty_th_s(self.difficulty, self.blocks_per_day)) / 1e6


class MarketYear(_Model):
    """Market assumptions for one year of the multi-year view."""

    year: int = Field(ge=2009, le=2100, description="Calendar year.")
    btc_price_usd: float = Field(
        gt=0, description="Mean Bitcoin price in the year.", json_schema_extra=_unit("USD/BTC")
    )
    network_hashrate_eh_s: float = Field(
        gt=0, description="Mean network hashrate in the year.", json_schema_extra=_unit("EH/s")
    )
    fees_btc_per_block: float = Field(
        ge=0, description="Mean fees per block in the year.", json_schema_extra=_unit("BTC/block")
    )


class KindFactors(_Model):
    """Jobs, investment and running costs per MW of one kind of program load."""

    jobs_per_mw: float = Field(
        ge=0, description="Direct jobs per MW allocated.", json_schema_extra=_unit("jobs/MW")
    )
    facility_capex_usd_per_mw: float = Field(
        ge=0,
        description="Site investment per MW (buildings, electrical, cooling), excluding "
        "ASICs or GPUs, which come from the catalogues.",
        json_schema_extra=_unit("USD/MW"),
    )
    opex_usd_per_mw_year: float = Field(
        ge=0,
        description="Running cost per MW per year excluding energy (staff, maintenance, "
        "insurance).",
        json_schema_extra=_unit("USD/MW/year"),
    )
    source: str = Field("", description="Where the factors come from.")


class Economics(_Model):
    """Assumptions of the economics: factors per kind, currency of payment, market path."""

    btc_miner: KindFactors = Field(description="Factors for Bitcoin miners.")
    ai_datacenter: KindFactors = Field(description="Factors for AI data centers.")
    tariff_paid_in_usd_share: float = Field(
        1.0,
        ge=0,
        le=1,
        description="Share of tariff revenue paid in foreign currency (foreign investors).",
        json_schema_extra=_unit("-"),
    )
    market_path: list[MarketYear] = Field(
        default_factory=list,
        description="Yearly market assumptions for the multi-year view (e.g. 2025-2030).",
    )
    source: str = Field("", description="Where the path and shares come from.")

    @field_validator("market_path")
    @classmethod
    def _years_ascending(cls, path: list[MarketYear]) -> list[MarketYear]:
        years = [y.year for y in path]
        if years != sorted(set(years)):
            raise ValueError(f"market_path years must be ascending and unique (got {years})")
        return path


class HydroYear(_Model):
    """One hydrology year the Monte Carlo can draw."""

    name: Name
    factor: float = Field(
        gt=0,
        le=3,
        description="Multiplier on the monthly water (energy) caps of the hydro generators "
        "in this year (1 = the scenario's own year).",
        json_schema_extra=_unit("-"),
    )
    weight: float = Field(
        gt=0, description="Relative probability of drawing this year.", json_schema_extra=_unit("-")
    )


class Risk(_Model):
    """Distributions of the Monte Carlo (``megawatt risk``), per year of the market path.

    Market draws (price, hashrate, fees, halving timing) change only which applicants
    draw, so they share a few LP solves (the fast path). Demand and hydro draws change
    the grid: every distinct (demand level, hydro year) is solved by the LP, so demand
    levels are rounded to ``demand_step`` to let draws share solves.
    """

    price_model: Literal["gbm", "bootstrap"] = Field(
        "gbm",
        description="gbm: geometric Brownian motion with price_drift and price_volatility; "
        "bootstrap: yearly returns built from blocks of the daily returns in price_history.",
    )
    price_drift: float = Field(
        0.0,
        ge=-1,
        le=1,
        description="GBM drift mu of the log price (the median path grows by mu - s^2/2).",
        json_schema_extra=_unit("1/year"),
    )
    price_volatility: float = Field(
        0.5, ge=0, le=5, description="GBM volatility s.", json_schema_extra=_unit("1/sqrt(year)")
    )
    price_history: str | None = Field(
        None,
        description="CSV of daily Bitcoin prices (columns date, btc_price_usd) for the "
        "bootstrap, relative to the scenario file.",
    )
    block_days: int = Field(
        30,
        ge=1,
        le=366,
        description="Length of the blocks of consecutive daily returns the bootstrap draws "
        "(keeps volatility clustering within a block).",
        json_schema_extra=_unit("days"),
    )
    hashrate_growth_sd: float = Field(
        0.10,
        ge=0,
        le=2,
        description="Standard deviation of the yearly log-growth noise of network hashrate "
        "around the market path.",
        json_schema_extra=_unit("-"),
    )
    fees_sd: float = Field(
        0.5,
        ge=0,
        le=3,
        description="Standard deviation of the log factor on fees per block (mean factor 1).",
        json_schema_extra=_unit("-"),
    )
    block_time_sd_s: float = Field(
        10.0,
        ge=0,
        le=120,
        description="Standard deviation of the mean block time, which moves the halving date.",
        json_schema_extra=_unit("s"),
    )
    demand_growth_mean: float = Field(
        0.0,
        ge=-0.5,
        le=0.5,
        description="Mean yearly log growth of national demand after the scenario's year.",
        json_schema_extra=_unit("1/year"),
    )
    demand_growth_sd: float = Field(
        0.0,
        ge=0,
        le=0.5,
        description="Standard deviation of the yearly log growth of national demand "
        "(0 = demand as in the scenario every year).",
        json_schema_extra=_unit("1/year"),
    )
    demand_step: float = Field(
        0.02,
        ge=0,
        le=0.5,
        description="Drawn demand levels are rounded to multiples of this step so that "
        "draws share LP solves; 0 = no rounding (one LP per distinct draw-year).",
        json_schema_extra=_unit("-"),
    )
    hydro_technologies: list[str] = Field(
        default_factory=lambda: ["hydro"],
        description="Generator technologies whose water caps follow the hydro year.",
    )
    hydro_years: list[HydroYear] = Field(
        default_factory=list,
        description="Hydrology years to draw from, each year independently; empty = the "
        "scenario's own hydrology every year.",
    )
    source: str = Field("", description="Where the distributions come from.")


class DemandShape(_Model):
    """Shape of the daily load curve built from monthly energies."""

    summer_peak_ratio: float = Field(
        1.45,
        gt=1,
        le=3,
        description="Evening peak / monthly mean, highest-demand month.",
        json_schema_extra=_unit("-"),
    )
    winter_peak_ratio: float = Field(
        1.20,
        gt=1,
        le=3,
        description="Evening peak / monthly mean, lowest-demand month.",
        json_schema_extra=_unit("-"),
    )
    summer_trough_ratio: float = Field(
        0.78,
        gt=0,
        lt=1,
        description="Night trough / monthly mean, highest-demand month.",
        json_schema_extra=_unit("-"),
    )
    winter_trough_ratio: float = Field(
        0.70,
        gt=0,
        lt=1,
        description="Night trough / monthly mean, lowest-demand month.",
        json_schema_extra=_unit("-"),
    )
    peak_hour: float = Field(
        21.5,
        ge=0,
        lt=24,
        description="Centre of the evening peak, local time.",
        json_schema_extra=_unit("h"),
    )
    trough_hour: float = Field(
        4.5,
        ge=0,
        lt=24,
        description="Centre of the night trough, local time.",
        json_schema_extra=_unit("h"),
    )
    solar_dip_depth: float = Field(
        0.10,
        ge=0,
        lt=1,
        description="Depth of the midday dip from behind-the-meter solar, share of the "
        "day's range.",
        json_schema_extra=_unit("-"),
    )
    solar_dip_hour: float = Field(
        12.5,
        ge=0,
        lt=24,
        description="Centre of the midday dip, local time.",
        json_schema_extra=_unit("h"),
    )
    smooth_seasons: bool = Field(
        True, description="Interpolate the daily level between mid-month points."
    )


class Demand(_Model):
    """National demand, served first."""

    format: Literal["monthly", "hourly", "ntdc"] = Field(
        description="monthly: CSV month,energy_gwh built into hours with `shape`; hourly: "
        "CSV timestamp plus one MW column per zone (or one 'load_mw' column split by "
        "zone_shares); ntdc: NTDC's DATE,HOUR(1-24),SYSLOAD in MW, local time, split by "
        "zone_shares."
    )
    file: str = Field(description="CSV file, relative to the scenario file.")
    zone_shares: dict[Name, Annotated[float, Field(gt=0, le=1)]] = Field(
        default_factory=dict,
        description="Share of national demand in each zone (sums to 1); needed unless the "
        "hourly file has one column per zone.",
        json_schema_extra=_unit("-"),
    )
    shape: DemandShape = Field(
        default_factory=DemandShape, description="Daily shape for monthly demand."
    )
    scale: float = Field(
        1.0,
        gt=0,
        le=10,
        description="Multiplier on the whole series (demand growth).",
        json_schema_extra=_unit("-"),
    )
    source: str = Field("", description="Where the demand data come from.")

    @field_validator("zone_shares")
    @classmethod
    def _shares_sum_to_one(cls, shares: dict[str, float]) -> dict[str, float]:
        if shares and abs(sum(shares.values()) - 1.0) > 1e-6:
            raise ValueError(f"zone_shares must sum to 1 (they sum to {sum(shares.values()):g})")
        return shares


class DispatchOptions(_Model):
    """Constraint families that make the year-long LP much slower, switched on here."""

    unit_commitment: bool = Field(
        False,
        description="Apply the generators' min_stable_pu and start_up_cost_usd_per_mw "
        "(linearised unit commitment); off: they are not used.",
    )
    reserve: bool = Field(
        False,
        description="Hold zones[].reserve_mw of spinning reserve every hour (generators' "
        "reserve_pu, applicants' reserve_share); off: no reserve is held.",
    )


class Scenario(_Model):
    """A complete planning scenario."""

    name: Name
    description: str = Field("", description="What the scenario describes.")
    timezone: str = Field("UTC", description="IANA time zone the system's clocks and tariffs use.")
    start: dt.datetime = Field(
        description="First hour (hour beginning), local time of `timezone`, no offset."
    )
    hours: int = Field(
        ge=1, le=10 * 8784, description="Number of hourly steps.", json_schema_extra=_unit("h")
    )
    currency: Currency = Field(
        default_factory=Currency, description="Local currency and exchange rate."
    )
    voll_usd_per_mwh: float = Field(
        gt=0,
        description="Value of lost load: cost of shedding national demand.",
        json_schema_extra=_unit("USD/MWh"),
    )
    zones: list[Zone] = Field(min_length=1, description="Price zones (buses).")
    links: list[Link] = Field(
        default_factory=list, description="Transmission corridors between zones."
    )
    generators: list[Generator] = Field(
        min_length=1, description="In the YAML: a CSV file name, or a list."
    )
    profiles: str | None = Field(
        None,
        description="CSV of hourly availability profiles: timestamp plus one column per "
        "profile, values in [0, 1].",
    )
    demand: Demand = Field(description="National demand, served first.")
    program: Program = Field(description="The program: cap, tariff, plants, terms.")
    applicants: list[Applicant] = Field(
        default_factory=list, description="In the YAML: a YAML/CSV file name, or a list."
    )
    market: Market = Field(description="Market assumptions for the applicants.")
    economics: Economics | None = Field(
        None,
        description="Jobs, investment and market-path assumptions; empty = jobs, investment "
        "and the multi-year view are not reported.",
    )

    dispatch: DispatchOptions = Field(
        default_factory=DispatchOptions,
        description="Unit commitment and spinning reserve (off by default: see "
        "docs/calibration.md for what they change and cost).",
    )
    risk: Risk = Field(
        default_factory=Risk,
        description="Distributions of the Monte Carlo (megawatt risk); defaults: market "
        "draws only.",
    )

    # Set by the loader: where the scenario came from. The hourly series are cached with
    # the inputs they were read from (scenario/series.py), so any edit gives new series.
    _origin: Any = PrivateAttr(None)
    _series_cache: Any = PrivateAttr(None)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, name: str) -> str:
        if len(name) > 64 or name not in _time_zones():
            shown = name if len(name) <= 40 else name[:39] + "…"
            raise ValueError(f"unknown time zone {shown!r} (use an IANA name, e.g. Asia/Karachi)")
        return name

    @field_validator("start")
    @classmethod
    def _naive_start(cls, start: dt.datetime) -> dt.datetime:
        if start.tzinfo is not None:
            raise ValueError("start is local time without an offset (set `timezone`)")
        if start.minute or start.second or start.microsecond:
            raise ValueError("start must be on the hour")
        return start

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        # Cross-references are checked here so every message can name the list item.
        _start_exists(self.start, self.timezone)
        zones = {z.name for z in self.zones}
        _no_duplicates("zones", [z.name for z in self.zones])
        _no_duplicates("links", [x.name for x in self.links])
        _no_duplicates("generators", [g.name for g in self.generators])
        _no_duplicates("applicants", [a.name for a in self.applicants])
        for i, link in enumerate(self.links):
            for end in ("from_zone", "to_zone"):
                _known(f"links[{i}].{end}", getattr(link, end), zones, "zone")
            if link.from_zone == link.to_zone:
                raise ReferenceProblem(
                    f"links[{i}].to_zone", link.to_zone, "must differ from from_zone"
                )
        for i, gen in enumerate(self.generators):
            _known(f"generators[{i}].zone", gen.zone, zones, "zone")
        plants = {g.name: g for g in self.generators}
        for plant in self.program.plant_caps_mw:
            _known(f"program.plant_caps_mw.{plant}", plant, set(plants), "generator")
        for zone in self.program.zone_caps_mw:
            _known(f"program.zone_caps_mw.{zone}", zone, zones, "zone")
        if self.demand.zone_shares:
            for zone in self.demand.zone_shares:
                _known(f"demand.zone_shares.{zone}", zone, zones, "zone")
            missing = zones - set(self.demand.zone_shares)
            if missing:
                raise ReferenceProblem(
                    "demand.zone_shares", sorted(missing), "every zone needs a share; missing"
                )
        if self.risk.price_model == "bootstrap" and not self.risk.price_history:
            raise ReferenceProblem(
                "risk.price_history", None, "price_model bootstrap needs a price_history CSV"
            )
        _no_duplicates("risk.hydro_years", [h.name for h in self.risk.hydro_years])
        _catalogue_models(self.applicants)
        _committed_within_caps(self)
        for i, app in enumerate(self.applicants):
            _known(f"applicants[{i}].zone", app.zone, zones, "zone")
            if app.plant is not None:
                _known(
                    f"applicants[{i}].plant",
                    app.plant,
                    set(self.program.plant_caps_mw),
                    "program plant (program.plant_caps_mw)",
                )
                if plants[app.plant].zone != app.zone:
                    raise ReferenceProblem(
                        f"applicants[{i}].zone",
                        app.zone,
                        f"must be the zone of its plant {app.plant} ({plants[app.plant].zone})",
                    )
        return self

    @property
    def zone_names(self) -> list[str]:
        return [z.name for z in self.zones]


class ReferenceProblem(ValueError):
    """A cross-reference problem located by field path (turned into an InputError)."""

    def __init__(self, path: str, value: object, problem: str) -> None:
        self.path = path
        self.value = value
        self.problem = problem
        super().__init__(f"{path}: {problem} (got {value!r})")


def _known(path: str, value: str, allowed: set[str], what: str) -> None:
    if value not in allowed:
        listed = ", ".join(sorted(allowed)) if len(allowed) <= 12 else f"{len(allowed)} names"
        raise ReferenceProblem(path, value, f"unknown {what}; allowed: {listed}")


@functools.cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) | {"UTC"}


def _start_exists(start: dt.datetime, timezone: str) -> None:
    """A start in a daylight-saving gap is an error; in a fold it is the first occurrence
    (pandas' ``ambiguous=True``: daylight time), as :func:`series.snapshots` takes it."""
    tz = zoneinfo.ZoneInfo(timezone)
    local = start.replace(tzinfo=tz, fold=0)
    back = local.astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None)
    if back != start:
        raise ReferenceProblem(
            "start",
            start.isoformat(timespec="minutes"),
            f"does not exist in {timezone}: clocks skip this hour (daylight-saving gap); "
            "choose another start",
        )


@functools.cache
def _catalogues() -> tuple[frozenset[str], frozenset[str]]:
    from megawatt.economics.ai import load_gpu_catalogue
    from megawatt.economics.bitcoin import load_asic_catalogue

    return frozenset(load_asic_catalogue().index), frozenset(load_gpu_catalogue().index)


def _catalogue_models(applicants: list[Applicant]) -> None:
    """ASIC and GPU models must be in the packaged catalogues the economics use."""
    if not any(a.asic_mix or a.gpu_model for a in applicants):
        return
    asics, gpus = _catalogues()
    for i, app in enumerate(applicants):
        for j, share in enumerate(app.asic_mix):
            _known(f"applicants[{i}].asic_mix[{j}].model", share.model, set(asics), "ASIC model")
        if app.gpu_model is not None:
            _known(f"applicants[{i}].gpu_model", app.gpu_model, set(gpus), "GPU model")


def _committed_within_caps(scenario: Scenario) -> None:
    """Committed MW must fit the program cap and each zone and plant cap, or the program
    case has no solution (first_year_cap_share scales commitments and caps alike)."""
    program = scenario.program
    committed = [(i, a) for i, a in enumerate(scenario.applicants) if a.committed_mw]
    if not committed:
        return
    groups: list[tuple[str, float, list[tuple[int, Applicant]]]] = [
        ("program.cap_mw", program.cap_mw, committed)
    ]
    for zone, cap in program.zone_caps_mw.items():
        groups.append(
            (f"program.zone_caps_mw.{zone}", cap, [(i, a) for i, a in committed if a.zone == zone])
        )
    for plant, cap in program.plant_caps_mw.items():
        groups.append(
            (
                f"program.plant_caps_mw.{plant}",
                cap,
                [(i, a) for i, a in committed if a.plant == plant],
            )
        )
    for path, cap, apps in groups:
        total = sum(a.committed_mw or 0.0 for _, a in apps)
        if apps and total > cap + 1e-9:
            i, _ = apps[-1]
            raise ReferenceProblem(
                f"applicants[{i}].committed_mw",
                apps[-1][1].committed_mw,
                f"committed MW add up to {total:g}, above {path} = {cap:g}",
            )


def _no_duplicates(path: str, names: list[str]) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            raise ReferenceProblem(f"{path}[{i}].name", name, "duplicate name")
        seen.add(name)


def field_path(loc: tuple[int | str, ...]) -> str:
    """Render a pydantic location tuple as ``a.b[3].c``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(part)):
            out += ("." if out else "") + str(part)
        else:
            out += f"[{part!r}]"
    return out
