from __future__ import annotations

import pytest

from profiler.similarity import rouge1, rouge_l


def test_rouge_of_identical_and_disjoint_texts() -> None:
    assert rouge1("The cat sat", "the cat sat") == 1.0 == rouge_l("a b c", "a b c")
    assert rouge1("dog", "cat") == 0.0 == rouge_l("dog", "cat")
    assert rouge1("", "") == 1.0 and rouge1("", "x") == 0.0


def test_rouge_counts_overlap_and_order() -> None:
    # 3 of 4 unigrams shared; the common subsequence is 2 long because of the order.
    assert rouge1("a b c d", "c b a e") == pytest.approx(0.75)
    assert rouge_l("a b c d", "c b a e") == pytest.approx(0.25)
    assert rouge_l("the quick brown fox", "the brown quick fox") == pytest.approx(0.75)
