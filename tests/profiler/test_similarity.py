from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from catalog.records import Batch
from profiler.perf import Target
from profiler.similarity import rouge1, rouge_l, score

rouge_scorer = pytest.importorskip("rouge_score.rouge_scorer", reason="rouge-score not installed")

ROOT = Path(__file__).resolve().parents[2]


def test_rouge_of_identical_and_disjoint_texts() -> None:
    assert rouge1("The cat sat", "the cat sat") == 1.0 == rouge_l("a b c", "a b c")
    assert rouge1("dog", "cat") == 0.0 == rouge_l("dog", "cat")
    assert rouge1("", "") == 1.0 and rouge1("", "x") == 0.0


def test_rouge_counts_overlap_and_order() -> None:
    # 3 of 4 unigrams shared; the common subsequence is 2 long because of the order.
    assert rouge1("a b c d", "c b a e") == pytest.approx(0.75)
    assert rouge_l("a b c d", "c b a e") == pytest.approx(0.25)
    assert rouge_l("the quick brown fox", "the brown quick fox") == pytest.approx(0.75)


PAIRS = [
    ("The answer is 42.", "the answer is forty-two"),
    ("Paris is the capital of France; Lyon is not.", "The capital of France is Paris."),
    ("the the the cat", "the cat the mat"),
    ("snake_case and CamelCase", "snake case and camel case"),
    ("café crème, s'il vous plaît", "cafe creme s'il vous plait"),
    ("one two three four five six", "six five four three two one"),
    ("x", ""),
]


@pytest.mark.parametrize(("candidate", "reference"), PAIRS)
def test_scores_are_rouge_scores(candidate: str, reference: str) -> None:
    scorer = rouge_scorer.RougeScorer(["rouge1", "rougeL"], use_stemmer=False)
    expected = scorer.score(reference, candidate)
    assert rouge1(candidate, reference) == expected["rouge1"].fmeasure
    assert rouge_l(candidate, reference) == expected["rougeL"].fmeasure


def test_score_reports_the_mean_of_each_metric_and_stores_it() -> None:
    target = Target(
        model="8b",
        format="int4",
        gpu="h100",
        gpu_count=1,
        served_name="m",
        tokenizer="/t",
        base_url="http://127.0.0.1:1",
    )
    batches: list[Batch] = []
    answers, references = ["a b c d", "dog"], ["c b a e", "dog"]
    scores = score(target, answers, references, "bf16", None, batches.append)
    assert scores == pytest.approx({"rouge1_f": (0.75 + 1) / 2, "rougeL_f": (0.25 + 1) / 2})
    rows = batches[0].runs[0].similarity
    assert [(r.metric, r.score, r.prompts) for r in rows] == [
        ("rouge1_f", scores["rouge1_f"], 2),
        ("rougeL_f", scores["rougeL_f"], 2),
    ]


def test_the_plan_does_not_import_rouge_score() -> None:
    # NLTK takes seconds to import; `advisor quantize` imports the plan for a hint only.
    code = "import sys, profiler.plan; print('rouge_score' in sys.modules)"
    found = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert found.stdout.strip() == "False"
