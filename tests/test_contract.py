"""The program's contract terms act: term, first-year cap, reviews, notice; no inert field."""

from __future__ import annotations

import ast
import datetime as dt
import inspect
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import BaseModel

import megawatt
import megawatt.scenario.model as model
from megawatt.accounts.events import curtailment_events
from megawatt.economics.contract import contract_periods, term_market, term_years
from megawatt.errors import InputError


def _with_terms(sc, **terms):
    out = sc.model_copy(deep=True)
    for key, value in terms.items():
        setattr(out.program.contract, key, value)
    return out


def test_default_periods(default_scenario) -> None:
    """2026-01-01 + 3 years, semi-annual reviews: six periods, year one at 25%."""
    periods = contract_periods(default_scenario)
    assert list(periods.start) == [
        dt.date(2026, 1, 1),
        dt.date(2026, 7, 1),
        dt.date(2027, 1, 1),
        dt.date(2027, 7, 1),
        dt.date(2028, 1, 1),
        dt.date(2028, 7, 1),
    ]
    assert periods.end.iloc[-1] == dt.date(2029, 1, 1)
    assert periods.days.sum() == 365 + 365 + 366
    assert list(periods.contract_year) == [1, 1, 2, 2, 3, 3]
    assert list(periods.review) == [0, 1, 2, 3, 4, 5]
    assert list(periods.cap_share) == [0.25, 0.25, 1.0, 1.0, 1.0, 1.0]
    assert list(periods.cap_mw) == [500.0, 500.0, 2000.0, 2000.0, 2000.0, 2000.0]
    assert term_years(default_scenario) == {2026: 0.25, 2027: 1.0, 2028: 1.0}


def test_periods_cut_at_reviews_and_contract_years(default_scenario) -> None:
    """A start on the 31st, 5-month reviews and a 2.5-year term: the periods tile the
    term, each contract year starts a period, review numbers count the reviews."""
    sc = _with_terms(default_scenario, start=dt.date(2026, 3, 31), review_months=5, term_years=2.5)
    periods = contract_periods(sc)
    assert periods.start.iloc[0] == dt.date(2026, 3, 31)
    assert periods.end.iloc[-1] == dt.date(2028, 9, 30)
    assert (periods.start.iloc[1:].to_numpy() == periods.end.iloc[:-1].to_numpy()).all()
    assert periods.days.sum() == (dt.date(2028, 9, 30) - dt.date(2026, 3, 31)).days
    # contract years start on 2027-03-31 and 2028-03-31, reviews every 5 months
    assert dt.date(2027, 3, 31) in set(periods.start)
    assert dt.date(2028, 3, 31) in set(periods.start)
    assert dt.date(2026, 8, 31) in set(periods.start)  # 31 Aug: March 31 + 5 months
    assert periods.loc[periods.start == dt.date(2027, 3, 31), "review"].item() == 2
    year_one = periods[periods.contract_year == 1]
    assert year_one.end.iloc[-1] == dt.date(2027, 3, 31) and (year_one.cap_share == 0.25).all()


def test_term_must_be_on_the_market_path(default_scenario) -> None:
    sc = _with_terms(default_scenario, term_years=6)
    with pytest.raises(InputError) as err:
        term_market(sc, contract_periods(sc))
    text = str(err.value)
    assert "economics.market_path" in text and "2031" in text and "2025-2030" in text


def test_horizon_over_the_term(default_outcome) -> None:
    """The multi-year view covers the term only, year one at a quarter of each
    licence's MW, and its years are the sums of its periods."""
    view = default_outcome.horizon
    allocated = default_outcome.balance.applicants.allocated_mw.sum()
    periods, years = view.periods, view.years
    assert list(years.index) == [2026, 2027, 2028]
    assert list(years.contract_year) == [1, 2, 3]
    one = periods[periods.contract_year == 1]
    two = periods[periods.contract_year == 2]
    # the same applicants draw in years one and two: year one allocates a quarter
    assert (one.applicants_drawing.to_numpy() == two.applicants_drawing.to_numpy()).all()
    assert one.allocated_mw.to_numpy() == pytest.approx(0.25 * two.allocated_mw.to_numpy())
    # fewer applicants draw in 2027 than at today's hashprice; the plan's is an upper bound
    assert (periods.allocated_mw <= allocated + 1e-6).all()
    assert (one.allocated_mw <= one.cap_mw + 1e-6).all()
    # served energy per day is within what is allocated; a quarter of each licence is
    # curtailed no more often than the whole, so year one serves at least a quarter
    per_day = periods.served_gwh / periods.days
    assert (per_day <= periods.allocated_mw * 24 / 1e3 + 1e-9).all()
    assert (per_day[one.index].to_numpy() >= 0.25 * per_day[two.index].to_numpy() - 1e-9).all()
    for col in ("served_gwh", "revenue_musd", "margin_musd"):
        assert years[col].to_numpy() == pytest.approx(
            periods.groupby("contract_year")[col].sum().to_numpy()
        )
    assert years.days.sum() == periods.days.sum() == 1096
    # periods with the same LP have the same figures per day (the year scaled by days)
    for col in ("served_gwh", "margin_musd"):
        assert np.allclose(one[col] / one.days, one[col].iloc[0] / one.days.iloc[0])
    # the halving (in 2028) is inside a review period: its mean subsidy is between
    h = view.halving_date
    holding = periods[(pd.to_datetime(periods.index) <= h) & (pd.to_datetime(periods.end) > h)]
    assert len(holding) == 1 and 1.5625 < holding.subsidy_btc.item() < 3.125
    assert view.values.index.equals(periods.index)


def test_events_are_notified_with_their_notice() -> None:
    """The day-ahead schedule of a local day is due ``notice`` before the day starts:
    an event at 22:00 PKT is notified 22.5 h ahead with 30 minutes' notice."""
    idx = pd.date_range("2025-01-01", periods=72, freq="h", tz="UTC")
    curtailed = np.zeros(72)
    curtailed[17:20] = 5.0  # 22:00-01:00 PKT
    curtailed[43] = 2.0  # 00:00 PKT on 3 Jan (19:00 UTC on 2 Jan)
    events = curtailment_events(
        pd.DataFrame({"a": curtailed}, index=idx),
        pd.Series({"a": 10.0}),
        notice_minutes=30,
        timezone="Asia/Karachi",
    )
    assert len(events) == 2
    assert events.notify_utc.iloc[0] == pd.Timestamp("2024-12-31 18:30", tz="UTC")
    assert events.notice_h.iloc[0] == pytest.approx(22.5)
    # an event at local midnight gets exactly its notice
    assert events.notice_h.iloc[1] == pytest.approx(0.5)
    longer = curtailment_events(
        pd.DataFrame({"a": curtailed}, index=idx),
        pd.Series({"a": 10.0}),
        notice_minutes=240,
        timezone="Asia/Karachi",
    )
    assert (longer.notice_h >= 4.0 - 1e-9).all()


def test_default_events_respect_notice(default_outcome) -> None:
    from megawatt.accounts.tables import result_tables

    events = result_tables(default_outcome)["curtailment_events"]
    notice = default_outcome.result.scenario.program.contract.notice_minutes
    assert len(events) and (events.notice_h >= notice / 60 - 1e-9).all()
    assert (events.notify_utc < events.start_utc).all()


def _reads() -> set[str]:
    """Attribute names read anywhere in the package outside the scenario model, in the
    model's own properties, and names looked up by string (getattr by kind)."""
    names: set[str] = set()
    package = Path(megawatt.__file__).parent
    for path in package.rglob("*.py"):
        tree = ast.parse(path.read_text())
        in_model = path == Path(model.__file__)
        for node in ast.walk(tree):
            if in_model:
                if isinstance(node, ast.FunctionDef) and any(
                    isinstance(d, ast.Name) and d.id == "property" for d in node.decorator_list
                ):
                    names |= {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}
                continue
            if isinstance(node, ast.Attribute):
                names.add(node.attr)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                names.add(node.value)
    return names


def test_no_scenario_field_is_inert() -> None:
    """Every field of every scenario model is read by some computation (a field that
    nothing reads is a promise the tool does not keep). Static: a name read anywhere
    counts, so a field sharing its name with another read field is not caught; the
    tests above show the contract terms act."""
    reads = _reads()
    inert = [
        f"{name}.{field}"
        for name, cls in inspect.getmembers(model, inspect.isclass)
        if issubclass(cls, BaseModel) and cls.__module__ == model.__name__
        for field in cls.model_fields
        if field not in reads
    ]
    assert not inert, f"scenario fields that nothing reads: {inert}"
