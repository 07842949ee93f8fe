"""The default baseline against FY2025: one table, computed from the exported results.

``calibration_table(generators, monthly_energy_gwh)`` takes the two exported tables
(``data/generators.parquet``, ``data/monthly_energy_gwh.parquet`` of ``megawatt plan``)
and the reported figures in ``pakistan_fy2025/calibration.yaml`` and returns one row per
check: model figure, reported figure, error, tolerance, met. ``python -m
megawatt.data.calibration`` plans the default and prints the Markdown table that
docs/calibration.md carries; a test recomputes it from the exports.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

TARGETS = Path(__file__).parent / "pakistan_fy2025" / "calibration.yaml"


def _signed(x: float, digits: int) -> float:
    """``x`` rounded as it is shown, without a negative zero: a solver's -1e-9 and
    +1e-9 of the same solution both print as +0.0 (the generated docs stay stable)."""
    return round(float(x), digits) + 0.0


def load_targets(path: Path = TARGETS) -> dict:
    """The reported FY25 figures and tolerances."""
    return yaml.safe_load(path.read_text())


def calibration_table(
    generators: pd.DataFrame, monthly_energy_gwh: pd.DataFrame, targets: dict | None = None
) -> pd.DataFrame:
    """One row per check (index ``check``): model, reported, error, tolerance, met.

    Errors: relative for energies (model / reported - 1), absolute for shares and
    capacity factors (model - reported). The monthly row counts the months within
    tolerance against ``months_needed``.
    """
    targets = targets or load_targets()
    rows = []
    energy = generators.groupby("technology").energy_mwh_baseline.sum() / 1e3
    tech = targets["technology_gwh"]
    for name, reported in tech["reported"].items():
        model = float(energy.get(name, 0.0))
        error = model / reported - 1.0
        rows.append(
            (
                f"{name} GWh",
                model,
                reported,
                error,
                tech["tolerance"],
                abs(error) <= tech["tolerance"],
            )
        )
    share = targets["imported_coal_share"]
    model = float(energy.get("imported_coal", 0.0) / energy.sum())
    error = model - share["reported"]
    rows.append(
        (
            "imported coal share",
            model,
            share["reported"],
            error,
            share["tolerance"],
            abs(error) <= share["tolerance"],
        )
    )
    plants = targets["plant_capacity_factor"]
    for plant, reported in plants["reported"].items():
        model = float(generators.loc[plant, "capacity_factor_baseline"])
        error = model - reported
        rows.append(
            (
                f"{plant} capacity factor",
                model,
                reported,
                error,
                plants["tolerance"],
                abs(error) <= plants["tolerance"],
            )
        )
    monthly = monthly_coal_table(monthly_energy_gwh, targets)
    months = targets["monthly_imported_coal_gwh"]
    within = int(monthly.met.sum())
    rows.append(
        (
            "months of imported coal within tolerance",
            float(within),
            float(len(monthly)),
            float(within - months["months_needed"]),
            months["tolerance"],
            within >= months["months_needed"],
        )
    )
    table = pd.DataFrame(
        rows, columns=["check", "model", "reported", "error", "tolerance", "met"]
    ).set_index("check")
    return table


def monthly_coal_table(
    monthly_energy_gwh: pd.DataFrame, targets: dict | None = None
) -> pd.DataFrame:
    """Imported-coal generation per local month, model baseline vs reported [GWh]."""
    targets = targets or load_targets()
    spec = targets["monthly_imported_coal_gwh"]
    m = monthly_energy_gwh
    coal = m[(m.case == "baseline") & (m.technology == "imported_coal")].set_index("month")
    rows = []
    for month, reported in spec["reported"].items():
        model = float(coal.energy_gwh.get(month, float("nan")))
        error = model / reported - 1.0
        rows.append((month, model, reported, error, abs(error) <= spec["tolerance"]))
    return pd.DataFrame(rows, columns=["month", "model", "reported", "error", "met"]).set_index(
        "month"
    )


def markdown(table: pd.DataFrame, monthly: pd.DataFrame) -> str:
    """The two tables as Markdown (docs/calibration.md)."""
    lines = [
        "| check | model | reported FY25 | error | tolerance | met |",
        "|---|---|---|---|---|---|",
    ]
    for check, r in table.iterrows():
        if check.endswith("GWh"):
            vals = (
                f"{r.model:,.0f}",
                f"{r.reported:,.0f}",
                f"{_signed(r.error, 3):+.1%}",
                f"{r.tolerance:.0%}",
            )
        elif check.startswith("months"):
            vals = (
                f"{r.model:.0f}",
                f"of {r.reported:.0f}",
                f"{_signed(r.error, 0):+.0f}",
                f"{r.tolerance:.0%} each",
            )
        else:
            vals = (
                f"{r.model:.2%}",
                f"{r.reported:.2%}",
                f"{_signed(r.error * 100, 2):+.2f} pp",
                f"{r.tolerance * 100:.1f} pp",
            )
        lines.append(f"| {check} | {' | '.join(vals)} | {'yes' if r.met else '**no**'} |")
    lines += ["", "| month | " + " | ".join(monthly.index) + " |", "|---|" + "---|" * len(monthly)]
    lines.append("| model GWh | " + " | ".join(f"{v:,.0f}" for v in monthly.model) + " |")
    lines.append("| CPPA-G GWh | " + " | ".join(f"{v:,.0f}" for v in monthly.reported) + " |")
    lines.append("| error | " + " | ".join(f"{_signed(v, 2):+.0%}" for v in monthly.error) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover - run by hand to regenerate the doc table
    from megawatt.accounts.tables import result_tables
    from megawatt.planning import run_plan
    from megawatt.scenario import load_default

    tables = result_tables(run_plan(load_default(), with_horizon=False))
    print(
        markdown(
            calibration_table(tables["generators"], tables["monthly_energy_gwh"]),
            monthly_coal_table(tables["monthly_energy_gwh"]),
        )
    )
