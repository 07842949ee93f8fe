"""OpenADR 3.1.0 VTN of the operations service (issue 14): programs, events, reports,
subscriptions, VENs (= licensed sites) and resources, with a webhook outbox.

For the day-ahead schedule: :func:`upsert_event` and :func:`cancel_event`.
"""

from megawatt.ops.openadr.objects import (
    CURTAILMENT_PROGRAM,
    SCOPES,
    cancel_event,
    ensure_program,
    events_with_keys,
    interval_limits_kw,
    upsert_event,
)

__all__ = [
    "CURTAILMENT_PROGRAM",
    "SCOPES",
    "cancel_event",
    "ensure_program",
    "events_with_keys",
    "interval_limits_kw",
    "upsert_event",
]
