"""Fake miners on loopback that speak the CGMiner JSON API over TCP as the firmware
does, for the tests, the benchmark and trying the agent without a farm.

One JSON request per connection (``{"command": "power"}`` or ``{"command":
"curtail", "parameter": "<session>,sleep"}``), one JSON answer, then the miner closes
the connection, as CGMiner and LuxOS do and as pyasic expects. Behaviours:

- ``luxos``: LuxOS commands (``session``, ``logon``, ``curtail`` sleep/wakeup,
  ``profiles``, ``profileset``, ``config``, ``power``, ``summary``, ``version``);
  privileged commands need the session id;
- ``lying``: LuxOS that answers every command with success and keeps drawing full
  power;
- ``dead``: accepts the connection and never answers;
- ``bosminer``: ``pause``/``resume``/``tunerstatus``;
- ``stock``: a stock Antminer: ``summary``/``version`` only over the CGMiner API (no
  power, no sleep there), and the web interface pyasic's ``AntminerModern`` uses to
  stop it (HTTP with digest auth, root/root: ``GET /cgi-bin/get_miner_conf.cgi``,
  ``POST /cgi-bin/set_miner_conf.cgi`` with ``miner-mode`` 1 to sleep, 0 to mine);
- ``stock-lying``: the same, but ``set_miner_conf`` answers success and nothing
  changes: its ``watts`` (what a meter or PDU sees) stays at full power.

:meth:`FakeMiner.go_offline` closes the listening socket (connections refused from
then on), as a miner that loses power or network mid-event.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

PROFILES = [
    ("default", 3250.0, 140.0),
    ("-1", 2900.0, 130.0),
    ("-2", 2550.0, 118.0),
    ("-3", 2150.0, 104.0),
]
IDLE_W = 15.0
#: The stock web interface's digest credentials (pyasic's default).
WEB_USER, WEB_PASSWORD, WEB_REALM = "root", "root", "antMiner Configuration"


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # HTTP digest auth is MD5


@dataclass
class FakeMiner:
    ip: str
    port: int = 0
    kind: str = "luxos"
    profiles: list[tuple[str, float, float]] = field(default_factory=lambda: list(PROFILES))
    profile: str = "default"
    asleep: bool = False
    session_id: str = ""
    commands: list[str] = field(default_factory=list)
    server: asyncio.base_events.Server | None = None
    web_port: int = 0  # kinds stock*: the web interface (0: any free port)
    web_server: asyncio.base_events.Server | None = None
    nonces: set[str] = field(default_factory=set)

    @property
    def watts(self) -> float:
        if self.kind in ("lying", "stock-lying"):
            return self.profiles[0][1]
        if self.asleep:
            return IDLE_W
        return next(w for n, w, _ in self.profiles if n == self.profile)

    def _ok(self, code: int, msg: str, **sections: Any) -> dict[str, Any]:
        status = [{"STATUS": "S", "When": int(time.time()), "Code": code, "Msg": msg}]
        return {"STATUS": status, **sections, "id": 1}

    def _err(self, msg: str) -> dict[str, Any]:
        return {"STATUS": [{"STATUS": "E", "When": int(time.time()), "Code": 14, "Msg": msg}]}

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        command = str(request.get("command", ""))
        params = str(request.get("parameter", "")).split(",") if request.get("parameter") else []
        self.commands.append(command if not params else f"{command} {params[-1]}")
        if len(self.commands) > 100:  # a short history, for the tests (memory-bounded)
            del self.commands[:50]
        if command == "version":
            ver: dict[str, Any] = {"API": "3.7", "Type": "Antminer S19 XP"}
            if self.kind in ("luxos", "lying", "dead"):
                ver |= {"LUXminer": "2025.1.1.123456-abcdef", "Miner": "LUXminer 2025.1.1"}
            elif self.kind == "bosminer":
                ver |= {"BOSminer": "0.2.0-9e5fbb0", "Miner": "BOSminer+ 1.0"}
            else:
                ver |= {"BMMiner": "2.0.0", "Miner": "uart_trans.1.3"}
            return self._ok(22, "CGMiner versions", VERSION=[ver])
        if command == "devdetails":
            dev = {
                "DEVDETAILS": 0,
                "Name": "BC5",
                "ID": 0,
                "Driver": "bitmicro",
                "Model": "Antminer S19 XP",
            }
            return self._ok(69, "Device Details", DEVDETAILS=[dev])
        if command == "summary":
            th = 0.0 if self.asleep else next(h for n, _, h in self.profiles if n == self.profile)
            return self._ok(11, "Summary", SUMMARY=[{"GHS 5s": th * 1000.0, "Elapsed": 100}])
        if self.kind == "bosminer":
            return self._bosminer(command)
        if self.kind.startswith("stock"):
            return self._err("Invalid command")
        return self._luxos(command, params)

    def _bosminer(self, command: str) -> dict[str, Any]:
        if command == "tunerstatus":
            tuner = {"ApproximateMinerPowerConsumption": self.watts, "PowerLimit": 3250}
            return self._ok(0, "Tuner", TUNERSTATUS=[tuner])
        if command == "pause":
            self.asleep = True
            return self._ok(0, "Pause", PAUSE=[{"PAUSE": True}])
        if command == "resume":
            self.asleep = False
            return self._ok(0, "Resume", RESUME=[{"RESUME": True}])
        return self._err("Invalid command")

    def _luxos(self, command: str, params: list[str]) -> dict[str, Any]:
        if command in ("session", "logon"):
            # ``session`` shows the open session ("" if none); ``logon`` opens one.
            if command == "logon":
                if self.session_id:
                    return self._err("Another session is active")
                self.session_id = f"s{id(self) % 100000:05d}"
            return self._ok(0, "Session", SESSION=[{"SessionID": self.session_id}])
        if command == "power":
            return self._ok(0, "Power", POWER=[{"Watts": self.watts, "PSU": False}])
        if command == "profiles":
            rows = [
                {
                    "Profile Name": n,
                    "Watts": w,
                    "Hashrate": h,
                    "IsTuned": True,
                    "Frequency": 500,
                    "Voltage": 13.5,
                }
                for n, w, h in self.profiles
            ]
            return self._ok(0, "Profiles", PROFILES=rows)
        if command == "config":
            return self._ok(0, "Config", CONFIG=[{"Profile": self.profile, "IsAtmEnabled": False}])
        if command == "atm":
            return self._ok(0, "ATM", ATM=[{"Enabled": False}])
        if command in ("curtail", "profileset"):
            if not params or params[0] != self.session_id or not self.session_id:
                return self._err("Invalid session id")
            arg = params[-1]
            if command == "curtail":
                if arg not in ("sleep", "wakeup"):
                    return self._err("Invalid curtail mode")
                if self.kind == "luxos":
                    self.asleep = arg == "sleep"
                return self._ok(0, "Curtail", CURTAIL=[{"Mode": arg}])
            if arg not in [n for n, _, _ in self.profiles]:
                return self._err(f"Invalid profile {arg}")
            if self.kind == "luxos":
                self.profile = arg
            return self._ok(0, "Profile", PROFILE=[{"Profile": arg}])
        return self._err("Invalid command")

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            raw = b""
            request: dict[str, Any] | None = None
            while request is None:
                chunk = await reader.read(4096)
                if not chunk:
                    return
                raw += chunk
                with contextlib.suppress(ValueError):
                    request = json.loads(raw)
            if self.kind == "dead":
                await asyncio.sleep(3600)
                return
            writer.write(json.dumps(self.answer(request)).encode() + b"\x00")
            await writer.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    # -- the stock web interface (what pyasic's AntminerModern sends) ------------------
    def _authorized(self, method: str, header: str) -> bool:
        if not header.startswith("Digest "):
            return False
        parts = dict(re.findall(r'(\w+)="?([^",]*)"?', header[7:]))
        if parts.get("username") != WEB_USER or parts.get("nonce") not in self.nonces:
            return False
        ha1 = _md5(f"{WEB_USER}:{WEB_REALM}:{WEB_PASSWORD}")
        ha2 = _md5(f"{method}:{parts.get('uri', '')}")
        if parts.get("qop"):
            tail = f"{parts.get('nc')}:{parts.get('cnonce')}:{parts['qop']}:{ha2}"
            expected = _md5(f"{ha1}:{parts['nonce']}:{tail}")
        else:
            expected = _md5(f"{ha1}:{parts['nonce']}:{ha2}")
        return secrets.compare_digest(expected, parts.get("response", ""))

    def _web_answer(self, method: str, path: str, body: bytes) -> dict[str, Any] | None:
        self.commands.append(f"web {path.rsplit('/', 1)[-1]}")
        if method == "GET" and path == "/cgi-bin/get_miner_conf.cgi":
            return {
                "pools": [{"url": "stratum+tcp://pool.example:3333", "user": "w", "pass": "x"}],
                "bitmain-fan-ctrl": False,
                "bitmain-fan-pwm": "100",
                "freq-level": "100",
                "bitmain-work-mode": "1" if self.asleep else "0",
            }
        if method == "POST" and path == "/cgi-bin/set_miner_conf.cgi":
            try:
                mode = int(json.loads(body)["miner-mode"])
            except (ValueError, LookupError, TypeError):
                return {"stats": "error", "code": "M001", "msg": "Bad config"}
            if self.kind == "stock":  # stock-lying says the same and does nothing
                self.asleep = mode == 1
            return {"stats": "success", "code": "M000", "msg": "OK!"}
        return None

    async def _handle_web(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One HTTP/1.1 request per connection (``Connection: close``), digest auth."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {
                k.strip().lower(): v.strip()
                for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
            extra: list[str] = []
            if not self._authorized(method, headers.get("authorization", "")):
                nonce = secrets.token_hex(16)
                self.nonces.add(nonce)
                if len(self.nonces) > 100:
                    self.nonces.clear()
                    self.nonces.add(nonce)
                status, answer = "401 Unauthorized", {"error": "unauthorized"}
                extra.append(
                    f'WWW-Authenticate: Digest realm="{WEB_REALM}", nonce="{nonce}", qop="auth"'
                )
            else:
                got = self._web_answer(method, path.split("?")[0], body)
                status, answer = ("200 OK", got) if got is not None else ("404 Not Found", {})
            raw = json.dumps(answer).encode()
            lines_out = [
                f"HTTP/1.1 {status}",
                "Content-Type: application/json",
                f"Content-Length: {len(raw)}",
                "Connection: close",
                *extra,
            ]
            writer.write("\r\n".join(lines_out).encode() + b"\r\n\r\n" + raw)
            await writer.drain()
        except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, self.ip, self.port)
        self.port = self.server.sockets[0].getsockname()[1]
        if self.kind.startswith("stock"):
            self.web_server = await asyncio.start_server(self._handle_web, self.ip, self.web_port)
            self.web_port = self.web_server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        for server in (self.server, self.web_server):
            if server is not None:
                server.close()
        self.server = self.web_server = None

    @property
    def host(self) -> str:
        return f"{self.ip}:{self.port}"


class FakeFleet:
    """Fake miners served by one event loop in a background thread (so that the agent
    under test runs its own loop, as in production)."""

    def __init__(self, miners: Iterable[FakeMiner]) -> None:
        self.miners = list(miners)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> FakeFleet:
        self.thread.start()
        for m in self.miners:
            self.call(m.start())
        return self

    def __exit__(self, *exc: object) -> None:
        for m in self.miners:
            self.call(m.stop())
        self.call(self._cancel_all())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)

    async def _cancel_all(self) -> None:
        mine = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not mine]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def go_offline(self, miner: FakeMiner) -> None:
        self.call(miner.stop())

    def total_w(self) -> float:
        """[W] what the fleet draws by the fakes' own state, not what they report (a dead
        or offline miner is taken to go on drawing what it drew)."""
        return sum(m.watts for m in self.miners)


def loopback(n: int, start: int = 2, third: int = 0) -> list[str]:
    """``n`` loopback addresses 127.0.<third>.<start...>, rolling over the octet."""
    out = []
    for i in range(n):
        k = start + i
        out.append(f"127.0.{third + k // 250}.{k % 250 + 1}")
    return out


def main(argv: list[str] | None = None) -> None:
    """``python -m megawatt.site.fakeminer luxos=200 lying=2 dead=1 [--start N]``: serve
    fake miners on loopback, print their hosts as one JSON line, serve until stdin
    closes (so that a test or benchmark can run its fleet in another process)."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python -m megawatt.site.fakeminer")
    parser.add_argument("kinds", nargs="+", help="kind=count, e.g. luxos=200 lying=1")
    parser.add_argument("--start", type=int, default=2, help="first loopback host number")
    parser.add_argument("--port", type=int, default=0, help="port (0: any free one)")
    args = parser.parse_args(argv)
    kinds: list[str] = []
    for item in args.kinds:
        kind, _, count = item.partition("=")
        kinds += [kind] * int(count or 1)
    miners = [
        FakeMiner(ip, port=args.port, kind=k)
        for ip, k in zip(loopback(len(kinds), start=args.start), kinds, strict=True)
    ]
    with FakeFleet(miners):
        print(json.dumps([[m.kind, m.host] for m in miners]), flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
