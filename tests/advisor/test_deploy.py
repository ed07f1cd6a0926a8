"""The answer's checkpoint and commands: every checkpoint it names exists (published, the base,
the folder given, or written by the quantize command it prints first), the commands are the
profiler's own builders' and parse as shell, and an AMD GPU is served by vLLM on ROCm."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest

from advisor.commands import LoadSpec, ServeSpec, Tools, build_guidellm_command, build_vllm_command
from advisor.data import Snapshot
from advisor.deploy import (
    ANSWER_TOOLS,
    checkpoint_name,
    guidellm_command,
    published_checkpoint,
    quantize_command,
    vllm_command,
)
from advisor.hardware import MEMORY_UTILISATION, ModelSpec
from advisor.search import Option
from advisor.service import Advisor, Query
from advisor.vocabulary import Format, Mode, format_from_name, parse_format
from catalog.model_config import local_model
from tests.advisor.test_architecture import LLAMA_8B, W4A16

QUANTIZED = (Format.FP8, Format.INT8, Format.INT4)


def hub_model(snapshot: Snapshot, hf_id: str, **fields: Any) -> ModelSpec:
    """A model the catalog has no published checkpoints of (Llama-3.1-8B's shape)."""
    base = snapshot.model("8b")
    return ModelSpec(model=hf_id, hf_id=hf_id, arch=base.arch, **fields)


def option(fmt: Format, gpu: str = "h100", count: int = 1, **fields: Any) -> Option:
    return Option(format=fmt, gpu=gpu, gpu_count=count, **fields)


def served(command: str) -> str:
    """The checkpoint a `vllm serve` command line serves."""
    argv = shlex.split(command)
    return argv[argv.index("serve") + 1]


def backend_model(command: str) -> str:
    argv = shlex.split(command)
    backend = dict(p.split("=", 1) for p in argv[argv.index("--backend") + 1].split(","))
    return backend["model"]


def written_by(command: str | None) -> str | None:
    """The checkpoint an `advisor profile quantize` command writes."""
    if command is None:
        return None
    argv = shlex.split(command)
    assert argv[:3] == ["advisor", "profile", "quantize"]
    return argv[argv.index("--out") + 1]


def test_catalog_models_serve_their_published_checkpoints(snapshot: Snapshot) -> None:
    known = {(p.model, p.checkpoint) for p in snapshot.checkpoints}
    assert {p.model for p in snapshot.checkpoints} == {m.model for m in snapshot.models}
    for model in snapshot.models:
        assert checkpoint_name(model, Format.BF16, snapshot.checkpoints) == model.hf_id
        for fmt in QUANTIZED:
            name = checkpoint_name(model, fmt, snapshot.checkpoints)
            assert (model.model, name) in known and format_from_name(name) is fmt
            assert quantize_command(model, fmt, snapshot.checkpoints) is None
    llama = snapshot.model("70b")
    # The study's own checkpoints (dynamic per-token FP8), and the cards' spelling of theirs.
    assert checkpoint_name(llama, Format.FP8, snapshot.checkpoints) == (
        "RedHatAI/Meta-Llama-3.1-70B-Instruct-FP8-dynamic"
    )
    distill = snapshot.model("deepseek-r1-distill-llama-8b")
    assert checkpoint_name(distill, Format.INT4, snapshot.checkpoints) == (
        "neuralmagic/DeepSeek-R1-Distill-Llama-8B-quantized.w4a16"
    )


def test_a_hub_model_without_a_published_checkpoint_is_quantized_first(
    snapshot: Snapshot,
) -> None:
    qwen = hub_model(snapshot, "Qwen/Qwen2.5-7B-Instruct")
    assert published_checkpoint(qwen, Format.FP8, snapshot.checkpoints) is None
    assert checkpoint_name(qwen, Format.FP8, snapshot.checkpoints) == "./Qwen2.5-7B-Instruct-FP8"
    assert quantize_command(qwen, Format.FP8, snapshot.checkpoints) == (
        "advisor profile quantize --model Qwen/Qwen2.5-7B-Instruct --format fp8 "
        "--out ./Qwen2.5-7B-Instruct-FP8"
    )
    int4 = quantize_command(qwen, Format.INT4, snapshot.checkpoints)
    assert int4 is not None and int4.endswith("--calibration CALIBRATION.jsonl")
    assert written_by(int4) == checkpoint_name(qwen, Format.INT4, snapshot.checkpoints)
    assert checkpoint_name(qwen, Format.BF16) == "Qwen/Qwen2.5-7B-Instruct"
    assert quantize_command(qwen, Format.BF16) is None


def test_an_already_quantized_checkpoint_is_served_as_itself(snapshot: Snapshot) -> None:
    hub = hub_model(snapshot, "org/llama-w4a16", quantized=Format.INT4)
    assert checkpoint_name(hub, Format.INT4, snapshot.checkpoints) == "org/llama-w4a16"
    assert quantize_command(hub, Format.INT4, snapshot.checkpoints) is None


def test_a_folder_without_weights_stands_for_the_hub_model_it_names(tmp_path: Path) -> None:
    folder = tmp_path / "described"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({**LLAMA_8B, "_name_or_path": "org/tuned"}))
    spec = local_model(str(folder / "config.json"))
    assert spec.local_path is None and spec.hf_id == "org/tuned"
    assert checkpoint_name(spec, Format.BF16) == "org/tuned"
    assert checkpoint_name(spec, Format.INT8) == "./tuned-quantized.w8a8"
    assert shlex.split(quantize_command(spec, Format.INT8) or "")[4] == "org/tuned"
    # With its weights, it is served from the folder (a fine-tune keeps its base's name).
    (folder / "model-00001-of-00002.safetensors").write_bytes(b"")
    spec = local_model(str(folder))
    assert spec.local_path == str(folder.resolve())
    assert checkpoint_name(spec, Format.INT8) == f"{folder.resolve()}-quantized.w8a8"


def test_the_commands_are_the_profilers_builders(snapshot: Snapshot) -> None:
    model = snapshot.model("8b")
    best = option(Format.INT8, count=4, tensor_parallel_size=2, replicas=2, max_qps=9.0)
    name = checkpoint_name(model, Format.INT8, snapshot.checkpoints)
    serve = vllm_command(model, best, 2048, snapshot.gpu("h100"), snapshot.checkpoints)
    # One replica of 2: the tensor-parallel size, the rounded-up context, the memory budget.
    assert shlex.split(serve) == build_vllm_command(
        ANSWER_TOOLS,
        ServeSpec(
            checkpoint=name,
            host=None,
            port=8000,
            tensor_parallel_size=2,
            max_model_len=2048,
            gpu_memory_utilization=MEMORY_UTILISATION,
        ),
    )
    assert shlex.split(serve)[:3] == ["vllm", "serve", name] and "--host" not in serve
    # The profiler's command for the same spec differs only in how vLLM is started.
    profiler = build_vllm_command(Tools(), ServeSpec(checkpoint=name, port=8000))
    assert profiler[:5] == ["python", "-m", "vllm.entrypoints.openai.api_server", "--model", name]
    confirm = guidellm_command(model, best, Mode.ASYNC, 1024, 128, snapshot.checkpoints, "rag")
    expected = LoadSpec(
        target="http://localhost:8000",
        model=name,
        tokenizer=name,
        prefill_tokens=1024,
        decode_tokens=128,
        output=Path("confirm.json"),
        rate=4.5,  # one replica's share of 9 requests/s
        max_requests=None,
        max_seconds=300,
        labels={
            "model": "llama-3.1-8b-instruct",
            "format": "int8",
            "gpu": "h100",
            "gpu_count": "2",
            "use_case": "rag",
        },
    )
    assert shlex.split(confirm) == build_guidellm_command(ANSWER_TOOLS, expected)
    sync = shlex.split(guidellm_command(model, best, Mode.SYNC, 256, 32, snapshot.checkpoints))
    assert "kind=synchronous" in sync and "kind=max_requests,count=50" in sync
    assert not any(a.startswith("use_case=") for a in sync)


def test_the_serve_command_spans_nodes_with_pipeline_parallelism(snapshot: Snapshot) -> None:
    model = snapshot.model("405b")
    argv = shlex.split(
        vllm_command(model, option(Format.BF16, count=16), 4000, snapshot.gpu("h100"))
    )
    assert argv[argv.index("--tensor-parallel-size") + 1] == "8"
    assert argv[argv.index("--pipeline-parallel-size") + 1] == "2"
    assert argv[argv.index("--max-model-len") + 1] == "4096"
    one_node = shlex.split(vllm_command(model, option(Format.FP8, count=8), 4000))
    assert "--pipeline-parallel-size" not in one_node


def test_an_amd_gpu_is_a_vllm_rocm_deployment(snapshot: Snapshot) -> None:
    mi300x = snapshot.gpu("h100").model_copy(update={"gpu": "mi300x", "vendor": "amd"})
    model = snapshot.model("70b")
    command = vllm_command(
        model, option(Format.FP8, "mi300x", 2), 2048, mi300x, snapshot.checkpoints
    )
    assert command.startswith("docker run ") and " rocm/vllm:latest vllm serve " in command
    assert "--device /dev/kfd --device /dev/dri" in command
    assert served(command) == "RedHatAI/Meta-Llama-3.1-70B-Instruct-FP8-dynamic"
    nvidia = vllm_command(model, option(Format.FP8, "h100", 2), 2048, snapshot.gpu("h100"))
    assert nvidia.startswith("vllm serve ") and "rocm" not in nvidia
    # A checkpoint written by the quantize command is mounted into the container.
    qwen = hub_model(snapshot, "Qwen/Qwen2.5-7B-Instruct")
    local = vllm_command(qwen, option(Format.FP8, "mi300x", 1), 2048, mi300x)
    assert '-v "$PWD:$PWD" -w "$PWD"' in local and served(local) == "./Qwen2.5-7B-Instruct-FP8"
    for line in (command, local):
        subprocess.run(["bash", "-n", "-c", line], check=True)  # runnable shell as printed


def models_to_ask(snapshot: Snapshot, tmp_path: Path) -> list[tuple[str, list[ModelSpec]]]:
    """Every catalog model, and models given as folders: with weights, without (a hub id
    standing in), and an already-quantized checkpoint."""
    asked: list[tuple[str, list[ModelSpec]]] = [(m.model, []) for m in snapshot.models]
    shapes = {
        "weights": ({**LLAMA_8B, "_name_or_path": "org/weights"}, True),
        "described": ({**LLAMA_8B, "_name_or_path": "org/described"}, False),
        "quantized": ({**LLAMA_8B, "quantization_config": W4A16}, True),
    }
    for name, (config, weights) in shapes.items():
        folder = tmp_path / name
        folder.mkdir(parents=True)
        (folder / "config.json").write_text(json.dumps(config))
        if weights:
            (folder / "model.safetensors").write_bytes(b"")
        spec = local_model(str(folder))
        asked.append((spec.model, [spec]))
    return asked


def existing(snapshot: Snapshot, model: ModelSpec, fmt: Format) -> set[str]:
    """Checkpoints that exist without anything being written: published, the base model's
    hub id, the folder given."""
    names = {p.checkpoint for p in snapshot.checkpoints if p.model == model.model}
    base = {model.local_path or model.hf_id or model.model}
    return names | (base if fmt is Format.BF16 or model.quantized is not None else set())


@pytest.mark.parametrize("mode", [Mode.SYNC, Mode.ASYNC])
def test_no_answer_names_a_checkpoint_that_does_not_exist(
    fitted: Advisor, snapshot: Snapshot, tmp_path: Path, mode: Mode
) -> None:
    answered = 0
    for name, local in models_to_ask(snapshot, tmp_path / mode.value):
        model = snapshot.model(name, local)
        formats = [model.quantized] if model.quantized else [Format.BF16, *QUANTIZED]
        for fmt in formats:
            query = Query(model=name, formats=[fmt.value], mode=mode, use_case="rag")
            rec = fitted.advise(query, local_models=local).recommendation
            if rec is None:
                continue
            answered += 1
            checkpoint = rec["checkpoint"]
            assert parse_format(rec["format"]) is fmt
            assert served(rec["vllm_serve_command"]) == checkpoint
            assert backend_model(rec["guidellm_command"]) == checkpoint
            made = written_by(rec["quantize_command"])
            assert checkpoint in existing(snapshot, model, fmt) or made == checkpoint, rec
            if made is not None:
                source = shlex.split(rec["quantize_command"])[4]
                assert source in existing(snapshot, model, Format.BF16)
    assert answered >= 30  # 7 catalog models x 4 formats, and the folders, mostly answered


@pytest.mark.parametrize("model", ["70b", "granite-3.1-2b-instruct", "described"])
def test_the_cli_answer_names_checkpoints_that_exist(
    catalog_file: Path, snapshot: Snapshot, tmp_path: Path, model: str
) -> None:
    from click.testing import CliRunner

    from api.cli import advise

    if model == "described":
        folder = tmp_path / "described"
        folder.mkdir()
        (folder / "config.json").write_text(json.dumps({**LLAMA_8B, "_name_or_path": "org/x"}))
        model = str(folder / "config.json")
    runner = CliRunner(env={"ADVISOR_MODEL_CACHE": str(tmp_path / "models")})
    for fmt in ("bf16", "int4"):
        result = runner.invoke(
            advise, ["--model", model, "--format", fmt, "--json", "--catalog", str(catalog_file)]
        )
        assert result.exit_code == 0, result.output
        rec = json.loads(result.output)["recommendation"]
        checkpoint = rec["checkpoint"]
        assert served(rec["vllm_serve_command"]) == checkpoint
        assert backend_model(rec["guidellm_command"]) == checkpoint
        published = {p.checkpoint for p in snapshot.checkpoints}
        bases = {m.hf_id for m in snapshot.models} | {"org/x"}
        assert checkpoint in published | bases or written_by(rec["quantize_command"]) == checkpoint
        if model.endswith("config.json") and fmt == "int4":
            assert checkpoint == "./x-quantized.w4a16"
