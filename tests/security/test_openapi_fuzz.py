"""schemathesis fuzzes the real server against its own OpenAPI document (GET /openapi.json).

Requests are generated from the documented schemas, valid and invalid; every answer must be
documented: no 5xx, a documented status code and content type, a body matching its schema.
Answers of 400 to schema-valid requests are fine (an unknown executable_path is one), so the
checks that expect every valid request to be accepted are not used.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def api_schema(client):
    return schemathesis.openapi.from_url(f"http://{client.host}:{client.port}/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@hypothesis_settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
def test_every_answer_is_documented(case):
    case.call_and_validate(checks=CHECKS, timeout=60)
