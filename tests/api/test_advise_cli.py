"""advise, predict and fidelity from the command line."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from advisor.search import rounded
from api.cli import advise, cli


@pytest.fixture
def runner(tmp_path: Path) -> CliRunner:
    return CliRunner(env={"ADVISOR_MODEL_CACHE": str(tmp_path / "models")})


def run_advise(runner: CliRunner, catalog: Path, *args: str):
    return runner.invoke(advise, [*args, "--catalog", str(catalog)])


def test_advise_json_document(runner: CliRunner, catalog_file: Path) -> None:
    result = run_advise(runner, catalog_file, "--model", "405b", "--use-case", "rag", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert set(doc) >= {"query", "recommendation", "alternatives", "rejected"}
    rec = doc["recommendation"]
    for key in (
        "format",
        "gpu",
        "gpu_count",
        "latency_s",
        "ttft_ms",
        "itl_ms",
        "max_qps",
        "usd_per_query",
        "recovery_pct",
        "label",
        "vllm_serve_command",
        "guidellm_command",
    ):
        assert key in rec, key
    serve = rec["vllm_serve_command"]
    assert "vllm serve RedHatAI/Meta-Llama-3.1-405B-Instruct-" in serve
    # An AMD GPU is a vLLM ROCm deployment: the command runs AMD's image.
    assert ("rocm/vllm" in serve) == rec["gpu"].startswith("mi")
    assert "--tensor-parallel-size" in rec["vllm_serve_command"]
    assert doc["query"]["ttft_ms"] == 1000 and doc["query"]["itl_ms"] == 100
    assert all("reason" in r and "detail" in r for r in doc["rejected"])
    memory = [r for r in doc["rejected"] if r["reason"] == "memory"]
    assert memory and "GiB" in memory[0]["detail"]
    # vLLM's table: no INT8 W8A8 on Blackwell; FP8 on Ampere runs weight-only, extrapolated.
    unsupported = [r for r in doc["rejected"] if r["reason"] == "unsupported"]
    assert any(
        r["gpu"] == "b200" and r["format"] == "int8" and "compute capability" in r["detail"]
        for r in unsupported
    )
    options = [*doc["alternatives"], *doc["rejected"]]
    fp8_a100 = [o for o in options if o["gpu"] == "a100" and o["format"] == "fp8" and o["label"]]
    assert fp8_a100 and all(o["weight_only"] and o["label"] == "extrapolated" for o in fp8_a100)
    assert doc["query"]["price_list"] == "market-2026-11" and doc["query"]["price_list_as_of"]


def test_advise_with_a_target_load_sizes_the_fleet(runner: CliRunner, catalog_file: Path) -> None:
    result = run_advise(
        runner, catalog_file, "--model", "70b", "--use-case", "rag", "--qps", "20", "--json"
    )
    rec = json.loads(result.output)["recommendation"]
    assert rec["deployments"] >= 1
    assert rec["fleet_usd_per_hour"] == pytest.approx(rec["deployments"] * rec["usd_per_hour"])
    assert rec["usd_per_million_output_tokens"] == pytest.approx(
        rec["fleet_usd_per_hour"] / (20 * 3600 * 128) * 1e6
    )


def test_advise_impossible_targets_is_a_normal_answer(
    runner: CliRunner, catalog_file: Path
) -> None:
    result = run_advise(
        runner, catalog_file, "--model", "405b", "--mode", "sync", "--latency-s", "0.5", "--json"
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["recommendation"] is None and doc["closest_misses"]
    assert "nothing meets" in doc["message"]
    people = run_advise(
        runner, catalog_file, "--model", "405b", "--mode", "sync", "--latency-s", "0.5"
    )
    assert "Nothing meets these targets" in people.output


def test_advise_for_people_names_the_winner_and_the_commands(
    runner: CliRunner, catalog_file: Path
) -> None:
    result = run_advise(
        runner, catalog_file, "--model", "8b", "--gpu", "a6000,h100", "--mode", "sync"
    )
    assert result.exit_code == 0, result.output
    assert "Recommendation" in result.output and "vllm serve" in result.output
    assert "guidellm run" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "9b"], "unknown model '9b'"),
        (["--model", "8b", "--gpu", "h1000"], "unknown gpu 'h1000' (did you mean 'h100'?)"),
        (["--model", "8b", "--use-case", "chatbot"], "unknown use case 'chatbot'"),
        (["--model", "8b", "--format", "fp4"], "unknown format 'fp4'"),
        (
            ["--model", "8b", "--prefill", "100", "--decode", "0"],
            "decode_tokens: input should be greater than 0",
        ),
        (["--model", "8b", "--ttft-ms", "-5"], "ttft_ms: input should be greater than 0"),
        (
            ["--model", "8b", "--max-gpus", "32"],
            "max_gpus: input should be less than or equal to 16",
        ),
        (["--model", "8b", "--prefill", "100"], "give both prefill_tokens and decode_tokens"),
        (["--model", "8b", "--suite", "vibes"], "unknown accuracy suite or task 'vibes'"),
        (["--model", "8b", "--prefill", "200000", "--decode", "10"], "exceeds the model's context"),
    ],
)
def test_advise_bad_input(
    runner: CliRunner, catalog_file: Path, args: list[str], message: str
) -> None:
    result = run_advise(runner, catalog_file, *args)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_advise_with_a_config_json_and_own_prices(
    runner: CliRunner, catalog_file: Path, tmp_path: Path
) -> None:
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "architectures": ["MistralForCausalLM"],
                "model_type": "mistral",
                "hidden_size": 4096,
                "intermediate_size": 14336,
                "num_attention_heads": 32,
                "num_hidden_layers": 32,
                "num_key_value_heads": 8,
                "vocab_size": 32768,
                "max_position_embeddings": 32768,
            }
        )
    )
    prices = tmp_path / "prices.yaml"
    prices.write_text("l40s: 1.10\nh100: 2.50\n")
    result = run_advise(
        runner, catalog_file, "--model", str(config), "--prices-only", str(prices), "--json"
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert set(doc["query"]["gpus"]) == {"h100", "l40s"}
    assert doc["recommendation"]["label"] == "extrapolated"
    assert doc["recommendation"]["accuracy_label"] == "extrapolated"


def test_predict_one_configuration(runner: CliRunner, catalog_file: Path) -> None:
    result = runner.invoke(
        cli,
        [
            "--catalog",
            str(catalog_file),
            "predict",
            "--model",
            "70b",
            "--format",
            "int4",
            "--gpu",
            "a100",
            "--gpus",
            "1",
            "--prefill",
            "1024",
            "--decode",
            "128",
            "--price-list",
            "lambda-2024-10-28",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    # The study's cell, at the study's price (8 x A100 for $14.32/h: $1.79 a GPU).
    assert doc["label"] == "measured" and doc["latency_s"] == pytest.approx(5.1)
    # Figures leave as JSON with six significant digits (no float noise).
    assert doc["usd_per_query"] == rounded(1.79 * 5.1 / 3600) == 0.00253583


def test_predict_many_from_csv(runner: CliRunner, catalog_file: Path, tmp_path: Path) -> None:
    cells = tmp_path / "cells.csv"
    rows = [["model", "format", "gpu", "gpu_count", "prefill_tokens", "decode_tokens", "mode"]]
    for i in range(300):
        rows.append(
            [
                "70b" if i % 2 else "meta-llama/Llama-3.1-8B-Instruct",
                ["bf16", "fp8", "int8", "int4"][i % 4],
                "h100",
                str(1 + i % 4),
                str(128 + i),
                str(64 + i % 7),
                ["sync", "async"][i % 2],
            ]
        )
    rows.append(["405b", "bf16", "a6000", "1", "128", "128", "sync"])  # does not fit
    with cells.open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    output = tmp_path / "out.csv"
    started = time.perf_counter()
    result = runner.invoke(
        cli,
        ["--catalog", str(catalog_file), "predict", "--input", str(cells), "--output", str(output)],
    )
    elapsed = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    with output.open() as f:
        got = list(csv.DictReader(f))
    assert len(got) == 301
    for column in (
        "ttft_ms",
        "itl_ms",
        "latency_s",
        "max_qps",
        "usd_per_query",
        "label",
        "latency_s_lo",
        "latency_s_hi",
    ):
        assert column in got[0]
    assert got[-1]["latency_s"] == "" and "needs" in got[-1]["note"]
    assert elapsed < 30  # generous: the figure that matters is in benchmarks/


def test_predict_refuses_a_bad_row(runner: CliRunner, catalog_file: Path, tmp_path: Path) -> None:
    cells = tmp_path / "cells.csv"
    cells.write_text(
        "model,format,gpu,gpu_count,prefill_tokens,decode_tokens\n8b,bf16,h100,1,128,0\n"
    )
    result = runner.invoke(cli, ["--catalog", str(catalog_file), "predict", "--input", str(cells)])
    assert result.exit_code == 1
    assert "row 1: decode_tokens" in result.output


def test_fidelity_json_keys(runner: CliRunner, catalog_file: Path) -> None:
    result = runner.invoke(cli, ["--catalog", str(catalog_file), "fidelity", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    keys = [
        "sync_short_use_case_out",
        "sync_long_use_case_out",
        "sync_config_out",
        "async_use_case_out",
    ]
    for key in keys:
        assert set(doc[key]) == {"median_ape_pct", "p90_ape_pct", "n"}
        assert set(doc["baseline"][key]) == {"median_ape_pct", "p90_ape_pct", "n"}
    assert "decision_agreement_pct" in doc and "decision_agreement_pct" in doc["baseline"]
    # The fitted model beats the naive roofline where the data are clean.
    assert (
        doc["sync_short_use_case_out"]["median_ape_pct"]
        < doc["baseline"]["sync_short_use_case_out"]["median_ape_pct"]
    )
    assert (
        doc["async_use_case_out"]["median_ape_pct"]
        < doc["baseline"]["async_use_case_out"]["median_ape_pct"]
    )


def test_no_stale_fit_after_an_import(
    runner: CliRunner, catalog_file: Path, tmp_path: Path
) -> None:
    from tests.conftest import fixture

    args = [
        "--catalog",
        str(catalog_file),
        "predict",
        "--model",
        "8b",
        "--format",
        "bf16",
        "--gpu",
        "l4",
        "--gpus",
        "1",
        "--prefill",
        "256",
        "--decode",
        "32",
        "--json",
    ]
    before = json.loads(runner.invoke(cli, args).output)
    assert before["label"] == "extrapolated"
    report = fixture("guidellm", "guidellm-0.8.1-sweep.json")
    imported = runner.invoke(
        cli,
        [
            "--catalog",
            str(catalog_file),
            "catalog",
            "import",
            "guidellm",
            str(report),
            "--model",
            "8b",
            "--format",
            "bf16",
            "--gpu",
            "l4",
            "--gpus",
            "1",
        ],
    )
    assert imported.exit_code == 0, imported.output
    after = json.loads(runner.invoke(cli, args).output)
    mean = json.loads(report.read_text())["benchmarks"][0]["metrics"]["request_latency"][
        "successful"
    ]["mean"]
    assert after["label"] == "measured" and after["latency_s"] == rounded(mean)
    assert len(list((tmp_path / "models").glob("advisor-*.json"))) == 2


def test_advise_tells_people_how_to_price_an_unpriced_gpu(
    runner: CliRunner, catalog_file: Path, tmp_path: Path
) -> None:
    prices = tmp_path / "prices.yaml"
    prices.write_text("h100: 2.50\n")
    args = ["--model", "8b", "--gpu", "a100,h100", "--prices-only", str(prices)]
    people = run_advise(runner, catalog_file, *args)
    assert people.exit_code == 0, people.output
    assert "Not priced: a100" in people.output
    assert "pass --prices FILE with a row gpu,gpu_count,usd_per_hour for it" in people.output
    # The core's words name no flag: programs get them as they are.
    doc = json.loads(run_advise(runner, catalog_file, *args, "--json").output)
    details = [r["detail"] for r in doc["rejected"] if r["reason"] == "no_price"]
    assert details and not any("--prices" in d for d in details)


def test_advise_error_names_the_flag_word_of_a_renamed_limit(
    runner: CliRunner, catalog_file: Path
) -> None:
    result = run_advise(runner, catalog_file, "--model", "8b", "--mode", "sync", "--latency-s", "0")
    assert result.exit_code == 1
    assert "latency_s: input should be greater than 0" in result.output


def test_the_renderer_reads_the_new_limit_names(runner: CliRunner, catalog_file: Path) -> None:
    import io

    from rich.console import Console

    from advisor.service import Query
    from api.render import print_advice
    from api.runtime import load_advisor
    from api.settings import Settings

    advice = load_advisor(Settings(catalog=catalog_file)).advise(
        Query(model="8b", ttft_limit_ms=750, itl_limit_ms=60)
    )
    old = {"gpus", "ttft_ms", "itl_ms", "latency_s"}
    query = {k: v for k, v in advice.query.items() if k not in old}
    console = Console(file=io.StringIO(), width=200)
    print_advice(console, advice.model_copy(update={"query": query}))
    first = console.file.getvalue().splitlines()[0]
    assert "TTFT < 750 ms" in first and "ITL < 60 ms" in first


def test_an_impossible_target_lists_the_closest_misses_and_by_how_much(
    runner: CliRunner, catalog_file: Path
) -> None:
    args = ["--model", "70b", "--ttft-ms", "10", "--itl-ms", "1"]
    doc = json.loads(run_advise(runner, catalog_file, *args, "--json").output)
    assert doc["recommendation"] is None
    misses = doc["closest_misses"]
    assert misses and all(m["reason"] in ("ttft", "itl") and m["excess_pct"] > 0 for m in misses)
    assert [m["excess_pct"] for m in misses] == sorted(m["excess_pct"] for m in misses)
    people = run_advise(runner, catalog_file, *args)
    assert "Nothing meets these targets." in people.output and "Closest misses" in people.output
    for m in misses:
        row = next(
            line
            for line in people.output.splitlines()
            if f"│ {m['format']} " in line and f"│ {m['gpu_count']} x {m['gpu']} " in line
        )
        assert f"{m['reason']} +{m['excess_pct']:,.0f}%" in row, row  # all miss by 10% or more


def test_a_normal_answer_shows_the_cheaper_rejected_candidates(
    runner: CliRunner, catalog_file: Path
) -> None:
    args = ["--model", "8b", "--mode", "sync", "--latency-s", "1"]
    doc = json.loads(run_advise(runner, catalog_file, *args, "--json").output)
    cost = doc["recommendation"]["usd_per_query"]
    cheaper = [r for r in doc["rejected"] if r["cheaper_than_recommendation"]]
    assert cheaper and all(r["usd_per_query"] < cost for r in cheaper)
    # A multi-GPU option's figures are its own, not those of one GPU.
    options = [doc["recommendation"], *doc["alternatives"], *doc["rejected"]]
    by = {(o["format"], o["gpu"], o["gpu_count"]): o for o in options if o["latency_s"]}
    pairs = [
        (r, by[(r["format"], r["gpu"], 1)])
        for r in doc["rejected"]
        if r["gpu_count"] > 1 and r["latency_s"] and (r["format"], r["gpu"], 1) in by
    ]
    assert len(pairs) > 10 and all(r["latency_s"] != one["latency_s"] for r, one in pairs)
    people = run_advise(runner, catalog_file, *args).output
    assert "Cheaper options ruled out" in people
    for r in cheaper[:8]:
        row = next(
            line
            for line in people.splitlines()
            if f"│ {r['format']} " in line and f"│ {r['gpu_count']} x {r['gpu']} " in line
        )
        assert f"latency +{r['excess_pct']:.0f}%" in row and "$0.000" in row


def test_at_eighty_columns_the_terminal_keeps_the_cost_column(
    catalog_file: Path, tmp_path: Path
) -> None:
    """As a person runs it: `COLUMNS=80 advise --model 405b` in a pipe."""
    env = {
        **os.environ,
        "COLUMNS": "80",
        "ADVISOR_CATALOG": str(catalog_file),
        "ADVISOR_MODEL_CACHE": str(tmp_path / "models"),
    }
    script = "import sys; from api.cli import advise_main; sys.argv[0] = 'advise'; advise_main()"
    done = subprocess.run(
        [sys.executable, "-c", script, "--model", "405b"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    table = [line for line in done.stdout.splitlines() if line[:1] in "┏┃┡│└"]
    assert table and max(len(line) for line in table) <= 80
    assert any("USD/query" in line for line in table)
    rows = [line for line in table if line.startswith("│") and "x " in line]
    assert rows and all("$" in line for line in rows)
    assert "hidden at this width:" in done.stdout


def test_a_measured_cell_set_aside_by_hygiene_is_shown_beside_the_prediction(
    runner: CliRunner, catalog_file: Path
) -> None:
    """The study's 8B INT4 on one A6000 for code completion took 3.7 s for 1,024 tokens: its
    generation stopped early (truncated), so the answer predicts, and says so and why."""
    args = ["--model", "8b", "--gpu", "a6000", "--use-case", "code_completion", "--mode", "sync"]
    doc = json.loads(run_advise(runner, catalog_file, *args, "--format", "int4", "--json").output)
    rec = doc["recommendation"]
    assert (rec["format"], rec["gpu_count"]) == ("int4", 1)
    aside = rec["set_aside"]
    assert aside["latency_s"] == 3.7 and aside["decode_flag"] == "truncated"
    assert aside["reason"].startswith("truncated: 3.7 s for 1024 tokens")
    assert aside["source"].startswith("study:")
    assert rec["label"] != "measured" and rec["latency_s"] > 2 * aside["latency_s"]
    people = run_advise(runner, catalog_file, *args).output
    assert "measured: 3.7 s (study:" in people and "set aside" in people
    assert "truncated: 3.7 s for 1024 tokens" in people.replace("\n", " ")
    # A clean measurement is used as measured and has nothing set aside.
    rag = ["--model", "8b", "--gpu", "a6000", "--use-case", "rag", "--mode", "sync", "--json"]
    clean = json.loads(run_advise(runner, catalog_file, *rag, "--format", "int4").output)
    assert clean["recommendation"]["label"] == "measured"
    assert clean["recommendation"]["set_aside"] is None


def test_predict_prints_figures_without_scientific_notation(
    runner: CliRunner, catalog_file: Path
) -> None:
    args = ["predict", "--model", "8b", "--format", "int4", "--gpu", "a6000", "--gpus", "1"]
    shape = ["--prefill", "1024", "--decode", "128", "--mode", "async"]
    result = runner.invoke(cli, ["--catalog", str(catalog_file), *args, *shape])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if "usd_per_query" in line)
    assert "$" not in row and "e-" not in row and "0.0000" in row, row
    assert not re.search(r"\de[+-]\d", result.output)
