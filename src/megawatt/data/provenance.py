"""Provenance of the embedded default: where every figure comes from.

``provenance_table()`` lists each row of the default's data (generators, links,
applicants, monthly demand, scenario-level figures) with its reference ids, whether
it is reported (R) or estimated (E), and the notes that give the estimate's method.
``render()`` writes ``docs/data.md`` (a test keeps it current).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from megawatt.data import dataset_dir
from megawatt.io import read_csv_rows
from megawatt.scenario.model import Scenario


def sources(directory: Path | None = None) -> dict[str, dict[str, str]]:
    """The reference list (id -> title, publisher, date) of a dataset."""
    path = (directory or dataset_dir()) / "sources.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {key: {k: str(v) for k, v in value.items()} for key, value in data.items()}


def provenance_table(scenario: Scenario, directory: Path | None = None) -> pd.DataFrame:
    """One row per sourced item: file, item, figures, source ids, basis, notes."""
    directory = directory or dataset_dir()
    rows: list[dict[str, str]] = []
    for gen in scenario.generators:
        figures = f"{gen.p_nom_mw:g} MW, {gen.fuel_cost_local_per_kwh:g} local/kWh"
        if gen.capacity_charge_local_per_kw_month is not None:
            figures += f", capacity charge {gen.capacity_charge_local_per_kw_month:g}/kW-month"
        rows.append(_row("generators.csv", gen.name, figures, gen.provenance))
    for link in scenario.links:
        rows.append(
            _row("scenario.yaml", f"link {link.name}", f"{link.p_nom_mw:g} MW", link.provenance)
        )
    risk = scenario.risk
    if risk.source:
        hydro = ", ".join(f"{h.name} {h.factor:g}" for h in risk.hydro_years) or "scenario's own"
        rows.append(
            {
                "file": "scenario.yaml",
                "item": "risk",
                "figures": f"BTC {risk.price_model} drift {risk.price_drift:g} vol "
                f"{risk.price_volatility:g}; demand growth {risk.demand_growth_mean:g} "
                f"+/- {risk.demand_growth_sd:g}/yr; hydro years {hydro}",
                "source": risk.source,
                "basis": "R+E",
                "notes": "",
            }
        )
    for app in scenario.applicants:
        rows.append(
            _row("applicants.yaml", app.name, f"{app.requested_mw:g} MW {app.kind}", app.provenance)
        )
    monthly = directory / "demand_monthly.csv"
    _, demand_rows = read_csv_rows(monthly) if monthly.is_file() else ([], [])
    for _, row in demand_rows:
        rows.append(
            {
                "file": "demand_monthly.csv",
                "item": row["month"],
                "figures": f"{row['energy_gwh']} GWh",
                "source": row.get("source", ""),
                "basis": row.get("basis", ""),
                "notes": row.get("notes", ""),
            }
        )
    catalogues = dataset_dir().parent  # the packaged ASIC and GPU catalogues
    for file, key, figures in (
        ("asics.csv", "model", "{hashrate_th_s} TH/s, {power_w} W, ${price_usd}"),
        (
            "gpus.csv",
            "model",
            "{gpu_power_w} W + {server_overhead_w} W, ${system_price_usd_per_gpu}/GPU",
        ),
    ):
        path = catalogues / file
        if not path.exists():
            continue
        _, cat_rows = read_csv_rows(path)
        for _, row in cat_rows:
            rows.append(
                {
                    "file": file,
                    "item": row[key],
                    "figures": figures.format(**row),
                    "source": row.get("source", ""),
                    "basis": row.get("basis", ""),
                    "notes": row.get("notes", ""),
                }
            )
    econ = scenario.economics
    extra = []
    if econ is not None:
        for kind in ("btc_miner", "ai_datacenter"):
            f = getattr(econ, kind)
            extra.append(
                (
                    f"economics {kind}",
                    f"{f.jobs_per_mw:g} jobs/MW, ${f.facility_capex_usd_per_mw:,.0f}/MW, "
                    f"${f.opex_usd_per_mw_year:,.0f}/MW-year",
                    f.source,
                )
            )
        extra.append(
            (
                "economics market path",
                f"{len(econ.market_path)} years, FX share {econ.tariff_paid_in_usd_share:g}",
                econ.source,
            )
        )
    for item, figures, text in [
        *extra,
        (
            "exchange rate",
            f"{scenario.currency.local_per_usd:g} {scenario.currency.code}/USD",
            scenario.currency.source,
        ),
        ("demand shape and zone shares", str(scenario.demand.zone_shares), scenario.demand.source),
        ("program", f"cap {scenario.program.cap_mw:g} MW", scenario.program.source),
        (
            "tariff",
            f"{scenario.program.tariff.local_per_kwh:g} {scenario.currency.code}/kWh",
            scenario.program.tariff.source,
        ),
        ("market", f"BTC ${scenario.market.btc_price_usd:,.0f}", scenario.market.source),
        (
            "VOLL",
            f"{scenario.voll_usd_per_mwh:g} USD/MWh",
            "[E] well above any applicant's tariff so national demand is served first",
        ),
    ]:
        basis = "E" if "[E]" in text and "[R]" not in text else ("R+E" if "[E]" in text else "R")
        rows.append(
            {
                "file": "scenario.yaml",
                "item": item,
                "figures": figures,
                "source": "",
                "basis": basis,
                "notes": text,
            }
        )
    return pd.DataFrame(rows)


def _row(file: str, item: str, figures: str, prov: object) -> dict[str, str]:
    return {
        "file": file,
        "item": item,
        "figures": figures,
        "source": prov.source,
        "basis": prov.basis,
        "notes": prov.notes,
    }  # type: ignore[attr-defined]


def render(scenario: Scenario, directory: Path | None = None) -> str:
    """The whole of docs/data.md."""
    refs = sources(directory)
    table = provenance_table(scenario, directory)
    lines = [
        "# Data provenance: the Pakistan FY2025 default",
        "",
        "<!-- Generated by `python -m megawatt.data.provenance`. Do not edit by hand. -->",
        "",
        "Every figure of the embedded default, where it comes from, and whether it is",
        "reported (**R**) by the source or an estimate (**E**) whose method is given.",
        "The data live in `src/megawatt/data/pakistan_fy2025/`; replace any file to use",
        "your own figures (`megawatt scenario init DIR` writes an editable copy).",
        "",
        "Hourly profiles (`profiles.csv`) are estimates made by",
        "`python -m megawatt.data.build_profiles` from monthly and annual figures: hydro",
        "monthly capacity factors from FY25 monthly hydel energy, wind monthly capacity",
        "factors (24% a year, 7% Nov to 39% Jun), solar from solar geometry scaled to the",
        "reported 19.3% capacity factor, bagasse from the crushing season, nuclear",
        "monthly availability from FY25 monthly nuclear generation (reported for eleven",
        "months, March takes the rest of the year's energy), and Jamshoro's",
        "coal unit in service from August 2024.",
        "",
        "## Items",
        "",
        "| file | item | figures | sources | basis | notes |",
        "|---|---|---|---|---|---|",
    ]
    for row in table.itertuples(index=False):
        notes = str(row.notes).replace("|", "\\|").replace("\n", " ")
        lines.append(
            f"| {row.file} | {row.item} | {row.figures} | {row.source} | {row.basis} | {notes} |"
        )
    lines += ["", "## References", "", "| id | title | publisher | date |", "|---|---|---|---|"]
    for key, ref in refs.items():
        lines.append(
            f"| `{key}` | {ref.get('title', '')} | {ref.get('publisher', '')} | "
            f"{ref.get('date', '')} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    from megawatt.scenario import load_default

    print(render(load_default()), end="")
