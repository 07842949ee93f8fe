"""Schemathesis against the app in process (ASGI), on SQLite and PostgreSQL: no 5xx, no
response that breaks its documented schema, and every 4xx a problem+json."""

from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
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
    negative_data_rejection,
    positive_data_acceptance,
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
            # A body naming a record that does not exist is a 422 naming the field
            # (the target, e.g. /sites, exists: RFC 9110's 404 is for the target);
            # schemathesis' positive-data check would want 404 there.
            case.call_and_validate(
                checks=CHECKS,
                excluded_checks=[positive_data_acceptance],
                headers=ops_app.state.fuzz_headers,
            )

        run()


def test_api_stateful(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Chains of calls along the links schemathesis infers from the document (POST
    /operators -> POST /sites with its id -> POST /licences, /applications, /ledger,
    GET/PATCH by id...): deeper states than single calls reach (a site with a licence
    and a grant, a suspended licence...), with the checks above plus schemathesis'
    stateful defaults (e.g. a created resource is then readable).

    Each example starts from a fresh copy of one migrated SQLite file (with the caps
    and the fuzzer's client): hypothesis needs each example's data generation to be
    repeatable, which a database that keeps the previous example's rows breaks. On
    SQLite only (a file copy per example); PostgreSQL runs the stateless fuzz above."""
    import itertools
    import shutil

    from hypothesis import settings as hsettings

    from megawatt.ops import db

    template = tmp_path / "template.db"
    db.migrate(f"sqlite:///{template}")
    with db.transaction(db.session_factory(engine := db.make_engine(f"sqlite:///{template}"))) as s:
        from megawatt.ops.seed import seed_caps
        from megawatt.scenario import load_default

        seed_caps(s, load_default(), actor="test")
    engine.dispose()
    secret = add_client(f"sqlite:///{template}", "fuzzer", "authority")
    app = create_app(f"sqlite:///{template}", expiry_sweep_seconds=None)
    with TestClient(app) as c:
        headers = token(c, "fuzzer", secret)
    app.state.engine.dispose()
    copies = itertools.count()

    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    workflow = schema.as_state_machine()
    assert len(workflow.bundles) >= 15  # links were found (no links: nothing to chain)

    class Workflow(workflow):  # type: ignore[valid-type, misc]
        def setup(self) -> None:
            app.state.engine.dispose()
            path = tmp_path / f"example{next(copies)}.db"
            shutil.copy(template, path)
            app.state.engine = db.make_engine(f"sqlite:///{path}")
            app.state.sessions = db.session_factory(app.state.engine)

        def get_call_kwargs(self, case):  # type: ignore[no-untyped-def]
            return {"headers": headers}

        def validate_response(self, response, case, additional_checks=None, **kwargs):  # type: ignore[no-untyped-def]
            # A body that names a record that does not exist (operator_id 209030159)
            # is a 422 naming the field here, where schemathesis' positive-data check
            # expects 404 (kept for the record in the path): a documented choice.
            # Negative cases that mutate the Authorization header are overridden by
            # the valid token above, so their rejection check cannot apply here (the
            # authorization matrix tests missing and bad tokens).
            case.validate_response(
                response,
                additional_checks=[_no_server_error, *(additional_checks or [])],
                excluded_checks=[positive_data_acceptance, negative_data_rejection],
                transport_kwargs=kwargs or None,
                recorder=self.recorder,
            )

    try:
        Workflow.run(
            settings=hsettings(
                max_examples=60,
                stateful_step_count=10,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                database=None,
            )
        )
    finally:
        app.state.engine.dispose()
