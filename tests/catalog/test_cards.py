"""The model cards in the embedded catalog: every row, with its card as provenance."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
import pytest

from advisor.architecture import architecture_from_config
from catalog import cards
from catalog.snapshot import read_snapshot

DATA = Path(__file__).resolve().parents[2] / "data"


def read(name: str) -> list[dict[str, str]]:
    with (DATA / name).open() as f:
        return list(csv.DictReader(f))


PERF = read(cards.PERFORMANCE)


def test_every_card_latency_and_throughput_with_its_card(ro: duckdb.DuckDBPyConnection) -> None:
    got = ro.execute(
        "SELECT source, format, gpu, gpu_count, use_case, latency_s FROM sync_latency "
        "WHERE source LIKE 'https://%' ORDER BY ALL"
    ).fetchall()
    want = sorted(
        (
            r["source"],
            str(cards.card_format(r["format"])),
            r["gpu"].lower(),
            int(r["n_gpus"]),
            r["use_case"],
            float(r["value"]),
        )
        for r in PERF
        if r["metric"] == "latency_s"
    )
    assert len(want) == 291 and got == want
    qps = ro.execute(
        "SELECT count(*), count(ttft_limit_ms), count(itl_limit_ms), "
        "count(DISTINCT source) FROM async_throughput WHERE source LIKE 'https://%'"
    ).fetchone()
    assert qps == (228, 0, 0, 3)  # unconstrained throughput; the 2B card has no async table


def test_card_sources_and_prices_as_printed(ro: duckdb.DuckDBPyConnection) -> None:
    sources = ro.execute("SELECT count(*), count(DISTINCT sha256) FROM sources WHERE kind = 'card'")
    assert sources.fetchone() == (29, 29)  # one per card, performance and accuracy together
    # The cards' queries per dollar ride along as the published price evidence.
    row = ro.execute(
        "SELECT latency_s, queries_per_usd FROM sync_latency WHERE model = "
        "'deepseek-r1-distill-llama-70b' AND format = 'bf16' AND gpu = 'a6000' "
        "AND use_case = 'instruction_following'"
    ).fetchone()
    want = [
        float(r["value"])
        for r in PERF
        if r["model"] == "deepseek-ai/DeepSeek-R1-Distill-Llama-70B"
        and r["gpu"] == "A6000"
        and r["use_case"] == "instruction_following"
        and "async" not in r["notes"]
    ]
    assert row is not None and sorted(row) == sorted(want)


def test_engines_are_recorded_per_source(ro: duckdb.DuckDBPyConnection) -> None:
    found = ro.execute(
        "SELECT DISTINCT split_part(model, '-', 1), engine, engine_version FROM sync_latency "
        "ORDER BY ALL"
    ).fetchall()
    assert found == [
        ("deepseek", "vllm", "0.7.2"),
        ("granite", "vllm", "0.6.6.post1"),
        ("llama", "vllm", "0.6.1.post2"),
    ]


def test_card_models_come_from_their_configs(ro: duckdb.DuckDBPyConnection) -> None:
    for row in read("models.csv")[3:]:
        config = json.loads((DATA / "configs" / row["model"] / "config.json").read_text())
        arch = architecture_from_config(config, row["model"])
        assert float(row["params_b"]) == pytest.approx(arch.params_b, abs=0.005)
        assert (int(row["layers"]), int(row["head_dim"]), row["tied_embeddings"]) == (
            arch.layers,
            arch.head_dim,
            str(arch.tied_embeddings).lower(),
        )
    aliases = ro.execute(
        "SELECT canonical FROM aliases WHERE alias = 'RedHatAI/granite-3.1-2b-instruct-FP8-dynamic'"
    ).fetchone()
    assert aliases == ("granite-3.1-2b-instruct",)
    assert ro.execute("SELECT count(*) FROM gpus WHERE gpu IN ('a5000', 'l40')").fetchone() == (2,)
    assert ro.execute(
        "SELECT prefill_tokens, decode_tokens FROM use_cases WHERE use_case = 'large_rag'"
    ).fetchone() == (10240, 1536)


def test_card_accuracy_with_protocols_reaches_the_snapshot(ro: duckdb.DuckDBPyConnection) -> None:
    protocols = dict(
        ro.execute(
            "SELECT protocol, count(*) FROM accuracy WHERE source LIKE 'study:%' GROUP BY 1"
        ).fetchall()
    )
    assert protocols == {"P1": 402}
    rows = read_snapshot(ro)["accuracy"]
    llama33 = [r for r in rows if r["model"] == "meta-llama/Llama-3.3-70B-Instruct"]
    assert llama33 and {r["protocol"] for r in llama33} == {"P1", "P2"}
    # Open LLM V1 under another protocol is its own suite, never the study's leaderboard_v1.
    r1 = {(r["suite"], r["protocol"]) for r in rows if r["model"] == "deepseek-r1-distill-llama-8b"}
    assert ("openllm_v1", "P3") in r1 and not any(s == "leaderboard_v1" for s, _ in r1)
    row = ro.execute(
        "SELECT score, baseline_score, recovery_pct FROM accuracy WHERE source = "
        "'https://huggingface.co/RedHatAI/DeepSeek-R1-Distill-Llama-70B-FP8-dynamic' "
        "AND suite = 'reasoning' AND task = 'aime_2024'"
    ).fetchone()
    assert row == (69.17, 67.83, 101.98)


def test_int8_weight_only_rows_are_skipped_and_counted() -> None:
    assert cards.skipped_rows(PERF, read(cards.ACCURACY)) == 3
    assert "3 rows" in (DATA / "README.md").read_text()


@pytest.mark.parametrize(
    ("spelling", "fmt"),
    [("W8A8-FP8 (block-wise)", "fp8"), ("W8A8-INT8", "int8"), ("W4A16-INT", "int4")],
)
def test_card_formats_map_to_catalog_formats(spelling: str, fmt: str) -> None:
    found = cards.card_format(spelling)
    assert found is not None and found.value == fmt
