"""The site agent (``megawatt site-agent``): the site's side of a curtailment, from an
OpenADR 3.1 event to the ASIC fleet, trusting only power it reads back.

``config`` reads and checks the YAML; ``ven`` is the OpenADR client, webhook receiver
and schedule; ``planner`` chooses which miners to step down or sleep; ``fleet`` holds
the adapters (pyasic for LuxOS, BOSminer and stock CGMiner APIs; HTTP for other
loads); ``store`` is the local SQLite state; ``agent`` runs the loop; ``fakeminer``
serves fake miners on loopback for tests and trials.
"""

from __future__ import annotations

from megawatt.site.config import AgentConfig, load
from megawatt.site.planner import Level, Move, Unit, plan_reduction, plan_wake

__all__ = ["AgentConfig", "Level", "Move", "Unit", "load", "plan_reduction", "plan_wake"]
