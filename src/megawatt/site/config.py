"""The site agent's configuration: one YAML file per site, validated before anything runs.

Every problem becomes an :class:`~megawatt.errors.InputError` naming the file, the field
path (``fleets[1].hosts[0]``), what is allowed and the value given, the same way the
scenario files are checked. Powers are in W for a miner and kW for the site and the
OpenADR edge (the spec's unit).
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from megawatt.errors import InputError, input_error

Firmware = Literal["luxos", "bosminer", "stock", "http", "asicrs"]

#: At most this many miners in one range (a /22): a typo like 10.0.0.1-10.9.0.1 is refused.
MAX_RANGE = 1024


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Profile(_Strict):
    """A power profile of a miner's firmware (LuxOS ``profiles``), or a load level."""

    name: str = Field(min_length=1)
    watts: float = Field(gt=0, description="[W] power drawn at this profile")
    hashrate_th: float = Field(ge=0, description="[TH/s] hashrate at this profile")


class VtnConfig(_Strict):
    url: str = Field(description="the VTN's base URL, e.g. http://host:8080/openadr3/3.1.0")
    client_id: str = Field(min_length=1)
    client_secret: str | None = Field(default=None, min_length=1)
    client_secret_env: str | None = Field(
        default=None, description="name of an environment variable holding the secret"
    )
    poll_seconds: float = Field(default=30.0, ge=0.2, le=3600)
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    @field_validator("url")
    @classmethod
    def _http(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return v.rstrip("/")

    @model_validator(mode="after")
    def _one_secret(self) -> VtnConfig:
        if (self.client_secret is None) == (self.client_secret_env is None):
            raise ValueError("give exactly one of client_secret and client_secret_env")
        return self

    def secret(self, file: Path | str | None) -> str:
        if self.client_secret is not None:
            return self.client_secret
        value = os.environ.get(self.client_secret_env or "")
        if not value:
            raise input_error(
                file,
                "vtn.client_secret_env",
                "names an environment variable that is not set",
                self.client_secret_env,
            )
        return value


class WebhookConfig(_Strict):
    enabled: bool = True
    host: str = Field(default="127.0.0.1", description="address the receiver listens on")
    port: int = Field(default=0, ge=0, le=65535, description="0: any free port")
    public_url: str | None = Field(
        default=None, description="the callback URL the VTN should use, if not host:port"
    )


class FleetConfig(_Strict):
    """A group of identical miners (same firmware, model, profiles), or one HTTP load."""

    name: str = Field(min_length=1)
    firmware: Firmware
    model: str = Field(default="", description="e.g. S19XP; informational for miners")
    hosts: list[str] = Field(default_factory=list, description="IPs, ip:port or a-b ranges")
    port: int = Field(default=4028, ge=1, le=65535, description="CGMiner API port")
    web_port: int = Field(
        default=80, ge=1, le=65535, description="firmware stock: the web interface's port"
    )
    rated_w: float = Field(gt=0, description="[W] power at the default profile")
    hashrate_th: float = Field(ge=0, description="[TH/s] hashrate at the default profile")
    idle_w: float = Field(default=15.0, ge=0, description="[W] a sleeping miner's draw")
    profiles: list[Profile] = Field(
        default_factory=list, description="lower power profiles; LuxOS reports its own"
    )
    url: str | None = Field(default=None, description="firmware http: the load's endpoint")
    min_w: float = Field(default=0.0, ge=0, description="[W] firmware http: lowest level")

    @model_validator(mode="after")
    def _shape(self) -> FleetConfig:
        if self.firmware == "http":
            if not self.url:
                raise ValueError("firmware http needs url (the load's endpoint)")
        elif not self.hosts:
            raise ValueError("a miner fleet needs at least one host")
        for p in self.profiles:
            if p.watts >= self.rated_w:
                raise ValueError(f"profile {p.name!r} must draw less than rated_w")
        return self


class MeterConfig(_Strict):
    """Where the site total comes from: ``miners`` (the sum of the miners' own
    readings), or an HTTP JSON endpoint (a revenue meter's gateway or a PDU) whose
    ``field`` is the site's power in kW."""

    source: Literal["miners", "http", "pdu"] = "miners"
    url: str | None = None
    field: str = "kw"
    serial: str | None = Field(default=None, description="the meter's serial at the service")

    @model_validator(mode="after")
    def _url(self) -> MeterConfig:
        if self.source != "miners" and not self.url:
            raise ValueError(f"meter source {self.source} needs url")
        return self


class MeteringPush(_Strict):
    """Push interval readings to the service's metering API (see docs/site-agent.md)."""

    url: str = Field(description="the service's readings endpoint")
    minutes: Literal[5, 15, 30, 60] = Field(
        default=15, description="interval length; the metering API takes these"
    )


class AgentConfig(_Strict):
    site: str = Field(min_length=1, description="the site's venName at the VTN")
    vtn: VtnConfig
    webhook: WebhookConfig = Field(default_factory=WebhookConfig)
    state: str = Field(default="site-agent.db", description="the local SQLite store")
    fleets: list[FleetConfig] = Field(min_length=1)
    meter: MeterConfig = Field(default_factory=MeterConfig)
    metering_push: MeteringPush | None = None
    tick_seconds: float = Field(default=5.0, gt=0, le=300)
    ramp_seconds: float = Field(default=300.0, gt=0, le=3600, description="contract ramp")
    lead_seconds: float = Field(default=0.0, ge=0, le=3600, description="start before")
    settle_seconds: float = Field(default=3.0, ge=0, le=300, description="before read-back")
    command_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    margin_kw: float = Field(default=0.0, ge=0, description="[kW] stay this far under")
    wake_step_kw: float = Field(default=500.0, gt=0, description="[kW] per wake step")
    wake_stagger_seconds: float = Field(default=30.0, ge=0, le=3600)
    reporting_seconds: float = Field(default=900.0, ge=1, le=86400)
    concurrency: int = Field(default=200, ge=1, le=5000, description="commands at once")
    keep_log_days: float = Field(default=30.0, gt=0, le=3650)

    @model_validator(mode="after")
    def _unique(self) -> AgentConfig:
        names = [f.name for f in self.fleets]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"fleet names must be unique ({sorted(dup)[0]!r} repeats)")
        return self

    def resolved_state(self, base: Path) -> Path:
        p = Path(self.state)
        return p if p.is_absolute() else base / p


def expand_hosts(spec: str, default_port: int) -> list[tuple[str, int]]:
    """``10.0.0.5``, ``10.0.0.5:4029`` or ``10.0.0.5-10.0.0.40`` (inclusive) as
    (ip, port) pairs. Raises ValueError saying what is allowed."""
    port = default_port
    body = spec.strip()
    if body.count(":") == 1:
        body, _, p = body.partition(":")
        if not p.isdigit() or not 1 <= int(p) <= 65535:
            raise ValueError("port must be 1-65535")
        port = int(p)
    if "-" in body:
        a, _, b = body.partition("-")
        first, last = ipaddress.IPv4Address(a.strip()), ipaddress.IPv4Address(b.strip())
        n = int(last) - int(first) + 1
        if n < 1:
            raise ValueError("a range must run from low to high")
        if n > MAX_RANGE:
            raise ValueError(f"a range may hold at most {MAX_RANGE} addresses")
        return [(str(ipaddress.IPv4Address(int(first) + i)), port) for i in range(n)]
    return [(str(ipaddress.ip_address(body)), port)]


def _where(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def parse(raw: Any, file: Path | str | None = None) -> AgentConfig:
    """Validate a loaded YAML mapping; errors name ``file`` and the field."""
    if not isinstance(raw, dict):
        raise input_error(file, "", "must be a mapping of settings (site, vtn, fleets, ...)")
    try:
        cfg = AgentConfig.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(x for x in err["loc"] if not str(x).startswith("function-"))
        msg = err["msg"].removeprefix("Value error, ")
        msg = msg.replace("Input should be", "must be").replace("Field required", "required")
        msg = msg.replace("Extra inputs are not permitted", "unknown field")
        if err["type"] == "missing":
            raise InputError(file, _where(loc), msg) from None
        raise InputError(file, _where(loc), msg, err.get("input"), True) from None
    seen: dict[tuple[str, int], str] = {}
    for i, fleet in enumerate(cfg.fleets):
        for j, spec in enumerate(fleet.hosts):
            try:
                pairs = expand_hosts(spec, fleet.port)
            except ValueError as exc:
                raise input_error(file, f"fleets[{i}].hosts[{j}]", str(exc), spec) from None
            for pair in pairs:
                if fleet.firmware == "asicrs" and pair[1] != 4028:
                    raise input_error(
                        file,
                        f"fleets[{i}].hosts[{j}]",
                        "firmware asicrs reaches port 4028 only",
                        spec,
                    )
                if pair in seen:
                    raise input_error(
                        file,
                        f"fleets[{i}].hosts[{j}]",
                        f"{pair[0]}:{pair[1]} is also in {seen[pair]}",
                        spec,
                    )
                seen[pair] = f"fleets[{i}]"
    return cfg


def load(path: str | Path) -> AgentConfig:
    """Read and validate a site agent YAML file."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise input_error(path, "", f"cannot be read ({exc.strerror})") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        raise input_error(path, where, "is not valid YAML") from None
    cfg = parse(raw, path)
    cfg.vtn.secret(path)
    return cfg
