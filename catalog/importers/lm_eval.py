"""lm-eval results JSON -> one accuracy row per task, metric and filter.

Scores that lm-eval reports as fractions (accuracy, exact match, pass@k, ...) are stored in
percent, as the study prints them; any other metric is kept as reported (score_unit `raw`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import ValidationError

from advisor.errors import ImportRejectedError, MissingFieldError
from advisor.vocabulary import format_from_name, parse_format
from catalog.importers.common import (
    ImportOptions,
    guarded,
    read_document,
    rejected_validation,
    sha256,
    utc_time,
)
from catalog.records import AccuracyRow, Batch, RunRecord, SourceRecord

FRACTION_METRIC = re.compile(
    r"^(acc|acc_norm|exact_match|em|f1|mc1|mc2|pass@\d+|prompt_level_\w+|inst_level_\w+|"
    r"brier_score|mcc|contains)$"
)


def _model_args(config: dict[str, Any]) -> dict[str, Any]:
    args = config.get("model_args")
    if isinstance(args, dict):
        return args
    if isinstance(args, str):
        return dict(part.split("=", 1) for part in args.split(",") if "=" in part)
    return {}


def _model_name(document: dict[str, Any], args: dict[str, Any]) -> str | None:
    name = args.get("pretrained") or args.get("model") or document.get("model_name")
    if not name:
        return None
    name = str(name)
    # A local checkpoint folder is known by its folder name; a hub id by the id itself.
    return Path(name).name if name.startswith(("/", ".", "~")) else name


def _groups(document: dict[str, Any]) -> dict[str, str]:
    groups: dict[str, str] = {}
    for group, tasks in (document.get("group_subtasks") or {}).items():
        for task in tasks or []:
            groups.setdefault(task, group)
    return groups


class Samples(NamedTuple):
    original: int | None
    effective: int | None
    limited: bool


def _samples(document: dict[str, Any]) -> dict[str, Samples]:
    """Documents per task, original and evaluated. lm-eval counts none for a group: it gets the
    sum of its subtasks' (nested groups included), and is `limited` where any of them is, so the
    aggregate rows of a `--limit` run are flagged as its per-task rows are."""
    counts: dict[str, Samples] = {}
    for task, c in (document.get("n-samples") or {}).items():
        if isinstance(c, dict):
            original, effective = c.get("original"), c.get("effective")
            limited = original is not None and effective is not None and effective < original
            counts[task] = Samples(original, effective, limited)
    members = document.get("group_subtasks") or {}

    def count(task: str, seen: frozenset[str]) -> Samples:
        if task in counts or task in seen or task not in members:
            return counts.get(task, Samples(None, None, False))
        parts = [count(sub, seen | {task}) for sub in members[task] or []]
        limited = any(p.limited for p in parts)
        if not parts or any(p.original is None or p.effective is None for p in parts):
            return Samples(None, None, limited)
        return Samples(
            sum(p.original or 0 for p in parts), sum(p.effective or 0 for p in parts), limited
        )

    for group in members:
        counts[group] = count(group, frozenset())
    return counts


def _number(value: Any) -> float | None:
    if value is None or value == "N/A":
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is a boolean, not a number")
    return float(value)


def _rows(document: dict[str, Any], suite: str | None) -> list[AccuracyRow]:
    results = document["results"]
    groups = _groups(document)
    n_shots = document.get("n-shot") or {}
    versions = document.get("versions") or {}
    samples = _samples(document)
    rows = []
    for task, metrics in results.items():
        if not isinstance(metrics, dict):
            raise ValueError(f"results[{task!r}] is not an object")
        counts = samples.get(task, Samples(None, None, False))
        for key, value in metrics.items():
            if "," not in key or "_stderr," in key or value is None or isinstance(value, str):
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"results[{task!r}][{key!r}] is {value!r}, not a number")
            metric, filter_name = key.split(",", 1)
            fraction = bool(FRACTION_METRIC.match(metric))
            scale = 100.0 if fraction else 1.0
            stderr = _number(metrics.get(f"{metric}_stderr,{filter_name}"))
            rows.append(
                AccuracyRow(
                    suite=suite or groups.get(task, "lm-eval"),
                    task=task,
                    metric=metric,
                    filter=filter_name,
                    n_shot=n_shots.get(task),
                    score=float(value) * scale,
                    score_unit="pct" if fraction else "raw",
                    stderr=None if stderr is None else stderr * scale,
                    n_samples=counts.original,
                    n_samples_effective=counts.effective,
                    limited=counts.limited,
                    task_version=None if versions.get(task) is None else str(versions[task]),
                )
            )
    return rows


@guarded
def parse_result(path: Path, options: ImportOptions | None = None) -> Batch:
    """Read one lm-eval results file into a batch: one run, a row per task/metric/filter."""
    options = options or ImportOptions()
    raw, document = read_document(path)
    if not isinstance(document, dict) or not isinstance(document.get("results"), dict):
        raise ImportRejectedError(
            str(path),
            "not an lm-eval results file: no 'results' object (expected lm-eval 0.4 output)",
        )
    config = document.get("config") or {}
    args = _model_args(config)
    model = options.model or _model_name(document, args)
    if not model:
        raise MissingFieldError(str(path), "model", "model")
    fmt = parse_format(options.format) if options.format else format_from_name(model)
    if fmt is None:
        raise MissingFieldError(str(path), "quantization format", "format")
    try:
        rows = _rows(document, options.suite)
    except ValidationError as exc:
        raise rejected_validation(path, "results", exc) from exc
    except (TypeError, ValueError, AttributeError) as exc:
        raise ImportRejectedError(str(path), f"results: {exc}") from exc
    if not rows:
        raise ImportRejectedError(str(path), "the results hold no scores")
    date = document.get("date")
    digest = sha256(raw)
    protocol = {
        "model_args": args,
        "backend": config.get("model"),
        "batch_size": config.get("batch_size"),
        "limit": config.get("limit"),
        "chat_template": document.get("chat_template") is not None,
        "fewshot_as_multiturn": document.get("fewshot_as_multiturn"),
        "system_instruction": document.get("system_instruction"),
        "gen_kwargs": config.get("gen_kwargs"),
    }
    source = SourceRecord(
        kind="lm-eval",
        name=f"{path.name}#{digest[:8]}",
        uri=str(path.resolve()),
        sha256=digest,
        tool="lm-eval",
        tool_version=str(document.get("lm_eval_version") or "unknown"),
        details={
            **protocol,
            "transformers_version": document.get("transformers_version"),
            "git_hash": document.get("git_hash"),
            "total_evaluation_time_s": _number(document.get("total_evaluation_time_seconds")),
            "model_name": document.get("model_name"),
        },
    )
    run = RunRecord(
        label=path.name,
        model=model,
        format=fmt,
        method=options.method,
        started_at=utc_time(date, "date"),
        args=protocol,
        accuracy=rows,
    )
    return Batch(source=source, runs=[run])
