"""Unit economics of an AI data center drawing program power.

A data center's facility power splits into IT power and overhead by its PUE; IT
power runs a number of GPU servers from the GPU catalogue (power per GPU including its
share of the server); every MWh served becomes GPU-hours that rent at a market price.
What a MWh at the meter is worth to the data center (its bid) follows, and is far
above any power tariff: AI loads are firm, and their question is uptime, not price.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from megawatt.io import read_gpu_catalogue


def load_gpu_catalogue(path: str | Path | None = None) -> pd.DataFrame:
    """GPU catalogue indexed by model: GPU and server power [W], system price [USD/GPU].

    The default is the packaged ``megawatt/data/gpus.csv`` (sources in its columns).
    """
    source = Path(path) if path else Path(str(resources.files("megawatt.data") / "gpus.csv"))
    return read_gpu_catalogue(source)


def it_load_mw(facility_mw: float | np.ndarray, pue: float) -> float | np.ndarray:
    """IT power [MW] of a facility drawing ``facility_mw`` [MW] at PUE ``pue`` [-].

    Notes
    -----
    PUE = facility power / IT power [1]_, so IT = facility / PUE.

    References
    ----------
    .. [1] The Green Grid (2012). PUE: a comprehensive examination of the metric. WP#49.
    """
    if pue < 1:
        raise ValueError(f"PUE must be >= 1 (got {pue})")
    return facility_mw / pue


def gpu_count(facility_mw: float, pue: float, it_power_w_per_gpu: float) -> int:
    """Whole GPUs a facility of ``facility_mw`` [MW] runs at ``pue`` [-]."""
    if it_power_w_per_gpu <= 0:
        raise ValueError("power per GPU must be > 0")
    return int(np.floor(it_load_mw(facility_mw, pue) * 1e6 / it_power_w_per_gpu + 1e-9))


def gpu_hours(
    served_mwh: float | np.ndarray, pue: float, it_power_w_per_gpu: float
) -> float | np.ndarray:
    """GPU-hours [GPU-h] delivered by ``served_mwh`` [MWh] of facility energy.

    Notes
    -----
    GPU-h = served MWh / PUE x 1e6 / (W per GPU incl. its server share).
    """
    return np.asarray(served_mwh) / pue * 1e6 / it_power_w_per_gpu


def value_usd_per_mwh(
    rental_usd_per_gpu_hour: float, pue: float, it_power_w_per_gpu: float
) -> float:
    """Rental revenue per MWh at the meter [USD/MWh]: the data center's bid.

    Notes
    -----
    value = rental [USD/GPU-h] x 1e6 / (W per GPU x PUE).
    """
    return float(rental_usd_per_gpu_hour * 1e6 / (it_power_w_per_gpu * pue))


def uptime_achieved(served_mwh: float, backup_mwh: float, allocated_mw: float, hours: int) -> float:
    """Share of the allocation's energy delivered by grid plus backup [-]."""
    if allocated_mw <= 0:
        return float("nan")
    return float((served_mwh + backup_mwh) / (allocated_mw * hours))


@dataclass(frozen=True)
class DataCenter:
    """An AI data center sized from its facility power."""

    facility_mw: float
    pue: float
    gpu_model: str
    gpus: int
    it_power_w_per_gpu: float
    gpu_capex_usd: float

    def gpu_hours(self, served_mwh: float) -> float:
        """GPU-hours delivered by ``served_mwh`` [MWh]."""
        return float(gpu_hours(served_mwh, self.pue, self.it_power_w_per_gpu))

    def value_usd_per_mwh(self, rental_usd_per_gpu_hour: float) -> float:
        """Rental revenue per MWh at the meter [USD/MWh]."""
        return value_usd_per_mwh(rental_usd_per_gpu_hour, self.pue, self.it_power_w_per_gpu)


def data_center(
    facility_mw: float, pue: float, gpu_model: str, catalogue: pd.DataFrame | None = None
) -> DataCenter:
    """Size a data center: GPU count and GPU capex for ``facility_mw`` [MW] at ``pue``."""
    catalogue = load_gpu_catalogue() if catalogue is None else catalogue
    if gpu_model not in catalogue.index:
        raise ValueError(f"unknown GPU model {gpu_model!r}; known: {', '.join(catalogue.index)}")
    row = catalogue.loc[gpu_model]
    count = gpu_count(facility_mw, pue, float(row.it_power_w_per_gpu))
    return DataCenter(
        facility_mw=facility_mw,
        pue=pue,
        gpu_model=gpu_model,
        gpus=count,
        it_power_w_per_gpu=float(row.it_power_w_per_gpu),
        gpu_capex_usd=count * float(row.system_price_usd_per_gpu),
    )
