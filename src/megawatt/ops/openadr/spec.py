"""The OpenADR 3.1.0 definition (``openadr3.yaml``, a copy of the public file) and
validators of its component schemas.

The VTN does not retype the spec's objects: request bodies are validated against the
spec's ``*Request`` schemas with an OpenAPI 3.0 validator (``nullable``, ``format``,
``pattern``, ``oneOf``...), and the tests validate every response body against the
response schemas (``program``, ``event``, ...) the same way.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml
from openapi_schema_validator import OAS30Validator, oas30_format_checker

SPEC_FILE = Path(__file__).resolve().parent / "openadr3.yaml"
VERSION = "3.1.0"


@functools.cache
def spec() -> dict[str, Any]:
    """The OpenADR 3.1.0 OpenAPI document as a dict."""
    with SPEC_FILE.open(encoding="utf-8") as f:
        return yaml.safe_load(f)  # type: ignore[no-any-return]


#: Two ``discriminator: {propertyName: objectType}`` in the spec have no ``mapping``, and
#: their objectType values (``EVENT_PAYLOAD_DESCRIPTOR``, ``EVENT``, ...) are not schema
#: names, so a validator that follows the discriminator cannot resolve them. The
#: validators add the evident mappings (the served spec is the file as published).
_MAPPINGS = {
    ("programRequest", "payloadDescriptors"): {
        "EVENT_PAYLOAD_DESCRIPTOR": "#/components/schemas/eventPayloadDescriptor",
        "REPORT_PAYLOAD_DESCRIPTOR": "#/components/schemas/reportPayloadDescriptor",
    },
    ("notification", "object"): {
        kind.upper(): f"#/components/schemas/{kind}"
        for kind in ("program", "event", "report", "subscription", "ven", "resource")
    },
}


@functools.cache
def _components() -> dict[str, Any]:
    components = copy.deepcopy(spec()["components"])
    for (schema, prop), mapping in _MAPPINGS.items():
        node = components["schemas"][schema]["properties"][prop]
        node = node.get("items", node)
        node["discriminator"]["mapping"] = mapping
    return components  # type: ignore[no-any-return]


@functools.cache
def validator(name: str) -> OAS30Validator:
    """A validator of the component schema ``name`` (e.g. ``eventRequest``)."""
    components = _components()
    if name not in components["schemas"]:
        raise KeyError(name)
    schema = {"$ref": f"#/components/schemas/{name}", "components": components}
    return OAS30Validator(schema, format_checker=oas30_format_checker)


def errors(name: str, instance: Any) -> list[dict[str, str]]:
    """Each violation of schema ``name`` as ``{"field", "message"}`` (empty when valid)."""
    out = []
    for err in sorted(validator(name).iter_errors(instance), key=lambda e: list(e.path)):
        field = ".".join(str(p) for p in err.absolute_path) or "body"
        out.append({"field": field, "message": err.message[:300]})
    return out


#: The spec's ``ven`` and ``resource`` are ``allOf(objectMetadata, Bl*Request)``: the
#: first requires ``objectType`` in objectTypes (``VEN``), the second ``BL_VEN_REQUEST``,
#: so no object satisfies both. The VTN answers ``"objectType": "VEN"`` / ``"RESOURCE"``
#: (docs/openadr.md, deviations) and is checked against the two halves.
_SPLIT = {"ven": "BlVenRequest", "resource": "BlResourceRequest"}
_BL_TYPE = {"ven": "BL_VEN_REQUEST", "resource": "BL_RESOURCE_REQUEST"}


def response_errors(name: str, instance: Any) -> list[dict[str, str]]:
    """Violations of response schema ``name`` (``program``, ``event``, ``ven``, ...)."""
    if name in _SPLIT and isinstance(instance, dict):
        return errors("objectMetadata", instance) + errors(
            _SPLIT[name], {**instance, "objectType": _BL_TYPE[name]}
        )
    return errors(name, instance)
