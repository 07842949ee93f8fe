"""Self-contained, offline HTML report for one megawatt run.

``render_report`` turns the result tables and run summary into a single HTML page: the
plotly.js bundle is inlined once, every figure from ``megawatt.report.figures`` is
embedded as a ``<div class="plot" data-figure="NAME">``, and the headline figures,
result tables, scenario YAML and provenance follow as escaped HTML. Nothing is loaded
from the network (no CDN, web fonts or MathJax), so the file can be mailed or archived
and still open years later. Figures whose tables are missing for a scenario are left
out with a one-line note instead of failing the whole report.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.offline

from megawatt.accounts import schema
from megawatt.report import figures

Tables = dict[str, pd.DataFrame]
PLOT_CONFIG: dict[str, Any] = {"displaylogo": False, "responsive": True}

STYLE = """
:root { --ink:#1b1f24; --muted:#5b6470; --line:#d9dee5; --accent:#1f4e79; --bg:#f6f8fa; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial,
  sans-serif; color: var(--ink); margin: 0; line-height: 1.45; background: #fff; }
main { max-width: 1200px; margin: 0 auto; padding: 24px 32px 64px; }
h1 { font-size: 1.9rem; margin: 0.2em 0 0.1em; }
h2 { font-size: 1.35rem; margin-top: 2.2em; border-bottom: 2px solid var(--accent);
  padding-bottom: 4px; }
h3 { font-size: 1.08rem; margin: 1.6em 0 0.3em; }
p.meta, p.caption, p.note { color: var(--muted); }
p.caption { margin: 0 0 0.4em; max-width: 60em; }
p.lead { font-weight: 600; max-width: 60em; }
table.sources td { font-size: 0.85rem; max-width: 40em; }
p.note { font-style: italic; }
.banner { background: #fff4d6; border: 1px solid #e6b800; border-left: 6px solid #e6b800;
  padding: 10px 14px; margin: 14px 0; border-radius: 4px; }
nav.toc { background: var(--bg); border: 1px solid var(--line); border-radius: 4px;
  padding: 8px 14px; font-size: 0.93rem; }
nav.toc a { margin-right: 14px; color: var(--accent); text-decoration: none; }
.plot { width: 100%; min-height: 300px; margin: 4px 0 18px; border: 1px solid var(--line);
  border-radius: 4px; padding: 4px; page-break-inside: avoid; break-inside: avoid; }
.tablewrap { overflow-x: auto; margin: 6px 0 18px; }
table { border-collapse: collapse; font-size: 0.88rem; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 7px; vertical-align: top; }
th { background: var(--bg); text-align: left; font-weight: 600; }
td.num { text-align: right; white-space: nowrap; }
tr.total td { font-weight: 600; border-top: 2px solid var(--ink); }
table.headline td.num { font-size: 1.02rem; font-weight: 600; }
table.headline td.group { color: var(--muted); font-size: 0.85rem; text-transform: uppercase;
  letter-spacing: 0.04em; padding-top: 12px; }
table.provenance td { font-size: 0.82rem; max-width: 40em; }
pre { background: var(--bg); border: 1px solid var(--line); padding: 12px; overflow-x: auto;
  font-size: 0.82rem; white-space: pre-wrap; }
footer { color: var(--muted); font-size: 0.82rem; margin-top: 3em; }
@media print {
  main { max-width: none; padding: 0; }
  nav.toc { display: none; }
  h2 { page-break-before: auto; page-break-after: avoid; }
  .plot { border: none; }
}
"""


# ---------------------------------------------------------------- number formatting


def fmt_number(value: Any, decimals: int | None = None) -> str:
    """Format a number with thousands separators and sensible decimals; inf -> never."""
    if value is None:
        return "\u2013"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(number):
        return "\u2013"
    if math.isinf(number):
        return "never" if number > 0 else "\u2212∞"
    if decimals is None:
        size = abs(number)
        decimals = 0 if size >= 100 else 1 if size >= 10 else 2 if size >= 0.1 else 3
        if size == 0:
            decimals = 0
    text = f"{number:,.{decimals}f}"
    return text.replace("-", "\u2212") if text.startswith("-") else text


def fmt_share(value: Any) -> str:
    """Format a 0-1 share as a percentage."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "\u2013"
    if math.isnan(number):
        return "\u2013"
    return f"{number:.1%}".replace("-", "\u2212")


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


# ---------------------------------------------------------------- tables


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


def table_html(
    frame: pd.DataFrame,
    *,
    formats: dict[str, Callable[[Any], str]] | None = None,
    headers: dict[str, str] | None = None,
    index_label: str | None = None,
    css_class: str = "data",
    total_rows: Iterable[str] = ("total",),
    table: str | None = None,
) -> str:
    """Render a DataFrame as an escaped HTML table with formatted numbers.

    ``table``, an exported table's name: column headers come from the results schema
    (:func:`megawatt.accounts.schema.header`, the same labels as the CLI and the
    workbook), with the unit a scaling formatter shows (``_musd`` -> M$); ``headers``
    overrides them."""
    formats = formats or {}
    headers = {
        str(c): _schema_header(table, str(c), formats.get(str(c))) for c in frame if table
    } | (headers or {})
    # A default 0..n-1 index carries no information; a named one (e.g. year) does.
    show_index = frame.index.name is not None or not (
        isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0
    )
    totals = set(total_rows)
    head = []
    if show_index:
        head.append(f"<th>{_esc(index_label or frame.index.name or '')}</th>")
    head += [f"<th>{_esc(headers.get(str(c), str(c).replace('_', ' ')))}</th>" for c in frame]
    rows = []
    # Object dtype keeps integer columns as ints (iterrows would upcast a mixed row to float).
    for key, row in frame.astype(object).iterrows():
        cells = []
        if show_index:
            cells.append(f"<td>{_esc(str(key).replace('_', ' '))}</td>")
        for column, value in row.items():
            formatter = formats.get(str(column))
            if formatter is not None:
                cells.append(f'<td class="num">{_esc(formatter(value))}</td>')
            elif _is_number(value):
                cells.append(f'<td class="num">{_esc(fmt_number(value))}</td>')
            elif isinstance(value, bool | np.bool_):
                cells.append(f"<td>{'yes' if value else 'no'}</td>")
            elif value is None or (isinstance(value, float) and math.isnan(value)):
                cells.append("<td>\u2013</td>")
            elif isinstance(value, pd.Timestamp):
                cells.append(f"<td>{_esc(value.strftime('%Y-%m-%d %H:%M'))}</td>")
            else:
                cells.append(f"<td>{_esc(str(value).replace('_', ' '))}</td>")
        css = ' class="total"' if str(key) in totals else ""
        rows.append(f"<tr{css}>{''.join(cells)}</tr>")
    return (
        f'<div class="tablewrap"><table class="{_esc(css_class)}"><thead><tr>{"".join(head)}'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def _schema_header(table: str, column: str, formatter: Callable[[Any], str] | None) -> str:
    entry = schema.find(table, column)
    scaled = _SCALED_UNIT.get(formatter) if formatter is not None else None
    if entry is not None and entry.role != "each" and entry.label and scaled:
        return f"{entry.label} {scaled}"
    return schema.header(table, column)


def _musd(value: Any) -> str:
    return fmt_number(float(value) / 1e6, 1) if _is_number(value) else fmt_number(value)


def _gwh_from_mwh(value: Any) -> str:
    return fmt_number(float(value) / 1e3, 1) if _is_number(value) else fmt_number(value)


def _bn(value: Any) -> str:
    return fmt_number(float(value) / 1e9, 1) if _is_number(value) else fmt_number(value)


def _kt(value: Any) -> str:
    return fmt_number(float(value) / 1e3, 0) if _is_number(value) else fmt_number(value)


#: The unit a scaling formatter shows (the schema's unit is the stored one).
_SCALED_UNIT: dict[Callable[[Any], str], str] = {_musd: "M$", _kt: "kt", _gwh_from_mwh: "GWh"}


def _one(decimals: int) -> Callable[[Any], str]:
    return lambda v: fmt_number(v, decimals)


def _whole_or_one(value: Any) -> str:
    """A whole number without decimals (hours, exact zeros), anything else with one."""
    if _is_number(value) and float(value).is_integer():
        return fmt_number(value, 0)
    return fmt_number(value, 1)


# ---------------------------------------------------------------- words from the results


def _span(tables: Tables, summary: dict[str, Any]) -> str:
    """The scenario's span for "over the ...": "365-day span", "14-day span"."""
    return figures.span_text(figures.span_hours(tables, summary))


def _names(items: Iterable[Any]) -> str:
    """ "a", "a and b", "a, b and c" from identifiers (underscores as spaces)."""
    words = [figures._pretty(str(i)) for i in items]
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} and {words[-1]}"


def _plants_phrase(tables: Tables) -> str:
    """ "the 3 program plants (a, b and c)", "the program plant a", or "the program plants"."""
    plants = figures.program_plants(tables)
    if not plants:
        return "the program plants"
    if len(plants) == 1:
        return f"the program plant {_names(plants)}"
    return f"the {len(plants)} program plants ({_names(plants)})"


def _tariff_phrase(tables: Tables) -> str:
    """What the dashed tariff line of the price plots is (flat or the lowest hourly one)."""
    tariff = tables.get("tariff_usd_per_mwh")
    if tariff is not None and tariff.shape[1] and len(tariff):
        values = tariff.iloc[:, 0].to_numpy(dtype=float)
        if np.ptp(values) <= 1e-9:
            return f"the flat program tariff ({fmt_number(values[0], 1)} USD/MWh)"
    if "horizon_meta" in tables:
        return "the program's lowest hourly tariff"
    return "the program's mean tariff"


def headline_html(summary: dict[str, Any], tables: Tables | None = None) -> str:
    """The headline table: each value from summary["headline"] with its unit, after a
    line saying over which span energy, money and emissions are summed."""
    head = summary.get("headline", {}) or {}
    scenario = summary.get("scenario", {}) or {}
    span = _span(tables or {}, summary)
    start = f" from {scenario['start_local']}" if scenario.get("start_local") else ""
    intro = (
        f"Energy, money, emissions and curtailment are totals over the {span}{start}; "
        "capacities are MW allocated."
    )
    currency = str(summary.get("scenario", {}).get("currency") or "local")
    rows: list[tuple[str, str, str]] = []  # (label, value, unit); value "" marks a group

    def add(label: str, key: str, unit: str, fmt: Callable[[Any], str] = fmt_number) -> None:
        if key in head and head[key] is not None:
            rows.append((label, fmt(head[key]), unit))

    rows.append(("National demand first", "", ""))
    add("National demand shed before the program", "shed_gwh_baseline", "GWh", _one(1))
    add("National demand shed with the program", "shed_gwh_program", "GWh", _one(1))
    rows.append(("Allocation", "", ""))
    add("Capacity allocated", "allocated_mw", "MW", _one(0))
    for kind, mw in (head.get("allocated_mw_by_kind") or {}).items():
        rows.append((f"… to {kind.replace('_', ' ')}s", fmt_number(mw, 0), "MW"))
    for plant, mw in (head.get("allocated_mw_by_plant") or {}).items():
        rows.append((f"… from {plant.replace('_', ' ')}", fmt_number(mw, 0), "MW"))
    rows.append(("Operation", "", ""))
    add("Energy served", "served_gwh", "GWh", _one(0))
    add("Energy curtailed", "curtailed_gwh", "GWh", _one(1))
    add("Hours with curtailment", "curtailment_hours", "h", _one(0))
    add("Curtailment events", "curtailment_events", "events", _one(0))
    add("Longest event", "events_longest_h", "h", _one(0))
    rows.append(("State finances", "", ""))
    add("State tariff revenue", "revenue_musd", "million USD", _one(1))
    add("State tariff revenue (local)", "revenue_local_bn", f"billion {currency}", _one(1))
    add("Incremental fuel cost", "incremental_fuel_musd", "million USD", _one(1))
    add("Margin over fuel", "margin_musd", "million USD", _one(1))
    add("Capacity charges of program plants", "capacity_charges_musd", "million USD", _one(1))
    add("Share of capacity charges recovered", "charge_recovered_share", "", fmt_share)
    add("Net foreign-exchange effect", "fx_net_musd", "million USD", _one(1))
    rows.append(("Economy and emissions", "", ""))
    add("Incremental CO2", "incremental_co2_kt", "kt CO2", _one(0))
    add("Jobs", "jobs", "jobs", _one(0))
    add("Applicant investment", "investment_musd", "million USD", _one(0))
    body = []
    for label, value, unit in rows:
        if value == "" and unit == "":
            body.append(f'<tr><td class="group" colspan="3">{_esc(label)}</td></tr>')
        else:
            body.append(
                f'<tr><td>{_esc(label)}</td><td class="num">{_esc(value)}</td>'
                f"<td>{_esc(unit)}</td></tr>"
            )
    notes = head.get("notes") or []
    notes_html = (
        '<ul class="notes">' + "".join(f"<li>{_esc(n)}</li>" for n in notes) + "</ul>"
        if notes
        else ""
    )
    return (
        f'<p class="caption">{_esc(intro)}</p>{notes_html}'
        '<div class="tablewrap"><table class="headline"><thead><tr><th>Headline</th>'
        f"<th>Value</th><th>Unit</th></tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


# ---------------------------------------------------------------- figures


def _figure_div(name: str, fig: go.Figure) -> str:
    inner = fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        include_mathjax=False,
        config=PLOT_CONFIG,
        div_id=f"fig-{name}",
    )
    return f'<div class="plot" data-figure="{_esc(name)}">{inner}</div>'


def _plot_block(
    name: str,
    title: str,
    caption: str | Callable[[], str],
    build: Callable[[], go.Figure],
    missing: str,
) -> str:
    """One captioned figure, or a one-line note when its data are missing.

    ``caption`` may be a function when it quotes the data (then a missing table in it
    leaves the plot out like one missing in ``build``).
    """
    try:
        fig = build()
        text = caption() if callable(caption) else caption
    except KeyError as error:
        return (
            f'<h3>{_esc(title)}</h3><p class="note">Not shown: {_esc(missing)} '
            f"(missing {_esc(error)}).</p>"
        )
    return f'<h3>{_esc(title)}</h3><p class="caption">{_esc(text)}</p>{_figure_div(name, fig)}'


def _dispatch_week_caption(tables: Tables, summary: dict[str, Any]) -> str:
    """The dispatch stack's caption: which week is shown and why."""
    tz = figures._timezone(summary)
    rows, peak, at = figures.stack_week(tables, summary)
    local = figures._local_index(tables["dispatch_program_mw"].iloc[rows], tz)
    span = f"{local[0]:%a %d %b} to {local[-1]:%a %d %b %Y}"
    if at is None:
        why = "the first week of the span, as no program load is curtailed"
    else:
        why = (
            "the week holding the program's largest curtailment hour "
            f"({fmt_number(peak, 0)} MW cut, first at {at:%H:%M on %a %d %b})"
        )
    return (
        f"Hourly generation of the program case by technology, stacked (MW), {span} "
        f"({tz}): {why}. The solid line is national demand, the dashed line demand plus "
        "the program's served load; the stack tops the dashed line by transmission losses. "
        "Where the dashed line drops toward the solid one, program loads are curtailed."
    )


def _link_flow_caption(tables: Tables) -> str:
    """The link flow caption, with each link's congested hours from the links table."""
    text = (
        "Hourly flow on each link (MW, as sent; positive from its first zone to its "
        "second) sorted from the largest hour down, baseline dotted and program solid, "
        "with the transfer limit dashed red; the gap to the limit is spare transfer "
        "capacity, and a curve that runs along its limit is congestion."
    )
    links = tables.get("links")
    if links is None:
        return text + " These results have no links table: limits and congested hours unknown."
    counts = []
    for link in dict.fromkeys(links.index.get_level_values("link")):
        part = links.xs(link, level="link")["congested_hours"]
        hours = ", ".join(f"{case} {fmt_number(int(h))} h" for case, h in part.items())
        counts.append(f"{str(link).replace('_', ' ')}: {hours}")
    text += f" Hours at a limit (congested): {'; '.join(counts)}."
    if "forward_limit_mw" not in links:
        text += " These results were saved without the transfer limits, so no limit line is drawn."
    return text


def _monthly_energy_caption(tables: Tables, summary: dict[str, Any]) -> str:
    """Which technology's output the program raises most, from ``monthly_energy_gwh``."""
    data = tables["monthly_energy_gwh"]
    by_case = data.pivot_table(
        index="technology", columns="case", values="energy_gwh", aggfunc="sum", fill_value=0.0
    )
    text = "Stacked monthly generation by technology without (left) and with (right) the program"
    if not {"baseline", "program"} <= set(by_case.columns):
        return text + "."
    change = (by_case["program"] - by_case["baseline"]).sort_values(ascending=False)
    total = float(change.sum())
    span = _span(tables, summary)
    if total <= 0 or change.iloc[0] <= 0:
        change_gwh = fmt_number(total, 0)
        return f"{text}; over the {span} the program changes generation by {change_gwh} GWh."
    top = str(change.index[0])
    return (
        f"{text}. Over the {span} the program adds {fmt_number(total, 0)} GWh of "
        f"generation; the largest rise is {figures._pretty(top)} output "
        f"(+{fmt_number(float(change.iloc[0]), 0)} GWh, "
        f"{fmt_share(float(change.iloc[0]) / total)} of the rise)."
    )


def _plant_utilisation_caption(tables: Tables) -> str:
    """The plants shown in the utilisation chart, from the ``plants`` table."""
    plants = tables["plants"]
    suffix = figures.FLEET_SUFFIX
    fleets = [str(p)[: -len(suffix)].strip() for p in plants.index if str(p).endswith(suffix)]
    also = f" and of the {_names(fleets)} fleet as a whole" if fleets else ""
    return (
        f"Capacity factor of {_plants_phrase(tables)}{also}, before (light) and after "
        "(dark) the program; higher bars mean idle capacity being put to work."
    )


def _revenue_caption(tables: Tables, summary: dict[str, Any]) -> str:
    return (
        "Tariff revenue less the incremental fuel bill gives the margin, set against the "
        f"capacity charges the state already owes {_plants_phrase(tables)} for the same "
        "span: the red part is what the program leaves unrecovered (million USD over the "
        f"{_span(tables, summary)})."
    )


def _break_even_caption(tables: Tables) -> str:
    """The miners' break-even caption: the halving date and the data centers left off."""
    tables["horizon_values_usd_per_mwh"]  # a KeyError leaves the plot out
    text = (
        "Value of one MWh to each Bitcoin miner per contract period (hashprice path) "
        "against the tariff; a miner is viable while its line stays above the dashed tariff."
    )
    halving = figures.halving_date(tables)
    if halving is not None:
        text += f" The dotted line marks the next halving (estimated {halving:%d %b %Y})."
    values = tables.get("values")
    if values is not None and {"kind", "value_usd_per_mwh"} <= set(values.columns):
        ai = values[values["kind"].astype(str).str.startswith("ai")]
        if len(ai):
            low, high = ai["value_usd_per_mwh"].min(), ai["value_usd_per_mwh"].max()
            worth = (
                f"{fmt_number(low, 0)} USD/MWh"
                if high - low < 0.5
                else f"{fmt_number(low, 0)}\u2013{fmt_number(high, 0)} USD/MWh"
            )
            tariff = figures._tariff(tables)
            against = f" against a tariff of {fmt_number(tariff, 1)} USD/MWh" if tariff else ""
            text += (
                f" AI data centers ({_names(ai.index)}: {worth}{against}) are left off the chart."
            )
    return text


def _figures_html(tables: Tables, summary: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Sections (anchor, heading, html) holding all the plots."""
    tz = str(summary.get("scenario", {}).get("timezone") or "UTC")
    sections: list[tuple[str, str, str]] = []

    parts = []
    surplus = tables.get("surplus_mw")
    if surplus is None or surplus.empty:
        parts.append('<p class="note">Not shown: no surplus_mw table in these results.</p>')
    else:
        for zone in surplus.columns:
            parts.append(
                _plot_block(
                    f"surplus_heatmap_{zone}",
                    f"Surplus at the tariff, {zone}",
                    f"Surplus at the tariff in the {zone} zone (MW) for each day (x) and "
                    f"hour of day in {tz} (y): the spare capacity, in the baseline without "
                    "the program, of generators whose marginal cost is at or below the "
                    "program tariff, energy-limited (hydro) generators left out as their "
                    "spare MW has no spare water behind it. It is the MW the program could "
                    "take at the tariff, before transmission limits; brighter cells mean "
                    "more MW.",
                    lambda z=zone: figures.surplus_heatmap(tables, z, summary),
                    "surplus data",
                )
            )
    sections.append(("surplus", "Surplus capacity", "".join(parts)))

    parts = [
        _plot_block(
            "monthly_energy",
            "Monthly generation by technology",
            lambda: _monthly_energy_caption(tables, summary),
            lambda: figures.monthly_energy(tables, summary),
            "monthly energy table",
        ),
        _plot_block(
            "dispatch_week",
            "Dispatch in one week",
            lambda: _dispatch_week_caption(tables, summary),
            lambda: figures.dispatch_week(tables, summary),
            "dispatch, generator, demand or curtailment tables",
        ),
        _plot_block(
            "plant_utilisation",
            "Plant utilisation",
            lambda: _plant_utilisation_caption(tables),
            lambda: figures.plant_utilisation(tables, summary),
            "plants table",
        ),
        _plot_block(
            "zonal_prices",
            "Zonal prices",
            lambda: (
                "Daily mean marginal price per zone, baseline dotted and program solid, with "
                f"{_tariff_phrase(tables)} dashed; where prices sit above the tariff the "
                "program sells below system marginal cost."
            ),
            lambda: figures.zonal_prices(tables, summary),
            "price tables",
        ),
        _plot_block(
            "price_duration",
            "Price duration curves",
            "Each zone's hourly marginal price (USD/MWh) sorted from the dearest hour down, "
            "baseline dotted and program solid, with the program tariff dashed. Hours left "
            "of where a price curve crosses the tariff are hours in which the system's "
            "marginal cost exceeds what the program pays; the gap between the dotted and "
            "solid curves is what the program adds to prices.",
            lambda: figures.price_duration(tables, summary),
            "price tables",
        ),
        _plot_block(
            "link_flow_duration",
            "Link flows",
            lambda: _link_flow_caption(tables),
            lambda: figures.link_flow_duration(tables, summary),
            "flow tables",
        ),
    ]
    sections.append(("system", "Generation, prices and transmission", "".join(parts)))

    parts = [
        _plot_block(
            "curtailment_duration",
            "Curtailment duration curve",
            f"Hourly curtailed load of the whole program over the {_span(tables, summary)}, "
            "sorted from the largest hour down; the width of the curve is the number of "
            "hours in which loads were cut.",
            lambda: figures.curtailment_duration(tables, summary),
            "curtailment data",
        ),
        _plot_block(
            "curtailment_heatmap",
            "Curtailment by month and hour",
            f"Energy curtailed from the whole program (MWh, summed over applicants) in each "
            f"month (x) and hour of day in {tz} (y); the cells add up to the span's "
            "curtailed energy. A load is curtailed where serving it would cost the system "
            "more than the tariff (the zonal price is above it) or the grid has no room "
            "for it: darker cells are the seasons and hours where that happens.",
            lambda: figures.curtailment_heatmap(tables, summary),
            "curtailment data",
        ),
        _plot_block(
            "event_length_histogram",
            "Curtailment event lengths",
            "How many curtailment events each applicant saw, by event length in hours; short "
            "events matter less to miners than to data centers that need backup.",
            lambda: figures.event_length_histogram(tables, summary),
            "curtailment events table",
        ),
    ]
    sections.append(("curtailment", "Curtailment", "".join(parts)))

    parts = [
        _plot_block(
            "revenue_waterfall",
            "State revenue waterfall",
            lambda: _revenue_caption(tables, summary),
            lambda: figures.revenue_waterfall(tables, summary),
            "balance figures",
        ),
        _plot_block(
            "miner_break_even",
            "Miner break-even over time",
            lambda: _break_even_caption(tables),
            lambda: figures.miner_break_even(tables, summary),
            "no market horizon in this scenario",
        ),
    ]
    sections.append(("economics", "State and applicant economics", "".join(parts)))
    return sections


# ---------------------------------------------------------------- risk

PRICE_MODELS: dict[str, str] = {
    "gbm": "Bitcoin price as a geometric Brownian motion",
    "bootstrap": "Bitcoin price block-bootstrapped from historical daily returns",
}
RISK_FAILURES_SHOWN = 50

# (metric, plotted title, plotted unit, caption) of the fan charts, in report order.
# A caption's {span} and {plants} are filled from the results (_span, _plants_phrase).
RISK_FANS: list[tuple[str, str, str, str]] = [
    (
        "margin_musd",
        "State margin over fuel",
        "million USD",
        "The state's margin (tariff revenue less incremental fuel) in each year across the "
        "draws, a draw-year being the grid over the {span} under that year's market: the "
        "light band holds 80% of the draws (P10-P90), the dark band the middle half "
        "(P25-P75), the line the median. The dashed line is the capacity charges the state "
        "already owes {plants} for the {span}.",
    ),
    (
        "charge_recovered_share",
        "Capacity charges recovered",
        "%",
        "Share of the capacity charges of {plants} that the margin recovers, by year "
        "across the draws (P10-P90 light, P25-P75 dark, median line).",
    ),
    (
        "curtailment_hours",
        "Hours with curtailment",
        "h",
        "Hours of the {span} in which the grid curtails at least one allocated applicant, "
        "by year across the draws; it moves with demand, hydrology and which miners still "
        "draw power.",
    ),
    (
        "hashprice_usd_per_ph_day",
        "Hashprice",
        "USD/PH/day",
        "Miners' revenue per unit of hashrate drawn for each year: the market input that "
        "decides whether a miner's power is worth the tariff.",
    ),
]

RISK_METRIC_HEADERS: dict[str, str] = {
    "margin_musd": "margin M$",
    "charge_recovered_share": "charges recovered",
    "served_gwh": "served GWh",
    "curtailment_hours": "curtailment h",
    "hashprice_usd_per_ph_day": "hashprice USD/PH/day",
    "btc_price_usd": "BTC price USD",
}
RISK_METRIC_FORMATS: dict[str, Callable[[Any], str]] = {
    "margin_musd": _one(1),
    "charge_recovered_share": fmt_share,
    "served_gwh": _one(0),
    "curtailment_hours": _one(0),
    "hashprice_usd_per_ph_day": _one(1),
    "btc_price_usd": _one(0),
}


def _plain_int(value: Any) -> str:
    """An identifier-like integer (year, draw, seed) without thousands separators."""
    try:
        return str(int(value))
    except (TypeError, ValueError):
        return fmt_number(value)


def _risk_intro(tables: Tables, summary: dict[str, Any]) -> str:
    """The paragraph stating how the Monte Carlo was run (from ``summary["risk"]``)."""
    info = summary.get("risk") or {}
    draws = tables["risk_draws"]
    recorded = info.get("years") or (sorted(set(draws["year"])) if "year" in draws else [])
    years = [int(y) for y in recorded]
    n_draws = info.get("draws")
    if n_draws is None and "draw" in draws:
        n_draws = int(draws["draw"].nunique())
    failed = info.get("failed_draw_years")
    if failed is None and "failed" in draws:
        failed = int(draws["failed"].fillna(False).astype(bool).sum())
    span = f" ({years[0]}\u2013{years[-1]})" if years else ""
    facts = [f"{fmt_number(n_draws)} Monte Carlo draws of the market path{span}"]
    if info.get("seed") is not None:
        facts.append(f"seed {_plain_int(info['seed'])}")
    if info.get("scenario_years") is not None:
        facts.append(f"{fmt_number(info['scenario_years'])} scenario-years")
    if info.get("price_model"):
        model = str(info["price_model"])
        facts.append(PRICE_MODELS.get(model, f"price model {model}"))
    if info.get("lp_cases") is not None:
        facts.append(f"{fmt_number(info['lp_cases'])} distinct program LP cases solved")
    if failed is not None:
        facts.append(f"{fmt_number(failed)} failed draw-years left out of the statistics")
    if info.get("seconds") is not None:
        facts.append(f"computed in {fmt_number(info['seconds'], 0)} s")
    text = "; ".join(facts) + "."
    if not info:
        text += " (No risk entry in summary.json: seed, price model and LP cases not recorded.)"
    varied = [
        label
        for column, label in (("demand_level", "national demand"), ("hydro_year", "hydrology"))
        if column in draws and draws[column].nunique(dropna=True) > 1
    ]
    if varied:
        text += f" Each draw also samples {' and '.join(varied)}."
    return f"<p>{_esc(text)}</p>"


def _risk_percentiles_html(tables: Tables) -> str:
    """The P10/P50/P90 table per year (``risk_percentiles``), or a note when absent."""
    frame = tables.get("risk_percentiles")
    title = "<h3>Percentiles by year</h3>"
    if frame is None or frame.empty:
        return title + '<p class="note">Not available: no risk_percentiles table.</p>'
    frame = frame.set_index("year") if "year" in frame else frame.copy()
    frame.index = [_plain_int(y) for y in frame.index]
    frame.index.name = "year"
    headers: dict[str, str] = {"failed_draws": "failed draws"}
    formats: dict[str, Callable[[Any], str]] = {}
    for metric, label in RISK_METRIC_HEADERS.items():
        for p in ("p10", "p50", "p90"):
            headers[f"{metric}_{p}"] = f"{label} {p.upper()}"
            formats[f"{metric}_{p}"] = RISK_METRIC_FORMATS[metric]
    caption = (
        "P10, P50 (median) and P90 of each result over the draws that solved, per year; "
        "money in million USD, charges recovered as a share of the capacity charges."
    )
    return (
        f'{title}<p class="caption">{_esc(caption)}</p>'
        f"{table_html(frame, headers=headers, formats=formats, index_label='year')}"
    )


def _risk_failures_html(tables: Tables) -> str:
    """The failed draw-years (first ``RISK_FAILURES_SHOWN``), or nothing when none failed."""
    frame = tables.get("risk_failures")
    if frame is None or frame.empty:
        return ""
    total = len(frame)
    shown = frame.head(RISK_FAILURES_SHOWN)
    more = f", the first {len(shown)} shown" if total > len(shown) else ""
    caption = (
        f"{total:,} draw-years failed to solve{more}. They are left out of the plots and "
        "percentiles above; the seed reproduces a draw."
    )
    table = table_html(
        shown,
        table="risk_draws",  # a failure carries its draw's parameters (risk_draws columns)
        formats={
            "draw": _plain_int,
            "year": _plain_int,
            "seed": _plain_int,
            "demand_level": _one(3),
            "btc_price_usd": _one(0),
            "hashprice_usd_per_ph_day": _one(1),
        },
        css_class="data failures",
    )
    return f'<h3>Failed draws</h3><p class="caption">{_esc(caption)}</p>{table}'


def _risk_html(tables: Tables, summary: dict[str, Any]) -> str:
    """The Risk section's body: how it was run, the plots, percentiles and failures."""
    parts = [_risk_intro(tables, summary)]
    words = {"span": _span(tables, summary), "plants": _plants_phrase(tables)}
    halving = figures.halving_year(tables)
    date = figures.halving_date(tables)
    if halving is None:
        years = "the first and the last year (no halving in the years drawn)"
    else:
        when = f"estimated {date:%d %b %Y}" if date is not None else f"in {halving}"
        years = f"the first year, the first year at or after the halving ({when}) and the last"
    for metric, title, unit, caption in RISK_FANS:
        parts.append(
            _plot_block(
                f"risk_fan_{metric}",
                title,
                caption.format(**words),
                lambda m=metric, t=title, u=unit: figures.risk_fan(tables, m, t, u, summary),
                f"no {metric} in the risk draws",
            )
        )
        if metric == "margin_musd":
            parts.append(
                _plot_block(
                    "risk_histogram_margin_musd",
                    "Margin distribution",
                    f"Distribution of the state's margin over the draws in {years}; "
                    "dotted lines mark each year's median.",
                    lambda: figures.risk_histogram(
                        tables, "margin_musd", "State margin over fuel", "million USD", summary
                    ),
                    "no margin in the risk draws",
                )
            )
    parts.append(
        _plot_block(
            "risk_viability",
            "Miner viability",
            "Share of the draws in which each Bitcoin miner's value per MWh reaches the "
            "tariff, by year; a miner below the tariff stops drawing power.",
            lambda: figures.risk_viability(tables, summary),
            "risk viability table",
        )
    )
    parts.append(_risk_percentiles_html(tables))
    parts.append(_risk_failures_html(tables))
    return "".join(parts)


# ---------------------------------------------------------------- result tables


def _tables_html(tables: Tables, summary: dict[str, Any]) -> str:
    currency = str(summary.get("scenario", {}).get("currency") or "local")
    span = _span(tables, summary)
    hours = figures.span_hours(tables, summary)
    out: list[str] = []

    def section(title: str, key: str, caption: str, render: Callable[[pd.DataFrame], str]) -> None:
        frame = tables.get(key)
        out.append(f"<h3>{_esc(title)}</h3>")
        if frame is None or frame.empty:
            out.append(f'<p class="note">Not available: no {_esc(key)} table in these results.</p>')
            return
        out.append(f'<p class="caption">{_esc(caption)}</p>{render(frame)}')

    section(
        "Allocations",
        "allocations",
        "Requested and allocated capacity per applicant, energy served, curtailed and "
        "supplied from backup, and curtailment statistics.",
        lambda f: table_html(
            f,
            index_label="applicant",
            table="allocations",
            formats={
                "requested_mw": _one(0),
                "allocated_mw": _one(0),
                "served_gwh": _one(1),
                "curtailed_gwh": _one(1),
                "backup_gwh": _one(1),
                "mean_event_h": _one(1),
            },
        ),
    )
    section(
        "State balance by plant",
        "balance",
        f"Revenue, fuel, margin and capacity charges over the {span} for each of "
        f"{_plants_phrase(tables)}, the rest of the system's redispatch, and the total. "
        "Money in million USD unless noted.",
        lambda f: table_html(
            f,
            index_label="plant",
            table="balance",
            headers={"revenue_local": f"revenue bn {currency}"},
            formats={
                "revenue_usd": _musd,
                "revenue_local": _bn,
                "incremental_fuel_usd": _musd,
                "margin_usd": _musd,
                "capacity_charge_usd": _musd,
                "imported_fuel_usd": _musd,
                "fx_net_usd": _musd,
                "incremental_co2_t": _kt,
                "capacity_factor_baseline": fmt_share,
                "capacity_factor_program": fmt_share,
                "charge_recovered_share": fmt_share,
            },
        ),
    )
    section(
        "Applicant accounts",
        "applicant_accounts",
        f"Each applicant's accounts over the {span}: value of the power to it, revenue, "
        "costs and net result (million USD), investment and simple payback in years: "
        "investment over the net result annualised"
        + (f" (\u00d7 8,760 h / {hours:,} h)" if hours else "")
        + " ('never' when the net result is not positive).",
        lambda f: table_html(
            f,
            index_label="applicant",
            table="applicant_accounts",
            formats={
                "allocated_mw": _one(0),
                "served_mwh": _gwh_from_mwh,
                "value_usd_per_mwh": _one(1),
                "revenue_usd": _musd,
                "energy_cost_usd": _musd,
                "backup_cost_usd": _musd,
                "opex_usd": _musd,
                "net_usd": _musd,
                "capex_usd": _musd,
                "payback_years": _one(1),
                "jobs": _one(0),
                "btc_mined": _one(0),
                "uptime_achieved": fmt_share,
            },
        ),
    )
    section(
        "Caps: shadow prices",
        "caps",
        "The program cap and each zone and plant cap in the program case: the limit, what "
        "is allocated under it, and the LP dual: what one more MW of cap would add to the "
        "state's welfare over the span (USD per MW). Zero where the cap does not bind.",
        lambda f: table_html(
            f,
            index_label="cap",
            table="caps",
            formats={"limit_mw": _one(0), "allocated_mw": _one(0), "value_usd_per_mw": _one(0)},
        ),
    )
    section(
        "Links: congestion",
        "links",
        "Energy sent each way on each link without and with the program, the hours in which "
        "the link sits at its limit, the value of one more MW of transfer limit over "
        "the span (sum of the hourly shadow prices, USD per MW): where transmission binds; "
        "and the transfer limit each way (MW).",
        lambda f: table_html(
            f.reset_index(level="case"),
            index_label="link",
            table="links",
            formats={
                "forward_gwh": _one(0),
                "reverse_gwh": _one(0),
                "value_usd_per_mw": _one(0),
                "forward_limit_mw": _one(0),
                "reverse_limit_mw": _one(0),
            },
        ),
    )
    reserve_table = tables.get("reserve")
    if reserve_table is None or reserve_table.empty:
        out.append(
            '<h3>Spinning reserve</h3><p class="note">Not held in this scenario: '
            "<code>dispatch.reserve</code> is off (docs/calibration.md gives its solve "
            "time and effect).</p>"
        )
    else:
        section(
            "Spinning reserve",
            "reserve",
            "Each zone holds spinning reserve for the loss of its largest unit: online headroom "
            "of generators, or program load that drops on call (miners). The requirement, the "
            "hours in which holding it costs something (its price, the dual of the reserve "
            "row, USD per MW per hour), the reserve held by generators and by program loads "
            "over the span (MW-h), and what the program loads' share is worth at that price: "
            "a benefit of flexible load that a grid without it pays in held-back generation.",
            lambda f: table_html(
                f.reset_index(level="case"),
                index_label="zone",
                table="reserve",
                formats={
                    "requirement_mw": _one(0),
                    "mean_price_usd_per_mw_h": _one(2),
                    "from_generators_mwh": _one(0),
                    "from_program_mwh": _one(0),
                    "program_value_usd": _musd,
                },
            ),
        )
    horizon_formats = {
        "btc_price_usd": _one(0),
        "network_hashrate_eh_s": _one(0),
        "subsidy_btc": _one(3),
        "served_gwh": _one(0),
        "revenue_musd": _one(1),
        "margin_musd": _one(1),
        "charge_recovered_share": fmt_share,
        "hashprice_usd_per_ph_day": _one(1),
        "cap_mw": _one(0),
        "allocated_mw": _one(0),
    }
    if "horizon_periods" in tables:
        section(
            "Contract term, period by period",
            "horizon_periods",
            "The contract term cut at every review and contract year: the cap in force "
            "(the first-year cap in year one), the period's mean market, how many "
            "applicants draw and what is allocated, and what the state earns in the "
            f"period: the results of the {span} scaled by the period's days over the "
            "span's days" + ".",
            lambda f: table_html(
                f, index_label="start", formats=horizon_formats, table="horizon_periods"
            ),
        )
    if "horizon_years" in tables:
        section(
            "Horizon years",
            "horizon_years",
            "The program contract year by year over its term: mean Bitcoin price and "
            "network hashrate, block subsidy, the cap in force, how many applicants "
            "draw power at most, and what the state earns.",
            lambda f: table_html(
                f, index_label="year", formats=horizon_formats, table="horizon_years"
            ),
        )
    else:
        out.append(
            '<h3>Horizon years</h3><p class="note">Not shown: this scenario has no market '
            "path, so there is no multi-year horizon.</p>"
        )
    return "".join(out)


# ---------------------------------------------------------------- system table

SHED_TOL_GWH = 1e-6  # 1 kWh: below this, shedding is solver noise
SYSTEM_ITEMS: dict[str, tuple[str, str]] = {  # item of the ``system`` table -> label, unit
    "program_served_gwh": ("Program load served", "GWh"),
    "generation_gwh": ("Generation", "GWh"),
    "generation_cost_musd": ("Generation cost", "million USD"),
    "start_up_cost_musd": ("Start-up cost", "million USD"),
    "co2_kt": ("CO2 emitted", "kt CO2"),
}


def system_table(tables: Tables) -> pd.DataFrame:
    """National demand, load shed (in all and per zone) and the ``system`` table's totals,
    without (baseline) and with (program) the program, over the span.

    Index: the row's label; columns unit, baseline, program, change. Demand and shedding
    are sums of the hourly ``demand_mw`` and ``shed_{case}_mw`` tables (one hour's MW is
    its MWh); the other rows are the ``system`` table's. Raises ``KeyError`` when the
    hourly demand or shedding tables are missing.
    """
    demand = tables["demand_mw"]
    shed = {case: tables[f"shed_{case}_mw"] for case in ("baseline", "program")}
    national = float(demand.to_numpy().sum()) / 1e3
    rows: dict[str, dict[str, Any]] = {}

    def add(label: str, unit: str, baseline: float, program: float) -> None:
        rows[label] = {
            "unit": unit,
            "baseline": baseline,
            "program": program,
            "change": program - baseline,
        }

    total = {c: float(f.to_numpy().sum()) / 1e3 for c, f in shed.items()}
    add("National demand", "GWh", national, national)
    add(
        "National demand served",
        "GWh",
        national - total["baseline"],
        national - total["program"],
    )
    add("Load shed, all zones", "GWh", total["baseline"], total["program"])
    zones = list(dict.fromkeys([*demand.columns, *shed["baseline"], *shed["program"]]))
    for zone in zones:
        by_case = {c: float(f[zone].sum()) / 1e3 if zone in f else 0.0 for c, f in shed.items()}
        add(f"Load shed, {zone}", "GWh", by_case["baseline"], by_case["program"])
    hours = {c: int((f.sum(axis=1) > SHED_TOL_GWH * 1e3).sum()) for c, f in shed.items()}
    add("Hours with load shed", "h", hours["baseline"], hours["program"])
    system = tables.get("system")
    if system is not None and {"baseline", "program"} <= set(system.columns):
        for item, (label, unit) in SYSTEM_ITEMS.items():
            if item in system.index:
                add(
                    label,
                    unit,
                    float(system.loc[item, "baseline"]),
                    float(system.loc[item, "program"]),
                )
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "item"
    return frame


def shedding_sentence(table: pd.DataFrame, span: str) -> str:
    """Whether load shedding rises with the program, read from :func:`system_table`."""
    shed = table[table.index.str.startswith("Load shed, ")]
    zones = shed.drop(index="Load shed, all zones", errors="ignore")
    rises = zones[zones["change"] > SHED_TOL_GWH]
    before = float(table.loc["Load shed, all zones", "baseline"])
    after = float(table.loc["Load shed, all zones", "program"])
    amounts = (
        f"{fmt_number(before, 1)} GWh of national demand shed without it and "
        f"{fmt_number(after, 1)} GWh with it over the {span}"
    )
    if rises.empty and after <= before + SHED_TOL_GWH:
        return (
            f"Load shedding does not rise with the program in any zone: {amounts}. "
            "National demand is served before any program load."
        )
    where = ", ".join(
        f"{label[len('Load shed, ') :]} +{fmt_number(row['change'], 1)} GWh"
        for label, row in rises.iterrows()
    )
    return f"Load shedding rises with the program ({where}): {amounts}."


def _system_html(tables: Tables, summary: dict[str, Any]) -> str:
    """The system table, with its sentence on shedding, or a note when data are missing."""
    try:
        table = system_table(tables)
    except KeyError as error:
        return (
            f'<p class="note">Not shown: these results have no hourly demand or shedding '
            f"table (missing {_esc(error)}).</p>"
        )
    span = _span(tables, summary)
    caption = (
        f"National demand and how much of it is served, without (baseline) and with the "
        f"program, over the {span}; load shed per zone; then the program load served and "
        "the system's generation, cost and emissions."
    )
    formats = {"baseline": _whole_or_one, "program": _whole_or_one, "change": _whole_or_one}
    return (
        f'<p class="lead">{_esc(shedding_sentence(table, span))}</p>'
        f'<p class="caption">{_esc(caption)}</p>'
        + table_html(table, formats=formats, index_label="", css_class="data system")
    )


# ---------------------------------------------------------------- sources

_ID_CHARS = r"A-Za-z0-9._\-"
_ID = re.compile(rf"^[A-Za-z0-9][{_ID_CHARS}]*$")


def cited_sources(
    provenance: pd.DataFrame | None, references: Mapping[str, Mapping[str, Any]]
) -> pd.DataFrame:
    """The sources the scenario's inputs cite, as a table: id, title, publisher, date, url.

    A reference id counts as cited when it stands as a word in the provenance table's
    ``source`` or ``notes`` (ids are cited in both). Rows follow the reference list's
    order; ids in a ``source`` cell that the list lacks follow, marked as such.
    """
    columns = ["title", "publisher", "date", "url"]
    if provenance is None or provenance.empty:
        return pd.DataFrame(columns=columns, index=pd.Index([], name="id"))
    cells = [
        str(v)
        for col in ("source", "notes")
        if col in provenance
        for v in provenance[col].fillna("")
    ]
    text = "\n".join(cells)
    rows: dict[str, dict[str, str]] = {}
    for key, ref in references.items():
        if re.search(rf"(?<![{_ID_CHARS}]){re.escape(key)}(?![A-Za-z0-9_\-])", text):
            ref = {str(k).lower(): str(v) for k, v in ref.items()}
            rows[key] = {c: ref.get(c, "") for c in columns}
    if "source" in provenance:
        for cell in provenance["source"].fillna(""):
            parts = [x.strip() for x in str(cell).split(";") if x.strip()]
            if all(_ID.match(x) for x in parts):
                for key in parts:
                    if key not in rows:
                        rows[key] = {
                            "title": "(not in the scenario's reference list)",
                            "publisher": "",
                            "date": "",
                            "url": "",
                        }
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=columns)
    frame.index.name = "id"
    return frame


def _sources_html(tables: Tables, references: Mapping[str, Mapping[str, Any]], origin: str) -> str:
    """The table of cited sources (a URL column only when some source has one);
    ``origin`` says where the reference list comes from."""
    frame = cited_sources(tables.get("provenance"), references)
    if frame.empty:
        return '<p class="note">The scenario cites no source of its reference list.</p>'
    show_url = bool((frame["url"] != "").any())
    head = ["id", "title", "publisher", "date"] + (["URL"] if show_url else [])
    rows = []
    for key, row in frame.iterrows():
        cells = [f"<td><code>{_esc(key)}</code></td>"]
        cells += [f"<td>{_esc(row[c])}</td>" for c in ("title", "publisher", "date")]
        if show_url:
            url = str(row["url"])
            link = (
                f'<a href="{_esc(url)}">{_esc(url)}</a>'
                if url.startswith(("http://", "https://"))
                else _esc(url)
            )
            cells.append(f"<td>{link}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    caption = (
        f"The {len(frame)} sources the scenario's inputs cite (their ids appear in the "
        f"provenance table below), with title, publisher and date from {origin}."
    )
    return (
        f'<p class="caption">{_esc(caption)}</p><div class="tablewrap">'
        f'<table class="sources"><thead><tr>{"".join(f"<th>{h}</th>" for h in head)}'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


SCENARIO_REFERENCES = "the scenario's reference list"
DEFAULT_REFERENCES = (
    "the reference list packaged with megawatt (the default data's sources.yaml), as "
    "these results do not carry the scenario's own"
)


def _references(tables: Tables) -> tuple[dict[str, dict[str, str]], str]:
    """The reference list when the caller passes none, and where it comes from: a saved
    ``sources`` table (column or index id), else the packaged default's ``sources.yaml``."""
    saved = tables.get("sources")
    if saved is not None and not saved.empty:
        frame = saved.set_index("id") if "id" in saved else saved
        refs = {
            str(k): {str(c): "" if pd.isna(v) else str(v) for c, v in row.items()}
            for k, row in frame.iterrows()
        }
        return refs, SCENARIO_REFERENCES
    from megawatt.data.provenance import sources

    return sources(), DEFAULT_REFERENCES


# ---------------------------------------------------------------- page


def render_report(
    tables: dict[str, pd.DataFrame],
    summary: dict,
    scenario_yaml: str,
    sources: Mapping[str, Mapping[str, Any]] | None = None,
) -> str:
    """Return the whole report as one self-contained HTML string (plotly.js inlined).

    ``sources`` is the scenario's reference list (id -> title, publisher, date, url), as
    :func:`megawatt.data.provenance.sources` reads it from the scenario's
    ``sources.yaml``; the appendix lists the ones the provenance table cites. Without
    it, a saved ``sources`` table or else the packaged default's list is used.
    """
    scenario = summary.get("scenario", {}) or {}
    name = str(scenario.get("name") or "scenario")
    description = str(scenario.get("description") or "")
    generated = str(summary.get("generated_utc") or "")
    version = str(summary.get("megawatt_version") or "")

    banner = ""
    if scenario.get("illustrative_applicants"):
        banner = (
            '<div class="banner"><strong>Illustrative applicants.</strong> The applicants '
            "in this scenario (names, sizes, equipment and plants) are made up to exercise "
            "the model; they are not real bids. System, plant and price figures follow the "
            "sources in the appendix.</div>"
        )
    facts = []
    if scenario.get("hours"):
        facts.append(f"{int(scenario['hours']):,} hours")
    if scenario.get("start_local"):
        facts.append(f"from {scenario['start_local']} ({scenario.get('timezone', 'UTC')})")
    if scenario.get("program_cap_mw"):
        facts.append(f"program cap {fmt_number(scenario['program_cap_mw'], 0)} MW")
    if scenario.get("tariff_local_per_kwh"):
        facts.append(
            f"tariff {fmt_number(scenario['tariff_local_per_kwh'], 2)} "
            f"{scenario.get('currency', '')}/kWh"
        )

    plot_sections = _figures_html(tables, summary)
    sections: list[tuple[str, str, str]] = [
        ("headline", "Headline", headline_html(summary, tables)),
        ("demand", "National demand and load shedding", _system_html(tables, summary)),
    ]
    sections += plot_sections
    if "risk_draws" in tables:
        sections.append(("risk", "Risk", _risk_html(tables, summary)))
    sections.append(("tables", "Result tables", _tables_html(tables, summary)))

    if sources is not None:
        references, origin = dict(sources), SCENARIO_REFERENCES
    else:
        references, origin = _references(tables)
    provenance = tables.get("provenance")
    if provenance is None or provenance.empty:
        prov_html = '<p class="note">No provenance table for this scenario.</p>'
    else:
        prov_html = table_html(provenance, css_class="provenance")
    appendix = (
        "<h3>Scenario file</h3>"
        f"<pre>{_esc(scenario_yaml)}</pre>"
        "<h3>Sources</h3>"
        f"{_sources_html(tables, references, origin)}"
        "<h3>Provenance of inputs</h3>"
        '<p class="caption">Where each input figure comes from. Basis: R = reported, '
        "E = estimated.</p>"
        f"{prov_html}"
    )
    sections.append(("appendix", "Appendix", appendix))

    toc = "".join(f'<a href="#{_esc(a)}">{_esc(h)}</a>' for a, h, _ in sections)
    body = "".join(
        f'<section id="{_esc(a)}"><h2>{_esc(h)}</h2>{content}</section>'
        for a, h, content in sections
    )
    plotlyjs = plotly.offline.get_plotlyjs()
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>megawatt report: {_esc(name)}</title>
<style>{STYLE}</style>
<script type="text/javascript">window.PlotlyConfig = {{MathJaxConfig: 'local'}};</script>
<script type="text/javascript">{plotlyjs}</script>
</head>
<body>
<main>
<header>
<p class="meta">megawatt report</p>
<h1>{_esc(name)}</h1>
<p>{_esc(description)}</p>
<p class="meta">{_esc(" · ".join(facts))}</p>
{banner}
</header>
<nav class="toc">{toc}</nav>
{body}
<footer>Generated by megawatt {_esc(version)} at {_esc(generated)}. Self-contained:
opens offline.</footer>
</main>
</body>
</html>
"""
