"""The commands that deploy and confirm an option: `vllm serve` and the GuideLLM run."""

from __future__ import annotations

import math

from advisor.hardware import MEMORY_UTILISATION, ModelSpec
from advisor.search import Option
from advisor.vocabulary import Format, Mode

# The checkpoint suffixes of Neural Magic's (Red Hat AI's) quantized repositories.
CHECKPOINT_SUFFIX = {
    Format.BF16: "",
    Format.FP8: "-FP8",
    Format.INT8: "-quantized.w8a8",
    Format.INT4: "-quantized.w4a16",
}


def checkpoint_name(model: ModelSpec, fmt: Format) -> str:
    """The checkpoint to serve: for a model given as a folder, the folder itself (BF16) or the
    one `advisor profile quantize` writes beside it (`quantize_command`); else the quantized
    checkpoint in the study's naming (Neural Magic's Hugging Face repos)."""
    if model.local_path is not None:
        if model.quantized is not None:
            return model.local_path  # the checkpoint is already in its one format
        return model.local_path + CHECKPOINT_SUFFIX[fmt]
    hf = model.hf_id or model.model
    if hf.lower().startswith("meta-llama/llama-3.1-"):
        base = "Meta-" + hf.split("/", 1)[1]
        if fmt is Format.BF16:
            return f"meta-llama/{base}"
        return f"neuralmagic/{base}-" + CHECKPOINT_SUFFIX[fmt].lstrip("-")
    return f"{hf}{CHECKPOINT_SUFFIX[fmt]}"


def quantize_command(model: ModelSpec, fmt: Format) -> str | None:
    """For a model given as a folder, the command that writes the checkpoint `vllm_command`
    serves (None: nothing to write, BF16 or a published checkpoint)."""
    if model.local_path is None or fmt is Format.BF16 or model.quantized is not None:
        return None
    parts = [
        "advisor profile quantize",
        f"--model {model.local_path}",
        f"--format {fmt.value}",
        f"--out {checkpoint_name(model, fmt)}",
    ]
    if fmt is not Format.FP8:  # GPTQ and SmoothQuant need calibration text
        parts.append("--calibration CALIBRATION.jsonl")
    return " ".join(parts)


def vllm_command(model: ModelSpec, option: Option, context_tokens: int) -> str:
    tp = option.tensor_parallel_size or option.gpu_count
    parts = ["vllm serve", checkpoint_name(model, option.format)]
    if tp > 8:
        # Across nodes: tensor parallel inside a node, pipeline parallel between nodes.
        parts += ["--tensor-parallel-size 8", f"--pipeline-parallel-size {tp // 8}"]
    else:
        parts.append(f"--tensor-parallel-size {tp}")
    max_len = int(math.ceil(context_tokens / 1024) * 1024)
    parts += [f"--max-model-len {max_len}", f"--gpu-memory-utilization {MEMORY_UTILISATION}"]
    return " ".join(parts)


def guidellm_command(
    model: ModelSpec, option: Option, mode: Mode, prefill_tokens: int, decode_tokens: int
) -> str:
    name = checkpoint_name(model, option.format)
    if mode is Mode.SYNC:
        profile, stop = "kind=synchronous", "kind=max_requests,count=50"
    else:
        rate = max(round(option.max_qps or 1.0, 2), 0.01)
        per_replica = rate / (option.replicas or 1)
        profile, stop = f"kind=constant,rate={per_replica:g}", "kind=max_duration,seconds=300"
    return (
        f"guidellm run --backend kind=openai_http,target=http://localhost:8000,model={name} "
        f"--tokenizer kind=huggingface_auto,model={name} "
        f"--data kind=synthetic_text,prompt_tokens={prefill_tokens},"
        f"output_tokens={decode_tokens} --profile {profile} --constraint {stop} "
        "--output kind=json,path=confirm.json"
    )
