"""Helpers of the OpenADR VTN tests: a webhook receiver on loopback, the fixture world
(two licensed sites A and B, their VEN clients), and spec checks of responses."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from megawatt.ops.openadr import spec

B = "/openadr3/3.1.0"


class Receiver:
    """A loopback HTTP server that records every POST (headers, JSON body). ``fail``
    answers the first N requests with 500; ``hold`` sleeps that long before answering
    (the request is recorded first)."""

    def __init__(self, fail: int = 0, hold: float = 0.0) -> None:
        self.got: list[tuple[dict[str, str], Any]] = []
        self.fail = fail
        self.hold = hold
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                with receiver.lock:
                    receiver.got.append((dict(self.headers.items()), json.loads(raw)))
                    failing = receiver.fail > 0
                    if failing:
                        receiver.fail -= 1
                if receiver.hold:
                    time.sleep(receiver.hold)
                try:
                    self.send_response(500 if failing else 200)
                    self.send_header("content-length", "0")
                    self.end_headers()
                except OSError:
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def unique(self) -> dict[str, Any]:
        """The notifications de-duplicated by X-Notification-Id."""
        out: dict[str, Any] = {}
        with self.lock:
            for headers, body in self.got:
                key = {k.lower(): v for k, v in headers.items()}["x-notification-id"]
                out.setdefault(key, body)
        return out

    def wait(self, n: int, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.unique()) >= n:
                return
            time.sleep(0.05)
        raise AssertionError(f"expected {n} notifications, got {len(self.unique())}")


@contextmanager
def receiver(**kw: Any) -> Iterator[Receiver]:
    r = Receiver(**kw)
    try:
        yield r
    finally:
        r.close()


def valid(resp: Any, schema: str, status: int = 200) -> Any:
    """The JSON of ``resp`` after checking its status and that it (or each item of a
    list) satisfies the spec's response schema ``schema``."""
    assert resp.status_code == status, (resp.status_code, resp.text)
    body = resp.json()
    for item in body if isinstance(body, list) else [body]:
        errs = spec.response_errors(schema, item)
        assert not errs, (schema, errs, item)
    return body


def problem(resp: Any, status: int) -> dict[str, Any]:
    """The spec's problem body of a refused request."""
    assert resp.status_code == status, (resp.status_code, resp.text)
    body = resp.json()
    assert not spec.errors("problem", body), body
    assert body["status"] == status
    return body  # type: ignore[no-any-return]


def registry(http: Any) -> dict[str, Any]:
    """Two operators, each with a licensed site (A: "mine-a", B: "mine-b") and a third
    site without a licence ("mine-unlicensed"); returns their ids."""
    out: dict[str, Any] = {}
    for tag in ("a", "b"):
        op = http.post("/operators", json={"name": f"operator-{tag}"}).json()["id"]
        site = http.post(
            "/sites",
            json={
                "operator_id": op,
                "name": f"mine-{tag}",
                "kind": "btc_miner",
                "zone": "north",
                "plant": "sahiwal",
                "lat": 30,
                "lon": 73,
            },
        ).json()["id"]
        lic = http.post(
            "/licences",
            json={"site_id": site, "number": f"L-{tag}", "valid_from": "2026-01-01T00:00:00Z"},
        )
        assert lic.status_code == 201, lic.text
        out[f"op_{tag}"], out[f"site_{tag}"] = op, site
    site = http.post(
        "/sites",
        json={
            "operator_id": out["op_a"],
            "name": "mine-unlicensed",
            "kind": "btc_miner",
            "zone": "north",
            "lat": 30,
            "lon": 73,
        },
    ).json()["id"]
    out["site_unlicensed"] = site
    return out


def curtail(program_id: str, target: str | None, kw: int = 5000) -> dict[str, Any]:
    """An eventRequest: one hour of IMPORT_CAPACITY_LIMIT ``kw`` for ``target``."""
    body: dict[str, Any] = {
        "programID": program_id,
        "eventName": f"curtail {target}",
        "priority": 1,
        "payloadDescriptors": [
            {
                "objectType": "EVENT_PAYLOAD_DESCRIPTOR",
                "payloadType": "IMPORT_CAPACITY_LIMIT",
                "units": "KW",
            }
        ],
        "reportDescriptors": [{"payloadType": "USAGE", "units": "KWH"}],
        "intervalPeriod": {"start": "2026-12-04T12:00:00Z", "duration": "PT1H"},
        "intervals": [{"id": 0, "payloads": [{"type": "IMPORT_CAPACITY_LIMIT", "values": [kw]}]}],
    }
    if target is not None:
        body["targets"] = [target]
    return body


def report_body(event_id: str, client_name: str) -> dict[str, Any]:
    return {
        "eventID": event_id,
        "clientName": client_name,
        "reportName": "usage",
        "payloadDescriptors": [
            {"objectType": "REPORT_PAYLOAD_DESCRIPTOR", "payloadType": "USAGE", "units": "KWH"}
        ],
        "resources": [
            {
                "resourceName": "AGGREGATED_REPORT",
                "intervalPeriod": {"start": "2026-12-04T12:00:00Z", "duration": "PT1H"},
                "intervals": [{"id": 0, "payloads": [{"type": "USAGE", "values": [4200]}]}],
            }
        ],
    }


ALL = ("EVENT", "REPORT", "PROGRAM", "SUBSCRIPTION", "VEN", "RESOURCE")


def subscription_body(
    url: str, token: str | None = "hook-secret", objects: tuple[str, ...] = ALL, **extra: Any
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "objects": list(objects),
        "operations": ["CREATE", "UPDATE", "DELETE"],
        "callbackUrl": url,
    }
    if token is not None:
        op["bearerToken"] = token
    return {"clientName": "ven", "objectOperations": [op], **extra}
