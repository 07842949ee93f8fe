"""Seed the caps table from a scenario's program (program, zone and plant caps)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.orm import Session

from megawatt.ops import ledger
from megawatt.ops.models import Cap
from megawatt.scenario import Scenario

PROGRAM_CAP_NAME = "program"


def seed_caps(session: Session, scenario: Scenario, actor: str) -> list[Cap]:
    """Create or update the program cap and every zone and plant cap of ``scenario``,
    each plant cap with its generator's zone (idempotent; refused with 409 where
    allocations already exceed a new cap or sites of a plant lie in another zone)."""
    program = scenario.program
    zone_of = {g.name: g.zone for g in scenario.generators}
    wanted: list[tuple[str, str, float, str | None]] = [
        ("program", PROGRAM_CAP_NAME, program.cap_mw, None)
    ]
    wanted += [("zone", name, mw, None) for name, mw in sorted(program.zone_caps_mw.items())]
    wanted += [
        ("plant", name, mw, zone_of[name]) for name, mw in sorted(program.plant_caps_mw.items())
    ]
    return [
        ledger.set_cap(
            session, scope, name, Decimal(str(mw)).quantize(Decimal("0.001")), actor, zone
        )
        for scope, name, mw, zone in wanted
    ]
