"""Schemathesis against a running service's own OpenAPI document, with the import token set so
that the upload operations are fuzzed too: no response with status 500, no traceback in any
body, and every documented response matches its schema and content type.

Schemathesis generates the requests; they are driven here with Hypothesis directly, since its
pytest plugin does not run under this pytest version. Bounded: about 20 cases per operation.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from tests.integration.conftest import start_server

pytestmark = pytest.mark.slow
TOKEN = "fuzz-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CHECKS = [response_schema_conformance, content_type_conformance]
CASES_PER_OPERATION = 20
TRACEBACK_MARKS = ("Traceback (most recent call last)", 'File "/')


@pytest.fixture(scope="module")
def token_server(built_catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One worker, imports enabled: the fuzzed uploads reach the importers."""
    yield from start_server(built_catalog, tmp_path_factory.mktemp("fuzz"), 1, TOKEN)


def test_no_server_errors_no_tracebacks_and_documented_responses(token_server: str) -> None:
    schema = schemathesis.openapi.from_url(token_server + "/schema/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 13
    assert any(op.path.startswith("/v1/imports/") for op in operations)
    failures: list[str] = []
    calls = 0
    for operation in operations:

        @settings(
            max_examples=CASES_PER_OPERATION,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],  # no shrinking: every failure is listed
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def exercise(case) -> None:
            nonlocal calls
            response = case.call(headers=AUTH, timeout=60)
            calls += 1
            where = f"{case.method} {case.formatted_path} -> {response.status_code}"
            if response.status_code >= 500 and response.status_code != 503:
                failures.append(f"{where}: {response.text[:300]}")
            if any(mark in response.text for mark in TRACEBACK_MARKS):
                failures.append(f"{where}: traceback in the body")
            if response.status_code < 500:
                case.validate_response(response, checks=CHECKS)

        exercise()
    assert calls >= 10 * len(operations)
    assert failures == []
