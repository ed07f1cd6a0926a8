"""Command lines of the real tools. Builders only: `build_*(spec) -> list[str]`; running them is
`profiler.runner`'s job. vLLM's and GuideLLM's are `advisor.commands`' (an answer prints the same
commands the profiler runs); lm-eval's and llmcompressor's are here."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from advisor.commands import (
    LoadSpec,
    ServeSpec,
    Tools,
    build_guidellm_command,
    build_vllm_command,
)
from advisor.vocabulary import Format, Frozen

__all__ = [
    "EvalSpec",
    "LoadSpec",
    "QuantizeSpec",
    "ServeSpec",
    "Tools",
    "build_guidellm_command",
    "build_lm_eval_command",
    "build_quantize_command",
    "build_vllm_command",
]

QUANTIZE_SCRIPT = Path(__file__).parent / "scripts" / "quantize_llmcompressor.py"


class EvalSpec(Frozen):
    target: str = Field(description="server base URL")
    model: str = Field(description="served model name")
    tokenizer: str = Field(description="local tokenizer folder")
    tasks: list[str] = Field(min_length=1, description="lm-eval task names")
    include_path: Path | None = Field(default=None, description="folder of local task YAML")
    output: Path = Field(description="folder lm-eval writes results into")
    num_fewshot: int | None = Field(default=None, ge=0)
    limit: int | None = Field(default=None, gt=0, description="documents per task (smoke runs)")
    apply_chat_template: bool = Field(default=False)


def build_lm_eval_command(tools: Tools, spec: EvalSpec) -> list[str]:
    args = (
        f"model={spec.model},base_url={spec.target}/v1/completions,tokenizer={spec.tokenizer},"
        "tokenizer_backend=huggingface,num_concurrent=1,max_retries=3"
    )
    command = [
        tools.lm_eval,
        "--model",
        "local-completions",
        "--model_args",
        args,
        "--tasks",
        ",".join(spec.tasks),
        "--output_path",
        str(spec.output),
    ]
    if spec.include_path is not None:
        command += ["--include_path", str(spec.include_path)]
    if spec.num_fewshot is not None:
        command += ["--num_fewshot", str(spec.num_fewshot)]
    if spec.limit is not None:
        command += ["--limit", str(spec.limit)]
    if spec.apply_chat_template:
        command.append("--apply_chat_template")
    return command


class QuantizeSpec(Frozen):
    model: str = Field(description="BF16 model folder, or hub id on a connected host")
    format: Format = Field(description="fp8, int8 or int4")
    calibration: Path | None = Field(default=None, description="JSONL or text; not for fp8")
    out: Path = Field(description="where the compressed-tensors checkpoint goes")
    samples: int = Field(default=64, gt=0, description="calibration samples")
    max_seq_len: int = Field(default=512, gt=0)


def build_quantize_command(tools: Tools, spec: QuantizeSpec) -> list[str]:
    command = [
        tools.llmcompressor_python,
        str(QUANTIZE_SCRIPT),
        "--model",
        spec.model,
        "--format",
        spec.format.value,
        "--out",
        str(spec.out),
        "--samples",
        str(spec.samples),
        "--max-seq-len",
        str(spec.max_seq_len),
    ]
    if spec.calibration is not None:
        command += ["--calibration", str(spec.calibration)]
    return command
