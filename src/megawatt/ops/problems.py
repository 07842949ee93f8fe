"""Errors the service reports as RFC 9457 problem details (application/problem+json)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Problem(Exception):
    """A request the service refuses: ``status`` (4xx), a title, a detail, and the
    fields at fault (``errors``: [{"field": ..., "message": ...}]) plus any extras."""

    status: int
    title: str
    detail: str
    errors: list[dict[str, str]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    type: str = "about:blank"

    def __post_init__(self) -> None:
        super().__init__(self.detail)

    def body(self, instance: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "errors": self.errors,
        }
        if instance:
            out["instance"] = instance
        out.update(self.extra)
        return out


def not_found(entity: str, key: object, field_name: str = "id") -> Problem:
    return Problem(
        404,
        "Not found",
        f"no {entity} with {field_name} {key}",
        [{"field": field_name, "message": f"no {entity} with this {field_name}"}],
    )


def conflict(detail: str, field_name: str, message: str, **extra: Any) -> Problem:
    return Problem(409, "Conflict", detail, [{"field": field_name, "message": message}], extra)


def invalid(detail: str, field_name: str, message: str) -> Problem:
    return Problem(422, "Invalid request", detail, [{"field": field_name, "message": message}])
