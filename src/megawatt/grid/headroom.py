"""Headroom for large flexible loads by the Duke "Rethinking Load Growth" method.

A constant new load L [MW] is added to an hourly system load; in every hour in which load
plus L would exceed a peak threshold of the original record, the new load is curtailed by
the excess (at most L), and the headroom at a curtailment rate r is the largest L whose
curtailed energy is at most r times its energy L x hours. Each year of the record is solved
separately and the answers are averaged. The thresholds follow the published seasons
(summer June-August peak for April-October, winter December-February peak for
November-March), each calendar month's own peak, the annual peak, or a month-to-season
mapping of the user: the published seasons suit systems that peak in both summer and
winter, but leave a summer-peaking system such as Pakistan's with almost no headroom when
its November and March loads exceed the December-February peak.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import TypeAlias

import numpy as np
import pandas as pd

from megawatt.metrics import run_lengths

#: Season whose peak threshold applies in each calendar month in the published method:
#: summer (Jun-Aug peak) for April to October, winter (Dec-Feb peak) for November to March.
SEASONS_DUKE: dict[int, str] = {
    1: "winter",
    2: "winter",
    3: "winter",
    4: "summer",
    5: "summer",
    6: "summer",
    7: "summer",
    8: "summer",
    9: "summer",
    10: "summer",
    11: "winter",
    12: "winter",
}

#: Months whose load defines each season's peak threshold, whatever the mapping.
PEAK_MONTHS: dict[str, tuple[int, ...]] = {"summer": (6, 7, 8), "winter": (12, 1, 2)}

#: Named threshold mappings accepted besides an explicit month -> season dict.
MAPPINGS = ("duke", "monthly", "annual")

#: Curtailment rates of the published study [-]: 0.25 %, 0.5 %, 1 % and 5 %.
DEFAULT_TARGETS = (0.0025, 0.005, 0.01, 0.05)

#: Most bisection steps: from U to the float spacing of U takes ~53 halvings, so more
#: only happens where ``tol_mw`` is below that spacing (a load of 1e15 MW and more).
MAX_BISECTIONS = 200

#: An hour counts as curtailed when the curtailment exceeds this [MW] (1 W), so that
#: rounding in ``load + L - threshold`` does not create spurious curtailed hours.
CURTAILED_EPS_MW = 1e-6

SeasonMapping: TypeAlias = str | Mapping[int, str]

_SEASONS = ("summer", "winter")
_ONE_HOUR = pd.Timedelta(hours=1)


# --------------------------------------------------------------------------- validation


def _check_load(load_mw: pd.Series) -> None:
    """Raise ValueError unless ``load_mw`` is a finite, non-negative, gap-free hourly Series."""
    if not isinstance(load_mw, pd.Series) or not isinstance(load_mw.index, pd.DatetimeIndex):
        raise ValueError("load_mw must be a pandas Series indexed by a DatetimeIndex")
    if load_mw.empty:
        raise ValueError("load_mw is empty: at least one hour of load is needed")
    try:
        values = load_mw.to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise ValueError("load_mw must hold numbers [MW]") from None
    bad = ~np.isfinite(values)
    if bad.any():
        first = load_mw.index[np.argmax(bad)]
        raise ValueError(
            f"load_mw has {int(bad.sum())} missing or non-finite value(s), first at {first}; "
            "fill or drop them before computing headroom"
        )
    negative = values < 0
    if negative.any():
        k = int(np.argmax(negative))
        raise ValueError(
            f"load_mw must be >= 0 MW, got {values[k]:g} MW at {load_mw.index[k]} "
            f"({int(negative.sum())} negative value(s))"
        )
    if len(load_mw) > 1:
        wrong = np.diff(load_mw.index.asi8) != _hour_value(load_mw.index)
        if wrong.any():
            k = int(np.argmax(wrong))
            step = pd.Timedelta(load_mw.index[k + 1] - load_mw.index[k])
            raise ValueError(
                "load_mw index must be hourly, increasing, without gaps or duplicates: "
                f"step of {step} from {load_mw.index[k]} to {load_mw.index[k + 1]}"
            )


def _check_target(target_rate: float) -> float:
    target = float(target_rate)
    if not 0.0 < target < 1.0:
        raise ValueError(
            f"target curtailment rate must be in (0, 1), e.g. 0.005 for 0.5 %; got {target_rate!r}"
        )
    return target


def _check_new_load(new_load_mw: float) -> float:
    value = float(new_load_mw)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"new_load_mw must be a finite number >= 0 MW; got {new_load_mw!r}")
    return value


def _check_thresholds(load_mw: pd.Series, thresholds: pd.Series) -> np.ndarray:
    if not isinstance(thresholds, pd.Series) or not thresholds.index.equals(load_mw.index):
        raise ValueError(
            "thresholds must be a Series on the same index as load_mw (see thresholds_mw)"
        )
    values = thresholds.to_numpy(dtype=float)
    if not np.isfinite(values).all():
        raise ValueError("thresholds must be finite numbers [MW]")
    return values


def _check_year_start(year_start_month: int) -> int:
    if year_start_month not in range(1, 13):
        raise ValueError(f"year_start_month must be 1-12; got {year_start_month!r}")
    return int(year_start_month)


def _season_of_month(mapping: Mapping[int, str]) -> np.ndarray:
    """Season code per month (index 1-12): 0 summer, 1 winter; validates a user mapping."""
    months = set(mapping)
    if months != set(range(1, 13)):
        missing = sorted(set(range(1, 13)) - months)
        extra = sorted(months - set(range(1, 13)), key=repr)
        raise ValueError(
            "a season mapping must give every month 1-12 exactly once"
            + (f"; missing {missing}" if missing else "")
            + (f"; not months: {extra}" if extra else "")
        )
    codes = np.full(13, -1, dtype=np.int8)
    for month, season in mapping.items():
        if season not in _SEASONS:
            raise ValueError(
                f"a season mapping must map months to 'summer' or 'winter'; "
                f"month {month} -> {season!r}"
            )
        codes[month] = _SEASONS.index(season)
    return codes


def _mapping_label(mapping: SeasonMapping) -> str:
    """Validate ``mapping`` and return how it is reported (``duke``, ..., ``custom: ...``)."""
    if isinstance(mapping, str):
        if mapping not in MAPPINGS:
            raise ValueError(
                f"mapping must be one of {', '.join(MAPPINGS)} or a dict month -> "
                f"'summer'/'winter'; got {mapping!r}"
            )
        return mapping
    if not isinstance(mapping, Mapping):
        raise ValueError(f"mapping must be a str or a dict month -> season; got {mapping!r}")
    codes = _season_of_month(mapping)
    if dict(mapping) == SEASONS_DUKE:
        return "duke"
    parts = [
        f"{season} " + ",".join(str(m) for m in range(1, 13) if codes[m] == k)
        for k, season in enumerate(_SEASONS)
    ]
    return "custom: " + "; ".join(p for p in parts if p.split(" ", 1)[1])


def _years(index: pd.DatetimeIndex, year_start_month: int) -> np.ndarray:
    """Year label of every timestamp: the calendar year in which its 12-month year starts."""
    years = index.year.to_numpy()
    if year_start_month == 1:
        return years
    return years - (index.month.to_numpy() < year_start_month)


# --------------------------------------------------------------------------- method


def thresholds_mw(
    load_mw: pd.Series, mapping: SeasonMapping = "duke", *, year_start_month: int = 1
) -> pd.Series:
    """Peak threshold [MW] that applies in each hour, computed separately for each year.

    Parameters
    ----------
    load_mw : pd.Series
        Hourly system load [MW] on a gap-free hourly ``DatetimeIndex``. Months and years
        are those of the timestamps as given (convert to local time first).
    mapping : {"duke", "monthly", "annual"} or dict of int to str, default "duke"
        ``"duke"``: the published seasons, the summer peak (June-August) in April to
        October and the winter peak (December-February) in November to March.
        ``"monthly"``: each calendar month's own peak. ``"annual"``: the year's peak.
        A dict month (1-12) -> ``"summer"``/``"winter"`` chooses which of the two seasonal
        peaks applies in each month; the peaks are still those of June-August and
        December-February, so ``SEASONS_DUKE`` reproduces ``"duke"``.
    year_start_month : int, default 1
        First month of a year. 1 (the default): calendar years, as in the paper. 7: years
        July-June (e.g. Pakistan's fiscal year), labelled by the calendar year they start in.

    Returns
    -------
    pd.Series
        Threshold [MW] per hour, on the index of ``load_mw``, named ``threshold_mw``.

    Raises
    ------
    ValueError
        For a bad load series or mapping, or, with a seasonal mapping, a year that has
        hours mapped to a season but none of that season's peak months (a partial year).

    Notes
    -----
    With year y(t), month m(t) and season s(m) of the mapping, the threshold is

    .. math::

        T_t = \\max \\{ P_u : y(u) = y(t),\\ m(u) \\in M_{s(m(t))} \\}

    with :math:`M_{summer} = \\{6, 7, 8\\}`, :math:`M_{winter} = \\{12, 1, 2\\}`; for
    ``"monthly"`` the set is the hours of the same year and month, for ``"annual"`` all
    hours of the year. With calendar years, the winter peak of year y is taken over its
    own January, February and December. Thresholds use the original load only.

    References
    ----------
    .. [1] Norris, T. H., Profeta, T., Patino-Echeverri, D., Cowie-Haskell, A. (2025).
       Rethinking Load Growth: Assessing the Potential for Integration of Large Flexible
       Loads in US Power Systems. Nicholas Institute for Energy, Environment &
       Sustainability, Duke University, February 2025.
    """
    _check_load(load_mw)
    _mapping_label(mapping)
    start = _check_year_start(year_start_month)
    index = load_mw.index
    values = pd.Series(load_mw.to_numpy(dtype=float))
    years = _years(index, start)
    months = index.month.to_numpy()
    if mapping == "annual":
        thresholds = values.groupby(years).transform("max").to_numpy()
    elif mapping == "monthly":
        thresholds = values.groupby([years, months]).transform("max").to_numpy()
    else:
        season = _season_of_month(SEASONS_DUKE if mapping == "duke" else mapping)[months]
        peak_season = np.full(13, -1, dtype=np.int8)
        for k, name in enumerate(_SEASONS):
            peak_season[list(PEAK_MONTHS[name])] = k
        defining = peak_season[months]
        core = defining >= 0
        peaks = values[core].groupby([years[core], defining[core]]).max()
        wanted = pd.MultiIndex.from_arrays([years, season])
        thresholds = peaks.reindex(wanted).to_numpy(dtype=float)
        missing = np.isnan(thresholds)
        if missing.any():
            k = int(np.argmax(missing))
            name = _SEASONS[season[k]]
            months_text = "Jun-Aug" if name == "summer" else "Dec-Feb"
            raise ValueError(
                f"year {years[k]} has hours mapped to the {name} threshold (first at "
                f"{index[k]}) but no load in {months_text} to define it; give whole years, "
                "or use mapping='monthly' or 'annual'"
            )
    return pd.Series(thresholds, index=index, name="threshold_mw")


def curtailment_mw(load_mw: pd.Series, new_load_mw: float, thresholds: pd.Series) -> pd.Series:
    """Hourly curtailment [MW] of a constant new load added to the system load.

    Parameters
    ----------
    load_mw : pd.Series
        Hourly system load [MW] without the new load.
    new_load_mw : float
        Constant new load L [MW], >= 0.
    thresholds : pd.Series
        Peak threshold [MW] per hour on the same index, usually from :func:`thresholds_mw`.

    Returns
    -------
    pd.Series
        Curtailment [MW] per hour, between 0 and L, named ``curtailment_mw``.

    Notes
    -----
    The new load loses what load plus L would put above the threshold, but at most itself:

    .. math::

        c_t = \\min\\left(L, \\max(0, P_t + L - T_t)\\right)

    Without the cap an hour in which the original load already exceeds its threshold
    (possible with the seasonal mappings) would curtail more than L.

    References
    ----------
    .. [1] Norris, T. H., Profeta, T., Patino-Echeverri, D., Cowie-Haskell, A. (2025).
       Rethinking Load Growth: Assessing the Potential for Integration of Large Flexible
       Loads in US Power Systems. Nicholas Institute for Energy, Environment &
       Sustainability, Duke University, February 2025.
    """
    _check_load(load_mw)
    new_load = _check_new_load(new_load_mw)
    margin = _check_thresholds(load_mw, thresholds) - load_mw.to_numpy(dtype=float)
    return pd.Series(_curtailment(margin, new_load), index=load_mw.index, name="curtailment_mw")


def curtailment_rate(load_mw: pd.Series, new_load_mw: float, thresholds: pd.Series) -> float:
    """Share [-] of the new load's energy that is curtailed.

    Parameters
    ----------
    load_mw : pd.Series
        Hourly system load [MW] without the new load.
    new_load_mw : float
        Constant new load L [MW], >= 0.
    thresholds : pd.Series
        Peak threshold [MW] per hour on the same index.

    Returns
    -------
    float
        Curtailment rate [-] in [0, 1]. For L = 0 the limit for L -> 0+ is returned: the
        share of hours in which the load is at or above its threshold.

    Notes
    -----
    Over the N hours of the series, with :math:`c_t` from :func:`curtailment_mw`,

    .. math::

        r(L) = \\frac{\\sum_t c_t}{L N}
             = \\frac{1}{N} \\sum_t \\min\\left(1, \\max\\left(0, 1 - \\frac{T_t - P_t}{L}
               \\right)\\right)

    Every term of the second form is non-decreasing in L, so r is too.

    References
    ----------
    .. [1] Norris, T. H., Profeta, T., Patino-Echeverri, D., Cowie-Haskell, A. (2025).
       Rethinking Load Growth: Assessing the Potential for Integration of Large Flexible
       Loads in US Power Systems. Nicholas Institute for Energy, Environment &
       Sustainability, Duke University, February 2025.
    """
    _check_load(load_mw)
    new_load = _check_new_load(new_load_mw)
    margin = _check_thresholds(load_mw, thresholds) - load_mw.to_numpy(dtype=float)
    return _rate(margin, new_load)


def headroom_mw(
    load_mw: pd.Series,
    target_rate: float,
    mapping: SeasonMapping = "duke",
    tol_mw: float = 0.1,
    *,
    year_start_month: int = 1,
) -> float:
    """Largest constant new load [MW] whose curtailment rate over the series is <= target.

    Parameters
    ----------
    load_mw : pd.Series
        Hourly system load [MW] on a gap-free hourly ``DatetimeIndex``.
    target_rate : float
        Allowed curtailment rate [-] in (0, 1), e.g. 0.005 for 0.5 %.
    mapping : {"duke", "monthly", "annual"} or dict of int to str, default "duke"
        Peak thresholds, see :func:`thresholds_mw`.
    tol_mw : float, default 0.1
        Bisection tolerance [MW].
    year_start_month : int, default 1
        First month of a year for the thresholds, see :func:`thresholds_mw`.

    Returns
    -------
    float
        Headroom L [MW], at most ``tol_mw`` below the exact value (or the float spacing
        of L, where that is larger: loads of 1e15 MW and more); its curtailment rate
        never exceeds the target. 0.0 when even a vanishing load exceeds the target, i.e.
        when the load is at or above its threshold in more than ``target_rate`` of the
        hours (:func:`headroom_table` says so in its ``note`` column).

    Notes
    -----
    The rate r(L) of :func:`curtailment_rate` is continuous and non-decreasing for L > 0,
    so :math:`\\{L : r(L) \\le r^*\\}` is an interval :math:`[0, L^*]` whenever
    :math:`r(0^+) = N^{-1} \\#\\{t : P_t \\ge T_t\\} \\le r^*`, and :math:`L^*` is found
    by bisection on :math:`[0, U]` with
    :math:`U = \\max_t (T_t - P_t) \\left(1 + 1/(1 - r^*)\\right)`, where
    :math:`r(U) \\ge 1/(2 - r^*) > r^*`.

    The rate is pooled over all hours, with thresholds per year. The paper's multi-year
    figure, the mean of the years solved separately, is :func:`headroom_table`.

    References
    ----------
    .. [1] Norris, T. H., Profeta, T., Patino-Echeverri, D., Cowie-Haskell, A. (2025).
       Rethinking Load Growth: Assessing the Potential for Integration of Large Flexible
       Loads in US Power Systems. Nicholas Institute for Energy, Environment &
       Sustainability, Duke University, February 2025.
    """
    target = _check_target(target_rate)
    tol = _check_tol(tol_mw)
    thresholds = thresholds_mw(load_mw, mapping, year_start_month=year_start_month)
    margin = thresholds.to_numpy() - load_mw.to_numpy(dtype=float)
    return _solve(margin, target, tol)


def _check_tol(tol_mw: float) -> float:
    tol = float(tol_mw)
    if not (math.isfinite(tol) and tol > 0):
        raise ValueError(f"tol_mw must be a finite number > 0 MW; got {tol_mw!r}")
    return tol


def _curtailment(margin: np.ndarray, new_load: float) -> np.ndarray:
    """min(L, max(0, L - margin)) with margin = threshold - load [MW]."""
    return np.clip(new_load - margin, 0.0, new_load)


def _rate(margin: np.ndarray, new_load: float) -> float:
    if new_load == 0.0:
        return float(np.mean(margin <= 0.0))
    # Each hour curtails at most the whole new load, so the rate is at most 1; the sum
    # of n equal floats can round above n x L, hence the clip (hypothesis found 1 + 2e-16).
    return min(1.0, float(_curtailment(margin, new_load).sum() / (new_load * margin.size)))


def _solve(margin: np.ndarray, target: float, tol: float) -> float:
    """Bisection for the largest L with rate <= target (0.0 if the limit L -> 0+ exceeds it)."""
    if _rate(margin, 0.0) > target:
        return 0.0
    low, high = 0.0, max(float(margin.max()), tol) * (1.0 + 1.0 / (1.0 - target))
    # Where the rate is flat at exactly the target (a plateau), rounding can put it a
    # hair above; compare with a relative tolerance so the plateau counts as feasible.
    limit = target * (1.0 + 1e-12)
    # Bounded: where tol is below the float spacing of L (huge loads), the midpoint
    # stops moving; the answer is then as exact as a float can say.
    for _ in range(MAX_BISECTIONS):
        if high - low <= tol:
            break
        middle = 0.5 * (low + high)
        if not low < middle < high:
            break
        if _rate(margin, middle) <= limit:
            low = middle
        else:
            high = middle
    return low


# --------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class HeadroomRow:
    """Headroom at one target curtailment rate, with the shape of its curtailment.

    Attributes
    ----------
    target_rate : float
        Allowed curtailment rate [-].
    new_load_mw : float
        Headroom L [MW].
    curtailed_mwh : float
        Curtailed energy of the new load per year [MWh].
    curtailed_hours : float
        Hours with curtailment per year [h].
    events : float
        Runs of consecutive curtailed hours per year [-].
    mean_event_h : float
        Mean length of a run [h]; 0.0 without events.
    share_hours_keep_50, share_hours_keep_75, share_hours_keep_90 : float
        Share [-] of curtailed hours in which the new load still gets at least 50 %, 75 %
        or 90 % of L (curtailment <= 0.5, 0.25 or 0.1 L); NaN without curtailed hours.
    mapping : str
        Threshold mapping used: ``duke``, ``monthly``, ``annual`` or ``custom: ...``.
    curtailment_rate : float
        Curtailment rate reached at L [-] (<= target); NaN for L = 0.
    years : int
        Number of years averaged.
    note : str
        Why the headroom is zero, if it is; empty otherwise.
    """

    target_rate: float
    new_load_mw: float
    curtailed_mwh: float
    curtailed_hours: float
    events: float
    mean_event_h: float
    share_hours_keep_50: float
    share_hours_keep_75: float
    share_hours_keep_90: float
    mapping: str
    curtailment_rate: float
    years: int = 1
    note: str = ""


_KEEP_SHARES = (50, 75, 90)


def _row(margin: np.ndarray, new_load: float, target: float, label: str) -> HeadroomRow:
    """Statistics of the curtailment of ``new_load`` for one year (margin = T - P)."""
    curtailed = _curtailment(margin, new_load)
    mask = curtailed > CURTAILED_EPS_MW
    hours = int(mask.sum())
    lengths = run_lengths(mask)
    keep = {
        share: float(np.mean(curtailed[mask] <= (1 - share / 100) * new_load + CURTAILED_EPS_MW))
        if hours
        else np.nan
        for share in _KEEP_SHARES
    }
    note = ""
    at_peak = _rate(margin, 0.0)
    if new_load == 0.0 and at_peak > target:
        above = int((margin < 0).sum())
        note = (
            f"no headroom: the load is at or above its threshold in {at_peak:.2%} of hours, "
            f"more than the target {target:.2%}"
            + (f" ({above} h above it; try mapping 'monthly' or 'annual')" if above else "")
        )
    return HeadroomRow(
        target_rate=target,
        new_load_mw=new_load,
        curtailed_mwh=float(curtailed.sum()),
        curtailed_hours=float(hours),
        events=float(lengths.size),
        mean_event_h=float(lengths.mean()) if lengths.size else 0.0,
        share_hours_keep_50=keep[50],
        share_hours_keep_75=keep[75],
        share_hours_keep_90=keep[90],
        mapping=label,
        curtailment_rate=_rate(margin, new_load) if new_load > 0 else np.nan,
        years=1,
        note=note,
    )


def headroom_by_year(
    load_mw: pd.Series,
    targets: Sequence[float] = DEFAULT_TARGETS,
    mapping: SeasonMapping = "duke",
    tol_mw: float = 0.1,
    *,
    year_start_month: int = 1,
) -> pd.DataFrame:
    """Headroom [MW] and its curtailment for every year of the record and every target.

    Parameters
    ----------
    load_mw : pd.Series
        Hourly system load [MW] on a gap-free hourly ``DatetimeIndex``.
    targets : sequence of float, default (0.0025, 0.005, 0.01, 0.05)
        Curtailment rates [-], each in (0, 1).
    mapping : {"duke", "monthly", "annual"} or dict of int to str, default "duke"
        Peak thresholds, see :func:`thresholds_mw`.
    tol_mw : float, default 0.1
        Bisection tolerance [MW].
    year_start_month : int, default 1
        First month of a year (1: calendar years), see :func:`thresholds_mw`.

    Returns
    -------
    pd.DataFrame
        Indexed by (``year``, ``target_rate``); the columns are the other fields of
        :class:`HeadroomRow`. A partial first or last year is solved over its own hours.

    Notes
    -----
    For each year y with hours :math:`N_y`, :math:`L_y` solves
    :math:`\\sum_{t \\in y} c_t(L_y) = r^* L_y N_y` (see :func:`headroom_mw`).

    References
    ----------
    .. [1] Norris, T. H., Profeta, T., Patino-Echeverri, D., Cowie-Haskell, A. (2025).
       Rethinking Load Growth: Assessing the Potential for Integration of Large Flexible
       Loads in US Power Systems. Nicholas Institute for Energy, Environment &
       Sustainability, Duke University, February 2025.
    """
    checked = [_check_target(t) for t in targets]
    if not checked:
        raise ValueError("targets must hold at least one curtailment rate")
    tol = _check_tol(tol_mw)
    label = _mapping_label(mapping)
    thresholds = thresholds_mw(load_mw, mapping, year_start_month=year_start_month)
    margin = thresholds.to_numpy() - load_mw.to_numpy(dtype=float)
    years = _years(load_mw.index, year_start_month)
    records = []
    for year in np.unique(years):
        in_year = margin[years == year]
        for target in checked:
            row = _row(in_year, _solve(in_year, target, tol), target, label)
            records.append({"year": int(year), **asdict(row)})
    return pd.DataFrame(records).set_index(["year", "target_rate"])


def headroom_table(
    load_mw: pd.Series,
    targets: Sequence[float] = DEFAULT_TARGETS,
    mapping: SeasonMapping = "duke",
    tol_mw: float = 0.1,
    *,
    year_start_month: int = 1,
) -> pd.DataFrame:
    """Headroom [MW] at each target curtailment rate, averaged over the years of the record.

    Parameters
    ----------
    load_mw : pd.Series
        Hourly system load [MW] on a gap-free hourly ``DatetimeIndex``; months and years
        are those of the timestamps as given.
    targets : sequence of float, default (0.0025, 0.005, 0.01, 0.05)
        Curtailment rates [-], each in (0, 1).
    mapping : {"duke", "monthly", "annual"} or dict of int to str, default "duke"
        Peak thresholds, see :func:`thresholds_mw`; reported in the ``mapping`` column.
    tol_mw : float, default 0.1
        Bisection tolerance [MW].
    year_start_month : int, default 1
        First month of a year (1: calendar years), see :func:`thresholds_mw`.

    Returns
    -------
    pd.DataFrame
        One row per target, indexed by ``target_rate``; the columns are the other fields of
        :class:`HeadroomRow`. For a single year these are that year's values.

    Notes
    -----
    Each year is solved separately (:func:`headroom_by_year`) and, as in the paper, the
    per-year values are averaged with equal weight per year: :math:`\\bar L = Y^{-1}
    \\sum_y L_y`, and likewise curtailed energy, curtailed hours, events and rate. The
    mean event length is then :math:`\\bar H / \\bar E` (mean curtailed hours over mean
    events, i.e. weighted by events) and the keep shares are weighted by curtailed hours,
    so that the row stays consistent. The paper's US result for comparison: 76, 98, 126
    and 215 GW at 0.25, 0.5, 1 and 5 %, with 85, 177, 366 and 1,848 curtailed hours per
    year and mean events of 1.7, 2.1, 2.5 and 4.5 h.

    References
    ----------
    .. [1] Norris, T. H., Profeta, T., Patino-Echeverri, D., Cowie-Haskell, A. (2025).
       Rethinking Load Growth: Assessing the Potential for Integration of Large Flexible
       Loads in US Power Systems. Nicholas Institute for Energy, Environment &
       Sustainability, Duke University, February 2025.

    Examples
    --------
    >>> hours = pd.date_range("2023-01-01", periods=8760, freq="h")
    >>> load = pd.Series(100.0, index=hours)
    >>> load.iloc[4000:4010] = 150.0  # ten July hours at the annual peak
    >>> table = headroom_table(load, targets=[0.01], mapping="annual", tol_mw=1e-3)
    >>> round(float(table.loc[0.01, "new_load_mw"]), 1)
    50.4
    """
    by_year = headroom_by_year(load_mw, targets, mapping, tol_mw, year_start_month=year_start_month)
    per_target = by_year.groupby(level="target_rate", sort=False)
    columns = [f.name for f in fields(HeadroomRow) if f.name != "target_rate"]
    table = per_target[["new_load_mw", "curtailed_mwh", "curtailed_hours", "events"]].mean()
    table["curtailment_rate"] = per_target["curtailment_rate"].mean()
    events = table["events"]
    table["mean_event_h"] = (table["curtailed_hours"] / events.where(events > 0)).fillna(0.0)
    total_hours = per_target["curtailed_hours"].sum()
    for share in _KEEP_SHARES:
        name = f"share_hours_keep_{share}"
        weighted = (by_year[name].fillna(0.0) * by_year["curtailed_hours"]).groupby(
            level="target_rate", sort=False
        )
        table[name] = weighted.sum() / total_hours.where(total_hours > 0)
    table["mapping"] = _mapping_label(mapping)
    table["years"] = per_target.size()
    table["note"] = per_target["note"].agg(lambda notes: _join_notes(notes))
    return table[columns]


def _join_notes(notes: pd.Series) -> str:
    """One note for a target: the per-year notes prefixed by their year if several years."""
    years = notes.index.get_level_values("year")
    if len(notes) == 1:
        return str(notes.iloc[0])
    return "; ".join(f"{year}: {note}" for year, note in zip(years, notes, strict=True) if note)


def _hour_value(index: pd.DatetimeIndex) -> int:
    """One hour in the integer unit of ``index.asi8``."""
    return int(np.timedelta64(1, "h") // np.timedelta64(1, index.unit))
