"""The load model's query parameters over HTTP: percentile, arrivals and headroom."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from api.app import create_app
from api.ask import AskError, read_question
from tests.api.test_http import problem, settings_for


@pytest.fixture(scope="module")
def client(built_catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """One server for the module: without an import token nothing here writes to the catalog."""
    settings = settings_for(built_catalog, tmp_path_factory.mktemp("operating-point"))
    with TestClient(create_app(settings)) as c:
        yield c


BASE = {"model": "70b", "gpu": "h100", "format": "fp8", "qps": 4}


@pytest.mark.parametrize("headroom", ["headroom", "headroom_pct"])
def test_get_parameters_reach_the_query(client: TestClient, headroom: str) -> None:
    params = {**BASE, "percentile": 90, "arrivals": "constant", headroom: 15}
    query = client.get("/v1/advice", params=params).json()["query"]
    assert query["percentile"] == 90 and query["arrivals"] == "constant"
    assert query["headroom_pct"] == 15
    defaults = client.get("/v1/advice", params=BASE).json()["query"]
    assert defaults["percentile"] == 99 and defaults["arrivals"] == "poisson"
    assert defaults["headroom_pct"] is None


def test_post_bodies_take_the_same(client: TestClient) -> None:
    body = {"model": "70b", "gpus": ["h100"], "formats": ["fp8"], "qps": 4, "percentile": 50}
    for headroom in ("headroom", "headroom_pct"):
        got = client.post("/v1/advice", json={**body, "arrivals": "constant", headroom: 5})
        assert got.status_code == 200, got.text
        query = got.json()["query"]
        assert (query["percentile"], query["arrivals"], query["headroom_pct"]) == (
            50,
            "constant",
            5,
        )


def test_answers_differ_by_percentile_in_the_cache(client: TestClient) -> None:
    first = client.get("/v1/advice", params={**BASE, "percentile": 95}).json()
    second = client.get("/v1/advice", params={**BASE, "percentile": 50}).json()
    assert (first["query"]["percentile"], second["query"]["percentile"]) == (95, 50)


@pytest.mark.parametrize(
    ("request_args", "needle"),
    [
        (("get", {"params": {**BASE, "percentile": 80}}), "50, 90, 95, 99"),
        (("get", {"params": {**BASE, "percentile": "p99"}}), "percentile accepts 50, 90, 95, 99"),
        (("post", {"json": {"model": "70b", "percentile": 80}}), "50, 90, 95, 99"),
        (("get", {"params": {**BASE, "arrivals": "burst"}}), "arrivals accepts poisson, constant"),
        (("get", {"params": {**BASE, "headroom": 100}}), "less than 100"),
        (("get", {"params": {**BASE, "headroom": 5, "headroom_pct": 6}}), "not both"),
    ],
)
def test_bad_values_are_problems_naming_what_is_accepted(
    client: TestClient, request_args: tuple[str, dict], needle: str
) -> None:
    method, kwargs = request_args
    body = problem(getattr(client, method)("/v1/advice", **kwargs), 422)
    assert needle in body["detail"]


def test_openapi_documents_the_parameters(client: TestClient) -> None:
    schema = client.get("/schema/openapi.json").json()
    params = {p["name"]: p for p in schema["paths"]["/v1/advice"]["get"]["parameters"]}
    for name in ("percentile", "arrivals", "headroom_pct", "headroom"):
        assert params[name]["description"], name
    assert "50, 90, 95, 99" in params["percentile"]["description"]
    body = schema["components"]["schemas"]["AdviceRequest"]["properties"]
    assert {"percentile", "arrivals", "headroom_pct"} <= set(body)
    answer = schema["components"]["schemas"]["AdviceQuery"]["properties"]
    assert {"percentile", "arrivals", "headroom_pct"} <= set(answer)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        (
            "70b on h100, p95 TTFT under 500 ms, 20 requests per second with 15% headroom",
            {"percentile": 95.0, "ttft_ms": 500.0, "qps": 20.0, "headroom_pct": 15.0},
        ),
        (
            "8b for rag, 90th percentile ITL under 40 ms at a constant rate",
            {"percentile": 90.0, "itl_ms": 40.0, "arrivals": "constant"},
        ),
        ("70b, median TTFT under 200 ms, poisson arrivals", {"percentile": 50.0}),
    ],
)
def test_questions_can_name_the_percentile_arrivals_and_headroom(
    snapshot: Any, question: str, expected: dict[str, Any]
) -> None:
    understood, _ = read_question(question, snapshot)
    assert understood.items() >= expected.items()


def test_an_unreported_percentile_is_not_read_as_something_else(snapshot: Any) -> None:
    with pytest.raises(AskError) as caught:
        read_question("70b at p80", snapshot)
    assert caught.value.unrecognised == ["p80"]
