"""Interval metering: parse a batch of readings (JSON or CSV), ingest it exactly once,
list the gaps.

A reading is (meter serial, interval start UTC, minutes, kWh, quality, version). The key
is (meter, interval start, version):

* replaying a batch changes nothing (a row whose key is stored with the same values is
  counted ``unchanged``); the same key with other values is refused (409: a change
  must come as a higher version);
* a higher version supersedes the lower ones for billing and compliance; every version
  stays in the table (append-only, database triggers) and the batch's audit entry
  names each superseded reading with its old and new values;
* a ``missing`` reading has no kWh; gaps (no reading, or the newest version missing)
  are listed by :func:`gaps`, never filled with zeros.

The bulk path, all in the caller's transaction (a batch is all or nothing):

1. the batch's meters are resolved and, on PostgreSQL, locked for this transaction
   (``pg_advisory_xact_lock`` per meter, in id order): two batches of one meter are
   merged one after the other, so what the checks below see is what the merge meets;
2. the distinct keys go into a temporary staging table (PostgreSQL: ``COPY ... FROM
   STDIN (FORMAT BINARY)`` through the engine's psycopg connection; SQLite: one
   ``executemany``), which is then ANALYZEd (temporary tables are never analyzed by
   autovacuum, and the planner needs their size);
3. one pass joins the staging table to the stored readings of the same intervals:
   a key stored with other values is a 409; whether any older version is superseded;
   whether any staged interval has a stored reading at all;
4. the merge: nothing stored at any staged interval (a first load): a plain ``INSERT
   ... SELECT`` of the staging table; every staged key stored (a replay): nothing;
   otherwise ``INSERT ... SELECT`` of the staged keys that are not stored (an
   anti-join). No ``ON CONFLICT``: the meter locks of step 1 make a conflict
   impossible from another ingest, and any other writer's conflict fails the batch.

On PostgreSQL the reading -> meter reference is checked once per statement for the
distinct meters (migration 0008, a statement trigger), not once per row by a foreign
key; it was half of the merge's time.
"""

from __future__ import annotations

import csv
import datetime as dt
import gc
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from megawatt.ops import audit
from megawatt.ops.models import Meter, Reading, utcnow
from megawatt.ops.problems import Problem

#: The program's time zone: invoices and exports show local periods in it (UTC+5, no
#: daylight saving time since 2009).
PROGRAM_TZ = ZoneInfo("Asia/Karachi")
#: Interval lengths: each divides or is a multiple of the 15-minute compliance grid
#: (10 minutes would straddle it).
MINUTES = (5, 15, 30, 60)
QUALITIES = ("measured", "estimated", "missing")
COLUMNS = ("meter", "interval_start", "minutes", "kwh", "quality", "version")
MAX_KWH = Decimal("1e12")
KWH_STEP = Decimal("0.000001")
MAX_VERSION = 2**31 - 1
MAX_ROWS = 5_000_000


class Row(NamedTuple):
    """One parsed reading; ``where`` names its place in the source for errors."""

    meter: str
    start: dt.datetime
    minutes: int
    kwh: Decimal | None
    quality: str
    version: int
    where: str


class Located(NamedTuple):
    """How to name a field of a row in an error: CSV (file, row, column) or JSON."""

    source: str
    csv: bool


def _bad(loc: Located, row: int, column: str, message: str) -> Problem:
    if loc.csv:
        field = f"{loc.source}: row {row}, column {column}"
        extra: dict[str, Any] = {"file": loc.source, "row": row, "column": column}
    else:
        field = f"readings[{row}].{column}"
        extra = {"row": row, "column": column}
    return Problem(
        422, "Invalid request", f"{field}: {message}", [{"field": field, "message": message}], extra
    )


def _parse(values: dict[str, Any], loc: Located, n: int) -> Row:
    def need(column: str) -> Any:
        value = values.get(column)
        if value is None or value == "":
            raise _bad(loc, n, column, "required")
        return value

    meter = need("meter")
    if not isinstance(meter, str) or len(meter) > 100 or "\x00" in meter:
        raise _bad(loc, n, "meter", "a meter serial (text, at most 100 characters)")
    raw_start = need("interval_start")
    try:
        start = dt.datetime.fromisoformat(str(raw_start).replace("Z", "+00:00"))
    except ValueError:
        raise _bad(loc, n, "interval_start", "not an ISO 8601 time") from None
    if start.tzinfo is None:
        raise _bad(loc, n, "interval_start", "needs a UTC offset (e.g. Z or +05:00)")
    try:
        start = start.astimezone(dt.UTC)
    except OverflowError:
        raise _bad(loc, n, "interval_start", "out of range") from None
    if not 1900 <= start.year <= 9998:
        raise _bad(loc, n, "interval_start", "out of range: 1900 to 9998")
    raw_minutes = values.get("minutes", 15)
    try:
        minutes = int(raw_minutes if raw_minutes not in (None, "") else 15)
        if isinstance(raw_minutes, bool | float):
            raise ValueError
    except (TypeError, ValueError):
        raise _bad(loc, n, "minutes", f"one of {', '.join(map(str, MINUTES))}") from None
    if minutes not in MINUTES:
        raise _bad(loc, n, "minutes", f"one of {', '.join(map(str, MINUTES))}")
    if start.second or start.microsecond or (start.hour * 60 + start.minute) % minutes:
        raise _bad(loc, n, "interval_start", f"not on a {minutes}-minute boundary")
    quality = values.get("quality") or "measured"
    if quality not in QUALITIES:
        raise _bad(loc, n, "quality", "measured, estimated or missing")
    raw_kwh = values.get("kwh")
    kwh: Decimal | None
    if raw_kwh is None or raw_kwh == "":
        if quality != "missing":
            raise _bad(loc, n, "kwh", "required unless quality is missing")
        kwh = None
    else:
        if quality == "missing":
            raise _bad(loc, n, "kwh", "a missing reading has no kWh (leave it empty)")
        if isinstance(raw_kwh, float | bool):
            raise _bad(loc, n, "kwh", "a decimal number as a string (no binary float)")
        try:
            kwh = Decimal(str(raw_kwh).strip())
        except InvalidOperation:
            raise _bad(loc, n, "kwh", "not a decimal number") from None
        if not kwh.is_finite() or kwh < 0 or kwh >= MAX_KWH:
            raise _bad(loc, n, "kwh", "a number from 0 to below 1e12")
        if kwh != kwh.quantize(KWH_STEP):
            raise _bad(loc, n, "kwh", "at most 6 decimal places (Wh / 1000)")
        kwh = kwh.quantize(KWH_STEP)
    raw_version = values.get("version", 1)
    try:
        if isinstance(raw_version, bool | float):
            raise ValueError
        version = int(raw_version if raw_version not in (None, "") else 1)
    except (TypeError, ValueError):
        raise _bad(loc, n, "version", "a whole number from 1") from None
    if not 1 <= version <= MAX_VERSION:
        raise _bad(loc, n, "version", "a whole number from 1")
    where = f"{loc.source}: row {n}" if loc.csv else f"readings[{n}]"
    return Row(meter, start, minutes, kwh, quality, version, where)


def parse_csv(data: str, source: str = "body") -> list[Row]:
    """Rows of a CSV with a header naming the columns meter, interval_start, kwh and
    optionally minutes (default 15), quality (default measured), version (default 1).
    Row numbers count the header as row 1 (as a spreadsheet shows them)."""
    loc = Located(source, True)
    reader = csv.reader(io.StringIO(data))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise _bad(loc, 1, "header", "empty file: a header row is required") from None
    except csv.Error as exc:
        raise _bad(loc, 1, "header", f"not CSV: {exc}") from None
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise _bad(loc, 1, unknown[0], f"unknown column (known: {', '.join(COLUMNS)})")
    for required in ("meter", "interval_start", "kwh"):
        if required not in header:
            raise _bad(loc, 1, required, "missing column")
    rows = []
    try:
        for number, record in enumerate(reader, start=2):
            if not record:
                continue
            if len(record) != len(header):
                raise _bad(
                    loc, number, "row", f"{len(record)} fields, the header has {len(header)}"
                )
            rows.append(
                _parse(dict(zip(header, (v.strip() for v in record), strict=True)), loc, number)
            )
            if len(rows) > MAX_ROWS:
                raise _bad(loc, number, "row", f"at most {MAX_ROWS:,} rows a batch")
    except csv.Error as exc:
        raise _bad(loc, reader.line_num, "row", f"not CSV: {exc}") from None
    return rows


def parse_json(body: Any) -> list[Row]:
    """Rows of ``{"readings": [{"meter", "interval_start", "minutes", "kwh", "quality",
    "version"}, ...]}`` (kWh as a string or an integer, never a binary float)."""
    if not isinstance(body, dict) or not isinstance(body.get("readings"), list):
        raise Problem(
            422,
            "Invalid request",
            'the body must be {"readings": [...]}',
            [{"field": "readings", "message": "a list of readings is required"}],
        )
    extra = set(body) - {"readings"}
    if extra:
        field = sorted(extra)[0]
        raise Problem(
            422,
            "Invalid request",
            f"unknown field {field}",
            [{"field": field, "message": "unknown field"}],
        )
    items = body["readings"]
    if len(items) > MAX_ROWS:
        raise Problem(
            422,
            "Invalid request",
            "too many readings",
            [{"field": "readings", "message": f"at most {MAX_ROWS:,}"}],
        )
    loc = Located("body", False)
    rows = []
    for n, item in enumerate(items):
        if not isinstance(item, dict):
            raise _bad(loc, n, "reading", "an object")
        unknown = set(item) - set(COLUMNS)
        if unknown:
            raise _bad(loc, n, sorted(unknown)[0], "unknown field")
        rows.append(_parse(item, loc, n))
    return rows


def parse_file(path: str) -> list[Row]:
    """A CSV (``.csv``) or JSON file of readings (the CLI's ``ingest FILE``)."""
    with open(path, encoding="utf-8", newline="") as fh:
        data = fh.read()
    if path.lower().endswith(".csv"):
        return parse_csv(data, source=path)
    try:
        body = json.loads(data)
    except json.JSONDecodeError as exc:
        raise Problem(
            422,
            "Invalid request",
            f"{path}: not JSON: {exc}",
            [{"field": path, "message": "not JSON"}],
        ) from None
    return parse_json(body)


# -- storage -----------------------------------------------------------------------------

_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's DateTime text on SQLite


def _resolve_meters(s: Session, rows: Sequence[Row], site_id: int | None) -> dict[str, int]:
    """Serial -> meter id; 422 naming the first row whose meter is unknown (or, for a
    site client, not its own: the same answer, so existence is not disclosed)."""
    serials = {r.meter for r in rows}
    found: dict[str, int] = {}
    listed = sorted(serials)
    for i in range(0, len(listed), 500):
        stmt = select(Meter.serial, Meter.id).where(Meter.serial.in_(listed[i : i + 500]))
        if site_id is not None:
            stmt = stmt.where(Meter.site_id == site_id)
        found.update({serial: key for serial, key in s.execute(stmt).all()})
    for r in rows:
        if r.meter not in found:
            field = (
                f"{r.where}, column meter"
                if not r.where.startswith("readings")
                else f"{r.where}.meter"
            )
            raise Problem(
                422,
                "Invalid request",
                f"{r.where}: no meter with serial {r.meter!r}",
                [{"field": field, "message": "no such meter"}],
            )
    return found


def _distinct(rows: Sequence[Row]) -> list[tuple[int, Row]]:
    """The batch's rows with their positions, one per key (a row repeated with the
    same values counts once, as a replay of it would); 422 for a key repeated with
    other values."""
    seen: dict[tuple[str, dt.datetime, int], Row] = {}
    out = []
    for n, r in enumerate(rows):
        key = (r.meter, r.start, r.version)
        first = seen.get(key)
        if first is None:
            seen[key] = r
            out.append((n, r))
        elif (first.minutes, first.kwh, first.quality) != (r.minutes, r.kwh, r.quality):
            raise Problem(
                422,
                "Invalid request",
                f"{r.where}: the same meter, interval and version as {first.where} with "
                "other values",
                [{"field": f"{r.where}.version", "message": "duplicate key with other values"}],
            )
    return out


#: The first key of the batch's advisory locks (``pg_advisory_xact_lock(int, int)``):
#: "mw" and "rd" in ASCII, so that no other lock of the program shares the space.
_LOCK_SPACE = 0x6D77_7264


def _lock_meters(s: Session, meter_ids: Iterable[int]) -> None:
    """PostgreSQL: hold each meter's ingest lock until the transaction ends (ids in
    order, so two batches cannot deadlock). SQLite: its one writer (``BEGIN
    IMMEDIATE``) already serializes batches."""
    conn = s.connection()
    if conn.dialect.name != "postgresql":
        return
    conn.exec_driver_sql(
        "SELECT pg_advisory_xact_lock(%(space)s, id) FROM "
        "(SELECT DISTINCT unnest(%(ids)s::integer[]) AS id ORDER BY 1) AS m",
        {"space": _LOCK_SPACE, "ids": sorted(set(meter_ids))},
    )


def _one_length(s: Session, rows: Sequence[Row], meters: dict[str, int]) -> None:
    """Each meter records one interval length (the first reading's): with starts on
    that length's boundaries, no two intervals of a meter can overlap, so no energy is
    counted twice (a 60-minute reading at 00:00 and a 15-minute one at 00:15 would
    be). 422 naming the row's ``minutes`` otherwise. A meter's stored length is read
    from any one of its readings (they all have it), not from all of them."""
    one = (
        select(Reading.minutes)
        .where(Reading.meter_id == Meter.id)
        .limit(1)
        .correlate(Meter)
        .scalar_subquery()
    )
    stored = {
        key: minutes
        for key, minutes in s.execute(
            select(Meter.id, one).where(Meter.id.in_(set(meters.values())))
        ).all()
        if minutes is not None
    }
    length: dict[str, int] = {m: stored[i] for m, i in meters.items() if i in stored}
    for r in rows:
        want = length.setdefault(r.meter, r.minutes)
        if r.minutes != want:
            raise Problem(
                422,
                "Invalid request",
                f"{r.where}: meter {r.meter} records {want}-minute intervals, not {r.minutes}",
                [{"field": f"{r.where}.minutes", "message": f"must be {want} for this meter"}],
            )


def _stage(s: Session, rows: Sequence[tuple[int, Row]], meters: dict[str, int]) -> None:
    conn = s.connection()
    dialect = conn.dialect.name
    raw = conn.connection.driver_connection
    if dialect == "postgresql":
        conn.exec_driver_sql("DROP TABLE IF EXISTS pg_temp.reading_stage")
        # kWh as whole micro-kWh (int8) and quality as its code (int2): psycopg's
        # binary dumpers for numeric and text cost twice the rest of the row.
        conn.exec_driver_sql(
            "CREATE TEMP TABLE reading_stage (n integer, meter_id integer, "
            "interval_start timestamptz, version integer, minutes integer, micro bigint, "
            "q smallint) ON COMMIT DROP"
        )
        code = {q: i for i, q in enumerate(QUALITIES)}
        cur = raw.cursor()  # type: ignore[union-attr]
        with cur.copy(
            "COPY reading_stage (n, meter_id, interval_start, version, minutes, micro, q) "
            "FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["int4", "int4", "timestamptz", "int4", "int4", "int8", "int2"])
            for n, r in rows:
                micro = None if r.kwh is None else int(r.kwh.scaleb(6))
                copy.write_row(
                    (n, meters[r.meter], r.start, r.version, r.minutes, micro, code[r.quality])
                )
    else:
        conn.exec_driver_sql("DROP TABLE IF EXISTS temp.reading_stage")
        conn.exec_driver_sql(
            "CREATE TEMP TABLE reading_stage (n INTEGER, meter_id INTEGER, interval_start TEXT, "
            "version INTEGER, minutes INTEGER, kwh TEXT, quality TEXT)"
        )
        raw.executemany(  # type: ignore[union-attr]
            "INSERT INTO reading_stage VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    n,
                    meters[r.meter],
                    r.start.strftime(_SQLITE_TIME),
                    r.version,
                    r.minutes,
                    None if r.kwh is None else str(r.kwh),
                    r.quality,
                )
                for n, r in rows
            ],
        )
    conn.exec_driver_sql("ANALYZE reading_stage")


def _staged(pg: bool) -> tuple[str, str]:
    """SQL of a staged row's kWh and quality (alias ``s``): on PostgreSQL decoded from
    micro-kWh (x 0.000001: numeric of scale 6, exact) and the quality's code."""
    if not pg:
        return "s.kwh", "s.quality"
    cases = " ".join(f"WHEN {i} THEN '{q}'" for i, q in enumerate(QUALITIES))
    return "s.micro * 0.000001", f"(CASE s.q {cases} END)"


class _Overlap(NamedTuple):
    """What the staged rows meet among the stored readings of the same intervals."""

    stored: int  # (staged row, stored reading) pairs at the same meter and interval
    same_key: int  # staged rows whose key (meter, interval, version) is stored
    clash: int | None  # the first staged row stored with other values
    older: int  # pairs where the stored version is older than the staged one


def _overlap(s: Session) -> _Overlap:
    conn = s.connection()
    pg = conn.dialect.name == "postgresql"
    differs = "IS DISTINCT FROM" if pg else "IS NOT"
    kwh, quality = _staged(pg)
    same = "r.version = s.version"
    row = conn.exec_driver_sql(
        f"SELECT count(*), coalesce(sum(CASE WHEN {same} THEN 1 ELSE 0 END), 0), "
        f"min(CASE WHEN {same} AND (r.minutes <> s.minutes OR r.quality <> {quality} "
        f"OR r.kwh {differs} {kwh}) THEN s.n END), "
        "coalesce(sum(CASE WHEN r.version < s.version THEN 1 ELSE 0 END), 0) "
        "FROM reading_stage s JOIN readings r ON r.meter_id = s.meter_id "
        "AND r.interval_start = s.interval_start"
    ).one()
    return _Overlap(int(row[0]), int(row[1]), row[2], int(row[3]))


@contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a batch is checked and staged: a batch
    of millions of rows allocates millions of tuples, and each full collection walks
    every parsed row again (it tripled the time of the duplicate check). Nothing the
    batch makes is cyclic garbage; collection resumes after it."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def ingest(
    s: Session, rows: Sequence[Row], actor: str, site_id: int | None = None
) -> dict[str, Any]:
    """Store a batch in the caller's transaction; returns the counts (received,
    inserted, unchanged, superseded) and the audit entry's id. ``site_id``: the batch
    comes from that site's client and may name only its meters."""
    with _gc_paused():
        return _ingest(s, rows, actor, site_id)


def _ingest(s: Session, rows: Sequence[Row], actor: str, site_id: int | None) -> dict[str, Any]:
    distinct = _distinct(rows)
    meters = _resolve_meters(s, rows, site_id)
    if not rows:
        return {"received": 0, "inserted": 0, "unchanged": 0, "superseded": 0, "audit_id": None}
    _lock_meters(s, meters.values())
    _one_length(s, rows, meters)
    conn = s.connection()
    pg = conn.dialect.name == "postgresql"
    _stage(s, distinct, meters)
    seen = _overlap(s)
    if seen.clash is not None:
        r = rows[seen.clash]
        raise Problem(
            409,
            "Conflict",
            f"{r.where}: meter {r.meter} interval {r.start.isoformat()} version {r.version} "
            "is stored with other values; send a correction as a higher version",
            [{"field": f"{r.where}.version", "message": "stored with other values"}],
        )
    # Readings this batch supersedes (an older version is stored, this one is new).
    superseded = (
        conn.exec_driver_sql(
            "SELECT s.n, r.version, r.kwh, r.quality FROM reading_stage s JOIN readings r "
            "ON r.meter_id = s.meter_id AND r.interval_start = s.interval_start "
            "AND r.version < s.version WHERE NOT EXISTS (SELECT 1 FROM readings x "
            "WHERE x.meter_id = s.meter_id AND x.interval_start = s.interval_start "
            "AND x.version >= s.version) ORDER BY s.n, r.version"
        ).all()
        if seen.older
        else []
    )
    now = utcnow()
    recorded_at: Any = now if pg else now.replace(tzinfo=None).strftime(_SQLITE_TIME)
    kwh, quality = _staged(pg)
    insert = (
        "INSERT INTO readings (meter_id, interval_start, version, minutes, kwh, quality, "
        "recorded_at, recorded_by) SELECT s.meter_id, s.interval_start, s.version, s.minutes, "
        f"{kwh}, {quality}, {'%(at)s' if pg else '?'}, {'%(by)s' if pg else '?'} "
        "FROM reading_stage s"
    )
    params: Any = {"at": recorded_at, "by": actor} if pg else (recorded_at, actor)
    if seen.stored == 0:  # a first load: nothing stored at any staged interval
        inserted = conn.exec_driver_sql(insert, params).rowcount
    elif seen.same_key == len(distinct):  # a replay: every staged key is stored
        inserted = 0
    else:
        inserted = conn.exec_driver_sql(
            insert + " WHERE NOT EXISTS (SELECT 1 FROM readings r WHERE "
            "r.meter_id = s.meter_id AND r.interval_start = s.interval_start "
            "AND r.version = s.version)",
            params,
        ).rowcount
    if not pg:
        conn.exec_driver_sql("DROP TABLE temp.reading_stage")
    corrections: dict[int, dict[str, Any]] = {}
    for n, old_version, old_kwh, old_quality in superseded:
        r = rows[n]
        entry = corrections.setdefault(
            n,
            {
                "meter": r.meter,
                "interval_start": r.start.isoformat(),
                "version": r.version,
                "kwh": None if r.kwh is None else str(r.kwh),
                "quality": r.quality,
                "supersedes": [],
            },
        )
        entry["supersedes"].append(
            {
                "version": old_version,
                "kwh": None if old_kwh is None else str(Decimal(str(old_kwh)).quantize(KWH_STEP)),
                "quality": old_quality,
            }
        )
    counts = {
        "received": len(rows),
        "inserted": inserted,
        "unchanged": len(rows) - inserted,
        "superseded": len(corrections),
    }
    span = [min(r.start for r in rows).isoformat(), max(r.start for r in rows).isoformat()]
    entry = audit.record(
        s,
        actor,
        "ingest",
        "readings",
        site_id,
        None,
        {
            **counts,
            "meters": sorted(meters),
            "interval_starts": span,
            "corrections": list(corrections.values()),
        },
    )
    return {**counts, "audit_id": entry.id}


# -- reading back -------------------------------------------------------------------------


def current(meter_ids: Iterable[int] | Any, start: dt.datetime, end: dt.datetime) -> Any:
    """A SELECT of the newest version of each interval of ``meter_ids`` (a list or a
    subquery) with interval_start in [start, end)."""
    newer = aliased(Reading)
    return (
        select(Reading)
        .where(
            Reading.meter_id.in_(meter_ids),
            Reading.interval_start >= start,
            Reading.interval_start < end,
            ~select(newer.version)
            .where(
                newer.meter_id == Reading.meter_id,
                newer.interval_start == Reading.interval_start,
                newer.version > Reading.version,
            )
            .exists(),
        )
        .order_by(Reading.meter_id, Reading.interval_start)
    )


class Gap(NamedTuple):
    start: dt.datetime
    end: dt.datetime
    reason: str  # "no reading" or "missing"


def gaps(s: Session, meter_id: int, start: dt.datetime, end: dt.datetime) -> list[Gap]:
    """The stretches of [start, end) not covered by a current reading with kWh: where no
    reading was received ("no reading") and where the newest version is ``missing``.
    Consecutive intervals of one kind merge into one gap. Nothing is filled in."""
    out: list[Gap] = []

    def add(a: dt.datetime, b: dt.datetime, reason: str) -> None:
        if a >= b:
            return
        if out and out[-1].end == a and out[-1].reason == reason:
            out[-1] = Gap(out[-1].start, b, reason)
        else:
            out.append(Gap(a, b, reason))

    cursor = start
    for r in s.scalars(current([meter_id], start - dt.timedelta(minutes=60), end)):
        r_end = r.interval_start + dt.timedelta(minutes=r.minutes)
        if r_end <= cursor:
            continue
        add(cursor, r.interval_start, "no reading")
        if r.quality == "missing":
            add(max(r.interval_start, cursor), min(r_end, end), "missing")
        cursor = max(cursor, r_end)
        if cursor >= end:
            break
    add(cursor, end, "no reading")
    return out


def count(s: Session) -> int:
    return int(s.scalar(select(func.count()).select_from(Reading)) or 0)


__all__ = ["PROGRAM_TZ", "Gap", "Row", "current", "gaps", "ingest", "parse_csv", "parse_json"]
