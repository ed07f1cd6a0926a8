"""Mixtures of experts and latent attention in the cost models: total parameters in memory, the
active set read at batch 1, the experts' union growing with the batch, MLA's cache, and the wider
interval of a family never measured."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from advisor.architecture import architecture_from_config
from advisor.cells import Cell, shape_of
from advisor.hardware import ModelSpec
from advisor.latency import terms
from advisor.load import figures, mean_fixed_s, saturation_rate
from advisor.load_fit import arranged, costed
from advisor.operating import LoadQuestion
from advisor.service import Advisor
from advisor.sizes import (
    flops_per_token,
    kv_bytes_per_token,
    memory_needed_gib,
    streamed_bytes,
    streamed_bytes_per_token,
    touched_experts,
    weight_bytes,
)
from advisor.structure import Architecture
from advisor.vocabulary import Arrivals, Format, Label
from tests.conftest import fixture


def spec(name: str) -> ModelSpec:
    path = fixture("configs", name, "config.json")
    arch = architecture_from_config(json.loads(path.read_text()), str(path))
    return ModelSpec(model=str(path), arch=arch)


@pytest.fixture(scope="module")
def mixtral() -> Architecture:
    return spec("mixtral-8x7b").arch


def test_the_union_of_experts_grows_with_the_tokens_to_all_of_them(mixtral: Architecture) -> None:
    """E (1 - (1 - k/E)^b): 2 of 8 for one token, 3.5 for two, all 8 for a large batch."""
    assert touched_experts(mixtral, 1) == 2
    assert touched_experts(mixtral, 2) == pytest.approx(8 * (1 - 0.75**2))
    counts = [touched_experts(mixtral, b) for b in (1, 2, 4, 16, 64, 256)]
    assert counts == sorted(counts) and counts[-1] == pytest.approx(8, rel=1e-6)


def test_memory_holds_every_expert_and_a_token_reads_its_own(mixtral: Architecture) -> None:
    embedding = mixtral.vocab_size * mixtral.hidden_size * 2  # BF16 bytes of one table
    assert weight_bytes(mixtral, Format.BF16) == pytest.approx(mixtral.params_b * 2e9, rel=1e-3)
    # Batch 1 reads the active set less the input embedding (a lookup).
    assert streamed_bytes_per_token(mixtral, Format.BF16) == pytest.approx(
        mixtral.active_b * 2e9 - embedding, rel=1e-3
    )
    # A large batch reads every expert: all the weights but the embedding lookup.
    assert streamed_bytes(mixtral, Format.BF16, 4096) == pytest.approx(
        weight_bytes(mixtral, Format.BF16) - embedding, rel=1e-3
    )
    # A token computes its own experts only.
    assert flops_per_token(mixtral, 0) == pytest.approx(
        2 * (mixtral.active_b * 1e9 - embedding / 2), rel=1e-3
    )


def test_latent_attention_caches_one_latent_on_every_gpu_of_the_group() -> None:
    lite, llama = spec("deepseek-v2-lite").arch, spec("llama-3.1-8b-instruct-w4a16").arch
    assert kv_bytes_per_token(lite) == (512 + 64) * 2 * 27
    for arch in (lite, llama):
        one = memory_needed_gib(arch, Format.BF16, 10_000, tp=1)
        eight = memory_needed_gib(arch, Format.BF16, 10_000, tp=8)
        kv_gib = kv_bytes_per_token(arch) * 10_000 / 2**30
        # MLA's latent is on each of the 8 GPUs; GQA's heads are divided among them.
        assert eight - one == pytest.approx(7 * kv_gib if arch is lite else 0.0, abs=1e-9)


def test_sliding_windows_cap_the_kv_cache_of_a_long_context() -> None:
    gemma = spec("gemma-2-2b").arch  # 13 of 26 layers slide over 4096 tokens
    full = kv_bytes_per_token(gemma)
    assert kv_bytes_per_token(gemma, 4096) == full
    assert kv_bytes_per_token(gemma, 16384) == pytest.approx(full * (13 + 13 / 4) / 26)


def test_a_long_prompt_reads_more_experts_than_a_decode_step(fitted: Advisor) -> None:
    snap = fitted.snapshot
    for model, grows in ((spec("qwen3-30b-a3b"), True), (snap.model("8b"), False)):
        c = Cell(
            model=model,
            format=Format.BF16,
            gpu=snap.gpu("h100"),
            gpu_count=1,
            prefill_tokens=4096,
            decode_tokens=128,
        )
        t = terms(shape_of(c, 1, fitted.predictor.engine_))
        assert (t.quantity_ttft["weights"] > t.weights_step_s) is grows
        assert (t.experts_s > 0) is grows


@pytest.fixture(scope="module")
def moe_replica(fitted: Advisor):  # type: ignore[no-untyped-def]
    snap, p = fitted.snapshot, fitted.predictor
    c = Cell(
        model=spec("mixtral-8x7b"),
        format=Format.FP8,
        gpu=snap.gpu("h100"),
        gpu_count=1,
        prefill_tokens=1024,
        decode_tokens=128,
    )
    return costed(arranged([c], p.sync_params_, p.engine_), [c], p.load_params_)


def test_a_replicas_step_reads_more_experts_as_the_rate_grows(moe_replica) -> None:  # type: ignore[no-untyped-def]
    r = moe_replica
    sat = float(saturation_rate(r)[0])
    steps = []
    for load in (0.01, 0.3, 0.6, 0.9):
        rate = np.array([load * sat])
        step = figures(r, rate, 50.0, Arrivals.CONSTANT).itl_s[0]  # constant: ITL = the step
        a = (r.output - 1) * ((r.prompt + r.output / 2) * r.context_s + r.decode_s)
        a = a + r.prompt * r.prompt_s
        batch = rate * (r.output - 1) * step
        # The mean step is the fixed point s = F(B(s)) / (1 - lam a) (ITL: at least an idle
        # request's).
        implied = mean_fixed_s(r, batch) / (1 - rate * a)
        expected = max(float(implied[0]), float(r.itl_alone_s[0]))
        assert step == pytest.approx(expected, rel=1e-6)
        steps.append(float(mean_fixed_s(r, batch)[0]))
    assert steps[0] == pytest.approx(float(r.fixed_s[0]), rel=0.05)
    assert steps == sorted(steps) and steps[-1] > 1.5 * float(r.fixed_s[0])
    # Without the union's growth the same replica would serve more.
    flat = replace(r, experts_s=r.experts_s * 0)
    assert float(saturation_rate(flat)[0]) > 1.1 * sat


def test_an_unmeasured_mixture_of_experts_has_a_wider_interval(fitted: Advisor) -> None:
    """Extrapolated, with the log-interval 1.5x an extrapolated dense model's."""
    snap, p = fitted.snapshot, fitted.predictor
    cells = [
        Cell(
            model=spec(name),
            format=Format.FP8,
            gpu=snap.gpu("h100"),
            gpu_count=2,
            prefill_tokens=1024,
            decode_tokens=128,
        )
        for name in ("qwen3-30b-a3b", "gemma-2-2b")
    ]
    moe, dense = p.predict_sync(cells)
    assert moe.label is dense.label is Label.EXTRAPOLATED
    assert math.log(moe.latency_s_hi / moe.latency_s) == pytest.approx(
        1.5 * math.log(dense.latency_s_hi / dense.latency_s)
    )
    moe_a, dense_a = p.predict_async(cells, LoadQuestion(ttft_limit_ms=1000, itl_limit_ms=100))
    assert moe_a.label is Label.EXTRAPOLATED
    assert math.log(moe_a.max_qps / moe_a.max_qps_lo) == pytest.approx(
        1.5 * math.log(dense_a.max_qps / dense_a.max_qps_lo)
    )
