"""Schemathesis against the app in process (ASGI), on SQLite and PostgreSQL: no 5xx, no
response that breaks its documented schema, and every 4xx a problem+json."""

from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from megawatt.ops.app import create_app
from opsdb import add_client, db_url, migrated, token  # noqa: F401  (fixtures)

#: Not in the fast subset: fuzzes every operation on two databases (~25 s).
pytestmark = pytest.mark.slow


@pytest.fixture
def ops_app(migrated: str):  # noqa: F811
    app = create_app(migrated)
    secret = add_client(migrated, "fuzzer", "authority")
    with TestClient(app) as c:
        app.state.fuzz_headers = token(c, "fuzzer", secret)
    yield app
    app.state.engine.dispose()


def _no_server_error(ctx, response, case) -> bool:  # type: ignore[no-untyped-def]
    assert response.status_code < 500, f"{response.status_code}: {response.text[:300]}"
    if 400 <= response.status_code < 500:
        content_type = response.headers.get("content-type", [""])[0]
        assert content_type.startswith("application/problem+json"), content_type
    return True


CHECKS = [
    _no_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_api_fuzz(ops_app) -> None:  # type: ignore[no-untyped-def]
    schema = schemathesis.openapi.from_asgi("/openapi.json", ops_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
        def run(case) -> None:  # type: ignore[no-untyped-def]
            case.call_and_validate(checks=CHECKS, headers=ops_app.state.fuzz_headers)

        run()
