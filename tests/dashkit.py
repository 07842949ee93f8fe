"""A small program for the dashboard tests: two operators, three sites with contracts,
allocations, meters, an event and readings, and one user per role (over the API and
megawatt.ops.users, as an operator would set it up)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from megawatt.ops import db, users
from opsdb import contracted_site

PASSWORD = "correct horse battery"
#: (username, role, scope): one user per role; "alpha" is site alpha's user and
#: "op-beta" the operator of site beta.
ROLES = ("authority", "system_operator", "operator", "site")


@dataclass
class World:
    url: str
    sites: dict[str, int] = field(default_factory=dict)
    operators: dict[str, int] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)  # role -> username

    def site_names_for(self, role: str) -> set[str]:
        """The sites a user of ``role`` may see (the authorization matrix's rule)."""
        if role in ("authority", "system_operator"):
            return set(self.sites)
        return {"alpha"} if role == "site" else {"beta"}


def build(http: Any, url: str, now: dt.datetime | None = None) -> World:
    """Sites alpha, beta (plant sahiwal, North) and gamma (no plant, South), each with a
    contract from 2026-01-01, a 4 MW grant and a meter; users for every role."""
    world = World(url)
    for name, plant, zone in (
        ("alpha", "sahiwal", "North"),
        ("beta", "sahiwal", "North"),
        ("gamma", None, "South"),
    ):
        made = contracted_site(http, name, plant=plant, zone=zone)
        world.sites[name] = made["id"]
        world.operators[name] = made["operator"]
    engine = db.make_engine(url)
    try:
        with db.transaction(db.session_factory(engine)) as s:
            for role, name, scope in (
                ("authority", "ada", {}),
                ("system_operator", "sol", {}),
                ("operator", "op-beta", {"operator_id": world.operators["beta"]}),
                ("site", "alpha", {"site_id": world.sites["alpha"]}),
            ):
                users.add_user(s, name, PASSWORD, role, "test", **scope)
                world.users[role] = name
    finally:
        engine.dispose()
    return world


def readings(http: Any, serial: str, start: dt.datetime, kwh: list[str]) -> None:
    rows = [
        {
            "meter": serial,
            "interval_start": (start + dt.timedelta(minutes=15 * i)).isoformat(),
            "kwh": k,
            "quality": "measured",
        }
        for i, k in enumerate(kwh)
    ]
    r = http.post("/readings", json={"readings": rows})
    assert r.status_code == 200, r.text


def login(http: Any, username: str, password: str = PASSWORD) -> Any:
    """Log ``http`` (a TestClient) in through the form; returns the login response."""
    form = http.get("/ui/login")
    assert form.status_code == 200
    csrf = form.text.split('name="csrf" value="')[1].split('"')[0]
    return http.post(
        "/ui/login",
        data={"username": username, "password": password, "csrf": csrf, "next": "/ui/"},
        follow_redirects=False,
    )


def csrf_of(page: str) -> str:
    return page.split('name="csrf" value="')[1].split('"')[0]
