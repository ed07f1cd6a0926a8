"""Schemathesis against the running service's own OpenAPI document: no 5xx, and every
documented response matches its schema and content type.

Schemathesis generates the requests; they are driven here with Hypothesis directly, since
its pytest plugin does not run under this pytest version.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

pytestmark = pytest.mark.slow
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def test_no_server_errors_and_documented_responses(readonly_server: str) -> None:
    schema = schemathesis.openapi.from_url(readonly_server + "/schema/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 13
    for operation in operations:

        @settings(
            max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        @given(case=operation.as_strategy())
        def exercise(case) -> None:
            case.call_and_validate(checks=CHECKS)

        exercise()
