"""Seed the caps table from a scenario's program (program, zone and plant caps)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.orm import Session

from megawatt.ops import ledger
from megawatt.ops.models import Cap
from megawatt.scenario import Scenario

PROGRAM_CAP_NAME = "program"


def seed_caps(session: Session, scenario: Scenario, actor: str) -> list[Cap]:
    """Create or update the program cap and every zone and plant cap of ``scenario``
    (idempotent; refused with 409 where allocations already exceed a new cap)."""
    program = scenario.program
    wanted = [("program", PROGRAM_CAP_NAME, program.cap_mw)]
    wanted += [("zone", name, mw) for name, mw in sorted(program.zone_caps_mw.items())]
    wanted += [("plant", name, mw) for name, mw in sorted(program.plant_caps_mw.items())]
    return [
        ledger.set_cap(session, scope, name, Decimal(str(mw)).quantize(Decimal("0.001")), actor)
        for scope, name, mw in wanted
    ]
