"""The allocation ledger under the caps, on SQLite and PostgreSQL: the caps hold at
every effective time, and 50 clients racing for the last MW of a plant get exactly one
winner and 49 refusals."""

from __future__ import annotations

import datetime as dt
import threading
from collections import defaultdict
from decimal import Decimal

import pytest
from sqlalchemy import select

from megawatt.ops import db, ledger
from megawatt.ops.models import Cap, LedgerEntry, Licence, Operator, Site
from megawatt.ops.problems import Problem
from opsdb import db_url, migrated  # noqa: F401  (fixtures)

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _sites(factory, n: int, plant: str = "sahiwal", zone: str = "North") -> list[int]:  # type: ignore[no-untyped-def]
    with db.transaction(factory) as s:
        op = Operator(name=f"op-{plant}-{n}")
        s.add(op)
        s.flush()
        ids = []
        for i in range(n):
            site = Site(
                operator_id=op.id,
                name=f"{plant}-{i}",
                kind="btc_miner",
                zone=zone,
                plant=plant,
                lat=30.6,
                lon=73.1,
            )
            s.add(site)
            s.flush()
            s.add(Licence(site_id=site.id, number=f"PVARA-{plant}-{i}", valid_from=T0))
            ids.append(site.id)
        return ids


def _grant(factory, site_id: int, mw: str, at: dt.datetime = T0, kind: str = "grant"):  # type: ignore[no-untyped-def]
    with db.transaction(factory) as s:
        return ledger.append(
            s,
            site_id=site_id,
            kind=kind,  # type: ignore[arg-type]
            effective_from=at,
            mw=None if mw is None else Decimal(mw),
            reason="test",
            actor="test",
        )


def assert_caps_hold(factory) -> dict[tuple[str, str], int]:  # type: ignore[no-untyped-def]
    """Recompute every scope's total at every effective time from the raw ledger rows,
    independently of megawatt.ops.ledger; return the peaks."""
    with db.transaction(factory) as s:
        caps = {(c.scope, c.name): c.cap_kw for c in s.scalars(select(Cap))}
        sites = {x.id: x for x in s.scalars(select(Site))}
        entries = list(s.scalars(select(LedgerEntry)))
    times = sorted({e.effective_from for e in entries})
    peaks: dict[tuple[str, str], int] = defaultdict(int)
    for t in times:
        totals: dict[tuple[str, str], int] = defaultdict(int)
        per_site: dict[int, int] = defaultdict(int)
        for e in entries:
            if e.effective_from <= t:
                site = sites[e.site_id]
                per_site[e.site_id] += e.delta_kw
                for scope, name in caps:
                    if (
                        scope == "program"
                        or (scope == "zone" and site.zone == name)
                        or (scope == "plant" and site.plant == name)
                    ):
                        totals[(scope, name)] += e.delta_kw
        assert all(level >= 0 for level in per_site.values()), (t, per_site)
        for key, total in totals.items():
            assert total <= caps[key], f"{key} holds {total} kW > cap {caps[key]} kW at {t}"
            peaks[key] = max(peaks[key], total)
    return peaks


@pytest.fixture
def factory(migrated: str):  # noqa: F811
    engine = db.make_engine(migrated)
    yield db.session_factory(engine)
    engine.dispose()


def test_grant_within_caps_and_the_409_names_cap_allocated_and_left(factory) -> None:  # type: ignore[no-untyped-def]
    a, b = _sites(factory, 2)
    _grant(factory, a, "1200.5")
    with pytest.raises(Problem) as exc:
        _grant(factory, b, "43.001")
    p = exc.value
    assert p.status == 409
    assert p.extra["cap"] == {"scope": "plant", "name": "sahiwal", "cap_mw": "1243.500"}
    assert p.extra["allocated_mw"] == "1200.500"
    assert p.extra["remaining_mw"] == "43.000"
    assert p.errors[0]["field"] == "mw"
    _grant(factory, b, "43")
    assert assert_caps_hold(factory)[("plant", "sahiwal")] == 1_243_500


def test_program_cap_binds_across_plants(factory) -> None:  # type: ignore[no-untyped-def]
    (s1,) = _sites(factory, 1, "sahiwal")
    (s2,) = _sites(factory, 1, "port_qasim")
    _grant(factory, s1, "1243.5")
    with pytest.raises(Problem) as exc:
        _grant(factory, s2, "756.501")
    assert exc.value.extra["cap"]["scope"] == "program"
    assert exc.value.extra["remaining_mw"] == "756.500"
    _grant(factory, s2, "756.5")
    assert assert_caps_hold(factory)[("program", "program")] == 2_000_000


def test_cap_holds_at_later_effective_times(factory) -> None:  # type: ignore[no-untyped-def]
    """Room now is not enough: a grant from 2026 must also fit under the cap in 2027,
    when a later grant already takes most of the plant."""
    a, b = _sites(factory, 2)
    _grant(factory, a, "1000", at=T0.replace(year=2027))
    with pytest.raises(Problem) as exc:
        _grant(factory, b, "300", at=T0)
    assert exc.value.extra["allocated_mw"] == "1000.000"
    assert exc.value.extra["remaining_mw"] == "243.500"
    _grant(factory, b, "243.5", at=T0)
    # A decrease later makes room only from then on.
    _grant(factory, a, "900", at=T0.replace(year=2028), kind="change")
    with pytest.raises(Problem):
        _grant(factory, b, "100", at=T0.replace(year=2027, month=6))
    _grant(factory, b, "100", at=T0.replace(year=2028))
    assert_caps_hold(factory)


def test_change_and_revoke_set_levels(factory) -> None:  # type: ignore[no-untyped-def]
    (a,) = _sites(factory, 1)
    _grant(factory, a, "100")
    e = _grant(factory, a, "40.25", at=T0 + dt.timedelta(days=30), kind="change")
    assert (e.delta_kw, e.level_kw) == (-59_750, 40_250)
    e = _grant(factory, a, None, at=T0 + dt.timedelta(days=60), kind="revoke")
    assert (e.delta_kw, e.level_kw) == (-40_250, 0)
    with db.transaction(factory) as s:
        assert ledger.level_kw(s, a, T0 + dt.timedelta(days=45)) == 40_250
        assert ledger.level_kw(s, a, T0 + dt.timedelta(days=61)) == 0
        assert ledger.level_kw(s, a, T0 - dt.timedelta(seconds=1)) == 0
    with pytest.raises(Problem) as exc:  # revoking before the grant: nothing to revoke
        _grant(factory, a, None, at=T0 - dt.timedelta(days=1), kind="revoke")
    assert exc.value.status == 409


def test_a_change_cannot_drive_a_later_level_negative(factory) -> None:  # type: ignore[no-untyped-def]
    (a,) = _sites(factory, 1)
    _grant(factory, a, "100")
    _grant(factory, a, "50", at=T0.replace(year=2027), kind="change")  # delta -50
    with pytest.raises(Problem, match="negative"):
        _grant(factory, a, "20", at=T0.replace(month=6), kind="change")  # 2027 level -30


@pytest.mark.parametrize("status", ["suspended", "revoked", "expired", "none"])
def test_unlicensed_sites_get_nothing(factory, status: str) -> None:  # type: ignore[no-untyped-def]
    (a,) = _sites(factory, 1)
    with db.transaction(factory) as s:
        lic = s.scalars(select(Licence).where(Licence.site_id == a)).one()
        if status == "expired":
            lic.valid_to = T0 + dt.timedelta(days=10)
        elif status == "none":
            s.delete(lic)
        else:
            lic.status = status
    at = T0 + dt.timedelta(days=20)
    with pytest.raises(Problem) as exc:
        _grant(factory, a, "1", at=at)
    assert exc.value.status == 409 and exc.value.errors[0]["field"] == "site_id"
    if status == "expired":
        _grant(factory, a, "1", at=T0 + dt.timedelta(days=5))  # while it was valid


def _licence(
    factory, site_id: int, valid_from: dt.datetime, valid_to: dt.datetime | None, n: str
) -> None:  # type: ignore[no-untyped-def]
    with db.transaction(factory) as s:
        s.add(Licence(site_id=site_id, number=n, valid_from=valid_from, valid_to=valid_to))


def test_a_lapsed_licence_holds_nothing_and_frees_the_cap(factory) -> None:  # type: ignore[no-untyped-def]
    """The licence runs T0 .. T0 + 10 d (in the past): the grant at T0 is revoked at
    exactly T0 + 10 d in the same transaction, and the plant's MW are free again from
    then on (and only from then on)."""
    a, b = _sites(factory, 2)
    lapse = T0 + dt.timedelta(days=10)
    with db.transaction(factory) as s:
        s.scalars(select(Licence).where(Licence.site_id == a)).one().valid_to = lapse
    _grant(factory, a, "1000")
    with db.transaction(factory) as s:
        entries = s.scalars(select(LedgerEntry).order_by(LedgerEntry.id)).all()
        assert [(e.kind, e.effective_from, e.delta_kw) for e in entries] == [
            ("grant", T0, 1_000_000),
            ("revoke", lapse, -1_000_000),
        ]
        assert entries[1].recorded_by == ledger.EXPIRY_ACTOR
        assert ledger.level_kw(s, a, lapse - dt.timedelta(seconds=1)) == 1_000_000
        assert ledger.level_kw(s, a, lapse) == 0
        assert ledger.expire(s) == []  # idempotent
    with pytest.raises(Problem):  # before the lapse, the plant is still taken
        _grant(factory, b, "1243.5", at=lapse - dt.timedelta(days=1))
    _grant(factory, b, "1243.5", at=lapse)  # from the lapse on, all of it is free
    assert_caps_hold(factory)


def test_expiry_sweep_finds_lapses_up_to_now(factory) -> None:  # type: ignore[no-untyped-def]
    """A licence that runs out after the grant: nothing happens before its end; a sweep
    after it revokes at the end. Adjacent or overlapping licences are no lapse; a gap
    between two licences is one, and the site can be granted again after it."""
    a, b = _sites(factory, 2)
    end = T0 + dt.timedelta(days=400)
    with db.transaction(factory) as s:
        s.scalars(select(Licence).where(Licence.site_id == a)).one().valid_to = T0.replace(
            year=2030
        )
        first = s.scalars(select(Licence).where(Licence.site_id == b)).one()
        first.valid_to = T0.replace(year=2030)
    # b: renewed back to back (no lapse) until `end`; a: lapses in 2030, then a gap.
    _licence(factory, b, T0.replace(year=2030), end.replace(year=2031), "PVARA-b-2")
    _licence(factory, a, T0.replace(year=2031), None, "PVARA-a-2")
    _grant(factory, a, "10")
    _grant(factory, b, "20")
    with db.transaction(factory) as s:
        assert ledger.expire(s, T0.replace(year=2029)) == []
        (gone,) = ledger.expire(s, T0.replace(year=2030, month=2))
        assert (gone.site_id, gone.effective_from, gone.delta_kw) == (
            a,
            T0.replace(year=2030),
            -10_000,
        )
        assert ledger.level_kw(s, b, T0.replace(year=2030, month=6)) == 20_000
        (later,) = ledger.expire(s, end.replace(year=2032))
        assert (later.site_id, later.effective_from) == (b, end.replace(year=2031))
    with pytest.raises(Problem):  # in a's gap
        _grant(factory, a, "5", at=T0.replace(year=2030, month=6))
    with db.transaction(factory) as s:
        assert ledger.lapses(s, T0.replace(year=2029)) == []
    assert_caps_hold(factory)


def test_refused_entry_writes_nothing(factory) -> None:  # type: ignore[no-untyped-def]
    from megawatt.ops.models import AuditEntry

    (a,) = _sites(factory, 1)
    with db.transaction(factory) as s:
        audits = len(s.scalars(select(AuditEntry)).all())
    with pytest.raises(Problem):
        _grant(factory, a, "5000")
    with db.transaction(factory) as s:
        assert s.scalars(select(LedgerEntry)).all() == []
        assert len(s.scalars(select(AuditEntry)).all()) == audits


N_CLIENTS = 50


@pytest.mark.parametrize("when", ["same_time", "later_entry_binds"])
def test_fifty_clients_race_for_the_last_mw(migrated: str, when: str) -> None:  # noqa: F811
    """Each of 50 threads, with its own connection and transaction, asks for the whole
    remainder of the Sahiwal cap at the same moment: one wins, 49 get 409, and the
    ledger never exceeds any cap at any effective time."""
    engine = db.make_engine(migrated)
    try:
        factory = db.session_factory(engine)
        first, *racers = _sites(factory, N_CLIENTS + 1)
        if when == "same_time":
            _grant(factory, first, "1240.5", at=T0)
            at = T0
        else:  # the binding allocation is later than the racers' effective time
            _grant(factory, first, "1240.5", at=T0.replace(year=2027))
            at = T0
        barrier = threading.Barrier(N_CLIENTS)
        results: dict[int, object] = {}

        def race(site_id: int) -> None:
            barrier.wait()
            try:
                results[site_id] = _grant(factory, site_id, "3", at=at).id
            except Problem as exc:
                results[site_id] = exc
            except Exception as exc:  # anything else is a failure of the test
                results[site_id] = exc

        threads = [threading.Thread(target=race, args=(sid,)) for sid in racers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=600)
        assert len(results) == N_CLIENTS
        winners = [sid for sid, r in results.items() if isinstance(r, int)]
        losers = [r for r in results.values() if not isinstance(r, int)]
        unexpected = [r for r in losers if not (isinstance(r, Problem) and r.status == 409)]
        assert not unexpected, unexpected[:3]
        assert len(winners) == 1
        assert len(losers) == N_CLIENTS - 1
        assert all(p.extra["remaining_mw"] == "0.000" for p in losers)  # type: ignore[union-attr]
        peaks = assert_caps_hold(factory)
        assert peaks[("plant", "sahiwal")] == 1_243_500
    finally:
        engine.dispose()
