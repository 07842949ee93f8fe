"""The ASIC and GPU catalogues (``megawatt/data/asics.csv``, ``gpus.csv``).

* ASICs: ``model,hashrate_th_s,power_w,efficiency_j_per_th,price_usd[,source,basis,
  notes]``; hashrate, power and efficiency > 0, price >= 0, and each efficiency within
  3 % of power / hashrate so that a typo in either shows;
* GPUs: ``model,gpu_power_w,server_overhead_w,system_price_usd_per_gpu[,...]``, every
  figure >= 0.

Both are indexed by model; a model listed twice is an error.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from megawatt.errors import at, input_error
from megawatt.io.common import check_file

ASIC_COLUMNS = ("hashrate_th_s", "power_w", "efficiency_j_per_th", "price_usd")
GPU_COLUMNS = ("gpu_power_w", "server_overhead_w", "system_price_usd_per_gpu")
#: Largest relative difference between an ASIC's efficiency and power / hashrate.
EFFICIENCY_TOLERANCE = 0.03


def _read(path: Path, numeric: tuple[str, ...]) -> tuple[pd.DataFrame, pd.Series]:
    """The table (index: CSV line) and its models, columns checked."""
    check_file(path)
    try:
        table = pd.read_csv(path, skip_blank_lines=False)
    except FileNotFoundError:
        raise input_error(path, "", "file not found") from None
    except pd.errors.EmptyDataError:
        raise input_error(path, "line 1", "empty file; expected a header line") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise input_error(path, "", f"cannot be read as CSV ({exc})") from None
    missing = [c for c in ("model", *numeric) if c not in table.columns]
    if missing:
        raise input_error(
            path,
            "line 1",
            f"missing columns {', '.join(missing)}; needs model, {', '.join(numeric)}",
            ",".join(map(str, table.columns)),
        )
    table.index = pd.RangeIndex(2, len(table) + 2, name="line")  # the header is line 1
    table = table[table.notna().any(axis=1)]
    if table.empty:
        raise input_error(path, "", "no data rows after the header")
    models = table["model"].astype(str).str.strip()
    duplicated = models.duplicated()
    if duplicated.any():
        line = int(models.index[duplicated.to_numpy()][0])
        raise input_error(path, at(line, "model"), "model listed twice", models[line])
    return table, models


def _check_numbers(
    path: Path, table: pd.DataFrame, col: str, positive: bool, to_float: bool
) -> None:
    values = pd.to_numeric(table[col], errors="coerce")
    bad = values.isna() | (values < 0) | ((values == 0) & positive)
    if bad.any():
        line = int(table.index[bad.to_numpy()][0])
        allowed = "must be a number > 0" if positive else "must be a number >= 0"
        raise input_error(path, at(line, col), allowed, table.at[line, col])
    table[col] = values.astype(float) if to_float else values


def read_asic_catalogue(path: Path) -> pd.DataFrame:
    """The ASIC catalogue indexed by model; figures as floats."""
    table, models = _read(path, ASIC_COLUMNS)
    table["model"] = models
    for col in ASIC_COLUMNS:
        _check_numbers(path, table, col, positive=col != "price_usd", to_float=True)
    implied = table.power_w / table.hashrate_th_s
    off = (table.efficiency_j_per_th - implied).abs() > EFFICIENCY_TOLERANCE * implied
    if off.any():
        line = int(table.index[off.to_numpy()][0])
        raise input_error(
            path,
            at(line, "efficiency_j_per_th"),
            f"ASIC {models[line]!r}: must be within {EFFICIENCY_TOLERANCE:.0%} of power / "
            f"hashrate = {implied[line]:.3g} J/TH",
            table.at[line, "efficiency_j_per_th"],
        )
    return table.set_index("model")


def read_gpu_catalogue(path: Path) -> pd.DataFrame:
    """The GPU catalogue indexed by model, with ``it_power_w_per_gpu`` = GPU + server."""
    table, _ = _read(path, GPU_COLUMNS)
    for col in GPU_COLUMNS:
        _check_numbers(path, table, col, positive=False, to_float=False)
    table = table.set_index("model")
    table["it_power_w_per_gpu"] = table.gpu_power_w + table.server_overhead_w
    return table
