"""The day-ahead schedule: blocks from the dispatch of the live registry, the notice
rule, idempotent reconciliation against an event sink, emergency overrides."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from factories import small_scenario
from megawatt import scenario as scenario_lib
from megawatt.cli import app
from megawatt.ops import db, ledger
from megawatt.ops.models import Contract, Licence, Operator, Site
from megawatt.ops.problems import Problem
from megawatt.ops.schedule import (
    Block,
    EventSink,
    Interval,
    apply_overrides,
    contract_on,
    day_ahead,
    emergency_block,
    issue_emergency,
    profile_start,
    publish,
    reconcile,
    schedule_day,
)
from megawatt.ops.seed import seed_caps
from opsdb import db_url  # noqa: F401  (fixture)

KHI = ZoneInfo("Asia/Karachi")
DAY = dt.date(2026, 1, 1)
UTC = dt.UTC


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), KHI).astimezone(UTC)


def hours(day: dt.date, first: int, last: int, allowed: float) -> tuple[Interval, ...]:
    return tuple(
        Interval(
            local(day, 0) + dt.timedelta(hours=h),
            local(day, 0) + dt.timedelta(hours=h + 1),
            allowed,
        )
        for h in range(first, last)
    )


def block(site_id: int, first: int, last: int, allowed: float = 0.0, **kw: object) -> Block:
    args: dict = {"site": f"s{site_id}", "day": DAY, "kind": "scheduled"} | kw
    return Block(site_id=site_id, intervals=hours(DAY, first, last, allowed), **args)


class MemorySink:
    """An EventSink in memory: the test double of the OpenADR VTN."""

    def __init__(self) -> None:
        self.live: dict[str, Block] = {}
        self.log: list[tuple[str, str]] = []

    def events(self, start: dt.datetime, end: dt.datetime) -> list[Block]:
        return [b for b in self.live.values() if b.start < end and b.end > start]

    def upsert_event(self, block: Block) -> None:
        self.log.append(("upsert", block.key))
        self.live[block.key] = block

    def cancel_event(self, block: Block) -> None:
        self.log.append(("cancel", block.key))
        del self.live[block.key]


# ---------------------------------------------------------------------------------
# Pure functions: keys, reconciliation, overrides


def test_key_and_digest() -> None:
    b = block(1, 6, 10, 5.0)
    assert b.key == "scheduled:1:2026-01-01:2026-01-01T01:00:00+00:00"
    assert b.end == local(DAY, 10)
    # information only: the curtailed MW do not change the digest
    info = Block(
        1,
        "s1",
        DAY,
        "scheduled",
        tuple(Interval(i.start, i.end, i.allowed_mw, 9.0) for i in b.intervals),
    )
    assert info.digest == b.digest
    assert block(1, 6, 10, 5.0004).digest == b.digest  # below 1 kW
    assert block(1, 6, 10, 5.001).digest != b.digest
    assert block(1, 6, 11, 5.0).key == b.key  # longer: same key, new digest
    assert block(1, 6, 11, 5.0).digest != b.digest
    assert block(1, 7, 10, 5.0).key != b.key


def test_reconcile_hand_built_cases() -> None:
    a, b, c, d = block(1, 6, 10), block(2, 6, 10), block(1, 18, 21), block(3, 0, 2)
    assert reconcile([], []) == ([], [], [], [])
    assert reconcile([a, b], [b, a]) == ([a, b], [], [], [])  # unchanged: kept, any order
    changed = block(2, 6, 10, allowed=4.0)
    longer = block(1, 18, 22)
    keep, update, create, cancel = reconcile([a, b, c, d], [a, changed, longer, block(4, 1, 3)])
    assert keep == [a]
    assert update == [longer, changed]  # same key (site, day, start), other content; key order
    assert [x.key for x in create] == [block(4, 1, 3).key]
    assert cancel == [d]  # vanished
    moved = block(1, 7, 10)  # start moved: a new block, the old one cancelled
    assert reconcile([a], [moved]) == ([], [], [moved], [a])
    with pytest.raises(ValueError, match="share the key"):
        reconcile([], [a, a])


def test_emergency_cuts_overlapping_scheduled_blocks() -> None:
    sched = [block(1, 6, 10, 2.0), block(1, 18, 21), block(2, 6, 10)]
    em = Block(
        1,
        "s1",
        DAY,
        "emergency",
        (Interval(local(DAY, 7, 30), local(DAY, 8, 30), 0.0),),
        priority=0,
    )
    out = apply_overrides(sched, [em])
    first, second, evening, other = out
    assert (first.start, first.end) == (local(DAY, 6), local(DAY, 7, 30))
    assert first.key == sched[0].key and first.digest != sched[0].digest
    assert (second.start, second.end) == (local(DAY, 8, 30), local(DAY, 10))
    assert [i.allowed_mw for i in second.intervals] == [2.0, 2.0]
    assert evening == sched[1] and other == sched[2]  # other hours, other site: untouched
    whole = Block(
        1, "s1", DAY, "emergency", (Interval(local(DAY, 5), local(DAY, 11), 0.0),), priority=0
    )
    assert apply_overrides(sched[:1], [whole]) == []


def test_publish_is_idempotent_and_respects_emergencies() -> None:
    sink: EventSink = MemorySink()
    blocks = [block(1, 6, 10), block(2, 18, 21, 3.0)]
    rec = publish(sink, DAY, "Asia/Karachi", blocks, EARLY)
    assert len(rec.create) == 2 and not rec.update and not rec.cancel
    log = list(sink.log)
    again = publish(sink, DAY, "Asia/Karachi", blocks, EARLY)
    assert not again.changed and len(again.keep) == 2 and sink.log == log  # nothing sent
    em = Block(
        1, "s1", DAY, "emergency", (Interval(local(DAY, 8), local(DAY, 12), 1.0),), priority=0
    )
    rec = issue_emergency(sink, em)
    assert rec.create[0] == em and [b.key for b in rec.update] == [blocks[0].key]
    assert sink.live[blocks[0].key].end == local(DAY, 8)
    # a later run of the schedule keeps the emergency and the cut
    log = list(sink.log)
    rerun = publish(sink, DAY, "Asia/Karachi", blocks, EARLY)
    assert not rerun.changed and sink.log == log
    assert em.key in sink.live
    rec = publish(sink, DAY, "Asia/Karachi", blocks[1:], EARLY)  # site 1 no longer curtailed
    assert [b.key for b in rec.cancel] == [blocks[0].key] and em.key in sink.live


def test_a_started_block_is_history() -> None:
    """Re-running a day after a block has started leaves that block's event alone (it
    is the compliance record) and sends no new block that would start in the past;
    blocks still ahead are reconciled as usual."""
    sink: EventSink = MemorySink()
    blocks = [block(1, 6, 10), block(2, 18, 21, 3.0)]
    publish(sink, DAY, "Asia/Karachi", blocks, EARLY)
    noon = local(DAY, 12)
    changed = [block(1, 6, 10, 1.0), block(2, 18, 21, 1.0), block(1, 9, 11)]
    rec = publish(sink, DAY, "Asia/Karachi", changed, noon)
    assert [b.key for b in rec.update] == [blocks[1].key]  # the evening block, ahead
    assert not rec.create and not rec.cancel
    assert blocks[0].key in [b.key for b in rec.keep]
    assert sink.live[blocks[0].key].digest == blocks[0].digest  # the morning is unchanged
    gone = publish(sink, DAY, "Asia/Karachi", [], noon)  # nothing curtailed any more
    assert [b.key for b in gone.cancel] == [blocks[1].key]  # only the block ahead
    assert blocks[0].key in sink.live


# ---------------------------------------------------------------------------------
# The dispatch of a day on the live registry

# Zone A, one 100 MW plant at 10 USD/MWh, tariff 30 USD/MWh. Local hours of the first
# day: demand 40 MW (60 MW surplus) except 06-09 at 90 MW (10 MW surplus) and 18-20
# at 70 MW (30 MW surplus); the second day 40 MW all day. The AI site (20 MW, values
# power at 500) is served before the miner (30 MW, at 50):
#   06-09  AI 10 of 20 (curtailed 10), miner 0 of 30 (curtailed 30)
#   18-20  AI 20 of 20,                miner 10 of 30 (curtailed 20)
DEMAND = [40.0] * 6 + [90.0] * 4 + [40.0] * 8 + [70.0] * 3 + [40.0] * 3 + [40.0] * 24


def grid(tmp_path: Path) -> scenario_lib.Scenario:
    return small_scenario(
        tmp_path,
        {"A": DEMAND},
        [{"name": "g", "zone": "A", "p_nom_mw": 100, "fuel_cost_local_per_kwh": 0.01}],
        [
            {
                "name": "miner",
                "kind": "btc_miner",
                "zone": "A",
                "requested_mw": 30,
                "value_usd_per_mwh": 50,
            },
            {
                "name": "ai",
                "kind": "ai_datacenter",
                "zone": "A",
                "requested_mw": 20,
                "value_usd_per_mwh": 500,
            },
        ],
        timezone="Asia/Karachi",
    )


def _add_site(s: Session, name: str, kind: str, mw: str, notice: int | None) -> int:
    op = Operator(name=f"{name} ltd")
    s.add(op)
    s.flush()
    site = Site(operator_id=op.id, name=name, kind=kind, zone="A")
    s.add(site)
    s.flush()
    s.add(
        Licence(site_id=site.id, number=f"L-{name}", valid_from=dt.datetime(2025, 1, 1, tzinfo=UTC))
    )
    if notice is not None:
        _add_contract(s, site.id, notice)
    s.flush()
    ledger.append(
        s,
        site_id=site.id,
        kind="grant",
        effective_from=local(DAY, 0),
        mw=Decimal(mw),
        reason="t",
        actor="t",
    )
    return site.id


def _add_contract(s: Session, site_id: int, notice: int) -> None:
    s.add(
        Contract(
            site_id=site_id,
            tariff_scheme="flat",
            tariff_local_per_kwh=Decimal("0.03"),
            firm_share=Decimal(0),
            firm_service_level=Decimal(0),
            notice_minutes=notice,
            ramp_minutes=0,
            penalty_local_per_mwh=Decimal(0),
            start=DAY,
            term_months=12,
            review_months=6,
        )
    )


@pytest.fixture
def live(
    db_url: str,  # noqa: F811
    tmp_path: Path,
) -> Iterator[tuple[str, scenario_lib.Scenario, dict[str, int]]]:
    sc = grid(tmp_path)
    db.migrate(db_url)
    engine = db.make_engine(db_url)
    try:
        with db.transaction(db.session_factory(engine)) as s:
            seed_caps(s, sc, actor="test")
            ids = {
                "miner": _add_site(s, "miner", "btc_miner", "30", 30),
                "ai": _add_site(s, "ai", "ai_datacenter", "20", 120),
            }
        yield db_url, sc, ids
    finally:
        engine.dispose()


def _session(url: str):  # type: ignore[no-untyped-def]
    return db.transaction(db.session_factory(db.make_engine(url)))


EARLY = local(DAY - dt.timedelta(days=1), 12)  # published the day before at noon


def test_hand_computed_day(live) -> None:  # type: ignore[no-untyped-def]
    url, sc, ids = live
    with _session(url) as s:
        t0 = time.perf_counter()
        out = schedule_day(s, DAY, sc, published_at=EARLY)
        elapsed = time.perf_counter() - t0
    assert out.profile_day == dt.date(2025, 1, 1)  # 1 January of the profile year
    assert out.hours[0] == local(DAY, 0) and len(out.hours) == 24
    got = {(b.site, b.start, b.end): [i.allowed_mw for i in b.intervals] for b in out.blocks}
    assert got == {
        ("ai", local(DAY, 6), local(DAY, 10)): [10.0] * 4,
        ("miner", local(DAY, 6), local(DAY, 10)): [0.0] * 4,
        ("miner", local(DAY, 18), local(DAY, 21)): [10.0] * 3,
    }
    by_key = {(b.site, b.start.hour): b for b in out.blocks}
    assert by_key["miner", 1].curtailed_mwh == pytest.approx(120.0)
    assert by_key["miner", 13].curtailed_mwh == pytest.approx(60.0)
    assert by_key["ai", 1].notice_minutes == 120 and by_key["ai", 1].site_id == ids["ai"]
    assert out.uncovered == [] and out.no_contract == []
    # the second day of the profile: no curtailment
    with _session(url) as s:
        assert day_ahead(s, DAY + dt.timedelta(days=1), sc, published_at=EARLY) == []
    assert elapsed < 20, elapsed  # one day, not the year


def test_notice_rule_leaves_early_curtailment_uncovered(live) -> None:  # type: ignore[no-untyped-def]
    url, sc, _ = live
    with _session(url) as s:
        out = schedule_day(s, DAY, sc, published_at=local(DAY, 5, 45))
    # miner: 30 min notice -> nothing before 06:15; AI: 120 min -> nothing before 07:45
    starts = {(b.site, b.start): len(b.intervals) for b in out.blocks}
    assert starts == {
        ("miner", local(DAY, 7)): 3,
        ("ai", local(DAY, 8)): 2,
        ("miner", local(DAY, 18)): 3,
    }
    assert all(
        b.start >= local(DAY, 5, 45) + dt.timedelta(minutes=b.notice_minutes) for b in out.blocks
    )
    assert out.uncovered_mwh == pytest.approx({"miner": 30.0, "ai": 20.0})


def test_rerun_change_and_removal_reconcile(live) -> None:  # type: ignore[no-untyped-def]
    url, sc, ids = live
    sink = MemorySink()
    with _session(url) as s:
        first = publish(sink, DAY, sc.timezone, day_ahead(s, DAY, sc, EARLY), EARLY)
    assert len(first.create) == 3
    log = list(sink.log)
    with _session(url) as s:
        again = publish(sink, DAY, sc.timezone, day_ahead(s, DAY, sc, EARLY), EARLY)
    assert not again.changed and len(again.keep) == 3 and sink.log == log
    # the miner is cut to 25 MW: its evening curtailment changes, its limits do not
    # (the same 10 MW is left for it): nothing to send
    _change(url, ids["miner"], "change", Decimal(25))
    with _session(url) as s:
        rec = publish(sink, DAY, sc.timezone, day_ahead(s, DAY, sc, EARLY), EARLY)
    assert not rec.changed and sink.log == log
    # the AI site is cut to 15 MW: the miner gets 15 MW in the evening: updated
    _change(url, ids["ai"], "change", Decimal(15))
    with _session(url) as s:
        rec = publish(sink, DAY, sc.timezone, day_ahead(s, DAY, sc, EARLY), EARLY)
    assert [(b.site, b.start) for b in rec.update] == [("miner", local(DAY, 18))]
    assert [i.allowed_mw for i in rec.update[0].intervals] == [15.0] * 3
    assert rec.update[0].curtailed_mwh == pytest.approx(30.0)
    assert len(rec.keep) == 2 and not rec.create and not rec.cancel
    # the AI site is revoked: its block is cancelled; the miner has all of the surplus
    _change(url, ids["ai"], "revoke", None)
    with _session(url) as s:
        rec = publish(sink, DAY, sc.timezone, day_ahead(s, DAY, sc, EARLY), EARLY)
    # 06-09: 10 MW of 25 (updated); 18-20: 30 MW surplus covers 25 MW (cancelled)
    assert [(b.site, b.start) for b in rec.cancel] == [
        ("miner", local(DAY, 18)),
        ("ai", local(DAY, 6)),
    ]
    assert [(b.site, [i.allowed_mw for i in b.intervals]) for b in rec.update] == [
        ("miner", [10.0] * 4)
    ]
    assert not rec.create and list(sink.live) == [rec.update[0].key]


def _change(url: str, site_id: int, kind: str, mw: Decimal | None) -> None:
    with _session(url) as s:
        ledger.append(
            s,
            site_id=site_id,
            kind=kind,  # type: ignore[arg-type]
            effective_from=local(DAY, 0),
            mw=mw,
            reason="t",
            actor="t",
        )


def test_allocation_changing_within_the_day(live) -> None:  # type: ignore[no-untyped-def]
    url, sc, ids = live
    with _session(url) as s:  # the AI site leaves at 08:00
        ledger.append(
            s,
            site_id=ids["ai"],
            kind="revoke",
            effective_from=local(DAY, 8),
            mw=None,
            reason="t",
            actor="t",
        )
    with _session(url) as s:
        out = schedule_day(s, DAY, sc, published_at=EARLY)
    got = {(b.site, b.start, b.end) for b in out.blocks}
    assert ("ai", local(DAY, 6), local(DAY, 8)) in got
    assert out.level_mw["ai"].iloc[8:].eq(0).all()


def test_site_without_contract_or_bid_gets_program_notice(live) -> None:  # type: ignore[no-untyped-def]
    url, sc, _ = live
    with _session(url) as s:  # not in the base scenario: no value, ranks last
        _add_site(s, "newcomer", "btc_miner", "10", None)
    with _session(url) as s:
        out = schedule_day(s, DAY, sc, published_at=local(DAY, 5, 45))
    assert out.no_contract == ["newcomer"]
    new = [b for b in out.blocks if b.site == "newcomer"]
    # program notice 30 min: from 06:15, so 07-10 and 18-21, never served
    assert [(b.start, b.notice_minutes) for b in new] == [(local(DAY, 7), 30), (local(DAY, 18), 30)]
    assert all(i.allowed_mw == 0 for b in new for i in b.intervals)
    assert out.uncovered_mwh["newcomer"] == pytest.approx(10.0)


def test_contract_in_force(live) -> None:  # type: ignore[no-untyped-def]
    url, _, ids = live
    with _session(url) as s:
        for start, notice in ((dt.date(2025, 1, 1), 5), (dt.date(2026, 2, 1), 7)):
            _add_contract(s, ids["miner"], notice)
            s.flush()
            s.scalars(select(Contract).order_by(Contract.id.desc())).first().start = start
    with _session(url) as s:
        notice = {
            day: getattr(contract_on(s, ids["miner"], day), "notice_minutes", None)
            for day in (
                dt.date(2025, 12, 31),  # the 2025 contract, 12 months
                DAY,  # the 2025 one has ended: the fixture's
                dt.date(2026, 2, 1),  # the one that started last
                dt.date(2027, 1, 31),  # the fixture's has ended (12 months)
                dt.date(2027, 2, 1),  # all have ended
            )
        }
    assert list(notice.values()) == [5, 30, 7, 7, None]


def test_day_without_allocations(live) -> None:  # type: ignore[no-untyped-def]
    url, sc, ids = live
    for site_id in ids.values():
        _change(url, site_id, "revoke", None)
    with _session(url) as s:
        out = schedule_day(s, DAY, sc, published_at=EARLY)
    assert out.blocks == [] and out.uncovered == [] and list(out.level_mw.columns) == []


def test_profile_day_mapping(tmp_path: Path) -> None:
    sc = grid(tmp_path)
    assert profile_start(sc, dt.date(2030, 1, 2)) == 24
    with pytest.raises(Exception, match="has no 03 January"):
        profile_start(sc, dt.date(2026, 1, 3))


def test_emergency_block_checks(live) -> None:  # type: ignore[no-untyped-def]
    url, sc, ids = live
    with _session(url) as s:
        b = emergency_block(s, ids["miner"], local(DAY, 9), local(DAY, 11), 5.0, sc.timezone)
        assert (b.kind, b.priority, b.day, b.intervals[0].curtailed_mw) == (
            "emergency",
            0,
            DAY,
            25.0,
        )
        with pytest.raises(Problem) as err:
            emergency_block(s, 999, local(DAY, 9), local(DAY, 11), 5.0, sc.timezone)
        assert err.value.status == 404
        with pytest.raises(Problem):
            emergency_block(s, ids["miner"], local(DAY, 11), local(DAY, 9), 5.0, sc.timezone)
        with pytest.raises(Problem):
            emergency_block(s, ids["miner"], local(DAY, 9), local(DAY, 11), 1.0001, sc.timezone)


# ---------------------------------------------------------------------------------
# The command line


def test_cli_schedule_and_emergency(live, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, sc, ids = live
    path = scenario_lib.dump(sc, tmp_path / "base")
    runner = CliRunner()
    args = ["ops", "--db", url, "schedule", "--day", "2026-01-01", "--scenario", str(path)]
    res = runner.invoke(app, [*args, "--published-at", "2025-12-31T12:00:00+05:00", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["profile_day"] == "2025-01-01"
    assert [(b["site"], b["start"]) for b in data["blocks"]] == [
        ("miner", "2026-01-01T01:00:00+00:00"),
        ("miner", "2026-01-01T13:00:00+00:00"),
        ("ai", "2026-01-01T01:00:00+00:00"),
    ]
    assert data["published"] is True
    assert len(data["changes"]["create"]) == 3 and not data["changes"]["keep"]
    res = runner.invoke(app, [*args, "--published-at", "2025-12-31T12:00:00+05:00"])
    assert res.exit_code == 0, res.output
    assert "miner" in res.output and "3 kept, 0 updated, 0 created, 0 cancelled" in res.output
    res = runner.invoke(app, [*args, "--published-at", "2025-12-31T12:00:00"])
    assert res.exit_code == 2 and "UTC offset" in res.output
    em = [
        "ops",
        "--db",
        url,
        "emergency",
        "--site",
        str(ids["miner"]),
        "--start",
        "2026-01-01T05:00:00+05:00",
    ]
    res = runner.invoke(app, [*em, "--end", "2026-01-01T08:00:00+05:00", "--limit-mw", "5"])
    assert res.exit_code == 0, res.output
    assert "published" in res.output
    res = runner.invoke(app, [*em, "--end", "2026-01-01T04:00:00+05:00", "--limit-mw", "5"])
    assert res.exit_code == 2 and "ends before it starts" in res.output
    res = runner.invoke(app, [*em, "--end", "2026-01-01T09:00:00+05:00", "--limit-mw", "1e6"])
    assert res.exit_code == 2 and "does not curtail" in res.output
    # What the VTN now holds: one event per block, the emergency with priority 0, and
    # the miner's 01:00 UTC block cut where the emergency (00:00-03:00 UTC) covers it.
    from megawatt.ops.openadr import objects

    engine = db.make_engine(url)
    try:
        with db.transaction(db.session_factory(engine)) as s:
            events = {e.key: e for e in objects.events_with_keys(s, "")}
            emergency = [k for k in events if k.startswith("emergency:")]
            assert len(emergency) == 1 and events[emergency[0]].priority == 0
            miner = sorted(k for k in events if k.startswith(f"scheduled:{ids['miner']}:"))
            starts = [objects.interval_limits_kw(events[k])[0][0] for k in miner]
            assert all(
                not (
                    dt.datetime(2026, 1, 1, 0, tzinfo=dt.UTC)
                    <= t
                    < dt.datetime(2026, 1, 1, 3, tzinfo=dt.UTC)
                )
                for t in starts
            )
            assert events[emergency[0]].body["intervals"][0]["payloads"][0]["values"] == [5000]
    finally:
        engine.dispose()


def test_schedule_over_the_api_reaches_the_site_as_openadr_events(live, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """POST /schedule as the system operator publishes the blocks as VTN events; the
    miner's VEN reads exactly its own (IMPORT_CAPACITY_LIMIT in KW, the block's
    intervals); a second run changes nothing; POST /emergencies adds a priority-0
    event; a site client may do neither (403)."""
    from fastapi.testclient import TestClient

    from megawatt.ops.app import create_app
    from opsdb import add_client, token

    url, sc, ids = live
    path = scenario_lib.dump(sc, tmp_path / "grid")
    app = create_app(url, expiry_sweep_seconds=None, scenario=str(path))
    npcc = add_client(url, "npcc", "system_operator")
    mine = add_client(url, "miner-ven", "site", site_id=ids["miner"])
    body = {"day": DAY.isoformat(), "published_at": EARLY.isoformat()}
    with TestClient(app) as c:
        so, ven = token(c, "npcc", npcc), token(c, "miner-ven", mine)
        first = c.post("/schedule", json=body, headers=so)
        assert first.status_code == 200, first.text
        out = first.json()
        assert len(out["changes"]["create"]) == len(out["blocks"]) == 3
        again = c.post("/schedule", json=body, headers=so).json()
        assert (
            again["changes"]["keep"] == out["changes"]["create"] and not again["changes"]["create"]
        )
        events = c.get("/openadr3/3.1.0/events", headers=ven).json()
        mine_blocks = [b for b in out["blocks"] if b["site_id"] == ids["miner"]]
        assert len(events) == len(mine_blocks) == 2
        limits = sorted(
            [p["values"][0] for iv in e["intervals"] for p in iv["payloads"]] for e in events
        )
        assert limits == sorted(
            [round(i["allowed_mw"] * 1000) for i in b["intervals"]] for b in mine_blocks
        )
        assert all(
            e["intervals"][0]["payloads"][0]["type"] == "IMPORT_CAPACITY_LIMIT" for e in events
        )
        em = {
            "site_id": ids["miner"],
            "start": local(DAY, 12).isoformat(),
            "end": local(DAY, 14).isoformat(),
            "limit_mw": "2.5",
        }
        assert c.post("/emergencies", json=em, headers=ven).status_code == 403
        assert c.post("/schedule", json=body, headers=ven).status_code == 403
        made = c.post("/emergencies", json=em, headers=so)
        assert made.status_code == 201, made.text
        assert made.json()["priority"] == 0
        events = c.get("/openadr3/3.1.0/events", headers=ven).json()
        assert sorted(e.get("priority") for e in events) == [0, 1, 1]
        bad = c.post("/schedule", json={"day": "2026-13-01"}, headers=so)
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "day"
    app.state.engine.dispose()
