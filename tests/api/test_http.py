"""The HTTP API through Litestar's test client, on a private catalog copy."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from litestar.testing import TestClient

from api.app import create_app
from api.cli import advise
from api.settings import Settings
from tests.conftest import fixture

TOKEN = "s3cret-token"
SWEEP = fixture("guidellm", "guidellm-0.8.1-sweep.json")


def settings_for(catalog: Path, tmp: Path, **more) -> Settings:
    return Settings(catalog=catalog, model_cache=tmp / "models", reload_check_s=0, **more)


@pytest.fixture
def client(catalog_file: Path, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(catalog_file, tmp_path, import_token=TOKEN))) as c:
        yield c


@pytest.fixture
def readonly_client(catalog_file: Path, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(catalog_file, tmp_path))) as c:
        yield c


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["detail"]
    assert "Traceback" not in response.text
    return body


def test_get_and_post_advice_match_the_cli(
    client: TestClient, catalog_file: Path, tmp_path: Path
) -> None:
    got = client.get(
        "/v1/advice", params={"model": "70b", "use_case": "rag", "gpu": ["a100", "h100"]}
    )
    assert got.status_code == 200
    posted = client.post(
        "/v1/advice", json={"model": "70b", "use_case": "rag", "gpus": ["a100", "h100"]}
    )
    assert posted.status_code == 200
    cli = CliRunner(env={"ADVISOR_MODEL_CACHE": str(tmp_path / "models")}).invoke(
        advise,
        [
            "--model",
            "70b",
            "--use-case",
            "rag",
            "--gpu",
            "a100,h100",
            "--json",
            "--catalog",
            str(catalog_file),
        ],
    )
    assert json.loads(cli.output) == got.json() == posted.json()
    assert set(got.json()) >= {"query", "recommendation", "alternatives", "rejected"}
    # A body takes GET's names (gpu, format) as well as gpu_types (gpus) and formats.
    asked = {"model": "70b", "use_case": "rag"}
    by_get = client.get("/v1/advice", params={**asked, "gpu": "a100,h100", "format": "fp8,int4"})
    assert by_get.json()["query"]["formats"] == ["fp8", "int4"]
    for names in (
        {"gpu": "a100,h100", "format": "fp8,int4"},
        {"gpu_types": ["a100", "h100"], "formats": ["fp8", "int4"]},
    ):
        assert client.post("/v1/advice", json={**asked, **names}).json() == by_get.json(), names


def test_comma_separated_gpus_equal_repeated_ones(client: TestClient) -> None:
    a = client.get("/v1/advice?model=8b&gpu=a6000,h100").json()
    b = client.get("/v1/advice?model=8b&gpu=a6000&gpu=h100").json()
    assert a == b and a["query"]["gpus"] == ["a6000", "h100"]


def test_post_advice_with_own_prices(client: TestClient) -> None:
    body = {"model": "8b", "gpus": ["l40s"], "prices": [{"gpu": "l40s", "usd_per_gpu_hour": 1.0}]}
    doc = client.post("/v1/advice", json=body).json()
    assert doc["recommendation"]["gpu"] == "l40s"
    assert doc["recommendation"]["usd_per_hour"] == pytest.approx(
        doc["recommendation"]["gpu_count"] * 1.0
    )


def test_ask_reads_the_question_and_answers_like_advice(client: TestClient) -> None:
    asked = client.get("/v1/ask", params={"q": "best format for RAG on A100"}).json()
    assert asked["understood"] == {"use_case": "rag", "gpus": ["a100"], "model": "70b"}
    assert any(d.startswith("model=70b") for d in asked["defaulted"])
    direct = client.get(
        "/v1/advice", params={"model": "70b", "use_case": "rag", "gpu": "a100"}
    ).json()
    assert asked["advice"] == direct


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        (
            "cheapest way to serve 70b for code completion under 500 ms TTFT",
            {"model": "70b", "use_case": "code_completion", "ttft_ms": 500.0},
        ),
        (
            "405b on h100 with at least 99% accuracy, 20 requests per second",
            {"model": "405b", "gpus": ["h100"], "min_recovery": 99.0, "qps": 20.0},
        ),
        (
            "8b on l40s or h100, 2048 input tokens and 256 output tokens, synchronous",
            {
                "model": "8b",
                "gpus": ["h100", "l40s"],
                "prefill_tokens": 2048,
                "decode_tokens": 256,
                "mode": "sync",
            },
        ),
        (
            "70B for multi-turn chat, ITL under 50 ms, at most 4 GPUs",
            {"model": "70b", "use_case": "multi_turn_chat", "itl_ms": 50.0, "max_gpus": 4},
        ),
    ],
)
def test_ask_examples(client: TestClient, question: str, expected: dict) -> None:
    response = client.get("/v1/ask", params={"q": question})
    assert response.status_code == 200, response.text
    assert response.json()["understood"] == expected


def test_ask_refuses_what_it_cannot_read(client: TestClient) -> None:
    body = problem(
        client.get("/v1/ask", params={"q": "what should I use for my startup's chatbot"}), 422
    )
    assert body["unrecognised"] == ["startup", "s"]
    assert "best format for RAG on A100" in body["examples"]


@pytest.mark.parametrize(
    ("url", "status", "needle"),
    [
        ("/v1/advice?model=406b", 422, "did you mean 'llama-3.1-405b-instruct'"),
        ("/v1/advice?model=8b&gpu=h1000", 422, "did you mean 'h100'"),
        ("/v1/advice?model=8b&format=fp4", 422, "unknown format 'fp4'"),
        ("/v1/advice?model=8b&use_case=chatbot", 422, "unknown use case 'chatbot'"),
        ("/v1/advice?model=8b&ttft_ms=abc", 422, "ttft_ms"),
        ("/v1/advice?model=8b&ttft_ms=-1", 422, "ttft_ms"),
        ("/v1/advice?model=8b&prefill_tokens=10&decode_tokens=0", 422, "decode_tokens"),
        ("/v1/advice?model=8b&max_gpus=99", 422, "max_gpus"),
        ("/v1/advice", 422, "model"),
        ("/v1/measurements?kind=bogus", 422, "kind"),
        ("/v1/measurements?limit=0", 422, "limit"),
        ("/v1/nothing-here", 404, "Not Found"),
    ],
)
def test_errors_are_problem_json(client: TestClient, url: str, status: int, needle: str) -> None:
    body = problem(client.get(url), status)
    assert needle in json.dumps(body)


def test_unknown_name_lists_the_accepted_values(client: TestClient) -> None:
    body = problem(client.get("/v1/advice?model=8b&gpu=h1000"), 422)
    assert "h100" in body["accepted"] and body["closest"] == "h100"


def test_predict_one_and_many(client: TestClient) -> None:
    configs = [
        {
            "model": "70b",
            "format": "int4",
            "gpu": "a100",
            "gpu_count": 1,
            "prefill_tokens": 1024,
            "decode_tokens": 128,
        },
        {
            "model": "8b",
            "format": "fp8",
            "gpu": "h200",
            "gpu_count": 2,
            "prefill_tokens": 512,
            "decode_tokens": 512,
            "mode": "async",
        },
    ]
    doc = client.post("/v1/predict", json={"configurations": configs}).json()
    first, second = doc["predictions"]
    assert first["label"] == "measured" and first["latency_s"] == pytest.approx(5.1)
    assert second["label"] == "extrapolated" and second["max_qps"] > 0


def test_catalog_listings(client: TestClient) -> None:
    assert {m["model"] for m in client.get("/v1/models").json()} == {
        "llama-3.1-8b-instruct",
        "llama-3.1-70b-instruct",
        "llama-3.1-405b-instruct",
        "deepseek-r1-distill-llama-8b",
        "deepseek-r1-distill-llama-70b",
        "granite-3.1-2b-instruct",
        "granite-3.1-8b-instruct",
    }
    gpus = {g["gpu"]: g for g in client.get("/v1/gpus").json()}
    # The default list's single-GPU price (the median of five specialised-cloud prices).
    assert (
        gpus["a100"]["usd_per_gpu_hour"] == pytest.approx(1.6)
        and gpus["a100"]["price_list"] == "market-2026-11"
        and "a100-80gb" in gpus["a100"]["aliases"]
    )
    assert gpus["l4"]["price_fallback"] == "hyperscalers" and gpus["l4"]["usd_per_gpu_hour"] > 0
    assert [f["format"] for f in client.get("/v1/formats").json()] == [
        "bf16",
        "fp8",
        "int8",
        "int4",
    ]
    assert len(client.get("/v1/use-cases").json()) == 9  # the study's 8 and the cards' large_rag


def test_measurements_filter_and_paginate(client: TestClient) -> None:
    first = client.get(
        "/v1/measurements", params={"kind": "sync", "model": "70b", "gpu": "h100", "limit": 5}
    ).json()
    assert first["total"] == 18 and len(first["items"]) == 5
    rest = client.get(
        "/v1/measurements",
        params={"kind": "sync", "model": "70b", "gpu": "h100", "limit": 50, "offset": 5},
    ).json()
    assert len(rest["items"]) == 13
    keys = {(r["format"], r["use_case"]) for r in first["items"] + rest["items"]}
    assert len(keys) == 18
    accuracy = client.get(
        "/v1/measurements", params={"kind": "accuracy", "model": "8b", "format": "W4A16-INT"}
    ).json()
    assert accuracy["total"] > 0 and {r["format"] for r in accuracy["items"]} == {"int4"}


def test_imports_need_the_token(client: TestClient) -> None:
    files = {"file": ("sweep.json", SWEEP.read_bytes())}
    form = {"model": "8b", "format": "bf16", "gpu": "l4", "gpus": "1"}
    unauthorised = problem(client.post("/v1/imports/guidellm", files=files, data=form), 401)
    assert unauthorised["title"] == "Unauthorized"
    problem(
        client.post(
            "/v1/imports/guidellm",
            files=files,
            data=form,
            headers={"Authorization": "Bearer wrong"},
        ),
        403,
    )


def test_imports_are_disabled_without_a_configured_token(readonly_client: TestClient) -> None:
    body = problem(
        readonly_client.post(
            "/v1/imports/guidellm",
            files={"file": ("x.json", b"{}")},
            headers={"Authorization": "Bearer anything"},
        ),
        403,
    )
    assert "ADVISOR_IMPORT_TOKEN" in body["detail"]


def test_import_then_answer_from_the_new_data(client: TestClient) -> None:
    ask = {
        "configurations": [
            {
                "model": "8b",
                "format": "bf16",
                "gpu": "l4",
                "gpu_count": 1,
                "prefill_tokens": 256,
                "decode_tokens": 32,
            }
        ]
    }
    assert client.post("/v1/predict", json=ask).json()["predictions"][0]["label"] == "extrapolated"
    response = client.post(
        "/v1/imports/guidellm",
        files={"file": ("sweep.json", SWEEP.read_bytes())},
        data={"model": "8b", "format": "bf16", "gpu": "l4", "gpus": "1"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["rows"] == 4 and response.json()["file"] == "sweep.json"
    assert client.post("/v1/predict", json=ask).json()["predictions"][0]["label"] == "measured"
    again = client.post(
        "/v1/imports/guidellm",
        files={"file": ("sweep.json", SWEEP.read_bytes())},
        data={"model": "8b", "format": "bf16", "gpu": "l4", "gpus": "1"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert again.json()["duplicate"] is True


def test_a_broken_upload_is_refused_and_changes_nothing(client: TestClient) -> None:
    before = client.get("/readyz").json()["rows"]
    body = problem(
        client.post(
            "/v1/imports/lm-eval",
            files={"file": ("r.json", b'{"results": ')},
            headers={"Authorization": f"Bearer {TOKEN}"},
        ),
        422,
    )
    assert "not valid JSON" in body["detail"]
    assert client.get("/readyz").json()["rows"] == before


def sample(text: str, name: str, **labels: str) -> float:
    """A sample's value in a Prometheus text exposition (0 when absent)."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and labels.items() <= s.labels.items():
                return float(s.value)
    return 0.0


def test_body_over_the_limit_is_413(catalog_file: Path, tmp_path: Path) -> None:
    settings = settings_for(catalog_file, tmp_path, import_token=TOKEN, max_body_bytes=10_000)
    with TestClient(create_app(settings)) as small:
        response = small.post(
            "/v1/imports/guidellm",
            files={"file": ("big.json", b"x" * 50_000)},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        problem(response, 413)


def test_health_ready_metrics_and_schema(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["rows"]["sync_latency rows"] == 108 + 291
    # Counters live in the process, not the app: count what this request adds.
    route = {"method": "GET", "path": "/v1/advice", "status_code": "200"}
    before = client.get("/metrics").text
    client.get("/v1/advice?model=8b")
    text = client.get("/metrics").text
    for name in ("advisor_http_requests_total", "advisor_http_request_duration_seconds_count"):
        assert sample(text, name, **route) - sample(before, name, **route) == 1
    le = sample(text, "advisor_http_request_duration_seconds_bucket", le="+Inf", **route)
    assert (
        le - sample(before, "advisor_http_request_duration_seconds_bucket", le="+Inf", **route) == 1
    )
    assert sample(text, "advisor_fit_seconds") > 0
    assert sample(text, "advisor_catalog_rows", kind="sync") == 108 + 291
    schema = client.get("/schema/openapi.json").json()
    for path in (
        "/v1/advice",
        "/v1/ask",
        "/v1/predict",
        "/v1/models",
        "/v1/gpus",
        "/v1/formats",
        "/v1/use-cases",
        "/v1/measurements",
        "/v1/imports/guidellm",
        "/v1/imports/lm-eval",
        "/healthz",
        "/readyz",
        "/metrics",
    ):
        assert path in schema["paths"], path
    assert "AdviceResponse" in schema["components"]["schemas"]
    assert client.get("/schema").status_code == 200


def test_advice_documents_validate_against_the_response_model(client: TestClient) -> None:
    from api.schemas import AdviceResponse

    for url in (
        "/v1/advice?model=405b",
        "/v1/advice?model=8b&mode=sync&qps=5",
        "/v1/advice?model=405b&mode=sync&latency_s=0.5",
    ):
        AdviceResponse.model_validate(client.get(url).json())


def test_the_service_never_reads_model_paths(client: TestClient, tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "architectures": ["LlamaForCausalLM"],
                "model_type": "llama",
                "hidden_size": 512,
                "intermediate_size": 1024,
                "num_attention_heads": 8,
                "num_hidden_layers": 4,
                "vocab_size": 1000,
            }
        )
    )
    body = problem(client.get("/v1/advice", params={"model": str(config)}), 422)
    assert "unknown model" in body["detail"]
    assert "advisor catalog add-model" in body["detail"]
    predicted = client.post(
        "/v1/predict",
        json={
            "configurations": [
                {
                    "model": str(tmp_path),
                    "format": "bf16",
                    "gpu": "h100",
                    "gpu_count": 1,
                    "prefill_tokens": 10,
                    "decode_tokens": 10,
                }
            ]
        },
    )
    problem(predicted, 422)


def test_charts_of_an_empty_document(client: TestClient) -> None:
    empty = {
        "query": {
            "model": "m",
            "prefill_tokens": 1,
            "decode_tokens": 1,
            "mode": "sync",
            "suite": "leaderboard_v1",
        },
        "recommendation": None,
        "alternatives": [],
        "rejected": [],
        "closest_misses": [],
        "message": "",
    }
    for name in ("advice", "recovery"):
        response = client.post(f"/v1/charts/{name}.svg", json=empty)
        assert response.status_code == 200 and response.text.startswith("<svg")


def test_measurements_csv_over_http_changes_the_next_answer(client: TestClient) -> None:
    ask = {
        "configurations": [
            {
                "model": "8b",
                "format": "fp8",
                "gpu": "l40s",
                "gpu_count": 1,
                "prefill_tokens": 1024,
                "decode_tokens": 128,
                "engine_version": "0.8.5",
            }
        ]
    }
    before = client.post("/v1/predict", json=ask).json()["predictions"][0]
    assert before["label"] == "extrapolated"
    table = fixture("measurements", "published-table.csv").read_bytes()
    files = {"file": ("published-table.csv", table)}
    problem(client.post("/v1/imports/measurements", files=files), 401)
    response = client.post(
        "/v1/imports/measurements", files=files, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert response.status_code == 201, response.text
    after = client.post("/v1/predict", json=ask).json()["predictions"][0]
    assert after["label"] == "measured" and after["latency_s"] == pytest.approx(1.3)
    assert after["engine"] == "vllm 0.8.5"
    bad = problem(
        client.post(
            "/v1/imports/measurements",
            files={"file": ("bad.csv", b"model,format\n8b,fp8\n")},
            headers={"Authorization": f"Bearer {TOKEN}"},
        ),
        422,
    )
    assert "column" in bad["detail"]
