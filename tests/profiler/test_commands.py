"""Command builders: the exact command lines the profiler runs."""

from __future__ import annotations

from pathlib import Path

from advisor.vocabulary import Format
from profiler.commands import (
    EvalSpec,
    LoadSpec,
    QuantizeSpec,
    ServeSpec,
    Tools,
    build_guidellm_command,
    build_lm_eval_command,
    build_quantize_command,
    build_vllm_command,
)

TOOLS = Tools(
    vllm_python="/envs/vllm/bin/python",
    guidellm="/envs/vllm/bin/guidellm",
    lm_eval="/envs/vllm/bin/lm_eval",
    llmcompressor_python="/envs/llmc/bin/python",
)


def test_vllm_passes_tensor_parallelism_and_memory() -> None:
    command = build_vllm_command(
        TOOLS,
        ServeSpec(
            checkpoint="/m/70b-fp8",
            served_name="m",
            port=8123,
            tensor_parallel_size=4,
            max_model_len=2048,
            device="cpu",
            enforce_eager=True,
        ),
    )
    assert command[:3] == ["/envs/vllm/bin/python", "-m", "vllm.entrypoints.openai.api_server"]
    text = " ".join(command)
    for part in (
        "--tensor-parallel-size 4",
        "--max-model-len 2048",
        "--gpu-memory-utilization 0.9",
        "--host 127.0.0.1",
        "--port 8123",
        "--enforce-eager",
    ):
        assert part in text


def test_guidellm_synchronous_and_constant() -> None:
    spec = LoadSpec(
        target="http://127.0.0.1:8123",
        model="m",
        tokenizer="/m",
        prefill_tokens=1024,
        decode_tokens=128,
        output=Path("/out/sync.json"),
        labels={"gpu": "h100"},
    )
    sync = build_guidellm_command(TOOLS, spec)
    assert sync[:2] == ["/envs/vllm/bin/guidellm", "run"]
    assert "kind=synchronous" in sync and "kind=huggingface_auto,model=/m" in sync
    assert "kind=synthetic_text,prompt_tokens=1024,output_tokens=128" in sync
    assert sync[sync.index("--label") + 1] == "gpu=h100"
    constant = build_guidellm_command(
        TOOLS, spec.model_copy(update={"rate": 2.5, "max_seconds": 30})
    )
    assert "kind=constant,rate=2.5" in constant and "kind=max_duration,seconds=30" in constant


def test_lm_eval_against_the_running_server() -> None:
    command = build_lm_eval_command(
        TOOLS,
        EvalSpec(
            target="http://127.0.0.1:8123",
            model="m",
            tokenizer="/m",
            tasks=["tiny_mc", "tiny_gen"],
            include_path=Path("/tasks"),
            output=Path("/out"),
            limit=5,
        ),
    )
    args = command[command.index("--model_args") + 1]
    assert command[command.index("--model") + 1] == "local-completions"
    assert "base_url=http://127.0.0.1:8123/v1/completions" in args and "tokenizer=/m" in args
    assert command[command.index("--tasks") + 1] == "tiny_mc,tiny_gen"
    assert command[command.index("--limit") + 1] == "5"


def test_quantize_runs_the_script_in_llmcompressors_python() -> None:
    command = build_quantize_command(
        TOOLS,
        QuantizeSpec(model="/m", format=Format.INT4, calibration=Path("/c.jsonl"), out=Path("/q")),
    )
    assert command[0] == "/envs/llmc/bin/python" and command[1].endswith(
        "quantize_llmcompressor.py"
    )
    assert Path(command[1]).exists()
    assert command[command.index("--format") + 1] == "int4"
    assert command[command.index("--calibration") + 1] == "/c.jsonl"
