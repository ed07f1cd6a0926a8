"""Accuracy recovery: a model's own rows, its family's sizes, and the prior for a family the
catalog has never scored (advisor/accuracy.py)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from advisor.accuracy import Z80, AccuracyModel, Recovery
from advisor.architecture import architecture_from_config
from advisor.data import AccuracyCell, Snapshot
from advisor.errors import InvalidInputError
from advisor.families import class_family, named_size_b, published_family
from advisor.hardware import ModelSpec
from advisor.service import Advisor
from advisor.vocabulary import Format, Label


def config(architecture: str, model_type: str, **sizes: Any) -> dict[str, Any]:
    """A dense decoder's config.json; the default sizes are Qwen3-8B's (8.2B parameters)."""
    return {
        "architectures": [architecture],
        "model_type": model_type,
        "hidden_size": 4096,
        "intermediate_size": 12288,
        "num_attention_heads": 32,
        "num_hidden_layers": 36,
        "num_key_value_heads": 8,
        "head_dim": 128,
        "vocab_size": 151936,
        "tie_word_embeddings": False,
        **sizes,
    }


def spec(name: str, architecture: str, model_type: str, **sizes: Any) -> ModelSpec:
    arch = architecture_from_config(config(architecture, model_type, **sizes), name)
    return ModelSpec(model=name, arch=arch)


QWEN3_8B = spec("qwen3-8b", "Qwen3ForCausalLM", "qwen3")
# The same sizes under the Llama class: the family the catalog has scored.
LLAMA_8B = spec("my-llama-8b", "LlamaForCausalLM", "llama")
MISTRAL_7B = spec(
    "mistral-7b", "MistralForCausalLM", "mistral", intermediate_size=14336, vocab_size=32768
)


def width(r: Recovery) -> float:
    return r.recovery_pct_hi - r.recovery_pct_lo


@pytest.fixture(scope="module")
def accuracy(fitted: Advisor) -> AccuracyModel:
    return fitted.accuracy


def test_a_family_without_accuracy_data_gets_a_labelled_prior(
    accuracy: AccuracyModel, snapshot: Snapshot
) -> None:
    prior = accuracy.predict(QWEN3_8B, Format.FP8, "leaderboard_v1")
    assert prior.label is Label.EXTRAPOLATED
    assert prior.basis.startswith(
        "prior: no fp8 accuracy data on leaderboard_v1 for family qwen3; centre: llama"
    )
    # Its interval names the families it was measured over (Llama-3.1/3.3, Llama-4, Granite).
    assert "3 families (granite, llama, llama4" in prior.basis and "under P2" in prior.basis
    measured = accuracy.predict(snapshot.model("8b"), Format.FP8, "leaderboard_v1")
    assert measured.label is Label.MEASURED
    assert width(prior) > 2 * width(measured)


def test_a_prior_is_wider_than_the_same_size_of_a_scored_family(accuracy: AccuracyModel) -> None:
    prior = accuracy.predict(QWEN3_8B, Format.FP8, "leaderboard_v1")
    llama = accuracy.predict(LLAMA_8B, Format.FP8, "leaderboard_v1")
    assert llama.basis == "between llama-3.1-8b-instruct and llama-3.1-70b-instruct"
    # Same centre (Llama at 8.2B), and the between-family spread on top of it, in quadrature.
    assert prior.recovery_pct == pytest.approx(llama.recovery_pct)
    tau = accuracy.spread_[Format.FP8].tau_pct
    llama_se = width(llama) / (2 * Z80)
    assert width(prior) == pytest.approx(2 * Z80 * math.hypot(llama_se, tau))
    assert tau > 0.1


def test_a_mistral_config_gets_the_prior_for_every_format(accuracy: AccuracyModel) -> None:
    for fmt in (Format.FP8, Format.INT8, Format.INT4):
        r = accuracy.predict(MISTRAL_7B, fmt, "leaderboard_v1")
        assert r.basis.startswith(f"prior: no {fmt.value} accuracy data on leaderboard_v1 ")
        assert "for family mistral" in r.basis
    # No two families are scored in INT8 under one protocol: its spread is pooled over formats.
    assert (
        "pooled over formats" in accuracy.predict(MISTRAL_7B, Format.INT8, "leaderboard_v1").basis
    )
    assert "int4 recovery" in accuracy.predict(MISTRAL_7B, Format.INT4, "leaderboard_v1").basis


def test_the_prior_centre_follows_the_size(accuracy: AccuracyModel, snapshot: Snapshot) -> None:
    small = accuracy.predict(QWEN3_8B, Format.INT4, "leaderboard_v2")
    big = accuracy.predict(
        spec(
            "qwen-410b",
            "Qwen3ForCausalLM",
            "qwen3",
            hidden_size=16384,
            intermediate_size=53248,
            num_attention_heads=128,
            num_hidden_layers=126,
        ),
        Format.INT4,
        "leaderboard_v2",
    )
    assert "nearest measured size: llama-3.1-405b-instruct" in big.basis
    measured_405b = accuracy.predict(snapshot.model("405b"), Format.INT4, "leaderboard_v2")
    assert big.recovery_pct == pytest.approx(measured_405b.recovery_pct)
    assert small.recovery_pct < big.recovery_pct  # INT4 costs small models more


def test_a_scored_family_never_borrows_another_familys_rows(
    accuracy: AccuracyModel, snapshot: Snapshot
) -> None:
    granite = snapshot.model("granite-3.1-2b-instruct")
    # Granite is scored on the cards' Open LLM V1 in FP8: its own 8B, not a Llama.
    own = accuracy.predict(granite, Format.FP8, "openllm_v1")
    assert own.basis == "nearest measured size: granite-3.1-8b-instruct"
    # ... but never on the study's Leaderboard V1: a prior, not Llama-3.1's recovery as before.
    assert accuracy.predict(granite, Format.FP8, "leaderboard_v1").basis.startswith(
        "prior: no fp8 accuracy data on leaderboard_v1 for family granite"
    )


def test_own_rows_are_found_by_hugging_face_id(accuracy: AccuracyModel) -> None:
    gemma = spec(
        "/models/gemma-3-1b-it/config.json",
        "Gemma3ForCausalLM",
        "gemma3_text",
        hidden_size=1152,
        intermediate_size=6912,
        num_attention_heads=4,
        num_hidden_layers=26,
        num_key_value_heads=1,
        head_dim=256,
        vocab_size=262144,
    ).model_copy(update={"hf_id": "google/gemma-3-1b-it"})
    r = accuracy.predict(gemma, Format.INT4, "openllm_v1")
    assert r.label is Label.MEASURED
    assert r.recovery_pct == pytest.approx(95.59)
    assert r.basis == "https://huggingface.co/RedHatAI/gemma-3-1b-it-quantized.w4a16"


def test_a_task_printed_under_two_suites_keeps_the_studys_cell(
    accuracy: AccuracyModel, snapshot: Snapshot
) -> None:
    # The study (real_world, P1) and the FP8-block card (coding, P2) both print HumanEval+ for
    # Llama-3.1-8B FP8; the study's checkpoint is the one the advisor serves.
    r = accuracy.predict(snapshot.model("8b"), Format.FP8, "humaneval_plus")
    assert r.basis == "study:table3"
    assert r.recovery_pct == pytest.approx(100 * 61.3 / 60.7)


def test_a_format_without_data_on_a_suite_says_which_formats_have_it(
    accuracy: AccuracyModel,
) -> None:
    with pytest.raises(InvalidInputError, match="no fp8 accuracy data on 'multilingual' for any"):
        accuracy.predict(QWEN3_8B, Format.FP8, "multilingual")


def test_every_published_model_of_the_cards_has_a_family(snapshot: Snapshot) -> None:
    catalog = {m.model for m in snapshot.models}
    published = {c.model for c in snapshot.accuracy} - catalog
    assert published  # the cards score models outside the catalog
    families = {m: published_family(m) for m in published}
    assert None not in families.values(), families
    assert families["meta-llama/Llama-4-Scout-17B-16E-Instruct"] == "llama4"
    assert families["nvidia/Llama-3.1-Nemotron-70B-Instruct-HF"] == "llama"
    assert families["google/gemma-3-1b-it"] == "gemma3"
    assert all(named_size_b(m) for m in published)


@pytest.mark.parametrize(
    ("architecture", "family"),
    [
        ("LlamaForCausalLM", "llama"),
        ("Qwen3MoeForCausalLM", "qwen3_moe"),
        ("Gemma3ForCausalLM", "gemma3"),
        ("DeepseekV2ForCausalLM", "deepseek_v2"),
        ("GptOssForCausalLM", "gpt_oss"),
        ("Llama4ForConditionalGeneration", "llama4"),
    ],
)
def test_class_family_is_the_model_type_the_class_is_named_after(
    architecture: str, family: str
) -> None:
    assert class_family(architecture) == family


def cell(model: str, suite: str, recovery: float, protocol: str) -> AccuracyCell:
    return AccuracyCell(
        model=model,
        format=Format.FP8,
        suite=suite,
        task="average",
        metric="score",
        n_shot=None,
        score=recovery,
        baseline_score=100.0,
        recovery_pct=recovery,
        stderr=None,
        ci95_low_delta=None,
        ci95_high_delta=None,
        source=f"card:{model}",
        protocol=protocol,
    )


def test_the_between_family_spread_never_compares_protocols() -> None:
    """tau from each (protocol, suite) with two families: P2 has llama 99 and granite 101 on v1,
    P1 llama 90 and gemma2 95 on v2; a pooled-over-protocols llama mean would be 94.5."""
    cells = [
        cell("meta-llama/Llama-3.3-70B-Instruct", "openllm_v1", 99.0, "P2"),
        cell("ibm-granite/granite-3.1-8b-instruct", "openllm_v1", 101.0, "P2"),
        cell("meta-llama/Llama-3.3-70B-Instruct", "leaderboard_v2", 90.0, "P1"),
        cell("google/gemma-2-9b-it", "leaderboard_v2", 95.0, "P1"),
        cell("meta-llama/Llama-4-Scout-17B-16E-Instruct", "leaderboard_v2", 50.0, "P3"),
    ]
    spread = AccuracyModel().fit(cells).spread_[Format.FP8]
    # (1 + 1) + (2.5^2 + 2.5^2) over 1 + 1 degrees of freedom; P3's one family adds nothing.
    assert spread.tau_pct == pytest.approx(math.sqrt((2 + 12.5) / 2))
    assert spread.families == ("gemma2", "granite", "llama")
    assert spread.protocols == ("P1", "P2") and spread.groups == 2
