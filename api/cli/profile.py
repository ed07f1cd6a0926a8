"""`advisor profile ...`: flags in, a profiling session of `profiler.session` out, a table back."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from advisor.errors import InvalidInputError
from advisor.query import STUDY_ITL_LIMIT_MS, STUDY_TTFT_LIMIT_MS
from api.cli.shell import err, opened, out
from api.render import print_table
from catalog import queries
from profiler.runner import Stopped, stop_on_signals


class ProfileGroup(click.Group):
    """SIGTERM and SIGHUP (from `timeout`, systemd, Kubernetes, a closed terminal) stop a
    profile command as Ctrl-C does: every tool's process group is stopped and reaped on the way
    out; then one line, and exit status 128 + the signal's number."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with stop_on_signals():
                return super().invoke(ctx)
        except Stopped as exc:
            err.print(
                f"[bold red]error:[/] {exc}; every tool it started was stopped",
                highlight=False,
                soft_wrap=True,
            )
            sys.exit(128 + exc.signum)


@click.group("profile", cls=ProfileGroup)
def profile_group() -> None:
    """Measure models with the real tools (llmcompressor, vLLM, GuideLLM, lm-eval)."""


@profile_group.command("quantize")
@click.option("--model", required=True, help="BF16 model folder, or hub id on a connected host.")
@click.option("--format", "fmt", required=True, type=click.Choice(["fp8", "int8", "int4"]))
@click.option(
    "--calibration",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Local JSONL ('text' field) or text file; needed for int8 and int4.",
)
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--samples", default=512, show_default=True, type=click.IntRange(1))
@click.option("--max-seq-len", default=2048, show_default=True, type=click.IntRange(16))
@click.pass_context
def profile_quantize(
    ctx: click.Context,
    model: str,
    fmt: str,
    calibration: Path | None,
    out: Path,
    samples: int,
    max_seq_len: int,
) -> None:
    """Quantize with llmcompressor and the study's recipes into a compressed-tensors checkpoint."""
    from advisor.vocabulary import Format
    from profiler.commands import QuantizeSpec
    from profiler.session import find_tools, quantize

    if fmt != "fp8" and calibration is None:
        raise InvalidInputError(f"--calibration FILE is required for {fmt} (GPTQ needs data)")
    spec = QuantizeSpec(
        model=model,
        format=Format(fmt),
        calibration=calibration,
        out=out,
        samples=samples,
        max_seq_len=max_seq_len,
    )
    seconds = quantize(find_tools(ctx.obj.tools_dir), spec)
    click.echo(f"{out}: {fmt} checkpoint in {seconds:.0f} s (recipe in {out}/recipe.yaml)")


def serve_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """The flags of the checkpoint to serve, shared by `perf` and `accuracy`."""
    options = [
        click.option(
            "--checkpoint", required=True, help="Model folder (or hub id on a connected host)."
        ),
        click.option("--model", required=True, help="Catalog model id the rows are for."),
        click.option("--format", "fmt", required=True, help="bf16, fp8, int8 or int4."),
        click.option("--gpu", required=True, help="Catalog GPU id of this host."),
        click.option(
            "--gpus",
            "gpu_count",
            default=1,
            show_default=True,
            type=click.IntRange(1),
            help="GPUs (tensor-parallel size).",
        ),
        click.option("--tokenizer", help="Local tokenizer folder (default: the checkpoint)."),
        click.option("--max-model-len", default=4096, show_default=True, type=click.IntRange(16)),
        click.option("--device", help="cpu on CPU hosts (default: vLLM's choice)."),
        click.option("--enforce-eager", is_flag=True, help="Skip graph capture (faster start)."),
        click.option(
            "--work-dir",
            default="profile-runs",
            show_default=True,
            type=click.Path(file_okay=False, path_type=Path),
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


@profile_group.command("perf")
@serve_options
@click.option("--use-case", "use_cases", multiple=True, help="Use case id (repeat); default: all.")
@click.option("--prefill", type=click.IntRange(1), help="Prompt tokens (with --decode).")
@click.option("--decode", type=click.IntRange(1), help="Output tokens.")
@click.option("--ttft-ms", default=STUDY_TTFT_LIMIT_MS, show_default=True, type=float)
@click.option("--itl-ms", default=STUDY_ITL_LIMIT_MS, show_default=True, type=float)
@click.option(
    "--percentile", default=99.0, show_default=True, type=click.Choice([50.0, 90.0, 95.0, 99.0])
)
@click.option("--probe-seconds", default=60.0, show_default=True, type=float)
@click.pass_context
def profile_perf(
    ctx: click.Context,
    /,
    use_cases: tuple[str, ...],
    prefill: int | None,
    decode: int | None,
    ttft_ms: float,
    itl_ms: float,
    percentile: float,
    probe_seconds: float,
    fmt: str,
    **serve: Any,
) -> None:
    """Serve a checkpoint, then per use case: a synchronous GuideLLM run and the search for the
    highest constant rate within the tail TTFT/ITL limits; every report goes into the catalog."""
    from profiler.perf import SearchSettings
    from profiler.ratesearch import Limits
    from profiler.session import ServeOptions, find_tools, measure_performance, workloads_for

    options = ServeOptions.of(fmt, **serve)
    settings = SearchSettings(
        limits=Limits(ttft_ms=ttft_ms, itl_ms=itl_ms, percentile=percentile),
        probe_seconds=probe_seconds,
    )
    with opened(ctx, read_only=False) as con:
        workloads = workloads_for(queries.use_case_tokens(con), use_cases, prefill, decode)
        results = measure_performance(
            con, find_tools(ctx.obj.tools_dir), options, workloads, settings
        )
    rows = [
        [
            workload.use_case or f"{workload.prefill_tokens}/{workload.decode_tokens}",
            result.sync_latency_s,
            result.max_qps,
            result.runs,
            result.decision,
        ]
        for workload, result in results
    ]
    print_table(out, ["workload", "sync latency s", "max QPS", "GuideLLM runs", "search"], rows)


@profile_group.command("accuracy")
@serve_options
@click.option(
    "--tasks",
    "task_names",
    required=True,
    help="A task set (leaderboard_v1, leaderboard_v2) or comma-separated lm-eval tasks.",
)
@click.option(
    "--include-path",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder of local task YAML.",
)
@click.option("--limit", type=click.IntRange(1), help="Documents per task (a smoke run).")
@click.pass_context
def profile_accuracy_cmd(
    ctx: click.Context,
    /,
    task_names: str,
    include_path: Path | None,
    limit: int | None,
    fmt: str,
    **serve: Any,
) -> None:
    """Serve a checkpoint and score it with lm-eval (local-completions) into the catalog."""
    from profiler.accuracy import task_set
    from profiler.session import ServeOptions, find_tools, measure_accuracy

    tasks = task_set(task_names, include_path, limit)
    options = ServeOptions.of(fmt, **serve)
    with opened(ctx, read_only=False) as con:
        results = measure_accuracy(con, find_tools(ctx.obj.tools_dir), options, tasks)
    click.echo(f"imported {results}")


@profile_group.command("run")
@click.argument("plan_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Print every command; run nothing.")
@click.option("--force", is_flag=True, help="Run cells that are already in the catalog again.")
@click.option(
    "--ray",
    "ray_address",
    is_flag=False,
    flag_value="auto",
    metavar="[ADDRESS|auto|local]",
    help="Run the cells as Ray tasks: local (a private cluster on this host, the plan's GPUs "
    "as logical GPUs), auto or ADDRESS (a running cluster). Bare --ray: auto.",
)
@click.pass_context
def profile_run(
    ctx: click.Context, plan_file: Path, dry_run: bool, force: bool, ray_address: str | None
) -> None:
    """Run a profiling plan (models x formats x GPU counts x use cases x task sets)."""
    from profiler.plan import load_plan
    from profiler.session import plan_runner

    plan = load_plan(plan_file)
    with opened(ctx, read_only=dry_run) as con:
        runner = plan_runner(
            con, plan, ctx.obj.tools_dir, lambda line: err.print(line, highlight=False), force
        )
        if dry_run:
            for line in _dry_run_lines(runner, ray_address is not None):
                click.echo(line if isinstance(line, str) else shlex.join(line))
            return
        if ray_address is None:
            outcomes = runner.run()
        else:
            from profiler.cluster import run_on_ray

            outcomes = run_on_ray(runner, ray_address)
    rows = [[o.cell, o.status, f"{o.seconds:.0f}", o.detail] for o in outcomes]
    print_table(out, ["cell", "status", "s", "detail"], rows, f"Plan {plan.name}")
    if any(o.status == "failed" for o in outcomes):
        sys.exit(1)


def _dry_run_lines(runner: Any, ray: bool) -> list[str | list[str]]:
    if not ray:
        return list(runner.dry_run())
    from profiler.resources import dry_run_lines

    return dry_run_lines(runner)
