"""Every reported figure of a solved plan, computed once.

Like PyPSA's ``n.statistics``, this is where a plan's figures come from: the balance
sheet (:mod:`.balance`), the baseline-vs-program tables (:mod:`.compare`), curtailment
hours and events (:mod:`.events`) and the plan's exported tables with their headline
(:mod:`.tables`). The formulas underneath (capacity factor, a curtailed hour, an
event) are in :mod:`megawatt.metrics`. The CLI, the report, the multi-year view and
the risk runs read these; none of them recomputes a figure.
"""

from megawatt.accounts.balance import (
    CASE_FIGURES,
    REST,
    TOTAL,
    BalanceSheet,
    balance_sheet,
    case_figures,
    sheet_figures,
    supplier_shares,
)
from megawatt.accounts.compare import PlanChanges, compare
from megawatt.accounts.events import curtailment_events, program_curtailment_hours
from megawatt.accounts.tables import headline, result_tables

__all__ = [
    "CASE_FIGURES",
    "REST",
    "TOTAL",
    "BalanceSheet",
    "PlanChanges",
    "balance_sheet",
    "case_figures",
    "compare",
    "curtailment_events",
    "headline",
    "program_curtailment_hours",
    "result_tables",
    "sheet_figures",
    "supplier_shares",
]
