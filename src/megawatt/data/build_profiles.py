"""Rebuild the default dataset's hourly availability profiles (``profiles.csv``).

No public hourly series exists for Pakistan's wind, solar, hydro or bagasse output,
so the default profiles are estimates [E] made by this script from reported monthly
and annual figures (FACTS.md, sources.yaml). The shipped CSV is this script's output;
a test checks that they agree. Run ``python -m megawatt.data.build_profiles``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from megawatt.data import dataset_dir
from megawatt.grid.profiles import monthly_pu, solar_pu, wind_pu

# FY25 monthly hydel generation [GWh], Jan..Dec (cppa-fy25) [R].
HYDRO_GWH_BY_MONTH = (866, 1883, 1297, 2306, 4844, 5410, 5341, 5362, 4838, 3187, 2860, 1778)
# Hydro capacity [MW]: WAPDA 9,459 [R] + IPP 1,911 [E] (generators.csv).
HYDRO_MW = 9459 + 1911
# FY25 monthly nuclear generation [GWh], Jan..Dec. Reported [R] (NEPRA monthly data via
# Arif Habib Ltd and Topline, press; sources.yaml nepra-monthly-fy25): Jul 1,988, Aug 2,190,
# Sep 1,598 (12.8% of 12,487), Oct 1,443 (Oct 2023 1,826 - 21%), Nov 1,655 (Nov 2023 1,572
# + 5.3%), Dec 2,065, Jan 2,177 (Jan 2024 1,728 + 26%), Feb 1,847 (26.6% of 6,945), Apr 1,882
# (17.9% of 10,513), May 2,012, Jun 1,383. March [E]: not found; the rest of the FY25 total
# 22,456 GWh (cppa-fy25).
NUCLEAR_GWH_REPORTED = {
    1: 2177,
    2: 1847,
    4: 1882,
    5: 2012,
    6: 1383,
    7: 1988,
    8: 2190,
    9: 1598,
    10: 1443,
    11: 1655,
    12: 2065,
}
NUCLEAR_GWH_FY25 = 22456
# Nuclear capacity [MW]: Chashma C1-C4 1,330 + K-2 1,100 + K-3 1,100 [R] (generators.csv).
NUCLEAR_MW = 1330 + 2200
# Jamshoro's 660 MW coal unit: commercial operation from August 2024 [R] (FACTS.md).
JAMSHORO_FIRST_MONTH = (2024, 8)
# Wind monthly capacity factors [-], Jan..Dec [E]: annual 24.4% = FY25 wind 3,840 GWh /
# (1,800 MW x 8760 h) [R]; 7% in Nov to 39% in Jun (FACTS.md); monsoon winds May-Sep.
WIND_CF_BY_MONTH = (0.14, 0.15, 0.18, 0.26, 0.36, 0.39, 0.39, 0.38, 0.31, 0.17, 0.07, 0.13)
# Bagasse availability [-], Jan..Dec [E]: sugar-cane crushing season Nov-Mar.
BAGASSE_BY_MONTH = (0.85, 0.8, 0.6, 0.2, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.6, 0.85)
# Grid solar: QA Solar Park (29.3 N, 71.8 E) CF 19.3% [R]; Sindh plants (25.0 N, 68.0 E)
# assumed 20% [E] (lower latitude, same technology).
SOLAR_SITES = {"solar_north": (29.3, 71.8, 0.193), "solar_south": (25.0, 68.0, 0.20)}


def hydro_monthly_cf(timestamps_local: pd.DatetimeIndex) -> list[float]:
    """Monthly hydro capacity factors [-] Jan..Dec from FY25 energy over hours in month."""
    hours = pd.Series(1, index=timestamps_local).groupby(timestamps_local.month).sum()
    return [HYDRO_GWH_BY_MONTH[m - 1] * 1000.0 / (HYDRO_MW * hours[m]) for m in range(1, 13)]


def nuclear_gwh_by_month() -> list[float]:
    """FY25 nuclear energy per calendar month [GWh], Jan..Dec: reported, gaps [E] even."""
    gaps = [m for m in range(1, 13) if m not in NUCLEAR_GWH_REPORTED]
    rest = (NUCLEAR_GWH_FY25 - sum(NUCLEAR_GWH_REPORTED.values())) / len(gaps)
    return [float(NUCLEAR_GWH_REPORTED.get(m, rest)) for m in range(1, 13)]


def nuclear_monthly_pu(timestamps_local: pd.DatetimeIndex) -> list[float]:
    """Monthly nuclear availability [-] Jan..Dec: the month's energy over capacity x hours.

    Nuclear runs at what is available (it is the cheapest thermal source and must-run),
    so its monthly output is its availability: refuelling and maintenance outages
    (September, June) show up as low months.
    """
    hours = pd.Series(1, index=timestamps_local).groupby(timestamps_local.month).sum()
    gwh = nuclear_gwh_by_month()
    return [min(1.0, gwh[m - 1] * 1000.0 / (NUCLEAR_MW * hours[m])) for m in range(1, 13)]


def in_service_pu(timestamps_local: pd.DatetimeIndex, first: tuple[int, int]) -> list[float]:
    """1 from the first (year, month) in service on, 0 before."""
    year, month = first
    return [1.0 if (t.year, t.month) >= (year, month) else 0.0 for t in timestamps_local]


def build(timestamps_local: pd.DatetimeIndex) -> pd.DataFrame:
    """All default profiles [per unit] on the given local hourly timestamps."""
    frame = pd.DataFrame(index=timestamps_local)
    frame["hydro_monthly_cf"] = monthly_pu(timestamps_local, hydro_monthly_cf(timestamps_local))
    frame["wind_south"] = wind_pu(timestamps_local, WIND_CF_BY_MONTH)
    for name, (lat, lon, cf) in SOLAR_SITES.items():
        frame[name] = solar_pu(timestamps_local, lat, cf, longitude_deg=lon)
    frame["bagasse_season"] = monthly_pu(timestamps_local, BAGASSE_BY_MONTH)
    frame["nuclear_monthly_pu"] = monthly_pu(timestamps_local, nuclear_monthly_pu(timestamps_local))
    frame["jamshoro_in_service"] = in_service_pu(timestamps_local, JAMSHORO_FIRST_MONTH)
    return frame


def to_csv_text(frame: pd.DataFrame) -> str:
    """CSV text with ISO timestamps carrying their offset and 4-decimal values."""
    out = frame.copy()
    out.index = [t.isoformat(timespec="minutes") for t in frame.index]
    out.index.name = "timestamp"
    return out.to_csv(float_format="%.4f", lineterminator="\n")


def default_timestamps() -> pd.DatetimeIndex:
    """FY2025 hours, Asia/Karachi: 1 Jul 2024 00:00 to 30 Jun 2025 23:00."""
    return pd.date_range("2024-07-01", periods=8760, freq="h", tz="Asia/Karachi")


def main(path: Path | None = None) -> Path:
    path = path or dataset_dir() / "profiles.csv"
    path.write_text(to_csv_text(build(default_timestamps())), encoding="utf-8")
    return path


if __name__ == "__main__":
    print(main())
