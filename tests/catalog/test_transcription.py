"""Recompute every derived figure the study prints from the transcribed raw values.

A printed value `v` with `d` decimals stands for anything in [v - 0.5*10^-d, v + 0.5*10^-d]
(thousands written `20.2k` stand for +-50). A derived figure matches when the value printed for
it lies within the range its rounded inputs allow, widened by its own rounding. That is how we
know the transcription is right: a mistyped digit moves a figure out of its range.
"""

from __future__ import annotations

import csv
import itertools
import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "data"


def read(name: str) -> list[dict[str, str]]:
    with (DATA / name).open() as f:
        return list(csv.DictReader(f))


class Printed:
    """A number as printed, with the interval its rounding stands for."""

    def __init__(self, text: str) -> None:
        text = text.replace(",", "").strip()
        scale = 1000.0 if text.endswith("k") else 1.0
        digits = text.rstrip("k")
        decimals = len(digits.split(".")[1]) if "." in digits else 0
        self.value = float(digits) * scale
        self.half = 0.5 * 10**-decimals * scale

    @property
    def lo(self) -> float:
        return self.value - self.half

    @property
    def hi(self) -> float:
        return self.value + self.half

    def admits(self, lo: float, hi: float) -> bool:
        """Whether some value in [lo, hi] rounds to this printed value."""
        return lo <= self.hi + 1e-9 and hi >= self.lo - 1e-9


def bounds(f: Callable[..., float], *inputs: Printed) -> tuple[float, float]:
    """Range of f over the rounding box of its inputs (f monotone in each input)."""
    corners = [f(*c) for c in itertools.product(*[(p.lo, p.hi) for p in inputs])]
    return min(corners), max(corners)


def mean_bounds(parts: Sequence[tuple[float, float]]) -> tuple[float, float]:
    return statistics.fmean(p[0] for p in parts), statistics.fmean(p[1] for p in parts)


ACCURACY = read("study_accuracy.csv")
SYNC = read("study_sync.csv")
ASYNC = read("study_async.csv")
LATENCY_SENSITIVE = {
    "code_completion",
    "docstring_generation",
    "code_fixing",
    "rag",
    "instruction_following",
    "multi_turn_chat",
}
# Table 9: the study's own list among the shipped ones.
PRICES = {
    (r["gpu"], int(r["gpu_count"])): Printed(r["usd_per_hour"])
    for r in read("prices.csv")
    if r["price_list"] == "lambda-2024-10-28"
}


def price(gpu: str, count: int) -> tuple[float, float]:
    """The study's price for `count` GPUs: listed, or in proportion to the nearest listed node."""
    listed = [(c, p) for (g, c), p in PRICES.items() if g == gpu]
    node, p = min(listed, key=lambda cp: (abs(math.log(count / cp[0])), -cp[0]))
    return p.lo * count / node, p.hi * count / node


def rows_where(**match: str) -> list[dict[str, str]]:
    return [r for r in ACCURACY if all(r[k] == v for k, v in match.items())]


# ---------------------------------------------------------------------------- accuracy


def suite_groups(suite: str) -> dict[tuple[str, str, str, str], list[dict[str, str]]]:
    groups: dict[tuple[str, str, str, str], list[dict[str, str]]] = defaultdict(list)
    for r in ACCURACY:
        if r["suite"] == suite and r["run"] == "":
            groups[(r["table"], r["model"], r["format"], r["method"])].append(r)
    return groups


@pytest.mark.parametrize("suite", ["leaderboard_v1", "leaderboard_v2"])
def test_leaderboard_averages_are_means_of_their_tasks(suite: str) -> None:
    checked = 0
    for key, rows in suite_groups(suite).items():
        tasks = [Printed(r["score"]) for r in rows if r["task"] != "average"]
        average = [Printed(r["score"]) for r in rows if r["task"] == "average"]
        if not tasks:
            continue  # Table 1 prints only averages
        assert len(tasks) == (7 if suite == "leaderboard_v1" else 6), key
        lo = statistics.fmean(t.lo for t in tasks)
        hi = statistics.fmean(t.hi for t in tasks)
        assert average[0].admits(lo, hi), (key, lo, hi, average[0].value)
        checked += 1
    assert checked == 12 + 6  # Tables 2/3 (12 rows) and 12/13 (6 rows)


def test_per_task_recovery_is_score_over_bf16_score() -> None:
    checked = 0
    for r in ACCURACY:
        if not r["published_recovery_pct"] or r["task"] == "average":
            continue
        base = rows_where(
            table=r["table"], model=r["model"], format="bf16", task=r["task"], suite=r["suite"]
        )
        assert len(base) == 1
        lo, hi = bounds(lambda s, b: 100 * s / b, Printed(r["score"]), Printed(base[0]["score"]))
        assert Printed(r["published_recovery_pct"]).admits(lo, hi), (r, lo, hi)
        checked += 1
    assert checked == 12 * 7 + 12 * 6  # Tables 10 and 11


def test_average_recovery_is_average_over_bf16_average() -> None:
    checked = 0
    for r in ACCURACY:
        if r["task"] != "average" or not r["published_recovery_pct"]:
            continue
        base = rows_where(
            table=r["table"], model=r["model"], format="bf16", task="average", suite=r["suite"]
        )
        lo, hi = bounds(lambda s, b: 100 * s / b, Printed(r["score"]), Printed(base[0]["score"]))
        assert Printed(r["published_recovery_pct"]).admits(lo, hi), (r, lo, hi)
        checked += 1
    assert checked == 24  # the Recovery % columns of Tables 2 and 3


def test_table1_averages() -> None:
    checked = 0
    for model, tag in itertools.product(["8b", "70b"], ["", "gptq", "awq"]):
        rows = {
            (r["suite"], r["task"]): r for r in rows_where(table="table1", model=model, method=tag)
        }
        academic = Printed(rows[("academic", "average")]["score"])
        parts = [
            Printed(rows[(s, "average")]["score"]) for s in ("leaderboard_v1", "leaderboard_v2")
        ]
        assert academic.admits(*bounds(lambda a, b: (a + b) / 2, *parts))
        real = Printed(rows[("real_world", "average")]["score"])
        tasks = [
            Printed(rows[("real_world", t)]["score"]) for t in ("arena_hard", "humaneval", "mbpp")
        ]
        assert real.admits(*bounds(lambda a, b, c: (a + b + c) / 3, *tasks))
        checked += 1
    assert checked == 6


# Table 8 prints 56.3 as the mean of AWQ 70B's two Arena-Hard runs, 56.3 and 57.0 (56.65);
# Table 1 has 56.7 for the same cell. The study's own inconsistency, kept as published.
KNOWN_RUN_AVERAGE_ERRATA = {("table8", "70b", "awq")}


def test_arena_hard_averages_are_means_of_two_runs() -> None:
    checked = 0
    for table in ("table7", "table8"):
        groups: dict[tuple[str, str, str], dict[str, Printed]] = defaultdict(dict)
        for r in rows_where(table=table, task="arena_hard"):
            key = (table, r["model"], r["method"] if r["method"] == "awq" else r["format"])
            groups[key][r["run"] or "avg"] = Printed(r["score"])
        for key, runs in groups.items():
            ok = runs["avg"].admits(*bounds(lambda a, b: (a + b) / 2, runs["1"], runs["2"]))
            assert ok != (key in KNOWN_RUN_AVERAGE_ERRATA), key
            checked += 1
    assert checked == 12 + 6


def test_cross_table_agreement() -> None:
    """The same cell printed in two tables holds the same number, but for the listed errata."""
    known = {
        # Table 12 prints 70B BF16 / GPTQ MMLU 5-shot as 82.37 / 82.03 (Table 2: 83.8 / 83.6) and
        # the V1 averages as 84.20 / 83.77 (Table 2: 84.40 / 84.00): a different MMLU protocol.
        # Its MMLU CoT, 86.06 / 85.54, does not round to Table 2's 86.0 / 85.6 either.
        ("70b", "bf16", "leaderboard_v1", "mmlu"),
        ("70b", "int4", "leaderboard_v1", "mmlu"),
        ("70b", "bf16", "leaderboard_v1", "mmlu_cot"),
        ("70b", "int4", "leaderboard_v1", "mmlu_cot"),
        ("70b", "bf16", "leaderboard_v1", "average"),
        ("70b", "int4", "leaderboard_v1", "average"),
        # Table 3 prints 70B Arena-Hard INT8 57.0 / INT4 56.3; Tables 7, 8 and 1 give W4A16 57.0
        # and W8A8-INT 56.3: the two cells are swapped in Table 3.
        ("70b", "int8", "real_world", "arena_hard"),
        ("70b", "int4", "real_world", "arena_hard"),
    }
    cells: dict[tuple[str, str, str, str], list[Printed]] = defaultdict(list)
    for r in ACCURACY:
        if (
            r["method"] == "awq"
            or r["run"]
            or r["suite"] == "academic"
            or (r["suite"] == "real_world" and r["task"] == "average")
        ):
            continue
        cells[(r["model"], r["format"], r["suite"], r["task"])].append(Printed(r["score"]))
    disagreeing = {
        key
        for key, printed in cells.items()
        if any(not a.admits(b.lo, b.hi) for a, b in itertools.combinations(printed, 2))
    }
    assert disagreeing == known


# ---------------------------------------------------------------------------- performance

# 70B INT8 on one A100, RAG: 7.0 s at $1.79/h is 284-289 queries per USD; Table 5 prints 290
# (which 6.94 s would give, printed 6.9).
KNOWN_SYNC_ERRATA = {("70b", "a100", "int8", "rag")}


def test_sync_queries_per_usd_from_latency_and_price() -> None:
    for r in SYNC:
        usd = price(r["gpu"], int(r["gpu_count"]))
        lat = Printed(r["latency_s"])
        lo, hi = 3600 / (lat.hi * usd[1]), 3600 / (lat.lo * usd[0])
        key = (r["model"], r["gpu"], r["format"], r["use_case"])
        assert Printed(r["queries_per_usd"]).admits(lo, hi) != (key in KNOWN_SYNC_ERRATA), r
    assert len(SYNC) == 108


def mean_ratio_to_bf16(
    cells: dict[str, dict[str, str]], base: dict[str, dict[str, str]], use_cases: set[str]
) -> tuple[float, float]:
    """Bounds of the mean, over `use_cases`, of queries per USD relative to BF16."""
    ratios = [
        bounds(
            lambda q, b: q / b, Printed(c["queries_per_usd"]), Printed(base[u]["queries_per_usd"])
        )
        for u, c in cells.items()
        if u in use_cases
    ]
    return mean_bounds(ratios)


def test_sync_cost_reduction_is_mean_ratio_of_queries_per_usd_to_bf16() -> None:
    by_config = defaultdict(dict)
    for r in SYNC:
        by_config[(r["model"], r["gpu"], r["format"])][r["use_case"]] = r
    checked = 0
    for (model, gpu, fmt), cells in by_config.items():
        if fmt == "bf16":
            continue
        base = by_config[(model, gpu, "bf16")]
        mean = mean_ratio_to_bf16(cells, base, LATENCY_SENSITIVE)
        printed = Printed(next(iter(cells.values()))["published_cost_reduction"])
        assert printed.admits(*mean), (model, gpu, fmt, mean)
        checked += 1
    assert checked == 12


# The first "405B 16xH100" block of Table 6 is priced at $12.36/h, the 4xH100 price (its Q/$ over
# QPS is 3,600/12.36 in every cell); the second at 2 x 8xH100 = $47.84/h. Kept as published.
ASYNC_PRICE_AS = {"405b-16xh100-first": ("h100", 4)}
# Table 6 prints 1.56 for 8B INT4's speedup; the mean ratio over the six latency-sensitive use
# cases (the rule every other row follows) is 1.73, and over all eight 1.53.
KNOWN_SPEEDUP_ERRATA = {("8b-1xa6000", "int4")}


# First 16xH100 block, INT4, small summarization: 13.5 QPS at $12.36/h is 3.9k queries per USD;
# Table 6 prints 4.0k (which 13.6 QPS would give).
KNOWN_ASYNC_ERRATA = {("405b-16xh100-first", "int4", "small_summarization")}


def test_async_queries_per_usd_from_qps_and_price() -> None:
    for r in ASYNC:
        gpu, count = ASYNC_PRICE_AS.get(r["block"], (r["gpu"], int(r["gpu_count"])))
        usd = price(gpu, count)
        qps = Printed(r["max_qps"])
        lo, hi = qps.lo * 3600 / usd[1], qps.hi * 3600 / usd[0]
        key = (r["block"], r["format"], r["use_case"])
        assert Printed(r["queries_per_usd"]).admits(lo, hi) != (key in KNOWN_ASYNC_ERRATA), r
    assert len(ASYNC) == 5 * 3 * 8


def test_first_16xh100_block_is_not_priced_as_16_gpus() -> None:
    rows = [r for r in ASYNC if r["block"] == "405b-16xh100-first"]
    usd16 = price("h100", 16)
    misses = [
        r
        for r in rows
        if not Printed(r["queries_per_usd"]).admits(
            Printed(r["max_qps"]).lo * 3600 / usd16[1], Printed(r["max_qps"]).hi * 3600 / usd16[0]
        )
    ]
    assert len(misses) == len(rows) == 24


def test_async_speedup_is_mean_ratio_over_latency_sensitive_use_cases() -> None:
    by_block = defaultdict(dict)
    for r in ASYNC:
        by_block[(r["block"], r["format"])][r["use_case"]] = r
    checked = 0
    for (block, fmt), cells in by_block.items():
        if fmt == "bf16":
            continue
        base = by_block[(block, "bf16")]
        mean = mean_ratio_to_bf16(cells, base, LATENCY_SENSITIVE)
        printed = Printed(next(iter(cells.values()))["published_speedup"])
        assert printed.admits(*mean) != ((block, fmt) in KNOWN_SPEEDUP_ERRATA)
        checked += 1
    assert checked == 10


def test_prices_per_gpu_follow_table9() -> None:
    assert price("a100", 2) == pytest.approx((14.315 / 4, 14.325 / 4))
    assert price("h100", 16) == pytest.approx((23.915 * 2, 23.925 * 2))
    assert price("a6000", 4) == pytest.approx((3.195, 3.205))


def test_decode_flags_follow_the_weight_streaming_bound() -> None:
    """`truncated`: faster than reading the weights once per nominal output token at datasheet
    bandwidth; `suspect`: would need over 90% of it. Recomputed here from models.csv/gpus.csv."""
    models = {r["model"]: r for r in read("models.csv")}
    gpus = {r["gpu"]: r for r in read("gpus.csv")}
    decode = {r["use_case"]: int(r["decode_tokens"]) for r in read("use_cases.csv")}
    bits = {"bf16": 16, "fp8": 8, "int8": 8, "int4": 4}
    names = {
        "8b": "llama-3.1-8b-instruct",
        "70b": "llama-3.1-70b-instruct",
        "405b": "llama-3.1-405b-instruct",
    }
    for r in SYNC:
        m = models[names[r["model"]]]
        h, q, kv, hd = (int(m[k]) for k in ("hidden_size", "heads", "kv_heads", "head_dim"))
        linear = int(m["layers"]) * (
            2 * h * q * hd + 2 * h * kv * hd + 3 * h * int(m["intermediate_size"])
        )
        weight_bytes = linear * bits[r["format"]] / 8 + int(m["vocab_size"]) * h * 2
        per_token_s = (
            weight_bytes / int(r["gpu_count"]) / (float(gpus[r["gpu"]]["mem_bw_gbps"]) * 1e9)
        )
        bound_s = decode[r["use_case"]] * per_token_s
        latency = float(r["latency_s"])
        expected = (
            "truncated" if latency < bound_s else "suspect" if latency < bound_s / 0.9 else ""
        )
        assert r["decode_flag"] == expected, r
    flagged = [r for r in SYNC if r["decode_flag"] == "truncated"]
    assert {r["use_case"] for r in flagged} == {"code_completion", "code_fixing"}
    assert len(flagged) == 34
