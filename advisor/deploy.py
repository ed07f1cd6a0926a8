"""The commands that deploy and confirm an option: `vllm serve` and the GuideLLM run, built by
the profiler's own builders (`advisor.commands`), naming a checkpoint that exists.

The checkpoint is, in order: an already-quantized checkpoint itself; for BF16 the model's folder
or hub id; a published checkpoint of that format the catalog knows (`Snapshot.checkpoints`);
else the one `advisor profile quantize` writes, whose command the answer prints first.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Sequence
from pathlib import Path

from advisor.commands import (
    LABEL_KEYS,
    LoadSpec,
    ServeSpec,
    Tools,
    build_guidellm_command,
    build_vllm_command,
)
from advisor.data import PublishedCheckpoint
from advisor.hardware import MEMORY_UTILISATION, Gpu, ModelSpec
from advisor.search import Option
from advisor.vocabulary import Format, Mode, format_from_name

# What `advisor profile quantize` appends to the name of the checkpoint it writes (Neural
# Magic's, Red Hat AI's, naming).
CHECKPOINT_SUFFIX = {
    Format.BF16: "",
    Format.FP8: "-FP8",
    Format.INT8: "-quantized.w8a8",
    Format.INT4: "-quantized.w4a16",
}
SERVE_PORT = 8000  # vLLM's default; the confirm run targets it
ANSWER_TOOLS = Tools(vllm="vllm")  # an answer prints `vllm serve` and `guidellm` as installed
CONFIRM_REPORT = Path("confirm.json")
CONFIRM_SYNC_REQUESTS = 50
CONFIRM_ASYNC_SECONDS = 300.0
CALIBRATION_PLACEHOLDER = "CALIBRATION.jsonl"
# vLLM on ROCm as AMD publishes it: its image, with the GPUs' devices and the hub cache.
ROCM_IMAGE = "rocm/vllm:latest"
ROCM_RUN = (
    "docker run --rm --network=host --ipc=host --group-add=video --cap-add=SYS_PTRACE "
    "--security-opt seccomp=unconfined --device /dev/kfd --device /dev/dri "
    '-v "$HOME/.cache/huggingface:/root/.cache/huggingface"'
)

Published = Sequence[PublishedCheckpoint]


def published_checkpoint(model: ModelSpec, fmt: Format, published: Published) -> str | None:
    """The catalog's published checkpoint of `model` in `fmt` (the first by name where it knows
    several), or None. A model given as a folder is served from its own weights, never from a
    checkpoint of the hub model it names (it may be a fine-tune of it)."""
    if model.local_path is not None:
        return None
    hub = (model.hf_id or "").lower()
    found = sorted(
        p.checkpoint
        for p in published
        if (p.model == model.model or (hub and (p.base_hf_id or "").lower() == hub))
        and format_from_name(p.checkpoint) is fmt
    )
    return found[0] if found else None


def _base(model: ModelSpec) -> str:
    """The BF16 checkpoint: the model's folder, else its hub id, else its catalog name."""
    return model.local_path or model.hf_id or model.model


def _quantized_out(model: ModelSpec, fmt: Format) -> str:
    """Where `advisor profile quantize` writes `fmt`: beside the folder, else in the current
    directory under the hub repository's name."""
    if model.local_path is not None:
        return model.local_path + CHECKPOINT_SUFFIX[fmt]
    name = _base(model).rstrip("/").rsplit("/", 1)[-1]
    return f"./{name}{CHECKPOINT_SUFFIX[fmt]}"


def checkpoint_name(model: ModelSpec, fmt: Format, published: Published = ()) -> str:
    """The checkpoint to serve `model` in `fmt` from (see the module docstring)."""
    if model.quantized is not None or fmt is Format.BF16:
        return _base(model)  # an already-quantized checkpoint is in its one format
    return published_checkpoint(model, fmt, published) or _quantized_out(model, fmt)


def quantize_command(model: ModelSpec, fmt: Format, published: Published = ()) -> str | None:
    """The command that writes the checkpoint `vllm_command` serves; None where it exists
    already (BF16, a quantized or a published checkpoint)."""
    if (
        fmt is Format.BF16
        or model.quantized is not None
        or published_checkpoint(model, fmt, published) is not None
    ):
        return None
    command = ["advisor", "profile", "quantize", "--model", _base(model), "--format", fmt.value]
    command += ["--out", _quantized_out(model, fmt)]
    if fmt is not Format.FP8:  # GPTQ and SmoothQuant need calibration text
        command += ["--calibration", CALIBRATION_PLACEHOLDER]
    return shlex.join(command)


def _parallelism(option: Option, gpu: Gpu | None) -> tuple[int, int]:
    """(tensor, pipeline) parallel sizes of one replica: tensor parallel inside a node,
    pipeline parallel between nodes."""
    size = option.tensor_parallel_size or option.gpu_count
    per_node = gpu.nodes_of if gpu is not None else 8
    if size > per_node and size % per_node == 0:
        return per_node, size // per_node
    return size, 1


def _rocm(command: str, checkpoint: str) -> str:
    """`command` inside AMD's vLLM image; a checkpoint on disk is mounted where it is."""
    mounts = ""
    if checkpoint.startswith("./"):
        mounts = ' -v "$PWD:$PWD" -w "$PWD"'
    elif checkpoint.startswith("/"):
        mounts = " -v " + shlex.quote(f"{checkpoint}:{checkpoint}")
    return f"{ROCM_RUN}{mounts} {ROCM_IMAGE} {command}"


def vllm_command(
    model: ModelSpec,
    option: Option,
    context_tokens: int,
    gpu: Gpu | None = None,
    published: Published = (),
) -> str:
    """`vllm serve` for one replica of `option`; on an AMD GPU, in the vLLM ROCm image."""
    checkpoint = checkpoint_name(model, option.format, published)
    tensor, pipeline = _parallelism(option, gpu)
    spec = ServeSpec(
        checkpoint=checkpoint,
        host=None,
        port=SERVE_PORT,
        tensor_parallel_size=tensor,
        pipeline_parallel_size=pipeline,
        max_model_len=int(math.ceil(context_tokens / 1024) * 1024),
        gpu_memory_utilization=MEMORY_UTILISATION,
    )
    command = shlex.join(build_vllm_command(ANSWER_TOOLS, spec))
    if gpu is not None and gpu.vendor == "amd":
        return _rocm(command, checkpoint)
    return command


def guidellm_command(
    model: ModelSpec,
    option: Option,
    mode: Mode,
    prefill_tokens: int,
    decode_tokens: int,
    published: Published = (),
    use_case: str | None = None,
) -> str:
    """The GuideLLM run that confirms `option` against the server `vllm_command` starts: one
    replica, at its share of the load; labelled, so `advisor catalog import` needs no flags."""
    name = checkpoint_name(model, option.format, published)
    tensor, pipeline = _parallelism(option, None)
    labels = {
        "model": model.model,
        "format": option.format.value,
        "gpu": option.gpu,
        "gpu_count": str(tensor * pipeline),
        "use_case": use_case,
    }
    rate = None
    if mode is not Mode.SYNC:
        rate = max(round(option.max_qps or 1.0, 2), 0.01) / (option.replicas or 1)
    spec = LoadSpec(
        target=f"http://localhost:{SERVE_PORT}",
        model=name,
        tokenizer=name,
        prefill_tokens=prefill_tokens,
        decode_tokens=decode_tokens,
        output=CONFIRM_REPORT,
        rate=rate,
        max_requests=CONFIRM_SYNC_REQUESTS if rate is None else None,
        max_seconds=None if rate is None else CONFIRM_ASYNC_SECONDS,
        labels={key: labels[key] for key in LABEL_KEYS if labels[key] is not None},
    )
    return shlex.join(build_guidellm_command(ANSWER_TOOLS, spec))


def deployment(
    model: ModelSpec,
    option: Option,
    gpu: Gpu,
    mode: Mode,
    prefill_tokens: int,
    decode_tokens: int,
    published: Published = (),
    use_case: str | None = None,
) -> dict[str, str | None]:
    """The answer's checkpoint and commands for the winning option."""
    context = prefill_tokens + decode_tokens
    return {
        "checkpoint": checkpoint_name(model, option.format, published),
        "quantize_command": quantize_command(model, option.format, published),
        "vllm_serve_command": vllm_command(model, option, context, gpu, published),
        "guidellm_command": guidellm_command(
            model, option, mode, prefill_tokens, decode_tokens, published, use_case
        ),
    }
