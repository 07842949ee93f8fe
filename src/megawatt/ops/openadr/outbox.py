"""Webhook delivery from the outbox (``oadr_outbox``): at least once, de-duplicable.

A notification is a row written in the transaction of the change it announces, so a
change that committed has its notifications committed too, and a rolled-back change
has none. A delivery pass:

1. **claims** due rows (``pending``, ``next_attempt_at <= now``, lease free) by setting
   ``locked_until = now + lease`` and committing (PostgreSQL: ``FOR UPDATE SKIP
   LOCKED``, so several processes share the work; SQLite: one writer at a time);
2. **POSTs** each notification body to its callback URL (concurrently), with ``Authorization: Bearer
   <the subscription's bearerToken>`` when it has one and ``X-Notification-Id`` (a
   UUID, the same on every retry) for the receiver to drop duplicates;
3. **records** the outcome: a 2xx marks it ``delivered``; anything else (refused,
   timeout, non-2xx) schedules a retry after ``backoff(attempts)`` (exponential, capped,
   with jitter) until ``max_attempts``, after which it is ``dead`` (kept, visible).

A process that dies after claiming leaves the rows leased; once the lease expires the
next pass (this process restarted, or another one) sends them again with the same
notification id. A receiver may therefore see a notification twice, never zero times.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import random
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from megawatt.ops.openadr.tables import OutboxBody, OutboxEntry

log = logging.getLogger("megawatt.outbox")

HEADER = "X-Notification-Id"


async def post_json(url: str, data: bytes, headers: dict[str, str]) -> int:
    """POST ``data`` (JSON) to an http(s) URL and return the status code: one
    HTTP/1.1 request per connection (``Connection: close``), redirects not followed.

    A plain asyncio client because a webhook needs only the status line: httpx took
    ~5 ms of CPU per request here (2.3-5 s for 500 receivers; this: 0.3 s)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url}")
    tls = parts.scheme == "https"
    port = parts.port or (443 if tls else 80)
    context = ssl.create_default_context() if tls else None
    reader, writer = await asyncio.open_connection(parts.hostname, port, ssl=context)
    try:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        lines = [
            f"POST {target} HTTP/1.1",
            f"Host: {parts.netloc.rpartition('@')[2]}",
            "Content-Type: application/json",
            f"Content-Length: {len(data)}",
            "Connection: close",
            "User-Agent: megawatt-vtn",
            *(f"{k}: {v}" for k, v in headers.items()),
        ]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data)
        await writer.drain()
        status_line = await reader.readline()
        fields = status_line.split()
        if len(fields) < 2 or not fields[0].startswith(b"HTTP/") or not fields[1].isdigit():
            raise ValueError(f"not an HTTP response: {status_line[:80]!r}")
        return int(fields[1])
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()


@dataclass
class RetryPolicy:
    base_seconds: float = 1.0
    factor: float = 2.0
    max_seconds: float = 3600.0
    max_attempts: int = 20
    jitter: float = 0.1

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failed attempt (1, 2, 4, ... capped)."""
        delay = min(self.max_seconds, self.base_seconds * self.factor ** max(attempts - 1, 0))
        return delay * (1 + random.uniform(-self.jitter, self.jitter))


@dataclass
class Outcome:
    id: int
    ok: bool
    error: str | None = None


@dataclass
class Deliverer:
    """Claims, sends and records outbox rows; ``run`` loops, ``deliver_once`` is one pass."""

    sessions: sessionmaker[Session]
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    batch: int = 500
    concurrency: int = 250
    lease_seconds: float = 30.0
    timeout_seconds: float = 10.0
    poll_seconds: float = 1.0
    _wake: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _stop: bool = False

    # -- database steps (run in a thread) ----------------------------------------------
    def claim(self) -> list[tuple[int, str, str | None, str, bytes]]:
        now = dt.datetime.now(dt.UTC)
        with self.sessions() as s, s.begin():
            stmt = (
                select(OutboxEntry)
                .where(
                    OutboxEntry.status == "pending",
                    OutboxEntry.next_attempt_at <= now,
                    (OutboxEntry.locked_until.is_(None)) | (OutboxEntry.locked_until <= now),
                )
                .order_by(OutboxEntry.id)
                .limit(self.batch)
            )
            if s.get_bind().dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True)
            rows = list(s.scalars(stmt))
            lease = now + dt.timedelta(seconds=self.lease_seconds)
            for row in rows:
                row.locked_until = lease
            bodies = {
                b.id: json.dumps(b.body, separators=(",", ":")).encode()
                for b in s.scalars(
                    select(OutboxBody).where(OutboxBody.id.in_({r.body_id for r in rows}))
                )
            }
            return [
                (r.id, r.callback_url, r.bearer_token, r.notification_id, bodies[r.body_id])
                for r in rows
            ]

    def record(self, outcomes: list[Outcome]) -> None:
        if not outcomes:
            return
        now = dt.datetime.now(dt.UTC)
        ok = [o.id for o in outcomes if o.ok]
        with self.sessions() as s, s.begin():
            for chunk in range(0, len(ok), 500):
                s.execute(
                    update(OutboxEntry)
                    .where(OutboxEntry.id.in_(ok[chunk : chunk + 500]))
                    .where(OutboxEntry.status == "pending")
                    .values(
                        status="delivered",
                        delivered_at=now,
                        locked_until=None,
                        last_error=None,
                        attempts=OutboxEntry.attempts + 1,
                    )
                )
            for out in outcomes:
                if out.ok:
                    continue
                row = s.get(OutboxEntry, out.id)
                if row is None or row.status != "pending":
                    continue
                row.locked_until = None
                row.attempts += 1
                row.last_error = (out.error or "failed")[:2000]
                if row.attempts >= self.policy.max_attempts:
                    row.status = "dead"
                    log.warning("notification %s dead: %s", row.notification_id, row.last_error)
                else:
                    delay = self.policy.backoff(row.attempts)
                    row.next_attempt_at = now + dt.timedelta(seconds=delay)

    # -- sending -----------------------------------------------------------------------
    async def _send(
        self, gate: asyncio.Semaphore, item: tuple[int, str, str | None, str, bytes]
    ) -> Outcome:
        key, url, token, notification_id, data = item
        headers = {HEADER: notification_id}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        async with gate:
            try:
                status = await asyncio.wait_for(
                    post_json(url, data, headers), timeout=self.timeout_seconds
                )
            except (OSError, ValueError, TimeoutError, asyncio.IncompleteReadError) as exc:
                return Outcome(key, False, f"{type(exc).__name__}: {exc}")
        if 200 <= status < 300:
            return Outcome(key, True)
        return Outcome(key, False, f"HTTP {status}")

    async def pass_once(self) -> int:
        """Claim what is due, send it, record the outcomes; the number sent."""
        items = await asyncio.to_thread(self.claim)
        if not items:
            return 0
        gate = asyncio.Semaphore(self.concurrency)
        outcomes = await asyncio.gather(*(self._send(gate, i) for i in items))
        await asyncio.to_thread(self.record, list(outcomes))
        return len(items)

    # -- the loop ----------------------------------------------------------------------
    def wake(self) -> None:
        """Ask the running loop for a pass now (thread-safe; no-op when not running)."""
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        while not self._stop:
            try:
                sent = await self.pass_once()
            except Exception:  # the database may be briefly away: keep the loop alive
                log.exception("outbox pass failed")
                sent = 0
            if sent:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)

    def stop(self) -> None:
        self._stop = True
        self.wake()


def deliver_once(sessions: sessionmaker[Session], **options: Any) -> int:
    """One delivery pass (tests, cron, ``megawatt ops``): the number of rows sent."""
    return asyncio.run(Deliverer(sessions, **options).pass_once())


def deliver_until_idle(sessions: sessionmaker[Session], passes: int = 10, **options: Any) -> int:
    """Passes until nothing is due (at most ``passes``); the total sent."""
    total = 0
    deliverer = Deliverer(sessions, **options)
    for _ in range(passes):
        n = asyncio.run(deliverer.pass_once())
        total += n
        if not n:
            break
    return total


Waker = Callable[[], None]
