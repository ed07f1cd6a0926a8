"""Read a capacity question in plain English into a query. Deterministic; no external service.

    "best format for RAG on A100"
    "cheapest way to serve 70b for code completion under 500 ms TTFT"
    "405b on h100 with at least 99% accuracy, 20 requests per second"

Every word must be understood: model sizes and names, GPUs, formats, use cases, limits
(TTFT, ITL, latency), accuracy floors and suites, loads, token counts, GPU caps, sync/async;
the rest may only be filler ("best", "cheapest way to serve", "for", ...). Anything else is
refused, naming the words that were not understood.
"""

from __future__ import annotations

import re
from typing import Any

from advisor.data import Snapshot
from advisor.errors import InvalidInputError
from advisor.vocabulary import FORMAT_ALIASES

DEFAULT_MODEL = "70b"
EXAMPLES = [
    "best format for RAG on A100",
    "cheapest way to serve 70b for code completion under 500 ms TTFT",
    "405b on h100 with at least 99% accuracy, 20 requests per second",
    "8b on l40s or h100, 2048 input tokens and 256 output tokens, synchronous",
    "70B for multi-turn chat, ITL under 50 ms, at most 4 GPUs",
]
# Words that carry no constraint. A string, not a list, to keep it readable.
FILLER = frozenset(
    """
    a an the best cheapest cheap cheaper lowest cost costs way ways to serve serving deploy
    deploying deployment run running host hosting for on with at least most under below less
    than within of format formats quantization quantized precision what which is are should i
    we you use using and or in model models llama llama-3.1 meta instruct gpu gpus card cards
    please recommend recommendation option options me my our it how do does can need needs
    needed want keep keeping max maximum min minimum limit limits target targets a100s h100s
    by per mode setup config configuration budget up no more vs versus compare comparing against
    """.split()  # noqa: SIM905
)
USE_CASE_WORDS = [
    (r"code[- ]?completion", "code_completion"),
    (r"doc[- ]?string(?:[- ]generation)?", "docstring_generation"),
    (r"code[- ]?fix(?:ing|es)?|bug[- ]?fix(?:ing)?", "code_fixing"),
    (r"\brag\b|retrieval[- ]augmented(?:[- ]generation)?", "rag"),
    (r"instruction[- ]following|instructions?", "instruction_following"),
    (r"multi[- ]?turn(?:[- ]chat)?|chat(?:bot)?s?|conversations?", "multi_turn_chat"),
    (r"large[- ]summari[sz]ation|long[- ]summari[sz]ation|long documents?", "large_summarization"),
    (r"(?:small[- ])?summari[sz]ation|summari[sz]ing|summaries", "small_summarization"),
]
SUITE_WORDS = [
    (r"leaderboard[- ]?v?2|open llm leaderboard v2", "leaderboard_v2"),
    (r"leaderboard[- ]?v?1|open llm leaderboard(?: v1)?", "leaderboard_v1"),
    (r"real[- ]world", "real_world"),
    (r"arena[- ]?hard", "arena_hard"),
    (r"human[- ]?eval\+|humaneval[- ]?plus", "humaneval_plus"),
    (r"human[- ]?eval", "humaneval"),
    (r"\bmmlu[- ]pro\b", "mmlu_pro"),
    (r"\bmmlu\b", "mmlu"),
    (r"\bgsm8k\b", "gsm8k_cot"),
]
NUMBER = r"(\d+(?:[.,]\d+)?)"
TIME_UNIT = r"(ms|milliseconds?|s|secs?|seconds?)\b"


class AskError(InvalidInputError):
    """A question that could not be read; says which part and shows examples."""

    def __init__(self, message: str, unrecognised: list[str]) -> None:
        self.unrecognised = unrecognised
        self.examples = EXAMPLES
        super().__init__(message)


def _ms(value: str, unit: str) -> float:
    number = float(value.replace(",", ""))
    return number if unit.startswith("m") else number * 1000


class _Reader:
    def __init__(self, question: str) -> None:
        self.text = " " + question.lower().replace("\u2019", "'") + " "

    def take(self, pattern: str) -> re.Match[str] | None:
        """Find the pattern and blank it out, so that what is left is what was not understood."""
        match = re.search(pattern, self.text)
        if match:
            self.text = (
                self.text[: match.start()]
                + " " * (match.end() - match.start())
                + self.text[match.end() :]
            )
        return match

    def take_all(self, pattern: str) -> list[re.Match[str]]:
        found = []
        while (match := self.take(pattern)) is not None:
            found.append(match)
        return found

    def leftover(self) -> list[str]:
        words = re.findall(r"[a-z0-9][a-z0-9.+/_-]*", self.text)
        return [w for w in words if w.strip(".-") not in FILLER and w.strip(".-")]


def read_question(question: str, snapshot: Snapshot) -> tuple[dict[str, Any], list[str]]:
    """(query fields, defaulted parts) for `advisor.service.Query`."""
    if not question.strip():
        raise AskError("the question is empty", [])
    r = _Reader(question)
    query: dict[str, Any] = {}
    defaulted: list[str] = []

    # First: "99th percentile" holds a number the limits' patterns must not read.
    m = r.take(
        r"(?<![\w.])p(50|90|95|99)\b|(?<![\w.])(50|90|95|99)(?:th)?[- ]percentile\b|\bmedian\b"
    )
    if m is not None:
        query["percentile"] = float(m.group(1) or m.group(2) or 50)
    if r.take(r"\bpoisson(?:\s+arrivals?)?\b"):
        query["arrivals"] = "poisson"
    elif r.take(r"\b(?:constant|steady|fixed)[- ](?:rate|arrivals?|load)\b"):
        query["arrivals"] = "constant"
    m = r.take(rf"{NUMBER}\s*%\s*headroom\b|\bheadroom\s*(?:of)?\s*{NUMBER}\s*%")
    if m is not None:
        query["headroom_pct"] = float((m.group(1) or m.group(2)).replace(",", ""))

    limit_words = r"(?:ttft|time[- ]to[- ]first[- ]token|first token)"
    itl_words = r"(?:itl|inter[- ]token latency|per[- ]token latency|tpot|per token)"
    for words, key in ((limit_words, "ttft_ms"), (itl_words, "itl_ms")):
        m = r.take(
            rf"{words}\s*(?:of|under|below|<=?|less than|within|at most|:)?"
            rf"\s*{NUMBER}\s*{TIME_UNIT}"
        )
        if m is None:
            m = r.take(rf"{NUMBER}\s*{TIME_UNIT}\s*(?:of\s+)?{words}")
        if m is not None:
            query[key] = _ms(m.group(1), m.group(2))
    m = r.take(
        r"(?:end[- ]to[- ]end\s+)?latency\s*(?:of|under|below|<=?|less than|within|at most)?"
        rf"\s*{NUMBER}\s*{TIME_UNIT}"
    ) or r.take(
        rf"(?:under|below|within|in)\s+{NUMBER}\s*{TIME_UNIT}"
        r"(?:\s+(?:end[- ]to[- ]end|latency|per request|each))*"
    )
    if m is not None:
        query["latency_s"] = _ms(m.group(1), m.group(2)) / 1000

    m = r.take(
        rf"{NUMBER}\s*(?:requests?|queries|reqs?)\s*(?:per|/|a)\s*(?:second|sec|s)\b"
        rf"|{NUMBER}\s*(?:rps|qps|req/s)\b"
    )
    if m is not None:
        query["qps"] = float((m.group(1) or m.group(2)).replace(",", ""))
    m = r.take(
        rf"{NUMBER}\s*%\s*(?:accuracy|recovery|of bf16|of the baseline)?"
        rf"|(?:accuracy|recovery)\s*(?:of|>=?|above)?\s*{NUMBER}\s*%"
    )
    if m is not None:
        query["min_recovery"] = float((m.group(1) or m.group(2)).replace(",", ""))
    m = r.take(rf"{NUMBER}\s*(?:input|prompt|prefill)\s*tokens?")
    if m is not None:
        query["prefill_tokens"] = int(float(m.group(1).replace(",", "")))
    m = r.take(rf"{NUMBER}\s*(?:output|decode|generated|new)\s*tokens?")
    if m is not None:
        query["decode_tokens"] = int(float(m.group(1).replace(",", "")))
    m = r.take(rf"(?:at most|up to|no more than|max(?:imum)?|<=)\s*{NUMBER}\s*gpus?") or r.take(
        r"(?<![\w.])(\d+)\s*[x\u00d7*]\s*(?=[a-z])"
    )
    if m is not None:
        query["max_gpus"] = int(float(m.group(1)))

    if r.take(r"\b(?:synchronous(?:ly)?|sync|one request at a time|single[- ]user|one user)\b"):
        query["mode"] = "sync"
    elif r.take(
        r"\b(?:asynchronous(?:ly)?|async|continuous batching|batched|concurrent|many users)\b"
    ):
        query["mode"] = "async"

    for pattern, suite in SUITE_WORDS:
        if r.take(pattern):
            query["suite"] = suite
            break
    for pattern, use_case in USE_CASE_WORDS:
        if r.take(pattern):
            query["use_case"] = use_case
            break

    names = sorted({n.alias for n in snapshot.names}, key=len, reverse=True)
    models = [n for n in names if any(x.alias == n and x.kind == "model" for x in snapshot.names)]
    for alias in models:
        if r.take(rf"(?<![\w.-]){re.escape(alias)}(?![\w-])"):
            query["model"] = alias
            break
    if "model" not in query:
        m = r.take(r"(?<![\w.])(\d+(?:\.\d+)?)\s*b\b")
        if m is not None:
            query["model"] = f"{m.group(1)}b"
    gpus = [n for n in names if any(x.alias == n and x.kind == "gpu" for x in snapshot.names)]
    found_gpus = []
    for alias in gpus:
        if r.take_all(rf"(?<![\w-]){re.escape(alias)}s?(?![\w-])"):
            found_gpus.append(alias)
    if found_gpus:
        query["gpus"] = sorted(set(found_gpus))
    formats = []
    for alias in sorted(FORMAT_ALIASES, key=len, reverse=True):
        if r.take_all(rf"(?<![\w-]){re.escape(alias)}(?![\w-])"):
            formats.append(FORMAT_ALIASES[alias].value)
    if formats:
        query["formats"] = sorted(set(formats))

    leftover = r.leftover()
    if leftover:
        raise AskError(
            f"could not understand: {', '.join(repr(w) for w in leftover)}. Questions can name a "
            "model (8b, 70b, 405b, a Hugging Face id), GPUs (a100, h100, l40s, ...), formats, a "
            "use case (rag, code completion, chat, summarization, ...), limits (500 ms TTFT, ITL "
            "under 50 ms, latency under 5 s) and their percentile (p95, median), an accuracy floor "
            "(99% accuracy), a load (20 requests per second, 20% headroom, poisson or constant "
            "rate), token counts, 'at most 4 GPUs' and sync or async",
            leftover,
        )
    if "model" not in query:
        query["model"] = DEFAULT_MODEL
        defaulted.append(f"model={DEFAULT_MODEL} (the question names no model)")
    return query, defaulted
