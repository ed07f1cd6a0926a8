"""Command lines of the real tools. Builders only: `build_*(spec) -> list[str]`; running them is
`profiler.runner`'s job."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from advisor.vocabulary import Format, Frozen

QUANTIZE_SCRIPT = Path(__file__).parent / "scripts" / "quantize_llmcompressor.py"
LABEL_KEYS = ("model", "format", "gpu", "gpu_count", "use_case")


class Tools(Frozen):
    """Where the tools live: they have their own environments (see README, Profiling)."""

    vllm_python: str = Field(default="python", description="python of the vLLM environment")
    guidellm: str = Field(default="guidellm", description="GuideLLM executable")
    lm_eval: str = Field(default="lm_eval", description="lm-eval executable")
    llmcompressor_python: str = Field(default="python", description="python with llmcompressor")


class ServeSpec(Frozen):
    checkpoint: str = Field(description="model folder or hub id to serve")
    served_name: str = Field(description="name the server answers to")
    port: int = Field(gt=0, lt=65536)
    tensor_parallel_size: int = Field(default=1, gt=0)
    max_model_len: int = Field(default=4096, gt=0)
    gpu_memory_utilization: float = Field(default=0.9, gt=0, le=1)
    device: str | None = Field(
        default=None,
        description="cpu on CPU hosts: serve eagerly (vLLM picks the platform from its build; "
        "it has no --device flag since 0.10)",
    )
    enforce_eager: bool = Field(default=False, description="skip graph capture (faster start)")
    extra_args: list[str] = Field(default_factory=list, description="passed through to vLLM")


def build_vllm_command(tools: Tools, spec: ServeSpec) -> list[str]:
    command = [
        tools.vllm_python,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        spec.checkpoint,
        "--served-model-name",
        spec.served_name,
        "--host",
        "127.0.0.1",
        "--port",
        str(spec.port),
        "--tensor-parallel-size",
        str(spec.tensor_parallel_size),
        "--max-model-len",
        str(spec.max_model_len),
        "--gpu-memory-utilization",
        str(spec.gpu_memory_utilization),
    ]
    if spec.enforce_eager or spec.device == "cpu":
        command.append("--enforce-eager")
    return command + spec.extra_args


class LoadSpec(Frozen):
    target: str = Field(description="server base URL")
    model: str = Field(description="served model name")
    tokenizer: str = Field(description="local tokenizer folder (never the hub)")
    prefill_tokens: int = Field(gt=0)
    decode_tokens: int = Field(gt=0)
    output: Path = Field(description="GuideLLM JSON report")
    rate: float | None = Field(default=None, gt=0, description="None: synchronous")
    max_requests: int = Field(default=20, gt=0)
    max_seconds: float | None = Field(default=None, gt=0)
    labels: dict[str, str] = Field(default_factory=dict, description="recorded in the report")


def build_guidellm_command(tools: Tools, spec: LoadSpec) -> list[str]:
    profile = "kind=synchronous" if spec.rate is None else f"kind=constant,rate={spec.rate:g}"
    command = [
        tools.guidellm,
        "run",
        "--backend",
        f"kind=openai_http,target={spec.target},model={spec.model}",
        "--tokenizer",
        f"kind=huggingface_auto,model={spec.tokenizer}",
        "--data",
        f"kind=synthetic_text,prompt_tokens={spec.prefill_tokens},"
        f"output_tokens={spec.decode_tokens}",
        "--profile",
        profile,
        "--constraint",
        f"kind=max_requests,count={spec.max_requests}",
    ]
    if spec.max_seconds is not None:
        command += ["--constraint", f"kind=max_duration,seconds={spec.max_seconds:g}"]
    for key, value in spec.labels.items():
        command += ["--label", f"{key}={value}"]
    return [*command, "--output", f"kind=json,path={spec.output}"]


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
    model: str = Field(description="BF16 model folder")
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
