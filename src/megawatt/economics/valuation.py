"""What a MWh is worth to each applicant, and what its equipment costs.

Miners: the hashprice of the scenario's market (``bitcoin.hashprice`` of its price,
difficulty, fees and the subsidy of its block height) through each ASIC model's
efficiency and the site's PUE gives revenue per MWh at the meter, which is the miner's
break-even power price and its bid: it stops drawing where the tariff is above it, and
its response shifts with hashprice.
AI data centers: GPU rental revenue per MWh. A value typed in the scenario
(``value_usd_per_mwh``) overrides the computed one and is reported as such.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from megawatt.economics import ai, bitcoin
from megawatt.scenario.model import Applicant, Scenario


@dataclass(frozen=True)
class MarketPoint:
    """Bitcoin market at one moment: enough to price a hash (see ``bitcoin.hashprice``)."""

    btc_price_usd: float
    difficulty: float
    fees_btc_per_block: float
    block_height: int
    pool_fee_share: float

    @property
    def hashprice(self) -> bitcoin.Hashprice:
        """Subsidy and hashprice of this market, from ``bitcoin.hashprice``."""
        return bitcoin.hashprice(
            self.block_height,
            self.btc_price_usd,
            self.fees_btc_per_block,
            difficulty=self.difficulty,
        )

    @property
    def block_subsidy_btc(self) -> float:
        return float(self.hashprice.subsidy_btc)

    @property
    def hashprice_btc_per_th_day(self) -> float:
        return float(self.hashprice.btc_per_th_day)

    @property
    def hashprice_usd_per_th_day(self) -> float:
        return float(self.hashprice.usd_per_th_day)


def market_point(scenario: Scenario) -> MarketPoint:
    """The scenario's market as of its date."""
    m = scenario.market
    return MarketPoint(
        m.btc_price_usd, m.difficulty, m.fees_btc_per_block, m.block_height, m.pool_fee_share
    )


def miner_fleet(
    app: Applicant, power_mw: float, catalogue: pd.DataFrame | None = None
) -> bitcoin.Fleet:
    """The ASIC fleet ``app`` runs on ``power_mw`` [MW] at the meter (ASIC power = /PUE)."""
    catalogue = bitcoin.load_asic_catalogue() if catalogue is None else catalogue
    mix = [(share.model, share.share) for share in app.asic_mix]
    return bitcoin.fleet_from_mix(power_mw, mix, catalogue, pue=app.pue)


def value_applicants(
    scenario: Scenario,
    market: MarketPoint | None = None,
    asics: pd.DataFrame | None = None,
    gpus: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per applicant: value per MWh [USD/MWh] (its bid) and equipment per MW requested.

    Columns: kind, value_usd_per_mwh (used), computed_value_usd_per_mwh, value_source
    ('computed' or 'scenario'), efficiency_j_per_th (miners), btc_per_mwh (miners),
    gpus_per_mw (AI), equipment_capex_usd_per_mw.
    """
    market = market or market_point(scenario)
    asics = bitcoin.load_asic_catalogue() if asics is None else asics
    gpus = ai.load_gpu_catalogue() if gpus is None else gpus
    rows = []
    for app in scenario.applicants:
        row: dict[str, object] = {"applicant": app.name, "kind": app.kind}
        if app.kind == "btc_miner":
            if not app.asic_mix:
                computed = float("nan")
                row.update(
                    efficiency_j_per_th=float("nan"),
                    btc_per_mwh=float("nan"),
                    equipment_capex_usd_per_mw=0.0,
                )
            else:
                fleet = miner_fleet(app, app.requested_mw, asics)
                computed = bitcoin.miner_value_usd_per_mwh(
                    fleet, market.hashprice_usd_per_th_day, market.pool_fee_share
                )
                row.update(
                    efficiency_j_per_th=fleet.efficiency_j_per_th,
                    btc_per_mwh=float(
                        bitcoin.btc_per_mwh(
                            market.hashprice_btc_per_th_day,
                            fleet.efficiency_j_per_th,
                            market.pool_fee_share,
                            app.pue,
                        )
                    ),
                    equipment_capex_usd_per_mw=fleet.capex_usd / app.requested_mw,
                )
        else:
            if app.gpu_model is None:
                computed = float("nan")
                row.update(equipment_capex_usd_per_mw=0.0, gpus_per_mw=float("nan"))
            else:
                center = ai.data_center(app.requested_mw, app.pue, app.gpu_model, gpus)
                computed = center.value_usd_per_mwh(scenario.market.gpu_rental_usd_per_gpu_hour)
                row.update(
                    gpus_per_mw=center.gpus / app.requested_mw,
                    equipment_capex_usd_per_mw=center.gpu_capex_usd / app.requested_mw,
                )
        used = app.value_usd_per_mwh if app.value_usd_per_mwh is not None else computed
        row.update(
            computed_value_usd_per_mwh=computed,
            value_usd_per_mwh=used,
            value_source="scenario" if app.value_usd_per_mwh is not None else "computed",
        )
        rows.append(row)
    columns = [
        "applicant",
        "kind",
        "value_usd_per_mwh",
        "computed_value_usd_per_mwh",
        "value_source",
        "efficiency_j_per_th",
        "btc_per_mwh",
        "gpus_per_mw",
        "equipment_capex_usd_per_mw",
    ]
    return pd.DataFrame(rows).reindex(columns=columns).set_index("applicant")


def bids(values: pd.DataFrame) -> dict[str, float]:
    """The values the optimiser uses as bids, for applicants that have one."""
    used = values.value_usd_per_mwh.dropna()
    return {str(k): float(v) for k, v in used.items()}
