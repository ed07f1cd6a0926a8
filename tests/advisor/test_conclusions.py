"""The study's conclusions come out of the advisor on the embedded catalog, for the study's
engine (vLLM 0.6.1.post2): the model cards show that newer vLLM moved some of them (INT4 on
H100 ran further from its bandwidth bound in 0.7.2), so the engine is stated."""

from __future__ import annotations

import pytest

from advisor.service import Advisor, Query

LATENCY_SENSITIVE = [
    "code_completion",
    "docstring_generation",
    "code_fixing",
    "rag",
    "instruction_following",
    "multi_turn_chat",
]
THROUGHPUT = ["small_summarization", "large_summarization"]
STUDY_SYNC = [
    ("8b", "a6000"),
    ("70b", "a6000"),
    ("70b", "a100"),
    ("70b", "h100"),
    ("405b", "a100"),
    ("405b", "h100"),
]


STUDY_ENGINE = "0.6.1.post2"


def winner(advisor: Advisor, **query) -> str | None:
    recommendation = advisor.advise(Query(**query, engine_version=STUDY_ENGINE)).recommendation
    return None if recommendation is None else recommendation["format"]


@pytest.mark.parametrize(("model", "gpu"), STUDY_SYNC)
def test_synchronous_favours_int4_everywhere(fitted: Advisor, model: str, gpu: str) -> None:
    for use_case in LATENCY_SENSITIVE:
        assert winner(fitted, model=model, gpus=[gpu], use_case=use_case, mode="sync") == "int4", (
            use_case
        )


def test_asynchronous_405b_favours_fp8_on_h100_in_every_use_case(fitted: Advisor) -> None:
    # Among the formats the study ran on H100; INT8 there is an extrapolation (see README).
    for use_case in LATENCY_SENSITIVE + THROUGHPUT:
        got = winner(
            fitted, model="405b", gpus=["h100"], formats=["bf16", "fp8", "int4"], use_case=use_case
        )
        assert got == "fp8", use_case


def test_asynchronous_405b_favours_int8_on_a100_in_most_use_cases(fitted: Advisor) -> None:
    formats = [
        winner(fitted, model="405b", gpus=["a100"], use_case=u)
        for u in LATENCY_SENSITIVE + THROUGHPUT
    ]
    assert formats.count("int8") > len(formats) / 2, formats


def test_asynchronous_8b_on_one_a6000_favours_int4_when_latency_matters(fitted: Advisor) -> None:
    for use_case in LATENCY_SENSITIVE:
        assert winner(fitted, model="8b", gpus=["a6000"], max_gpus=1, use_case=use_case) == "int4"
