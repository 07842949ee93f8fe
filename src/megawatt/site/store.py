"""The agent's local store (SQLite, one file): the events it knows, each unit's commanded
level and verdict (lying, dead), the reports it sent, and the log of every decision and
reading. A restarted agent reads it back and carries on where it was; the log is
pruned by age so that weeks of running keep the file, and the memory, bounded.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS units (
    key TEXT PRIMARY KEY, level INTEGER NOT NULL, lying INTEGER NOT NULL,
    last_w REAL, last_seen TEXT
);
CREATE TABLE IF NOT EXISTS reports (
    event_id TEXT NOT NULL, start TEXT NOT NULL, PRIMARY KEY (event_id, start)
);
CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS log (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, kind TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS log_at ON log (at);
"""


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).isoformat()


class Store:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    # -- events -----------------------------------------------------------------------
    def events(self) -> dict[str, dict[str, Any]]:
        rows = self.db.execute("SELECT id, body FROM events")
        return {i: json.loads(b) for i, b in rows}

    def put_event(self, event: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT INTO events (id, body) VALUES (?, ?) "
            "ON CONFLICT (id) DO UPDATE SET body = excluded.body",
            (str(event["id"]), json.dumps(event)),
        )

    def drop_event(self, event_id: str) -> None:
        self.db.execute("DELETE FROM events WHERE id = ?", (event_id,))

    def replace_events(self, events: list[dict[str, Any]]) -> None:
        """The VTN's full list (a poll): what it no longer lists is gone."""
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute("DELETE FROM events")
            for e in events:
                self.put_event(e)

    # -- units ------------------------------------------------------------------------
    def units(self) -> dict[str, tuple[int, bool, float | None]]:
        rows = self.db.execute("SELECT key, level, lying, last_w FROM units")
        return {k: (lvl, bool(lying), w) for k, lvl, lying, w in rows}

    def put_units(
        self, rows: list[tuple[str, int, bool, float | None, dt.datetime | None]]
    ) -> None:
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany(
                "INSERT INTO units (key, level, lying, last_w, last_seen) VALUES (?,?,?,?,?) "
                "ON CONFLICT (key) DO UPDATE SET level = excluded.level, "
                "lying = excluded.lying, last_w = excluded.last_w, "
                "last_seen = COALESCE(excluded.last_seen, units.last_seen)",
                [(k, lvl, int(ly), w, _iso(t) if t else None) for k, lvl, ly, w, t in rows],
            )

    # -- reports and settings ---------------------------------------------------------
    def reported(self, event_id: str, start: dt.datetime) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM reports WHERE event_id = ? AND start = ?", (event_id, _iso(start))
        ).fetchone()
        return row is not None

    def mark_reported(self, event_id: str, start: dt.datetime) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO reports (event_id, start) VALUES (?, ?)",
            (event_id, _iso(start)),
        )

    def get(self, key: str) -> str | None:
        row = self.db.execute("SELECT v FROM kv WHERE k = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set(self, key: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
            (key, value),
        )

    # -- the log ----------------------------------------------------------------------
    def log(self, at: dt.datetime, kind: str, body: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT INTO log (at, kind, body) VALUES (?, ?, ?)", (_iso(at), kind, json.dumps(body))
        )

    def log_rows(self, kind: str | None = None) -> list[tuple[str, str, dict[str, Any]]]:
        sql = "SELECT at, kind, body FROM log"
        args: tuple[Any, ...] = ()
        if kind is not None:
            sql, args = sql + " WHERE kind = ?", (kind,)
        return [(a, k, json.loads(b)) for a, k, b in self.db.execute(sql + " ORDER BY id", args)]

    def prune(self, before: dt.datetime) -> int:
        cur = self.db.execute("DELETE FROM log WHERE at < ?", (_iso(before),))
        self.db.execute("DELETE FROM reports WHERE start < ?", (_iso(before),))
        self.db.execute("DELETE FROM kv WHERE k LIKE 'ramped:%' AND v < ?", (before.isoformat(),))
        return cur.rowcount
