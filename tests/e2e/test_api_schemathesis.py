"""Schemathesis over the whole OpenAPI schema (bounded: a few examples per operation) against the real app on
SQLite and PostgreSQL: no server errors, every answer matches the schema (documented status code, content
type and body), and data valid by the schema is accepted (the schema publishes the rules the server enforces:
channels, customer references, cursors, not-blank texts, no NUL, the configured message length).

Accepting valid data is not checked for the operations in INEXPRESSIBLE: their remaining rules cannot be said
in JSON Schema (a check digit, an order between two fields, a reference to a row that must exist, a file's
content). The probe suite (test_api_probes.py) covers invalid input; test_api_allow_header.py the 405s.

Run programmatically rather than with `@schema.parametrize()`: schemathesis' pytest plugin does not yet work
with this pytest version."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from caredesk.bootstrap.runtime import Runtime
from caredesk.http.app import create_app
from caredesk.intake.actions import IncomingMessage, do_receive_message
from caredesk.storage.orm import Branch
from tests.conftest import create_key

schemathesis = pytest.importorskip("schemathesis")
MAX_EXAMPLES = 10
INEXPRESSIBLE = {
    "POST /api/v1/customers/search": "id_number's check digit, bank_card's Luhn check",
    "POST /api/v1/knowledge": "valid_from before valid_until; owner names an existing staff member",
    "PUT /api/v1/knowledge/{entry_id}": "valid_from before valid_until; owner names an existing staff member",
    "POST /api/v1/knowledge/import": "the file is a CSV or XLSX with the knowledge columns",
    "GET /api/v1/analytics/forecast": "value is required unless dimension is all",
    "GET /api/v1/analytics/overview": "from before to; a calendar date (no 30 February)",
    "GET /api/v1/analytics/surges": "a calendar date (no 30 February)",
    "POST /api/v1/calls": "customer_ref or caller; caller a phone number; a segment ends after it starts; "
                          "a customer turn; segments unless a speech engine is configured",
}


def test_schemathesis_no_server_errors_and_no_schema_mismatches(demo_runtime: Runtime) -> None:
    from hypothesis import HealthCheck, given, settings
    from schemathesis import checks

    do_receive_message(demo_runtime, IncomingMessage("你们柜员态度太差了，我要投诉，要求给个说法", "web", "st-1"))
    app = create_app(demo_runtime, start_consumer=False)
    headers = {"Authorization": f"Bearer {create_key(demo_runtime)}"}
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    selected = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
                checks.response_schema_conformance]
    accepting = [*selected, checks.positive_data_acceptance]
    with demo_runtime.session_factory() as session:  # a branch that exists (the schema cannot know which do)
        branch = session.scalars(select(Branch.code).order_by(Branch.code).limit(1)).one()
    failures: dict[str, str] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        def run(case: Any) -> None:
            inexpressible = case.operation.label in INEXPRESSIBLE
            if isinstance(case.body, dict) and case.body.get("customer_branch") is not None:
                case.body["customer_branch"] = branch
            case.call_and_validate(headers=headers, checks=selected if inexpressible else accepting)

        try:
            run()
        except BaseException as exc:  # schemathesis raises an exception group with every distinct failure
            if isinstance(exc, KeyboardInterrupt):
                raise
            failures[operation.label] = str(exc)[:800]
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
