"""The profiler end to end with the real tools on this CPU machine and a tiny local model:
quantize with llmcompressor, serve with vLLM, GuideLLM synchronous run and rate search,
lm-eval on local tasks, everything imported into a temporary catalog. Nothing asserts on
generated text or scores (the model is random): counts, units and provenance only.

Needs the tool environments of scripts/install-profiler-tools.sh (ADVISOR_TOOLS_DIR, default
.tools); without them these tests skip, naming the script.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS = Path(os.environ.get("ADVISOR_TOOLS_DIR", ROOT / ".tools"))
READY = (TOOLS / "vllm/bin/python").exists() and (TOOLS / "llmcompressor/bin/python").exists()
pytestmark = [
    pytest.mark.realstack,
    pytest.mark.skipif(
        not READY, reason=f"no tools in {TOOLS}: run scripts/install-profiler-tools.sh"
    ),
]
BIN = Path(sys.executable).parent


def _quantized_format() -> str:
    """The quantized format vLLM's CPU build can serve here: its W4A16 kernel
    (cpu_gemm_wna16) ships only in the AVX-512 build, so an AVX2-only host serves W8A8-INT8
    (oneDNN) instead."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "int8"
    return "int4" if " avx512f" in flags else "int8"


QUANTIZED = _quantized_format()
TASKS = ROOT / "tests/fixtures/tools/lm_eval_tasks"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tiny") / "tiny-llama"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    subprocess.run(
        [
            str(TOOLS / "vllm/bin/python"),
            str(ROOT / "tests/fixtures/tools/make_tiny_model.py"),
            str(out),
        ],
        check=True,
        capture_output=True,
        env=env,
        timeout=300,
    )
    return out


def local_tasks(into: Path) -> Path:
    """lm-eval needs absolute data paths: copy the task files with them filled in."""
    into.mkdir(parents=True, exist_ok=True)
    for data in TASKS.glob("*.jsonl"):
        shutil.copy(data, into / data.name)
    for task in TASKS.glob("*.yaml"):
        (into / task.name).write_text(task.read_text().replace("${TASK_DIR}", str(into)))
    return into


def test_a_plan_runs_end_to_end(tiny: Path, built_catalog: Path, tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.duckdb"
    shutil.copy(built_catalog, catalog)
    env = {
        **os.environ,
        "ADVISOR_CATALOG": str(catalog),
        "ADVISOR_TOOLS_DIR": str(TOOLS),
        "ADVISOR_MODEL_CACHE": str(tmp_path / "models"),
    }
    subprocess.run(
        [str(BIN / "advisor"), "catalog", "add-model", str(tiny)],
        check=True,
        env=env,
        capture_output=True,
    )
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        json.dumps(
            {
                "name": "tiny-real",
                "models": [
                    {
                        "name": "tiny-llama",
                        "tokenizer": str(tiny),
                        "checkpoints": {"bf16": str(tiny)},
                    }
                ],
                "formats": ["bf16", QUANTIZED],
                "gpu": "l4",
                "gpu_counts": [1],
                "use_cases": [{"prefill_tokens": 128, "decode_tokens": 16}],
                "task_sets": ["tiny_mc,tiny_gen"],
                "tasks_include_path": str(local_tasks(tmp_path / "tasks")),
                "tasks_limit": 4,
                "similarity_prompts": str(ROOT / "tests/fixtures/tools/prompts.jsonl"),
                "similarity_max_tokens": 8,
                "calibration": str(ROOT / "tests/fixtures/tools/calibration.jsonl"),
                "calibration_samples": 8,
                "serve": {"max_model_len": 512, "enforce_eager": True},
                "limits": {"ttft_ms": 10000, "itl_ms": 1000},
                "search": {
                    "sync_requests": 3,
                    "probe_seconds": 3,
                    "probe_requests": 30,
                    "tolerance": 0.5,
                    "max_runs": 3,
                },
                "ready_timeout_s": 400,
                "work_dir": str(tmp_path / "runs"),
            }
        )
    )
    dry = subprocess.run(
        [str(BIN / "advisor"), "profile", "run", str(plan), "--dry-run"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "quantize_llmcompressor.py" in dry.stdout and "local-completions" in dry.stdout
    started = time.monotonic()
    run = subprocess.run(
        [str(BIN / "advisor"), "profile", "run", str(plan)],
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    print(f"plan wall time {time.monotonic() - started:.0f} s\n{run.stdout}{run.stderr}")
    con = duckdb.connect(str(catalog), read_only=True)
    for fmt in ("bf16", QUANTIZED):
        (points,) = con.execute(
            "SELECT count(*) FROM load_points WHERE model = 'tiny-llama' AND format = ?", [fmt]
        ).fetchone()
        assert points >= 2  # the synchronous run and at least one constant-rate probe
        (searches,) = con.execute(
            "SELECT count(*) FROM async_throughput WHERE model = 'tiny-llama' "
            "AND format = ? AND source LIKE 'profiler:%'",
            [fmt],
        ).fetchone()
        assert searches == 1
        (scores,) = con.execute(
            "SELECT count(*) FROM accuracy WHERE model = 'tiny-llama' AND format = ? AND limited",
            [fmt],
        ).fetchone()
        assert scores == 3
    details = json.loads(
        con.execute("SELECT details FROM sources WHERE kind = 'guidellm' LIMIT 1").fetchone()[0]
    )
    assert details["engine"] == "vllm" and "--tensor-parallel-size" in details["engine_args"]
    assert details["engine_version"].startswith("0.")
    assert details["gpu"] == "l4" and details["labels"]["format"] in {"bf16", QUANTIZED}
    ttft = con.execute(
        "SELECT min(ttft_p50_ms), max(ttft_p50_ms) FROM load_points WHERE model = 'tiny-llama'"
    ).fetchone()
    assert 0 < ttft[0] <= ttft[1] < 60_000  # milliseconds, not seconds
    assert (tmp_path / f"runs/checkpoints/tiny-llama-{QUANTIZED}/recipe.yaml").exists()
    similarity = con.execute(
        "SELECT format, metric, prompts FROM text_similarity "
        "WHERE model = 'tiny-llama' ORDER BY metric"
    ).fetchall()
    assert similarity == [(QUANTIZED, "rouge1_f", 5), (QUANTIZED, "rougeL_f", 5)]
    con.close()
    # Run again: everything is in the catalog, so every cell is skipped.
    again = subprocess.run(
        [str(BIN / "advisor"), "profile", "run", str(plan)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 0 and again.stdout.count("skipped") == 2


@pytest.mark.parametrize("fmt", ["fp8", "int8"])
def test_quantize_to_the_other_formats(tiny: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"tiny-{fmt}"
    env = {**os.environ, "ADVISOR_TOOLS_DIR": str(TOOLS)}
    result = subprocess.run(
        [
            str(BIN / "advisor"),
            "profile",
            "quantize",
            "--model",
            str(tiny),
            "--format",
            fmt,
            "--calibration",
            str(ROOT / "tests/fixtures/tools/calibration.jsonl"),
            "--out",
            str(out),
            "--samples",
            "8",
            "--max-seq-len",
            "128",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    config = json.loads((out / "config.json").read_text())["quantization_config"]
    assert config["quant_method"] == "compressed-tensors"
    assert config["format"] == {"fp8": "float-quantized", "int8": "int-quantized"}[fmt]
    record = json.loads((out / "quantization_record.json").read_text())
    assert record["format"] == fmt and record["tool_version"] == "0.14.0.1"
    assert (out / "recipe.yaml").exists()


def test_a_plan_on_a_local_ray_cluster_fills_the_catalog_as_the_sequential_run(
    tiny: Path, built_catalog: Path, tmp_path: Path
) -> None:
    """One bf16 cell (the tiny model on vLLM's CPU build) run twice, plainly and as a Ray task
    on `--ray local`: the same rows and provenance, host and timing aside."""
    pytest.importorskip("ray")
    from tests.profiler.catalog_contents import contents

    before = duckdb.connect(str(built_catalog), read_only=True)
    (base,) = before.execute("SELECT max(source_id) FROM sources").fetchone()
    before.close()
    found = {}
    for mode in ("sequential", "ray"):
        catalog = tmp_path / f"{mode}.duckdb"
        shutil.copy(built_catalog, catalog)
        env = {
            **os.environ,
            "ADVISOR_CATALOG": str(catalog),
            "ADVISOR_TOOLS_DIR": str(TOOLS),
            "ADVISOR_MODEL_CACHE": str(tmp_path / "models"),
        }
        subprocess.run(
            [str(BIN / "advisor"), "catalog", "add-model", str(tiny)],
            check=True,
            env=env,
            capture_output=True,
        )
        plan = tmp_path / f"{mode}.yaml"
        plan.write_text(
            json.dumps(
                {
                    "name": f"tiny-{mode}",
                    "models": [
                        {
                            "name": "tiny-llama",
                            "tokenizer": str(tiny),
                            "checkpoints": {"bf16": str(tiny)},
                        }
                    ],
                    "formats": ["bf16"],
                    "gpu": "l4",
                    "gpu_counts": [1],
                    "use_cases": [{"prefill_tokens": 128, "decode_tokens": 16}],
                    "serve": {"max_model_len": 512, "enforce_eager": True},
                    "limits": {"ttft_ms": 3_600_000, "itl_ms": 600_000},
                    "search": {
                        "sync_requests": 3,
                        "probe_seconds": 10,
                        "probe_requests": 30,
                        "tolerance": 0.5,
                        "max_runs": 1,
                        "guided": False,  # the same first rate in both runs
                    },
                    "ready_timeout_s": 400,
                    "work_dir": str(tmp_path / mode),
                }
            )
        )
        command = [str(BIN / "advisor"), "profile", "run", str(plan)]
        started = time.monotonic()
        run = subprocess.run(
            command + (["--ray", "local"] if mode == "ray" else []),
            env={**env, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"},
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        print(f"{mode}: {time.monotonic() - started:.0f} s\n{run.stdout}{run.stderr}")
        con = duckdb.connect(str(catalog), read_only=True)
        found[mode] = contents(con, base)
        con.close()
    ray_rows, sequential_rows = found["ray"], found["sequential"]
    # The synchronous run and one probe each. Whether the probe met the limits is a measurement
    # (on busy shared cores its requests may not finish in time): the search's row, run and
    # source are compared when both runs have one.
    assert len(ray_rows["load_points"]) == len(sequential_rows["load_points"]) == 2
    searched = [len(rows["async_throughput"]) for rows in (ray_rows, sequential_rows)]
    if searched != [1, 1]:
        ray_rows, sequential_rows = _without_search(ray_rows), _without_search(sequential_rows)
    assert _shape(ray_rows) == _shape(sequential_rows)


def _without_search(rows: dict[str, list[str]]) -> dict[str, list[str]]:
    def search(row: str) -> bool:
        fields = json.loads(row)
        return fields.get("label") == "rate-search" or fields.get("name") == "rate-search"

    return {
        view: [r for r in values if not search(r)]
        for view, values in rows.items()
        if view != "async_throughput"
    }


COUNTED = {"successful", "errored", "incomplete", "count", "total"}
# The rate search's words quote the rates it measured and chose ("4.09 requests/s: start").
WORDED = {"reasons", "decision", "guidance"}


def _identity(value: object) -> object:
    """Without the figures a real run measures (floats, request counts, a percentile that is
    null where no request finished), which differ run to run; what is left (names, labels, tool
    versions, token counts, strategies) must be equal."""
    if isinstance(value, dict):
        return {
            k: _words(v) if k in WORDED else _identity(v)
            for k, v in value.items()
            if not isinstance(v, float) and v is not None and k not in COUNTED
        }
    if isinstance(value, list):
        return [_identity(v) for v in value if not isinstance(v, float)]
    return value


def _words(value: object) -> object:
    """The search's words with their measured numbers taken out."""
    if isinstance(value, list):
        return [_words(v) for v in value]
    return re.sub(r"\d[\d,.]*", "#", value) if isinstance(value, str) else value


def _shape(rows: dict[str, list[str]]) -> dict[str, list[str]]:
    return {
        view: sorted(json.dumps(_identity(json.loads(r)), sort_keys=True) for r in values)
        for view, values in rows.items()
    }
