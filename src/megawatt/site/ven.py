"""The VEN side of OpenADR 3.1.0: a token by client credentials, the events targeted at
this site (polled, and pushed by webhook to a small receiver of the agent's own), its
subscription, and its reports; and the schedule those events make.

Plain HTTP with httpx following ``openadr3.yaml``, not the openadr3-client package:
that package needs Python >= 3.12 (megawatt supports 3.11), and the agent needs only
six calls, a webhook receiver and control over retries while the VTN is away.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

_DURATION = re.compile(
    r"^P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def duration(text: str | None) -> dt.timedelta:
    """An ISO 8601 duration of the spec (``PT15M``, ``PT1H``, ``P1D``; ``P9999Y`` and
    other year/month forms are read as unbounded)."""
    if not text:
        return dt.timedelta(0)
    m = _DURATION.match(text)
    if m is None:
        if re.match(r"^P\d+[YM]", text):
            return dt.timedelta(days=3650)
        raise ValueError(f"not an ISO 8601 duration: {text!r}")
    g = {k: float(v) if v else 0.0 for k, v in m.groupdict().items()}
    return dt.timedelta(weeks=g["w"], days=g["d"], hours=g["h"], minutes=g["m"], seconds=g["s"])


def _time(text: str) -> dt.datetime:
    t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class Slot:
    """One interval of an event: [start, end) with an import limit [kW] (None: the
    interval carries no limit)."""

    event_id: str
    interval_id: int
    start: dt.datetime
    end: dt.datetime
    limit_kw: float | None
    priority: int


def slots(event: dict[str, Any]) -> list[Slot]:
    """The event's intervals in time. An interval's own ``intervalPeriod`` wins over the
    event's; otherwise interval i starts i durations after the event's start."""
    period = event.get("intervalPeriod") or {}
    out = []
    for i, iv in enumerate(event.get("intervals") or []):
        own = iv.get("intervalPeriod") or {}
        if own.get("start"):
            start = _time(own["start"])
            length = duration(own.get("duration") or period.get("duration"))
        elif period.get("start"):
            length = duration(period.get("duration"))
            start = _time(period["start"]) + i * length
        else:
            continue
        limit = None
        for p in iv.get("payloads") or []:
            if p.get("type") == "IMPORT_CAPACITY_LIMIT" and p.get("values"):
                limit = float(p["values"][0])
        prio = event.get("priority")
        out.append(
            Slot(
                str(event["id"]),
                int(iv.get("id", i)),
                start,
                start + length,
                limit,
                int(prio) if prio is not None else 1 << 30,
            )
        )
    return out


def limit_at(
    events: dict[str, dict[str, Any]], when: dt.datetime
) -> tuple[float | None, list[Slot]]:
    """The binding import limit [kW] at ``when`` (the lowest of the events in force)
    and the slots in force."""
    active = [s for e in events.values() for s in slots(e) if s.start <= when < s.end]
    limits = [s.limit_kw for s in active if s.limit_kw is not None]
    return (min(limits) if limits else None), active


class VtnError(Exception):
    """The VTN refused a request (4xx other than 401) or is unreachable."""


class VenClient:
    """The site's OpenADR client (async); ``base`` is the VTN's URL."""

    def __init__(self, base: str, client_id: str, secret: str, timeout: float = 10.0) -> None:
        self.base = base.rstrip("/")
        self.client_id = client_id
        self.secret = secret
        self.http = httpx.AsyncClient(timeout=timeout)
        self.token: str | None = None
        self.token_until = 0.0

    async def close(self) -> None:
        await self.http.aclose()

    async def _token(self) -> str:
        if self.token is None or time.monotonic() > self.token_until:
            form = {
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self.secret,
            }
            try:
                resp = await self.http.post(f"{self.base}/auth/token", data=form)
            except httpx.HTTPError as exc:
                raise VtnError(f"token: {exc}") from None
            if resp.status_code != 200:
                raise VtnError(f"token: {resp.status_code} {resp.text[:200]}")
            body = resp.json()
            self.token = str(body["access_token"])
            self.token_until = time.monotonic() + 0.8 * float(body.get("expires_in", 3600))
        return self.token

    async def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        for attempt in (0, 1):
            headers = {"Authorization": f"Bearer {await self._token()}"}
            try:
                resp = await self.http.request(method, f"{self.base}{path}", headers=headers, **kw)
            except httpx.HTTPError as exc:
                raise VtnError(f"{method} {path}: {exc}") from None
            if resp.status_code == 401 and attempt == 0:
                self.token = None  # expired or revoked: one fresh token, then give up
                continue
            if resp.status_code >= 400:
                raise VtnError(f"{method} {path}: {resp.status_code} {resp.text[:300]}")
            return resp
        raise AssertionError("unreachable")

    async def _all(self, path: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while True:
            page = {**(params or {}), "skip": len(out), "limit": 50}
            got = (await self.request("GET", path, params=page)).json()
            out += got
            if len(got) < 50:
                return out

    async def ven(self, name: str) -> dict[str, Any]:
        """This site's VEN (a licensed site is a VEN in our VTN)."""
        found = await self._all("/vens", {"venName": name})
        if not found:
            raise VtnError(f"the VTN has no VEN named {name!r} visible to this client")
        return found[0]

    async def events(self) -> list[dict[str, Any]]:
        """Every event the VTN shows this VEN (those targeting it, or no one)."""
        return await self._all("/events")

    async def subscribe(self, name: str, url: str, token: str) -> dict[str, Any]:
        """One subscription to events at ``url`` with ``token``: updated if this
        client already has one, so a restart does not pile them up."""
        body = {
            "clientName": name,
            "objectOperations": [
                {
                    "objects": ["EVENT"],
                    "operations": ["CREATE", "UPDATE", "DELETE"],
                    "callbackUrl": url,
                    "bearerToken": token,
                }
            ],
        }
        mine = await self._all("/subscriptions", {"clientName": name})
        if mine:
            resp = await self.request("PUT", f"/subscriptions/{mine[0]['id']}", json=body)
            for extra in mine[1:]:
                await self.request("DELETE", f"/subscriptions/{extra['id']}")
        else:
            resp = await self.request("POST", "/subscriptions", json=body)
        return resp.json()  # type: ignore[no-any-return]

    async def report(self, body: dict[str, Any]) -> dict[str, Any]:
        return (await self.request("POST", "/reports", json=body)).json()  # type: ignore[no-any-return]


Handler = Callable[[dict[str, Any]], Awaitable[None]]


class WebhookReceiver:
    """A minimal HTTP/1.1 server for the VTN's notifications: POSTs with the agent's
    bearer token only (401 otherwise); a notification id seen before is acknowledged
    and not handled again (the outbox delivers at least once). Remembers the last
    ``remember`` ids, so memory stays bounded."""

    def __init__(self, token: str, handler: Handler, remember: int = 1000) -> None:
        self.token = token
        self.handler = handler
        self.seen: collections.OrderedDict[str, None] = collections.OrderedDict()
        self.remember = remember
        self.server: asyncio.base_events.Server | None = None
        self.received = 0

    async def start(self, host: str, port: int) -> int:
        self.server = await asyncio.start_server(self._serve, host, port)
        return int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        status = 400
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            lines = head.decode("latin-1").split("\r\n")
            method = lines[0].split(" ")[0]
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    k, _, v = line.partition(":")
                    headers[k.strip().lower()] = v.strip()
            length = int(headers.get("content-length", "0"))
            if length > 1 << 20:
                status = 413
            else:
                body = await asyncio.wait_for(reader.readexactly(length), 10) if length else b""
                if method != "POST":
                    status = 405
                elif headers.get("authorization") != f"Bearer {self.token}":
                    status = 401
                else:
                    status = await self._notify(headers.get("x-notification-id"), body)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError):
            status = 400
        except OSError:
            return
        reason = {
            200: "OK",
            400: "Bad Request",
            401: "Unauthorized",
            405: "Method Not Allowed",
            413: "Payload Too Large",
        }[status]
        try:
            head = f"HTTP/1.1 {status} {reason}\r\ncontent-length: 0\r\nconnection: close\r\n"
            writer.write(head.encode() + b"\r\n")
            await writer.drain()
            writer.close()
        except OSError:
            pass

    async def _notify(self, note_id: str | None, raw: bytes) -> int:
        note = json.loads(raw)
        if not isinstance(note, dict):
            return 400
        if note_id is not None:
            if note_id in self.seen:
                return 200
            self.seen[note_id] = None
            while len(self.seen) > self.remember:
                self.seen.popitem(last=False)
        self.received += 1
        await self.handler(note)
        return 200
