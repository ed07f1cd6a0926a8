"""The published model cards (`data/cards_*.csv`) as batches: one source per card.

Performance rows become synchronous and (unconstrained) asynchronous results of catalog models;
accuracy triplets become published accuracy rows of whatever model the card is about. Formats
are mapped to the catalog's; INT8 weight-only (`W8A16-INT`) has none and is skipped.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Callable

from advisor.vocabulary import Format
from catalog.records import (
    AsyncRow,
    Batch,
    PublishedAccuracyRow,
    RunRecord,
    SourceRecord,
    SyncRow,
)

PERFORMANCE = "cards_performance.csv"
ACCURACY = "cards_accuracy.csv"
CARD_FORMATS = {
    "BF16": Format.BF16,
    "W8A8-FP8": Format.FP8,
    "W8A8-INT8": Format.INT8,
    "W4A16-INT": Format.INT4,
}
SKIPPED_FORMATS = ("W8A16-INT",)
CITATION = "Red Hat AI / Neural Magic model card on Hugging Face (vLLM + GuideLLM, study method)"
_ENGINE = re.compile(r"vLLM\s*(\d+(?:\.[0-9A-Za-z]+)+)")
_QUANTIZED_SUFFIX = re.compile(
    r"-(quantized\.w\d+a\d+|fp8-dynamic|fp8-block|block-fp8|fp8)$", re.IGNORECASE
)

Resolve = Callable[[str], str | None]


def card_format(text: str) -> Format | None:
    """The catalog format of a card's spelling (`W8A8-FP8 (block-wise)` -> fp8); None: skipped."""
    base = text.split(" (", 1)[0].strip()
    if base in SKIPPED_FORMATS:
        return None
    if base not in CARD_FORMATS:
        raise ValueError(f"unknown card format {text!r}; known: {sorted(CARD_FORMATS)}")
    return CARD_FORMATS[base]


def engine_version(notes: str) -> str | None:
    """`vLLM0.7.2 GuideLLM ...` -> `0.7.2`."""
    found = _ENGINE.search(notes)
    return found.group(1) if found else None


def protocol(notes: str) -> str:
    """P1/P2/P3 from the notes; `P1-legacy` (an older fork of the study's harness) counts as P1."""
    found = re.match(r"\s*(P[123])", notes)
    if found is None:
        raise ValueError(f"accuracy row without a protocol in its notes: {notes!r}")
    return found.group(1)


def suite_and_task(benchmark: str, proto: str) -> tuple[str, str, int | None]:
    """(suite, task, n-shot) of a card's benchmark label.

    Open LLM V1 under the study's protocol (P1, Meta-style prompts) is the study's
    `leaderboard_v1`; under P2/P3 (lm-eval `openllm`, ARC 25-shot, ...) it is `openllm_v1`, so
    the two are never averaged as one. V2 is the lm-eval `leaderboard` task set in every protocol.
    """
    group, _, rest = benchmark.partition(":")
    group = group.strip().lower()
    shots = re.search(r"(\d+)-shot", rest)
    n_shot = int(shots.group(1)) if shots else None
    name = rest.lower()
    name = re.sub(r"\[.*?\]|\(.*?\)", "", name).replace("+", "_plus").replace("pass@1", "")
    name = re.sub(r"pass@(\d+)", r"pass\1", name)
    task = re.sub(r"[^a-z0-9]+", "_", name).strip("_")
    if task in {"average", "average_score"} or not task:
        task = "average"
    if group.startswith("summary"):
        # A summary sentence names the suite; its one figure is the suite's average recovery.
        if "openllm v1" in name:
            return ("leaderboard_v1" if proto == "P1" else "openllm_v1"), "average", None
        if "openllm v2" in name:
            return "leaderboard_v2", "average", None
        return "real_world", task, None
    if group == "openllm v1":
        return ("leaderboard_v1" if proto == "P1" else "openllm_v1"), task, n_shot
    if group == "openllm v2":
        return "leaderboard_v2", task, n_shot
    if group.startswith("arena"):
        return "real_world", "arena_hard", None
    return re.sub(r"[^a-z0-9]+", "_", group).strip("_"), task, n_shot


def base_model_name(quantized: str) -> str:
    """`RedHatAI/Meta-Llama-3.1-8B-Instruct-FP8-dynamic` -> `Meta-Llama-3.1-8B-Instruct`."""
    name = quantized.split(" (", 1)[0].split("/")[-1]
    return _QUANTIZED_SUFFIX.sub("", name)


def _digest(*parts: list[dict[str, str]]) -> str:
    digest = hashlib.sha256()
    for rows in parts:
        for row in rows:
            digest.update(repr(sorted(row.items())).encode())
    return digest.hexdigest()


def _source(url: str, rows: list[dict[str, str]], accuracy: list[dict[str, str]]) -> SourceRecord:
    return SourceRecord(
        kind="card",
        name=url.removeprefix("https://huggingface.co/"),
        uri=url,
        sha256=_digest(rows, accuracy),
        citation=CITATION,
        host="embedded",
        details={
            "transcribed_from": "../shared/data/model-cards (data/README.md)",
            "files": [PERFORMANCE, ACCURACY],
        },
    )


def _price_key(row: dict[str, str]) -> tuple[str, ...]:
    """A card's queries-per-dollar row sits beside the sync or async figure it prices."""
    mode = "async" if "async" in row["notes"] else "sync"
    return (row["model"], row["format"], row["gpu"], row["n_gpus"], row["use_case"], mode)


def _perf_runs(rows: list[dict[str, str]], resolve: Resolve) -> list[RunRecord]:
    qpd = {_price_key(r): r for r in rows if r["metric"] == "qpd"}
    grouped: dict[tuple[str, Format, str, int, str | None], list[dict[str, str]]] = defaultdict(
        list
    )
    for r in rows:
        fmt = card_format(r["format"])
        if r["metric"] == "qpd" or fmt is None:
            continue
        model = resolve(r["model"])
        if model is None:
            raise ValueError(f"card model {r['model']!r} is not a catalog model (data/aliases.csv)")
        key = (model, fmt, r["gpu"].lower(), int(r["n_gpus"]), engine_version(r["notes"]))
        grouped[key].append(r)
    runs = []
    for (model, fmt, gpu, count, version), cells in grouped.items():
        sync, async_ = [], []
        for c in cells:
            price = qpd.get(_price_key(c))
            shape = {
                "use_case": c["use_case"],
                "prefill_tokens": int(c["prefill_tokens"]),
                "decode_tokens": int(c["decode_tokens"]),
                "published_queries_per_usd": float(price["value"]) if price else None,
            }
            if c["metric"] == "latency_s":
                sync.append(SyncRow(latency_s=float(c["value"]), **shape))
            elif c["metric"] == "max_qps":
                # The cards state no TTFT/ITL limit: saturating throughput (NULL limits).
                async_.append(AsyncRow(max_qps=float(c["value"]), **shape))
            else:
                raise ValueError(f"unknown card metric {c['metric']!r}")
        runs.append(
            RunRecord(
                label="card",
                model=model,
                format=fmt,
                gpu=gpu,
                gpu_count=count,
                engine="vllm",
                engine_version=version,
                args={"load_generator": "guidellm", "notes": sorted({c["notes"] for c in cells})},
                sync=sync,
                async_=async_,
            )
        )
    return runs


def _accuracy(rows: list[dict[str, str]], resolve: Resolve) -> list[PublishedAccuracyRow]:
    """One row per (benchmark, quantized model): its score, recovery and the latest baseline."""
    baseline: dict[str, tuple[str, float]] = {}
    found: dict[tuple[str, str, str], dict[str, object]] = {}
    for r in rows:
        if r["metric"] == "score_baseline":
            baseline[r["use_case"]] = (r["model"], float(r["value"]))
            continue
        fmt = card_format(r["format"])
        if fmt is None:
            continue
        entry = found.setdefault(
            (r["use_case"], r["model"], r["format"]),
            {"fmt": fmt, "notes": r["notes"], "base": baseline.get(r["use_case"])},
        )
        entry[r["metric"]] = float(r["value"])
    out = []
    for (benchmark, quantized, spelling), entry in found.items():
        proto = protocol(str(entry["notes"]))
        suite, task, n_shot = suite_and_task(benchmark, proto)
        base = entry["base"]
        published = base[0] if isinstance(base, tuple) else base_model_name(quantized)
        out.append(
            PublishedAccuracyRow(
                model=resolve(published) or resolve(f"meta-llama/{published}") or published,
                quantized_model=quantized,
                format=entry["fmt"],
                format_detail=spelling,
                suite=suite,
                task=task,
                benchmark=benchmark,
                n_shot=n_shot,
                score=entry.get("score_quantized"),
                baseline_score=base[1] if isinstance(base, tuple) else None,
                recovery_pct=entry.get("recovery_pct"),
                protocol=proto,
                notes=str(entry["notes"]),
            )
        )
    return out


def card_batches(
    performance: list[dict[str, str]], accuracy: list[dict[str, str]], resolve: Resolve
) -> list[Batch]:
    """One batch per card, in the order the cards first appear; `resolve` maps a published model
    name to a catalog model id (None: not a catalog model)."""
    perf_by: dict[str, list[dict[str, str]]] = defaultdict(list)
    acc_by: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in performance:
        perf_by[r["source"]].append(r)
    for r in accuracy:
        acc_by[r["source"]].append(r)
    batches = []
    for url in dict.fromkeys([*perf_by, *acc_by]):
        batches.append(
            Batch(
                source=_source(url, perf_by[url], acc_by[url]),
                runs=_perf_runs(perf_by[url], resolve),
                published_accuracy=_accuracy(acc_by[url], resolve),
            )
        )
    return batches


def skipped_rows(performance: list[dict[str, str]], accuracy: list[dict[str, str]]) -> int:
    """Rows in a format the catalog has no name for (INT8 weight-only)."""
    return sum(
        1 for r in [*performance, *accuracy] if r["format"].split(" (", 1)[0] in SKIPPED_FORMATS
    )
