"""Plotly figures for the megawatt HTML report.

Each public function takes the result tables (``dict[str, DataFrame]`` as returned by
``megawatt.report.export.read_results``) and, where it needs scenario settings, the run
summary, and returns a ``plotly.graph_objects.Figure``. Hourly series are reduced before
plotting (a 365 x 24 heatmap, daily means, only the non-zero part of a duration curve)
so that the self-contained report stays light. A function raises ``KeyError`` when a
table it needs is absent; the report catches that and leaves the plot out.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.colors
import plotly.graph_objects as go
from plotly.subplots import make_subplots

Tables = dict[str, pd.DataFrame]

# One fixed colour per technology so the baseline and program panels read the same way.
TECH_COLOURS: dict[str, str] = {
    "hydro": "#1f77b4",
    "nuclear": "#9467bd",
    "thar_coal": "#8c564b",
    "imported_coal": "#404040",
    "local_gas": "#ff7f0e",
    "rlng_ccgt": "#ffbb78",
    "rlng_ocgt": "#d6a35c",
    "rfo": "#d62728",
    "bagasse": "#98df8a",
    "solar": "#f2c80f",
    "wind": "#17becf",
}
FALLBACK_COLOURS: list[str] = [
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#aec7e8",
    "#c5b0d5",
    "#c49c94",
    "#f7b6d2",
]
CASE_DASH: dict[str, str] = {"baseline": "dot", "program": "solid"}
# Bottom-to-top order of the dispatch stack: must-run and base load first, peakers last.
STACK_ORDER: list[str] = [
    "nuclear",
    "thar_coal",
    "imported_coal",
    "local_gas",
    "bagasse",
    "wind",
    "solar",
    "hydro",
    "rlng_ccgt",
    "rlng_ocgt",
    "rfo",
]
CASE_COLOURS: dict[str, str] = {"baseline": "#7f7f7f", "program": "#1f4e79"}
LIMIT_COLOUR = "#d62728"
HOURS_PER_WEEK = 168
ZONE_COLOURS: list[str] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
TARIFF_COLOUR = "#111111"
# Applicants' colours: a colour-blind-safe qualitative palette (its grey left out, grey
# being the baseline's), then Dark24; one colour per applicant in the scenario's order.
APPLICANT_PALETTE: list[str] = [
    *plotly.colors.qualitative.Safe[:10],
    *plotly.colors.qualitative.Dark24,
]
# Rows of the ``plants`` table that aggregate a fleet (e.g. "imported coal (all)").
FLEET_SUFFIX = "(all)"
HOURS_PER_DAY = 24
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"


def _layout(fig: go.Figure, title: str, height: int = 420) -> go.Figure:
    """Apply the shared look (white template, system fonts, horizontal legend)."""
    fig.update_layout(
        title={"text": title, "x": 0.0, "xanchor": "left"},
        template="plotly_white",
        font={"family": FONT, "size": 13},
        height=height,
        margin={"l": 70, "r": 30, "t": 70, "b": 60},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 1.0, "xanchor": "right"},
        hoverlabel={"font": {"family": FONT}},
    )
    return fig


def _legend_below(fig: go.Figure, y: float = -0.22, bottom: int = 110) -> go.Figure:
    """Move the legend under the plot (clear of subplot titles and long legends)."""
    fig.update_layout(
        legend={"y": y, "yanchor": "top", "x": 0.5, "xanchor": "center"},
        margin={"b": bottom},
    )
    return fig


def _timezone(summary: dict[str, Any] | None) -> str:
    """The scenario's local time zone; UTC when the summary does not say."""
    if summary:
        return str(summary.get("scenario", {}).get("timezone") or "UTC")
    return "UTC"


def _local_index(frame: pd.DataFrame, timezone: str) -> pd.DatetimeIndex:
    """Index converted to local wall-clock time (naive UTC is taken as UTC)."""
    index = pd.DatetimeIndex(frame.index)
    if index.tz is None:
        index = index.tz_localize("UTC")
    return index.tz_convert(timezone)


def _pretty(name: str) -> str:
    """Readable label from a snake_case identifier."""
    return str(name).replace("_", " ")


def _tech_colours(techs: list[str]) -> dict[str, str]:
    """The fixed colour of each technology; spare colours for unknown ones, in order."""
    spare = iter(FALLBACK_COLOURS * 3)
    return {t: TECH_COLOURS.get(t) or next(spare) for t in techs}


def applicant_order(tables: Tables) -> list[str]:
    """The scenario's applicants in its own order (the ``allocations`` table's rows, or
    ``values`` or ``applicant_accounts`` when that is missing); [] when none is saved."""
    for key in ("allocations", "values", "applicant_accounts"):
        frame = tables.get(key)
        if frame is not None and len(frame.index):
            return [str(a) for a in frame.index]
    return []


def applicant_colours(tables: Tables, names: Any = ()) -> dict[str, str]:
    """One colour per applicant, the same in every figure of the report.

    Applicants are coloured in the scenario's order (:func:`applicant_order`) from
    :data:`APPLICANT_PALETTE`; ``names`` that the scenario does not list (tables saved
    without an applicant list) follow in their own order. The palette repeats after
    its last colour.
    """
    order = list(dict.fromkeys([*applicant_order(tables), *(str(n) for n in names)]))
    return {a: APPLICANT_PALETTE[i % len(APPLICANT_PALETTE)] for i, a in enumerate(order)}


def program_plants(tables: Tables) -> list[str]:
    """The scenario's program plants (``program.plant_caps_mw``), in its order.

    Read from the ``plants`` table (fleet rows such as "imported coal (all)" left out),
    or from the ``caps`` table's "plant NAME" rows when ``plants`` is missing.
    """
    plants = tables.get("plants")
    if plants is not None:
        return [str(p) for p in plants.index if not str(p).endswith(FLEET_SUFFIX)]
    caps = tables.get("caps")
    if caps is not None:
        return [str(c)[len("plant ") :] for c in caps.index if str(c).startswith("plant ")]
    return []


def span_hours(tables: Tables, summary: dict[str, Any] | None = None) -> int | None:
    """Hours of the scenario's span: ``summary["scenario"]["hours"]``, else the rows of
    an hourly table; None when neither is saved."""
    hours = ((summary or {}).get("scenario") or {}).get("hours")
    if hours:
        return int(hours)
    for key in ("demand_mw", "curtailed_mw", "dispatch_program_mw"):
        if key in tables:
            return len(tables[key])
    return None


def span_text(hours: int | None) -> str:
    """The span in words for "over the ...": "365-day span", "14-day span", "36-hour span"."""
    if hours is None:
        return "scenario's span"
    if hours % HOURS_PER_DAY == 0:
        return f"{hours // HOURS_PER_DAY:,}-day span"
    return f"{hours:,}-hour span"


def halving_date(tables: Tables) -> pd.Timestamp | None:
    """The next halving's estimated date, from the horizon (``horizon_meta``); None
    when the results have no multi-year horizon."""
    meta = tables.get("horizon_meta")
    if meta is not None and "halving_date" in meta and len(meta):
        return pd.Timestamp(str(meta["halving_date"].iloc[0]))
    return None


def halving_year(tables: Tables) -> int | None:
    """The year of the next halving: the horizon's date, else the first year of the risk
    draws whose mean block subsidy is below the first year's; None when neither shows one."""
    date = halving_date(tables)
    if date is not None:
        return int(date.year)
    draws = tables.get("risk_draws")
    if draws is None or "subsidy_btc" not in draws or "year" not in draws or not len(draws):
        return None
    subsidy = draws.groupby("year")["subsidy_btc"].mean().sort_index()
    lower = subsidy.index[subsidy < subsidy.iloc[0] * (1 - 1e-9)]
    return int(lower[0]) if len(lower) else None


def _tariff(tables: Tables) -> float | None:
    """The program tariff in USD/MWh from the horizon metadata or the hourly tariff."""
    meta = tables.get("horizon_meta")
    if meta is not None and "tariff_usd_per_mwh" in meta and len(meta):
        return float(meta["tariff_usd_per_mwh"].iloc[0])
    tariff = tables.get("tariff_usd_per_mwh")
    if tariff is not None and tariff.shape[1]:
        return float(tariff.iloc[:, 0].mean())
    return None


def surplus_heatmap(tables: Tables, zone: str, summary: dict[str, Any] | None = None) -> go.Figure:
    """Day-by-hour heatmap of one zone's surplus at the tariff (MW), in local time.

    ``surplus_mw`` is the baseline's spare capacity of generators whose marginal cost is
    at or below the tariff, energy-limited (hydro) generators left out: the MW the
    program could take at the tariff, before transmission limits.
    """
    surplus = tables["surplus_mw"]
    series = surplus[zone]
    tz = _timezone(summary)
    local = _local_index(surplus, tz)
    frame = pd.DataFrame(
        {"date": local.date, "hour": local.hour, "mw": series.to_numpy(dtype=float)}
    )
    # Mean per (date, hour) so a DST repeat hour cannot break the pivot.
    grid = frame.pivot_table(index="hour", columns="date", values="mw", aggfunc="mean")
    grid = grid.reindex(range(24))
    fig = go.Figure(
        go.Heatmap(
            z=grid.to_numpy(),
            x=[pd.Timestamp(d) for d in grid.columns],
            y=list(grid.index),
            colorscale="Viridis",
            colorbar={"title": {"text": "MW"}},
            hovertemplate="%{x|%a %d %b %Y}, %{y}:00<br>spare at or below tariff %{z:,.0f} MW"
            "<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="Day (local date)")
    fig.update_yaxes(title_text=f"Hour of day ({tz})", dtick=3, autorange=True)
    return _layout(fig, f"Spare capacity at or below the tariff, {zone} zone (MW)", height=380)


def monthly_energy(tables: Tables, summary: dict[str, Any] | None = None) -> go.Figure:
    """Monthly generation by technology, baseline and program side by side (GWh)."""
    data = tables["monthly_energy_gwh"]
    cases = [c for c in ("baseline", "program") if c in set(data["case"])]
    cases += sorted(set(data["case"]) - set(cases))
    months = sorted(data["month"].astype(str).unique())
    totals = data.groupby("technology")["energy_gwh"].sum().sort_values(ascending=False)
    techs = list(totals.index)
    fig = make_subplots(
        rows=1,
        cols=len(cases),
        shared_yaxes=True,
        subplot_titles=[c.capitalize() for c in cases],
        horizontal_spacing=0.04,
    )
    colours = _tech_colours(techs)
    for col, case in enumerate(cases, start=1):
        part = data[data["case"] == case]
        table = part.pivot_table(
            index="month", columns="technology", values="energy_gwh", aggfunc="sum"
        ).reindex(index=months)
        for tech in techs:
            if tech not in table:
                continue
            fig.add_trace(
                go.Bar(
                    x=months,
                    y=table[tech].fillna(0.0),
                    name=_pretty(tech),
                    legendgroup=tech,
                    showlegend=col == 1,
                    marker_color=colours[tech],
                    hovertemplate=f"{_pretty(tech)} ({case})<br>%{{x}}: %{{y:,.0f}} GWh"
                    "<extra></extra>",
                ),
                row=1,
                col=col,
            )
    fig.update_layout(barmode="stack", bargap=0.15)
    fig.update_yaxes(title_text="Energy (GWh)", row=1, col=1)
    fig.update_xaxes(title_text="Month", tickangle=-45)
    fig = _layout(fig, "Monthly generation by technology, baseline vs program (GWh)", 480)
    fig.update_layout(legend={"y": -0.35, "yanchor": "top", "x": 0.5, "xanchor": "center"})
    fig.update_layout(margin={"b": 120})
    return fig


def stack_week(
    tables: Tables, summary: dict[str, Any] | None = None
) -> tuple[slice, float, pd.Timestamp | None]:
    """Rows of the hourly tables shown in the dispatch stack, and why.

    Returns the row slice, the program's largest hourly curtailment (MW, summed over
    applicants) and the first local hour at that level; ``(first week, 0.0, None)`` when
    nothing is curtailed. The week runs Monday 00:00 to Monday 00:00 local time around
    that hour; a week cut by the span's start or end is moved inside it, so 168 hours
    are shown whenever the span has them.
    """
    curtailed = tables["curtailed_mw"]
    total = curtailed.sum(axis=1).to_numpy(dtype=float)
    rows = len(total)
    peak = float(total.max()) if rows else 0.0
    if peak <= 1e-6:
        return slice(0, min(HOURS_PER_WEEK, rows)), 0.0, None
    local = _local_index(curtailed, _timezone(summary))
    at = local[int(np.argmax(total))]
    monday = at.normalize() - pd.Timedelta(days=at.weekday())
    start = int(np.searchsorted(local, monday))
    stop = min(start + HOURS_PER_WEEK, rows)
    start = max(0, stop - HOURS_PER_WEEK)
    return slice(start, stop), peak, at


def dispatch_week(tables: Tables, summary: dict[str, Any] | None = None) -> go.Figure:
    """One week's program-case generation by technology (stacked, MW) against the load.

    The week is :func:`stack_week`'s. Generators of ``dispatch_program_mw`` are summed by
    the ``generators`` table's technology; the lines are national demand (``demand_mw``
    summed over zones) and demand plus the program's served load (``served_mw``). The
    stack's top exceeds the upper line by transmission losses.
    """
    rows, _, _ = stack_week(tables, summary)
    tz = _timezone(summary)
    dispatch = tables["dispatch_program_mw"].iloc[rows]
    technology = tables["generators"]["technology"].reindex(dispatch.columns).fillna("other")
    by_tech = dispatch.T.groupby(technology).sum().T
    present = [t for t in by_tech.columns if by_tech[t].abs().max() > 1e-6]
    techs = [t for t in STACK_ORDER if t in present]
    techs += sorted(t for t in present if t not in techs)
    colours = _tech_colours(techs)
    x = _local_index(dispatch, tz).tz_localize(None)
    fig = go.Figure()
    for tech in techs:
        fig.add_trace(
            go.Scatter(
                x=x,
                y=by_tech[tech].to_numpy(dtype=float),
                mode="lines",
                stackgroup="generation",
                name=_pretty(tech),
                meta=tech,
                line={"width": 0.5, "color": colours[tech]},
                fillcolor=colours[tech],
                hovertemplate=f"{_pretty(tech)}: %{{y:,.0f}} MW<extra></extra>",
            )
        )
    demand = tables["demand_mw"].iloc[rows].sum(axis=1).to_numpy(dtype=float)
    served = tables["served_mw"].iloc[rows].sum(axis=1).to_numpy(dtype=float)
    for name, meta, values, dash in (
        ("National demand", "demand", demand, "solid"),
        ("Demand + program load", "demand_program", demand + served, "dash"),
    ):
        fig.add_trace(
            go.Scatter(
                x=x,
                y=values,
                mode="lines",
                name=name,
                meta=meta,
                line={"color": TARIFF_COLOUR, "dash": dash, "width": 1.8},
                hovertemplate=f"{name}: %{{y:,.0f}} MW<extra></extra>",
            )
        )
    fig.update_layout(hovermode="x unified")
    fig.update_xaxes(
        title_text=f"Local time ({tz})",
        tickformat="%a %d %b",
        dtick=86_400_000,  # one tick a day, at local midnight [ms]
        hoverformat="%a %d %b %Y, %H:%M",
    )
    fig.update_yaxes(title_text="Power (MW)", rangemode="tozero")
    first, last = x[0], x[-1]
    fig = _layout(
        fig,
        f"Dispatch with the program, {first:%d %b} to {last:%d %b %Y} (MW)",
        520,
    )
    return _legend_below(fig, y=-0.2, bottom=130)


def plant_utilisation(tables: Tables, summary: dict[str, Any] | None = None) -> go.Figure:
    """Capacity factor before and after the program for each program plant (%)."""
    plants = tables["plants"]
    labels = [_pretty(p) for p in plants.index]
    fig = go.Figure()
    for column, name, colour in (
        ("capacity_factor_baseline", "Baseline", "#9bb7d4"),
        ("capacity_factor_program", "With program", "#1f4e79"),
    ):
        gwh_col = column.replace("capacity_factor", "energy_gwh")
        gwh = plants[gwh_col] if gwh_col in plants else pd.Series(np.nan, index=plants.index)
        fig.add_trace(
            go.Bar(
                x=labels,
                y=plants[column] * 100.0,
                name=name,
                marker_color=colour,
                text=[f"{v:.0%}" for v in plants[column]],
                textposition="outside",
                customdata=np.column_stack([gwh.to_numpy(dtype=float)]),
                hovertemplate="%{x}<br>" + name + ": %{y:.1f}% (%{customdata[0]:,.0f} GWh)"
                "<extra></extra>",
            )
        )
    fig.update_layout(barmode="group")
    fig.update_yaxes(title_text="Capacity factor (%)", range=[0, 105])
    fig.update_xaxes(title_text="Plant")
    return _layout(fig, "Program plants: capacity factor before and after (%)")


def curtailment_duration(tables: Tables, summary: dict[str, Any] | None = None) -> go.Figure:
    """Duration curve of hourly program curtailment (MW), sorted in descending order."""
    total = tables["curtailed_mw"].sum(axis=1).to_numpy(dtype=float)
    ordered = np.sort(total)[::-1]
    nonzero = int((ordered > 1e-6).sum())
    # Only the curtailed hours carry information; the zero tail is drawn as one segment.
    shown = ordered[: max(nonzero, 1)]
    hours = np.arange(1, len(shown) + 1)
    x = np.append(hours, [len(shown) + 1, len(ordered)])
    y = np.append(shown, [0.0, 0.0])
    fig = go.Figure(
        go.Scatter(
            x=x,
            y=y,
            mode="lines",
            line={"shape": "hv", "color": "#d62728", "width": 2},
            fill="tozeroy",
            fillcolor="rgba(214,39,40,0.15)",
            name="Curtailed",
            hovertemplate="%{x:,} hours at ≥ %{y:,.0f} MW<extra></extra>",
        )
    )
    # Zoom on the curtailed hours; the zero tail stays reachable by zooming out.
    fig.update_xaxes(
        title_text=f"Hours of the {span_text(len(ordered))}, ranked "
        f"({nonzero:,} of {len(ordered):,} curtailed)",
        range=[0, max(24, int(nonzero * 1.25))],
    )
    fig.update_yaxes(title_text="Curtailed load, whole program (MW)", rangemode="tozero")
    return _layout(fig, "Curtailment duration curve (MW)")


def curtailment_month_hour(tables: Tables, summary: dict[str, Any] | None = None) -> pd.DataFrame:
    """Program curtailment (MWh) by local hour of day (index 0-23) and local month.

    Columns are the months of the span as ``YYYY-MM``, in order; each cell sums the
    hourly ``curtailed_mw`` of all applicants (one hour's MW is that hour's MWh), so the
    grid adds up to the total curtailed energy.
    """
    curtailed = tables["curtailed_mw"]
    local = _local_index(curtailed, _timezone(summary))
    month = pd.PeriodIndex(local.tz_localize(None), freq="M").astype(str)
    frame = pd.DataFrame(
        {
            "month": month,
            "hour": local.hour,
            "mwh": curtailed.sum(axis=1).to_numpy(dtype=float),
        }
    )
    grid = frame.pivot_table(
        index="hour", columns="month", values="mwh", aggfunc="sum", fill_value=0.0
    )
    months = list(dict.fromkeys(month))
    return grid.reindex(index=range(24), columns=months, fill_value=0.0).astype(float)


def curtailment_heatmap(tables: Tables, summary: dict[str, Any] | None = None) -> go.Figure:
    """Month-by-hour heatmap of the program's curtailed energy (MWh), in local time."""
    grid = curtailment_month_hour(tables, summary)
    tz = _timezone(summary)
    labels = [f"{pd.Period(m, freq='M'):%b %Y}" for m in grid.columns]
    fig = go.Figure(
        go.Heatmap(
            z=grid.to_numpy(),
            x=labels,
            y=list(grid.index),
            zmin=0.0,
            colorscale="Reds",
            colorbar={"title": {"text": "MWh"}},
            xgap=1,
            ygap=1,
            hovertemplate="%{x}, %{y}:00–%{y}:59<br>curtailed %{z:,.0f} MWh<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="Month (local)", type="category")
    fig.update_yaxes(title_text=f"Hour of day ({tz})", dtick=3, range=[-0.5, 23.5])
    total = float(grid.to_numpy().sum())
    return _layout(
        fig,
        f"Program curtailment by month and hour of day ({total / 1e3:,.1f} GWh in all; MWh)",
        420,
    )


def event_length_histogram(tables: Tables, summary: dict[str, Any] | None = None) -> go.Figure:
    """Number of curtailment events by length in hours, stacked per applicant."""
    events = tables["curtailment_events"]
    fig = go.Figure()
    if len(events):
        longest = int(events["length_h"].max())
        lengths = list(range(1, longest + 1))
        counts = events.pivot_table(
            index="length_h", columns="applicant", values="curtailed_mwh", aggfunc="count"
        ).reindex(lengths, fill_value=0)
        colours = applicant_colours(tables, counts.columns)
        order = [a for a in colours if a in counts.columns]
        for applicant in order:
            fig.add_trace(
                go.Bar(
                    x=lengths,
                    y=counts[applicant].fillna(0),
                    name=_pretty(applicant),
                    meta=applicant,
                    marker_color=colours[applicant],
                    hovertemplate=f"{_pretty(applicant)}<br>%{{x}} h events: %{{y}}<extra></extra>",
                )
            )
    fig.update_layout(barmode="stack", bargap=0.1)
    fig.update_xaxes(title_text="Event length (hours)", dtick=1)
    fig.update_yaxes(title_text="Number of events")
    return _layout(fig, "Curtailment events by length")


def zonal_prices(tables: Tables, summary: dict[str, Any] | None = None) -> go.Figure:
    """Daily mean zonal price, baseline vs program, with the program tariff (USD/MWh)."""
    tz = _timezone(summary)
    fig = go.Figure()
    zones: list[str] = []
    for case, key in (
        ("baseline", "price_baseline_usd_per_mwh"),
        ("program", "price_program_usd_per_mwh"),
    ):
        prices = tables[key].copy()
        prices.index = _local_index(prices, tz)
        daily = prices.groupby(prices.index.date).mean()
        for zone in prices.columns:
            if zone not in zones:
                zones.append(zone)
            colour = ZONE_COLOURS[zones.index(zone) % len(ZONE_COLOURS)]
            fig.add_trace(
                go.Scatter(
                    x=[pd.Timestamp(d) for d in daily.index],
                    y=daily[zone].round(2),
                    mode="lines",
                    name=f"{zone}, {case}",
                    line={"color": colour, "dash": CASE_DASH.get(case, "solid"), "width": 1.6},
                    hovertemplate=f"{zone} {case}<br>%{{x|%d %b %Y}}: %{{y:,.1f}} USD/MWh"
                    "<extra></extra>",
                )
            )
    tariff = _tariff(tables)
    if tariff is not None:
        fig.add_hline(
            y=tariff,
            line={"color": TARIFF_COLOUR, "dash": "dash", "width": 1.5},
            annotation_text=f"program tariff {tariff:,.1f} USD/MWh",
            annotation_position="top left",
        )
    fig.update_xaxes(title_text="Day (local date)")
    fig.update_yaxes(title_text="Price, daily mean (USD/MWh)")
    return _layout(fig, "Zonal marginal price, daily mean (USD/MWh)")


def duration_steps(
    values: np.ndarray, decimals: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """A duration curve as steps: ``(x, y)`` to draw with ``line_shape="vh"``.

    ``values`` (hourly) are sorted from the largest down (rounded to ``decimals`` first
    when given) and each run of equal values becomes one point at its last rank: ``y[k]``
    holds for ranks ``x[k-1] + 1`` to ``x[k]``, so a hover reads "x hours at >= y". A
    first point at rank 1 starts the line; the last point's rank is the number of hours.
    Flat stretches (prices, tariffs) shrink to a few points; nothing is lost.
    """
    ordered = np.sort(np.asarray(values, dtype=float))[::-1]
    if decimals is not None:
        ordered = np.round(ordered, decimals)
    if not len(ordered):
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    ends = np.append(np.flatnonzero(ordered[1:] != ordered[:-1]), len(ordered) - 1)
    x = np.concatenate([[1], ends + 1]).astype(np.int64)
    y = np.concatenate([[ordered[0]], ordered[ends]])
    return x, y


def price_duration(tables: Tables, summary: dict[str, Any] | None = None) -> go.Figure:
    """Duration curve of each zone's hourly marginal price, baseline and program (USD/MWh).

    One panel per zone; in each, a case's prices sorted from the dearest hour down, and
    the hourly tariff (``tariff_usd_per_mwh``) sorted the same way as a dashed line. The
    curves are :func:`duration_steps` (exact; prices take few distinct values).
    """
    cases = {
        "baseline": tables["price_baseline_usd_per_mwh"],
        "program": tables["price_program_usd_per_mwh"],
    }
    zones = list(dict.fromkeys([z for prices in cases.values() for z in prices.columns]))
    tariff = tables.get("tariff_usd_per_mwh")
    fig = make_subplots(
        rows=1,
        cols=len(zones),
        shared_yaxes=True,
        subplot_titles=list(zones),
        horizontal_spacing=0.04,
    )
    for col, zone in enumerate(zones, start=1):
        colour = ZONE_COLOURS[(col - 1) % len(ZONE_COLOURS)]
        for case, prices in cases.items():
            if zone not in prices:
                continue
            x, y = duration_steps(prices[zone].to_numpy(dtype=float))
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=y,
                    mode="lines",
                    line_shape="vh",
                    name=f"{zone}, {case}",
                    meta=f"{zone}/{case}",
                    line={"color": colour, "dash": CASE_DASH.get(case, "solid"), "width": 2},
                    hovertemplate=f"{zone} {case}<br>%{{x:,}} hours at ≥ %{{y:,.1f}} "
                    "USD/MWh<extra></extra>",
                ),
                row=1,
                col=col,
            )
        if tariff is not None and tariff.shape[1]:
            x, y = duration_steps(tariff.iloc[:, 0].to_numpy(dtype=float))
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=y,
                    mode="lines",
                    line_shape="vh",
                    name="Program tariff",
                    meta=f"{zone}/tariff",
                    legendgroup="tariff",
                    showlegend=col == 1,
                    line={"color": TARIFF_COLOUR, "dash": "dash", "width": 1.5},
                    hovertemplate="tariff %{y:,.1f} USD/MWh<extra></extra>",
                ),
                row=1,
                col=col,
            )
        fig.update_xaxes(title_text="Hours, ranked by price", row=1, col=col)
    fig.update_yaxes(title_text="Marginal price (USD/MWh)", row=1, col=1)
    fig = _layout(fig, "Zonal price duration curves, baseline vs program (USD/MWh)", 470)
    return _legend_below(fig)


def link_flow_duration(tables: Tables, summary: dict[str, Any] | None = None) -> go.Figure:
    """Duration curve of each link's hourly flow (MW), baseline and program, with limits.

    One panel per link (columns of ``flow_program_mw``); flows are as sent, positive from
    the link's first zone to its second, sorted from the largest hour down and rounded to
    whole MW (:func:`duration_steps`). The forward transfer limit (and the reverse one,
    negated, when a flow runs backwards) comes from the ``links`` table's
    ``forward_limit_mw``/``reverse_limit_mw``; results saved without them get no limit
    line. The legend gives each case's congested hours from ``links`` (left out, with the
    limits, for results saved before that table existed).
    """
    flows = {
        "baseline": tables["flow_baseline_mw"],
        "program": tables["flow_program_mw"],
    }
    summary_table = tables.get("links")
    if summary_table is None:
        summary_table = pd.DataFrame(
            index=pd.MultiIndex.from_tuples([], names=["case", "link"]),
            columns=["congested_hours"],
        )
    names = list(dict.fromkeys([n for f in flows.values() for n in f.columns]))
    if not names:  # a one-zone scenario has no links
        fig = go.Figure()
        fig.add_annotation(text="This scenario has no links.", showarrow=False)
        fig.update_layout(title="Link flows: none", xaxis_visible=False, yaxis_visible=False)
        return fig
    fig = make_subplots(
        rows=len(names),
        cols=1,
        shared_xaxes=True,
        subplot_titles=[_pretty(n) for n in names],
        vertical_spacing=0.12 if len(names) > 1 else 0.0,
    )
    for row, link in enumerate(names, start=1):
        low = 0.0
        for case, flow in flows.items():
            if link not in flow:
                continue
            x, y = duration_steps(flow[link].to_numpy(dtype=float), decimals=0)
            low = min(low, float(y.min()))
            key = (case, link)
            hours = (
                int(summary_table.loc[key, "congested_hours"])
                if key in summary_table.index
                else None
            )
            label = f"{case}, {hours:,} h congested" if hours is not None else case
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=y,
                    mode="lines",
                    line_shape="vh",
                    name=f"{_pretty(link)}: {label}",
                    meta=f"{link}/{case}",
                    line={
                        "color": CASE_COLOURS.get(case, "#444444"),
                        "dash": CASE_DASH.get(case, "solid"),
                        "width": 2,
                    },
                    hovertemplate=f"{_pretty(link)} {case}<br>%{{x:,}} hours at ≥ "
                    "%{y:,.0f} MW<extra></extra>",
                ),
                row=row,
                col=1,
            )
        known = link in summary_table.index.get_level_values("link")
        limits = summary_table.xs(link, level="link") if known else None
        if limits is not None and "forward_limit_mw" in limits:
            forward = float(limits["forward_limit_mw"].iloc[0])
            fig.add_hline(
                y=forward,
                line={"color": LIMIT_COLOUR, "dash": "dash", "width": 1.5},
                annotation_text=f"limit {forward:,.0f} MW",
                annotation_position="top right",
                row=row,
                col=1,
            )
            if low < 0.0 and "reverse_limit_mw" in limits:
                reverse = float(limits["reverse_limit_mw"].iloc[0])
                fig.add_hline(
                    y=-reverse,
                    line={"color": LIMIT_COLOUR, "dash": "dash", "width": 1.5},
                    annotation_text=f"reverse limit {reverse:,.0f} MW",
                    annotation_position="bottom right",
                    row=row,
                    col=1,
                )
        fig.update_yaxes(title_text="Flow as sent (MW)", rangemode="tozero", row=row, col=1)
    fig.update_xaxes(title_text="Hours, ranked by flow", row=len(names), col=1)
    height = 420 + 260 * (len(names) - 1)
    fig = _layout(fig, "Link flow duration curves, baseline vs program (MW)", height)
    return _legend_below(fig)


def miner_break_even(tables: Tables, summary: dict[str, Any] | None = None) -> go.Figure:
    """Value of a MWh to each Bitcoin miner per contract period against the tariff
    (USD/MWh): a step per review period, as the allocation is decided per period."""
    values = tables["horizon_values_usd_per_mwh"]
    kinds: pd.Series | None = None
    for key in ("values", "allocations", "applicant_accounts"):
        if key in tables and "kind" in tables[key]:
            kinds = tables[key]["kind"]
            break
    miners = [
        a
        for a in values.columns
        if kinds is None or str(kinds.get(a, "btc_miner")).startswith("btc")
    ] or list(values.columns)
    starts = pd.to_datetime(pd.Index(values.index).astype(str))
    periods = tables.get("horizon_periods")
    end = (
        pd.Timestamp(str(periods["end"].iloc[-1]))
        if periods is not None and "end" in periods and len(periods)
        else starts[-1] + pd.DateOffset(months=6)
    )
    x = [*starts, end]
    fig = go.Figure()
    colours = applicant_colours(tables, values.columns)
    for applicant in miners:
        y = values[applicant].round(2).tolist()
        fig.add_trace(
            go.Scatter(
                x=x,
                y=y + y[-1:],
                mode="lines",
                line_shape="hv",
                name=_pretty(applicant),
                meta=applicant,
                line={"color": colours[str(applicant)], "width": 2},
                hovertemplate=f"{_pretty(applicant)}<br>from %{{x|%d %b %Y}}: "
                "%{y:,.1f} USD/MWh<extra></extra>",
            )
        )
    tariff = _tariff(tables)
    if tariff is not None:
        fig.add_hline(
            y=tariff,
            line={"color": TARIFF_COLOUR, "dash": "dash", "width": 1.5},
            annotation_text=f"tariff {tariff:,.1f} USD/MWh",
            annotation_position="top right",
        )
    halving = halving_date(tables)
    if halving is not None:
        fig.add_shape(
            type="line",
            x0=halving,
            x1=halving,
            y0=0,
            y1=1,
            yref="paper",
            line={"color": "#ff7f0e", "dash": "dot", "width": 2},
        )
        fig.add_annotation(
            x=halving, y=1, yref="paper", text=f"halving {halving:%d %b %Y}", showarrow=False
        )
    fig.update_xaxes(title_text="Contract period (allocation decided at each review)")
    fig.update_yaxes(title_text="Value of electricity to miner (USD/MWh)", rangemode="tozero")
    return _layout(fig, "Bitcoin miners: value per MWh vs tariff, per review period")


def revenue_waterfall(tables: Tables, summary: dict[str, Any]) -> go.Figure:
    """Tariff revenue, less incremental fuel, gives the margin set against capacity charges."""
    headline = (summary or {}).get("headline", {})
    balance = tables.get("balance")
    total = balance.loc["total"] if balance is not None and "total" in balance.index else None

    def pick(key: str, column: str) -> float:
        if key in headline and headline[key] is not None:
            return float(headline[key])
        if total is None:
            raise KeyError(key)
        return float(total[column]) / 1e6

    revenue = pick("revenue_musd", "revenue_usd")
    fuel = pick("incremental_fuel_musd", "incremental_fuel_usd")
    margin = pick("margin_musd", "margin_usd")
    charges = pick("capacity_charges_musd", "capacity_charge_usd")
    recovered = max(0.0, min(margin, charges))
    unrecovered = charges - recovered

    # Drawn as floating bars (base + height) so the recovered/unrecovered split of the
    # capacity charges can be shown in one column, which go.Waterfall cannot do.
    labels = ["Tariff revenue", "Incremental fuel", "Margin", "Capacity charges"]
    fig = go.Figure()

    def bar(x: str, base: float, height: float, colour: str, name: str, text: str) -> None:
        fig.add_trace(
            go.Bar(
                x=[x],
                y=[height],
                base=[base],
                name=name,
                marker_color=colour,
                text=[text],
                textposition="inside",
                insidetextanchor="middle",
                hovertemplate=f"{name}: {text} million USD<extra></extra>",
            )
        )

    bar(labels[0], 0.0, revenue, "#1f77b4", "Tariff revenue", f"{revenue:,.0f}")
    bar(labels[1], margin, fuel, "#ff7f0e", "Incremental fuel (\u2212)", f"\u2212{fuel:,.0f}")
    bar(
        labels[2],
        0.0,
        margin,
        "#2ca02c" if margin >= 0 else "#d62728",
        "Margin",
        f"{margin:,.0f}",
    )
    bar(labels[3], 0.0, recovered, "#98df8a", "Charges recovered by margin", f"{recovered:,.0f}")
    bar(
        labels[3],
        recovered,
        unrecovered,
        "#d62728",
        "Charges unrecovered",
        f"{unrecovered:,.0f}",
    )
    # Connector lines carry the running total from one step to the next, as in a waterfall.
    for x0, x1, level in ((0, 1, revenue), (1, 2, margin), (2, 3, margin)):
        fig.add_shape(
            type="line",
            x0=x0 + 0.4,
            x1=x1 - 0.4,
            y0=level,
            y1=level,
            xref="x",
            yref="y",
            line={"color": "#888888", "width": 1, "dash": "dot"},
        )
    share = recovered / charges if charges else float("nan")
    fig.update_layout(barmode="overlay", bargap=0.35)
    fig.update_xaxes(title_text="", categoryorder="array", categoryarray=labels)
    fig.update_yaxes(
        title_text=f"Million USD over the {span_text(span_hours(tables, summary))}",
        zeroline=True,
    )
    fig = _layout(
        fig,
        f"State revenue waterfall: margin covers {share:.0%} of capacity charges (million USD)",
        460,
    )
    return fig


# ---------------------------------------------------------------- risk (Monte Carlo)

RISK_BAND_COLOUR = "31,78,121"  # rgb of the fan chart's accent, as used in rgba()
RISK_YEAR_COLOURS: list[str] = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#d62728"]


def _risk_scale(metric: str) -> float:
    """Factor from a metric's stored unit to its plotted one: 0-1 shares are shown in %."""
    return 100.0 if metric.endswith("_share") else 1.0


def _risk_values(tables: Tables, metric: str) -> pd.DataFrame:
    """``year`` and ``metric`` of the draws that solved (failed rows and NaNs dropped).

    Raises ``KeyError`` when ``risk_draws`` or the metric's column is absent.
    """
    draws = tables["risk_draws"]
    if metric not in draws:
        raise KeyError(f"risk_draws.{metric}")
    kept = draws
    if "failed" in draws:
        kept = draws[~draws["failed"].fillna(False).astype(bool)]
    values = kept[["year", metric]].dropna()
    return values.astype({"year": int, metric: float})


def risk_quantiles(
    tables: Tables, metric: str, percentiles: tuple[float, ...] = (10, 25, 50, 75, 90)
) -> pd.DataFrame:
    """Percentiles of ``metric`` per year over the non-failed draws, in the metric's unit.

    Index year; one column per percentile (``p10``, ``p25``, ...). ``np.percentile`` with
    its default linear method, so P10/P50/P90 equal the ``risk_percentiles`` table's.
    Years in which every draw failed are left out.
    """
    values = _risk_values(tables, metric)
    rows: dict[int, list[float]] = {}
    for year, group in values.groupby("year", sort=True):
        data = group[metric].to_numpy(dtype=float)
        if len(data):
            rows[int(year)] = [float(v) for v in np.percentile(data, percentiles)]
    frame = pd.DataFrame.from_dict(
        rows, orient="index", columns=[f"p{p:g}" for p in percentiles], dtype=float
    )
    frame.index.name = "year"
    return frame


def risk_fan(
    tables: Tables, metric: str, title: str, unit: str, summary: dict[str, Any] | None = None
) -> go.Figure:
    """Fan chart of one risk metric over the years, from ``risk_draws``.

    Shaded P10-P90 band, a darker P25-P75 band and the P50 (median) line with markers,
    over the draws that solved. ``unit`` is the plotted unit (e.g. "million USD", "h",
    "USD/PH/day"); metrics ending in ``_share`` (stored 0-1) are plotted in %. For
    ``margin_musd`` the program plants' capacity charges (million USD over the span, from
    ``summary["headline"]["capacity_charges_musd"]``) are drawn as a dashed line.
    """
    scale = _risk_scale(metric)
    q = risk_quantiles(tables, metric) * scale
    years = [int(y) for y in q.index]
    fig = go.Figure()
    for low, high, alpha, label in (
        ("p10", "p90", 0.15, "P10–P90"),
        ("p25", "p75", 0.30, "P25–P75"),
    ):
        group = f"{low}_{high}"
        fig.add_trace(
            go.Scatter(
                x=years,
                y=q[low],
                mode="lines",
                line={"width": 0, "color": f"rgba({RISK_BAND_COLOUR},{alpha})"},
                name=f"{label} of draws",
                meta=low,
                legendgroup=group,
                showlegend=False,
                hoverinfo="skip",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=years,
                y=q[high],
                mode="lines",
                line={"width": 0, "color": f"rgba({RISK_BAND_COLOUR},{alpha})"},
                fill="tonexty",
                fillcolor=f"rgba({RISK_BAND_COLOUR},{alpha})",
                name=f"{label} of draws",
                meta=high,
                legendgroup=group,
                hoverinfo="skip",
            )
        )
    fmt = ",.1f"
    fig.add_trace(
        go.Scatter(
            x=years,
            y=q["p50"],
            mode="lines+markers",
            line={"color": f"rgb({RISK_BAND_COLOUR})", "width": 2.5},
            marker={"size": 7},
            name="P50 (median)",
            meta="p50",
            customdata=q[["p10", "p25", "p75", "p90"]].to_numpy(),
            hovertemplate=f"%{{x}}<br>P50 %{{y:{fmt}}} {unit}<br>"
            f"P25–P75 %{{customdata[1]:{fmt}}} – %{{customdata[2]:{fmt}}}<br>"
            f"P10–P90 %{{customdata[0]:{fmt}}} – %{{customdata[3]:{fmt}}}<extra></extra>",
        )
    )
    charges = ((summary or {}).get("headline") or {}).get("capacity_charges_musd")
    if metric == "margin_musd" and charges is not None:
        fig.add_hline(
            y=float(charges),
            line={"color": TARIFF_COLOUR, "dash": "dash", "width": 1.5},
            annotation_text=f"capacity charges {float(charges):,.0f} million USD",
            annotation_position="top left",
        )
    fig.update_xaxes(title_text="Year", dtick=1)
    fig.update_yaxes(title_text=f"{title} ({unit})")
    return _layout(fig, f"{title}: P10–P90 of the draws by year ({unit})")


def _risk_histogram_years(years: list[int], halving: int | None = None) -> list[int]:
    """First year, the first year at or after the ``halving`` year (if any), and last year.

    The halving changes miners' revenue most, so the year it falls in is shown."""
    ordered = sorted(set(years))
    if not ordered:
        return []
    picked = [ordered[0]]
    after = [y for y in ordered if halving is not None and y >= halving]
    if after:
        picked.append(after[0])
    picked.append(ordered[-1])
    return sorted(set(picked))


def risk_histogram(
    tables: Tables, metric: str, title: str, unit: str, summary: dict[str, Any] | None = None
) -> go.Figure:
    """Overlaid histograms of one risk metric for a few years, with each year's P50.

    The years are the first, the first at or after the next halving (:func:`halving_year`:
    the horizon's date, else the year the drawn block subsidy drops), and the last. Bars
    are the share of that year's solved draws (%) in common bins of ``unit``; metrics
    ending in ``_share`` are plotted in %. A dotted line marks each year's median.
    """
    scale = _risk_scale(metric)
    values = _risk_values(tables, metric)
    years = _risk_histogram_years([int(y) for y in values["year"]], halving_year(tables))
    shown = values[values["year"].isin(years)]
    data = shown[metric].to_numpy(dtype=float) * scale
    fig = go.Figure()
    xbins: dict[str, float] = {}
    if len(data):
        edges = np.histogram_bin_edges(data, bins=30)
        if edges[-1] > edges[0]:
            xbins = {
                "start": float(edges[0]),
                "end": float(edges[-1]),
                "size": float(edges[1] - edges[0]),
            }
    for i, year in enumerate(years):
        part = shown.loc[shown["year"] == year, metric].to_numpy(dtype=float) * scale
        median = float(np.percentile(part, 50))
        colour = RISK_YEAR_COLOURS[i % len(RISK_YEAR_COLOURS)]
        fig.add_trace(
            go.Histogram(
                x=part,
                xbins=xbins or None,
                histnorm="percent",
                name=f"{year} (P50 {median:,.1f})",
                marker_color=colour,
                opacity=0.55,
                hovertemplate=f"{year}<br>%{{x}} {unit}: %{{y:.1f}}% of draws<extra></extra>",
            )
        )
        fig.add_vline(x=median, line={"color": colour, "dash": "dot", "width": 2})
    fig.update_layout(barmode="overlay", bargap=0.02)
    fig.update_xaxes(title_text=f"{title} ({unit})")
    fig.update_yaxes(title_text="Share of draws (%)", rangemode="tozero")
    return _layout(fig, f"{title}: distribution of the draws in selected years ({unit})")


def risk_viability(tables: Tables, summary: dict[str, Any] | None = None) -> go.Figure:
    """Share of draws (%) in which each Bitcoin miner's value per MWh reaches the tariff."""
    viability = tables["risk_viability"]
    grid = viability.pivot_table(
        index="year", columns="applicant", values="viable_share", aggfunc="mean"
    ).sort_index()
    years = [int(y) for y in grid.index]
    colours = applicant_colours(tables, grid.columns)
    fig = go.Figure()
    for applicant in [a for a in colours if a in grid.columns]:
        fig.add_trace(
            go.Scatter(
                x=years,
                y=(grid[applicant] * 100.0).round(2),
                mode="lines+markers",
                name=_pretty(applicant),
                meta=applicant,
                line={"color": colours[applicant], "width": 2},
                hovertemplate=f"{_pretty(applicant)}<br>%{{x}}: viable in %{{y:.1f}}% of draws"
                "<extra></extra>",
            )
        )
    fig.update_xaxes(title_text="Year", dtick=1)
    fig.update_yaxes(title_text="Draws in which the miner is viable (%)", range=[0, 105])
    return _layout(fig, "Bitcoin miners: share of draws with value per MWh at or above tariff (%)")
