"""Accuracy with lm-eval against the running server (`local-completions`), imported with its
protocol (n-shot, chat template, filters)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from advisor.vocabulary import Frozen
from catalog.importers import lm_eval
from catalog.importers.common import ImportOptions
from profiler.commands import EvalSpec, Tools, build_lm_eval_command
from profiler.perf import GUIDELLM_HINT, Ingest, Target
from profiler.runner import ToolError, fresh_dir, run_tool

# The study's task lists (lm-eval names; Leaderboard V1 with Meta's Llama-3.1 prompts).
TASK_SETS: dict[str, list[str]] = {
    "leaderboard_v1": [
        "mmlu_llama",
        "mmlu_cot_llama",
        "arc_challenge_llama",
        "gsm8k_cot_llama",
        "hellaswag",
        "winogrande",
        "truthfulqa_mc2",
    ],
    "leaderboard_v2": [
        "leaderboard_ifeval",
        "leaderboard_bbh",
        "leaderboard_math_hard",
        "leaderboard_gpqa",
        "leaderboard_musr",
        "leaderboard_mmlu_pro",
    ],
}


class TaskSet(Frozen):
    name: str = Field(description="a named set (leaderboard_v1, leaderboard_v2) or your own")
    tasks: list[str] = Field(min_length=1, description="lm-eval task names")
    include_path: Path | None = Field(default=None, description="local task YAML folder")
    num_fewshot: int | None = Field(default=None, ge=0)
    limit: int | None = Field(default=None, gt=0)
    apply_chat_template: bool = False


def task_set(name: str, include_path: Path | None = None, limit: int | None = None) -> TaskSet:
    """A named study task set, or a comma-separated list of task names."""
    tasks = TASK_SETS.get(name, [t for t in name.split(",") if t])
    return TaskSet(name=name, tasks=tasks, include_path=include_path, limit=limit)


def profile_accuracy(
    tools: Tools,
    target: Target,
    tasks: TaskSet,
    work: Path,
    env: dict[str, str],
    timeout_s: float,
    ingest: Ingest,
) -> Path:
    """Run lm-eval, import its results; returns the results file."""
    out = fresh_dir(work, f"lm-eval-{tasks.name.replace(',', '+')}")
    spec = EvalSpec(
        target=target.base_url,
        model=target.served_name,
        tokenizer=target.tokenizer,
        tasks=tasks.tasks,
        include_path=tasks.include_path,
        output=out,
        num_fewshot=tasks.num_fewshot,
        limit=tasks.limit,
        apply_chat_template=tasks.apply_chat_template,
    )
    log = out / "lm-eval.log"
    run_tool(build_lm_eval_command(tools, spec), log, env, timeout_s, GUIDELLM_HINT)
    found = sorted(out.rglob("results_*.json"))  # a fresh folder: only this run's
    if not found:
        raise ToolError(f"lm-eval exited 0 but wrote no results under {out}; log: {log}")
    suite = tasks.name if tasks.name in TASK_SETS else None
    ingest(
        lm_eval.parse_result(
            found[-1], ImportOptions(model=target.model, format=target.format.value, suite=suite)
        )
    )
    return found[-1]
