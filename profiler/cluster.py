"""Plans on a Ray cluster (`advisor profile run PLAN --ray`): every cell is a Ray task asking for
its GPUs (`profiler.resources`), the quantize step of each (model, format) is a task the cells
that need it depend on, and the driver, the one catalog writer, imports each cell's batches as
the cell finishes.

Ray is imported here only, and only when a plan runs on it: the advisor installs without it.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from pydantic import Field

from advisor.errors import InvalidInputError
from advisor.vocabulary import Format, Frozen
from profiler.accuracy import TaskSet
from profiler.perf import Workload
from profiler.plan import Cell, CellOutcome, CellResult, PlanRunner, cell_key, cells
from profiler.resources import cell_request, gpu_resource, quantize_request, task_name
from profiler.runner import STOP_SIGNALS, Stopped, stop_recorded_groups

LOCAL = "local"
STOP_GRACE_S = 30.0  # above runner.stop_group's 15 s, so a graceful stop can finish
POLL_S = 1.0


class Placement(Frozen):
    """Where and when a cell's task ran, as Ray assigned it."""

    node: str
    gpu_ids: list[str]
    started_s: float = Field(description="wall-clock time (epoch seconds)")
    ended_s: float


class CellRun(Frozen):
    key: str
    result: CellResult
    placement: Placement


class CellFailed(Exception):
    """A cell whose tools failed: raised by its task so that Ray retries it once; the last
    attempt's run travels with it."""

    def __init__(self, run: CellRun) -> None:
        super().__init__(run)
        self.run = run


@contextmanager
def connected(address: str, gpu: str, gpus: int) -> Iterator[None]:
    """Ray for the block: `local` starts a private single-node cluster on loopback that
    declares `gpus` logical GPUs of the type (so a CPU host runs a plan); `auto` or an address
    joins a running cluster. A Ray already initialised in this process is used as it is."""
    if address == LOCAL:
        # Otherwise Ray binds the host's external interface (real-tools notes, Ray section).
        # Ray reads it when imported, and the processes it starts inherit it.
        os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    import ray

    if ray.is_initialized():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    if address == LOCAL:
        ray.init(
            num_gpus=gpus,
            resources={gpu_resource(gpu): gpus},
            include_dashboard=False,
            logging_level=logging.WARNING,
        )
    else:
        try:
            ray.init(address=address, logging_level=logging.WARNING)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise InvalidInputError(
                f"--ray {address}: no Ray cluster to join ({str(exc).splitlines()[0]}); "
                "accepted: local, auto (a cluster started with `ray start --head`), HOST:PORT"
            ) from exc
    # ray.init takes SIGTERM for itself; the profiler's own stop (Stopped) must stay in charge.
    if threading.current_thread() is threading.main_thread():
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    try:
        yield
    finally:
        ray.shutdown()


def node_gpus(gpu: str) -> int:
    """Most GPUs of the type on one alive node; an error naming the resource when none has it."""
    import ray

    label = gpu_resource(gpu)
    counts = [int(n["Resources"].get(label, 0)) for n in ray.nodes() if n.get("Alive")]  # type: ignore[no-untyped-call]
    if not any(counts):
        raise InvalidInputError(
            f"no node of the Ray cluster offers {label}; start each {gpu} node with "
            f"ray start --resources='{{\"{label}\": <its GPU count>}}'"
        )
    return max(counts)


class _Progress:
    """A Ray actor the cells' tasks tell when they start, so the driver can tell running from
    queued."""

    def __init__(self) -> None:
        self.started: dict[str, float] = {}

    def start(self, key: str, at_s: float) -> None:
        self.started[key] = at_s

    def snapshot(self) -> dict[str, float]:
        return dict(self.started)


def _quantize_task(runner: PlanRunner, cell: Cell) -> float | None:
    groups = runner.groups_file(cell).with_name("quantize-process-groups")
    groups.parent.mkdir(parents=True, exist_ok=True)
    stop_recorded_groups(groups)
    return runner.quantize(cell, groups)


def _cell_task(
    runner: PlanRunner,
    cell: Cell,
    todo_perf: list[Workload],
    todo_acc: list[TaskSet],
    progress: Any,
    *_checkpoints: float | None,
) -> CellRun:
    """One cell on its worker; the checkpoints it waits for come in as resolved arguments."""
    import ray

    key = cell_key(cell)
    started = time.time()
    progress.start.remote(key, started)
    context = ray.get_runtime_context()
    gpu_ids = [str(i) for i in ray.get_gpu_ids()]
    groups = runner.groups_file(cell)
    groups.parent.mkdir(parents=True, exist_ok=True)
    stop_recorded_groups(groups)  # a lost attempt's tools here (its worker killed) go first
    batches: list[Any] = []
    outcome = runner.measure(cell, todo_perf, todo_acc, batches.append, groups)
    run = CellRun(
        key=key,
        result=CellResult(outcome=outcome, batches=batches),
        placement=Placement(
            node=context.get_node_id(), gpu_ids=gpu_ids, started_s=started, ended_s=time.time()
        ),
    )
    if outcome.status == "failed":
        raise CellFailed(run)
    return run


class RayPlan:
    """One plan's run on Ray: submit, wait, import, report; cancel everything on a stop."""

    def __init__(
        self, runner: PlanRunner, stop_grace_s: float = STOP_GRACE_S, retries: int = 1
    ) -> None:
        self.runner = runner
        self.stop_grace_s = stop_grace_s
        self.retries = retries
        self.placements: dict[str, Placement] = {}
        self.submitted_s: dict[str, float] = {}

    def run(self, address: str) -> list[CellOutcome]:
        runner = self.runner
        all_cells = list(cells(runner.plan))
        outcomes: dict[str, CellOutcome] = {}
        todo: dict[str, tuple[Cell, list[Workload], list[TaskSet]]] = {}
        for cell in all_cells:
            perf, acc = runner.pending(cell)
            if perf or acc:
                todo[cell_key(cell)] = (cell, perf, acc)
            else:
                outcomes[cell_key(cell)] = CellOutcome(
                    cell=cell_key(cell),
                    status="skipped",
                    seconds=0.0,
                    detail="already in the catalog",
                )
        if todo:
            largest = max(cell.gpu_count for cell, _, _ in todo.values())
            with connected(address, runner.plan.gpu, largest):
                self._schedule(todo, outcomes)
        return [outcomes[cell_key(cell)] for cell in all_cells]

    def _after(
        self, todo: dict[str, tuple[Cell, list[Workload], list[TaskSet]]]
    ) -> dict[str, set[str]]:
        """Cells that must wait for others: with similarity prompts, a cell scores against (or
        writes) its model's bf16 answers, so it runs after the earlier bf16 cells of its model,
        as in the sequential order."""
        after: dict[str, set[str]] = {key: set() for key in todo}
        if self.runner.plan.similarity_prompts is None:
            return after
        keys = list(todo)
        for i, key in enumerate(keys):
            cell = todo[key][0]
            after[key] = {
                k
                for k in keys[:i]
                if todo[k][0].model == cell.model and todo[k][0].format is Format.BF16
            }
        return after

    def _schedule(
        self,
        todo: dict[str, tuple[Cell, list[Workload], list[TaskSet]]],
        outcomes: dict[str, CellOutcome],
    ) -> None:
        import ray
        from ray.util.placement_group import placement_group
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        runner, plan, say = self.runner, self.runner.plan, self.runner.say
        widest = node_gpus(plan.gpu)
        shipped = ray.put(runner.detached())
        progress = ray.remote(num_cpus=0)(_Progress).remote()
        quantize_remote = ray.remote(_quantize_task)
        cell_remote = ray.remote(_cell_task)
        checkpoints: dict[tuple[str, Format], Any] = {}
        for cell, _, _ in todo.values():
            spec = runner.checkpoint(cell)[1]
            if spec is None or (spec.out / "config.json").exists():
                continue
            if (cell.model.name, cell.format) not in checkpoints:
                request = quantize_request(plan.gpu)
                checkpoints[(cell.model.name, cell.format)] = quantize_remote.options(
                    name=task_name("quantize", cell.model.name, cell.format, plan.gpu, 1),
                    num_cpus=request.num_cpus,
                    num_gpus=request.num_gpus,
                    resources=request.resources,
                    max_retries=self.retries,
                    retry_exceptions=True,
                ).remote(shipped, cell)
        after = self._after(todo)
        live: dict[Any, str] = {}

        def submit(key: str) -> None:
            cell, perf, acc = todo[key]
            request = cell_request(plan.gpu, cell.gpu_count, widest)
            options: dict[str, Any] = {
                "name": task_name("cell", cell.model.name, cell.format, plan.gpu, cell.gpu_count),
                "num_cpus": request.num_cpus,
                "num_gpus": request.num_gpus,
                "resources": request.resources,
                "max_retries": self.retries,
                "retry_exceptions": [CellFailed],
            }
            if request.bundles is not None:
                group = placement_group(request.bundles, strategy=request.strategy)
                options["scheduling_strategy"] = PlacementGroupSchedulingStrategy(
                    placement_group=group, placement_group_bundle_index=0
                )
            needs = [checkpoints[k] for k in [(cell.model.name, cell.format)] if k in checkpoints]
            ref = cell_remote.options(**options).remote(shipped, cell, perf, acc, progress, *needs)
            live[ref] = key
            self.submitted_s[key] = time.monotonic()

        for key, waits in after.items():
            if not waits:
                submit(key)
        with _remembering_stops() as stops:
            try:
                self._wait(live, todo, outcomes, after, submit, progress)
            except KeyboardInterrupt as exc:
                self._cancel(live, todo, say)
                if stops and not isinstance(exc, Stopped):
                    raise Stopped(stops[0]) from None
                raise

    def _wait(
        self,
        live: dict[Any, str],
        todo: dict[str, tuple[Cell, list[Workload], list[TaskSet]]],
        outcomes: dict[str, CellOutcome],
        after: dict[str, set[str]],
        submit: Callable[[str], None],
        progress: Any,
    ) -> None:
        """Import each cell as it finishes and start the cells that waited for it; a line on
        every start and end."""
        import ray

        announced: set[str] = set()
        while live:
            ready, _ = ray.wait(list(live), num_returns=1, timeout=POLL_S)
            started: dict[str, float] = ray.get(progress.snapshot.remote())
            for key in [k for k in live.values() if k in started and k not in announced]:
                announced.add(key)
                self.runner.say(_counts(todo, outcomes, live, started) + f" {key}: started")
            for ref in ready:
                key = live.pop(ref)
                outcomes[key] = self._collect(ref, todo[key][0])
                for other, waits in after.items():
                    if key in waits:
                        waits.discard(key)
                        if not waits:
                            submit(other)
                o = outcomes[key]
                self.runner.say(
                    _counts(todo, outcomes, live, started)
                    + f" {o.cell}: {o.status} in {o.seconds:.0f} s: {o.detail}"
                )

    def _collect(self, ref: Any, cell: Cell) -> CellOutcome:
        """The cell's outcome, its batches imported; a task Ray gave up on is a failed cell
        with the error (and error.txt), as a tool's failure is."""
        import ray

        key = cell_key(cell)
        try:
            run: CellRun = ray.get(ref)
        except CellFailed as exc:
            run = getattr(exc, "cause", exc).run
        except ray.exceptions.RayError as exc:
            stop_recorded_groups(self.runner.groups_file(cell))  # those on this host
            work = self.runner.cell_dir(cell)
            work.mkdir(parents=True, exist_ok=True)
            (work / "error.txt").write_text(f"{exc}\n{traceback.format_exc()}")
            first = str(exc).strip().splitlines()
            return CellOutcome(
                cell=key,
                status="failed",
                seconds=time.monotonic() - self.submitted_s[key],
                detail=f"{type(exc).__name__}: {first[-1] if first else ''}",
                log=str(work / "error.txt"),
            )
        for batch in run.result.batches:
            self.runner.ingest(batch)
        self.placements[key] = run.placement
        return run.result.outcome

    def _cancel(
        self,
        live: dict[Any, str],
        todo: dict[str, tuple[Cell, list[Workload], list[TaskSet]]],
        say: Callable[[str], None],
    ) -> None:
        """Gracefully first (KeyboardInterrupt in each task: its `finally` stops the tools'
        process groups), then by force what is still running after the grace period, and the
        tools such a task leaves on this host."""
        import ray

        refs = list(live)
        if not refs:
            return
        say(f"stopping {len(refs)} cells (up to {self.stop_grace_s:g} s)")
        for ref in refs:
            ray.cancel(ref)
        deadline = time.monotonic() + self.stop_grace_s
        pending = refs
        while pending and time.monotonic() < deadline:
            try:
                _, pending = ray.wait(pending, num_returns=len(pending), timeout=POLL_S)
            except KeyboardInterrupt:  # a second Ctrl-C: stop waiting, force
                break
        for ref in pending:
            ray.cancel(ref, force=True)
        for ref in pending:
            stop_recorded_groups(self.runner.groups_file(todo[live[ref]][0]))


def _counts(
    todo: dict[str, Any],
    outcomes: dict[str, CellOutcome],
    live: dict[Any, str],
    started: dict[str, float],
) -> str:
    ran = [outcomes[k] for k in todo if k in outcomes]
    running = sum(1 for k in live.values() if k in started)
    queued = len(todo) - len(ran) - running
    done = sum(o.status == "done" for o in ran)
    failed = sum(o.status == "failed" for o in ran)
    return f"[{done} done, {running} running, {queued} queued, {failed} failed]"


@contextmanager
def _remembering_stops() -> Iterator[list[int]]:
    """The stop signals that arrive in the block, passed on to the handlers in place. Ray turns
    an exception raised by a signal handler during its calls into a bare KeyboardInterrupt;
    this keeps which signal it was (so SIGTERM still exits 143)."""
    seen: list[int] = []
    if threading.current_thread() is not threading.main_thread():  # signals go to the main one
        yield seen
        return
    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}

    def handle(signum: int, frame: FrameType | None) -> None:
        seen.append(signum)
        handler = previous[signal.Signals(signum)]
        if callable(handler):
            handler(signum, frame)
        elif handler == signal.SIG_DFL:
            raise Stopped(signum)

    for sig in STOP_SIGNALS:
        signal.signal(sig, handle)
    try:
        yield seen
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_on_ray(runner: PlanRunner, address: str) -> list[CellOutcome]:
    """The plan's cells on Ray (`local`, `auto` or a cluster address)."""
    return RayPlan(runner).run(address)
