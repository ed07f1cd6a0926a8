"""Figures outside physical ranges are refused at import, one line naming the file and field,
before anything reaches the catalog (the garbage cases found by the attack on the importers)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from advisor.errors import ImportRejectedError
from catalog.importers import guidellm, lm_eval
from catalog.importers.common import ImportOptions
from catalog.store import ingest
from tests.catalog.test_bad_input import snapshot
from tests.conftest import fixture

SWEEP = fixture("guidellm", "guidellm-0.8.1-sweep.json")
LM = fixture("lm_eval", "lm-eval-0.4.13-hf-2shot.json")
H100 = ImportOptions(model="8b", format="bf16", gpu="h100", gpu_count=1)


def edited(tmp_path: Path, source: Path, edit: Any) -> Path:
    document = json.loads(source.read_text())
    edit(document)
    path = tmp_path / f"edited{source.suffix}"
    path.write_text(json.dumps(document))
    return path


def latency(document: dict[str, Any], **values: float) -> None:
    successful = document["benchmarks"][0]["metrics"]["request_latency"]["successful"]
    for key, value in values.items():
        if key.startswith("p"):
            successful["percentiles"][key] = value
        else:
            successful[key] = value


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"mean": -1.0, "min": -1.0, "median": -1.0}, "latency"),
        ({"mean": 1e-9, "min": 1e-9, "median": 1e-9}, "latency"),
        ({"mean": 1e308, "max": 1e308}, "latency"),
        ({"p50": 10.0, "p99": 0.1}, r"p50 .* is above"),
    ],
    ids=["negative", "one-nanosecond", "1e308", "p50-above-p99"],
)
def test_impossible_latencies_are_refused(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, values: dict[str, float], message: str
) -> None:
    before = snapshot(con)
    path = edited(tmp_path, SWEEP, lambda d: latency(d, **values))
    with pytest.raises(ImportRejectedError, match=rf"edited\.json: .*{message}"):
        ingest(con, guidellm.parse_result(path, H100))
    assert snapshot(con) == before


def test_a_duplicated_sub_benchmark_is_refused(tmp_path: Path) -> None:
    path = edited(
        tmp_path, SWEEP, lambda d: d["benchmarks"].append(copy.deepcopy(d["benchmarks"][1]))
    )
    with pytest.raises(ImportRejectedError, match="duplicated sub-benchmark"):
        guidellm.parse_result(path, H100)


def test_an_impossible_gpu_count_is_refused() -> None:
    options = ImportOptions(model="8b", format="bf16", gpu="h100", gpu_count=100_000)
    with pytest.raises(ImportRejectedError, match=r"gpu_count.*1024"):
        guidellm.parse_result(SWEEP, options)


def test_recorded_arguments_are_bounded(tmp_path: Path) -> None:
    path = edited(
        tmp_path, SWEEP, lambda d: d["config"]["spec"]["backend"].update(padding="x" * 200_000)
    )
    with pytest.raises(ImportRejectedError, match="at most 65,536"):
        guidellm.parse_result(path, H100)


def first_metric(document: dict[str, Any]) -> tuple[dict[str, Any], str]:
    results = next(iter(document["results"].values()))
    key = next(k for k in results if k.startswith("acc,"))
    return results, key


@pytest.mark.parametrize("value", [5.0, True], ids=["fraction-above-one", "boolean"])
def test_an_accuracy_outside_its_range_is_refused(tmp_path: Path, value: object) -> None:
    def edit(document: dict[str, Any]) -> None:
        results, key = first_metric(document)
        results[key] = value

    path = edited(tmp_path, LM, edit)
    with pytest.raises(ImportRejectedError, match=r"edited\.json"):
        lm_eval.parse_result(path, ImportOptions(model="8b", format="bf16"))
