"""The 2026 GPUs and price lists end to end: `advise` as a real process, and `advisor serve` on
a real socket (GET and POST advice, /v1/gpus, /v1/price-lists)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.integration.conftest import BIN, get


def post(url: str, body: dict[str, Any]) -> tuple[int, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture(scope="module")
def catalog_copy(built_catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli")
    shutil.copy(built_catalog, folder / "catalog.duckdb")
    return folder


def advise(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "ADVISOR_CATALOG": str(folder / "catalog.duckdb"),
        "ADVISOR_MODEL_CACHE": str(folder / "models"),
    }
    return subprocess.run(
        [str(BIN / "advise"), *args], capture_output=True, text=True, env=env, timeout=300
    )


@pytest.mark.parametrize("gpu", ["l40s", "h200", "b200", "mi300x", "l4"])
def test_advise_70b_on_each_gpu_is_priced_and_names_its_list(catalog_copy: Path, gpu: str) -> None:
    people = advise(catalog_copy, "--model", "70b", "--gpu", gpu)
    assert people.returncode == 0, people.stderr
    assert "Recommendation" in people.stdout
    assert "Prices: market-2026-11" in people.stdout and "as of 2026-11-09" in people.stdout
    doc = json.loads(advise(catalog_copy, "--model", "70b", "--gpu", gpu, "--json").stdout)
    rec = doc["recommendation"]
    assert rec["gpu"] == gpu and rec["usd_per_hour"] > 0 and rec["usd_per_query"] > 0
    assert doc["query"]["price_list"] == "market-2026-11"
    assert doc["query"]["price_list_as_of"] == "2026-11-09"


def test_advise_quick_start_still_answers(catalog_copy: Path) -> None:
    result = advise(catalog_copy, "--model", "405b")
    assert result.returncode == 0, result.stderr
    assert "Recommendation" in result.stdout and "vllm serve" in result.stdout


def test_a_gpu_the_list_does_not_price_is_shown_as_not_priced(catalog_copy: Path) -> None:
    args = ["--model", "70b", "--gpu", "l40s", "--price-list", "lambda-2024-10-28"]
    people = advise(catalog_copy, *args)
    assert people.returncode == 0, people.stderr
    assert "Closest misses" not in people.stdout
    assert "Not priced in lambda-2024-10-28" in people.stdout
    assert "pass --prices FILE with a row gpu,gpu_count,usd_per_hour" in people.stdout
    unknown = advise(catalog_copy, "--model", "70b", "--price-list", "lambda-2023")
    assert unknown.returncode == 1
    assert "unknown price list 'lambda-2023'" in unknown.stderr
    assert "market-2026-11" in unknown.stderr and "Traceback" not in unknown.stderr


def test_prices_merge_over_the_list_and_prices_only_replaces_it(
    catalog_copy: Path, tmp_path: Path
) -> None:
    own = tmp_path / "prices.csv"
    own.write_text("gpu,gpu_count,usd_per_hour\nl40s,1,0.40\n")
    merged = json.loads(
        advise(catalog_copy, "--model", "8b", "--prices", str(own), "--json").stdout
    )
    assert merged["query"]["prices_merged"] == "prices.csv"
    assert {"l40s", "h100", "a100", "mi300x"} <= set(merged["query"]["gpus"])
    alone = json.loads(
        advise(catalog_copy, "--model", "8b", "--prices-only", str(own), "--json").stdout
    )
    assert alone["query"]["gpus"] == ["l40s"] and alone["query"]["price_list"] == "prices.csv"
    assert alone["recommendation"]["usd_per_hour"] == pytest.approx(
        0.40 * alone["recommendation"]["gpu_count"]
    )


def test_every_gpu_over_http_has_a_default_price(readonly_server: str) -> None:
    status, gpus = get(readonly_server + "/v1/gpus")
    assert status == 200 and len(gpus) >= 20
    assert all(g["usd_per_gpu_hour"] > 0 and g["price_list"] == "market-2026-11" for g in gpus)
    by_id = {g["gpu"]: g for g in gpus}
    assert by_id["mi300x"]["vendor"] == "amd"
    assert by_id["mi325x"]["missing_fields"] == ["int8_tops"]
    assert by_id["mi325x"]["estimated_fields"] == ["interconnect_gbps"]
    assert by_id["mi325x"]["price_fallback"] == "nearest_gpu"
    assert by_id["a100"]["formats"]["fp8"] == "weight_only"
    assert by_id["b200"]["formats"]["int8"] == "no"
    status, lists = get(readonly_server + "/v1/price-lists")
    assert status == 200 and lists[0]["price_list"] == "market-2026-11" and lists[0]["is_default"]
    assert "lambda-2024-10-28" in {p["price_list"] for p in lists}


def test_advice_over_http_names_its_list_and_takes_another(readonly_server: str) -> None:
    base = readonly_server + "/v1/advice?"
    status, doc = get(base + urlencode({"model": "70b", "gpu": "l40s"}))
    assert status == 200 and doc["recommendation"]["gpu"] == "l40s"
    assert doc["query"]["price_list"] == "market-2026-11"
    assert doc["query"]["price_list_as_of"] == "2026-11-09" and doc["query"]["price_list_source"]
    study = {"model": "70b", "gpu": "l40s", "price_list": "lambda-2024-10-28"}
    status, doc = get(base + urlencode(study))
    assert status == 200 and doc["recommendation"] is None
    assert doc["query"]["not_priced"] == ["l40s"]
    assert any(r["reason"] == "no_price" and r["max_qps"] for r in doc["rejected"])
    status, problem = get(base + urlencode({"model": "70b", "price_list": "nope"}))
    assert status == 422 and "market-2026-11" in problem["detail"]


def test_post_prices_merge_by_default_and_replace_on_request(readonly_server: str) -> None:
    url = readonly_server + "/v1/advice"
    body = {"model": "8b", "prices": [{"gpu": "l40s", "usd_per_gpu_hour": 0.4}]}
    status, merged = post(url, body)
    assert status == 200 and merged["query"]["prices_merged"] == "prices"
    assert {"l40s", "h100", "a100"} <= set(merged["query"]["gpus"])
    status, alone = post(url, {**body, "prices_only": True})
    assert status == 200 and alone["query"]["gpus"] == ["l40s"]
    status, both = post(url, {**body, "prices_only": True, "price_list": "aws-2026-11"})
    assert status == 422 and "not both" in both["detail"]
