"""Performance model properties: physics bounds, monotonicity, labels and intervals."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisor.architecture import architecture_from_config
from advisor.data import Snapshot
from advisor.hardware import ModelSpec
from advisor.latency import FAMILIES, Shape, parameter_value, terms
from advisor.load_fit import LoadCase, evaluate_cases
from advisor.predictor import Cell, LoadQuestion, PerformancePredictor
from advisor.service import Advisor
from advisor.sizes import fits
from advisor.vocabulary import Format, Label

QWEN_LIKE = {
    "architectures": ["Qwen2ForCausalLM"],
    "model_type": "qwen2",
    "hidden_size": 3584,
    "intermediate_size": 18944,
    "num_attention_heads": 28,
    "num_hidden_layers": 28,
    "num_key_value_heads": 4,
    "vocab_size": 152064,
    "tie_word_embeddings": False,
    "max_position_embeddings": 32768,
}


def cell(
    snapshot: Snapshot,
    model: str | ModelSpec,
    fmt: str,
    gpu: str,
    count: int,
    prefill: int = 1024,
    decode: int = 128,
) -> Cell:
    spec = model if isinstance(model, ModelSpec) else snapshot.model(model)
    return Cell(
        model=spec,
        format=Format(fmt),
        gpu=snapshot.gpu(gpu),
        gpu_count=count,
        prefill_tokens=prefill,
        decode_tokens=decode,
    )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    model=st.sampled_from(["8b", "70b", "405b"]),
    fmt=st.sampled_from(list(Format)),
    gpu=st.sampled_from(["a6000", "a100", "h100", "h200", "l40s", "l4", "b200", "a10g"]),
    count=st.sampled_from([1, 2, 4, 8, 16]),
    prefill=st.integers(1, 8192),
    decode=st.integers(1, 4096),
)
def test_never_faster_than_the_roofline(
    fitted: Advisor, model: str, fmt: str, gpu: str, count: int, prefill: int, decode: int
) -> None:
    snap = fitted.snapshot
    c = cell(snap, model, fmt, gpu, count, prefill, decode)
    if not c.gpu.supports(c.format) or not fits(
        c.model.arch, c.format, c.gpu, count, prefill + decode
    ):
        return
    (s,) = fitted.predictor.predict_sync([c])
    assert s.latency_s >= s.latency_bound_s * (1 - 1e-9)
    assert s.latency_s_lo >= s.latency_bound_s * (1 - 1e-9)
    assert s.latency_s_lo <= s.latency_s <= s.latency_s_hi
    # The naive load model (datasheet step costs, nothing fitted) saturates first.
    naive = evaluate_cases([LoadCase(c)], {}, {}, "")[2].saturation_qps[0]
    (a,) = fitted.predictor.predict_async([c], LoadQuestion(ttft_limit_ms=1000, itl_limit_ms=100))
    if a.label is not Label.MEASURED:
        assert a.max_qps <= a.max_qps_unconstrained * (1 + 1e-9) <= naive * (1 + 1e-9)


def test_latency_grows_with_tokens(fitted: Advisor) -> None:
    snap = fitted.snapshot
    decodes = [
        c.latency_s
        for c in fitted.predictor.predict_sync(
            [cell(snap, "70b", "int4", "a100", 2, 512, d) for d in (16, 64, 256, 1024, 4096)]
        )
    ]
    prefills = [
        c.latency_s
        for c in fitted.predictor.predict_sync(
            [cell(snap, "70b", "int4", "a100", 2, p, 128) for p in (64, 512, 2048, 8192)]
        )
    ]
    assert decodes == sorted(decodes) and len(set(decodes)) == len(decodes)
    assert prefills == sorted(prefills) and len(set(prefills)) == len(prefills)


def test_throughput_falls_with_longer_requests(fitted: Advisor) -> None:
    snap = fitted.snapshot
    qps = [
        a.max_qps
        for a in fitted.predictor.predict_async(
            [cell(snap, "70b", "fp8", "h200", 4, 1024, d) for d in (64, 256, 1024)],
            LoadQuestion(),
        )
    ]
    assert qps == sorted(qps, reverse=True)


def test_cost_is_monotone_in_gpu_price(fitted: Advisor) -> None:
    from advisor.hardware import PriceEntry, PriceList
    from advisor.service import Query

    cheap = PriceList(name="cheap", entries=[PriceEntry(gpu="h100", gpu_count=1, usd_per_hour=2.0)])
    dear = PriceList(name="dear", entries=[PriceEntry(gpu="h100", gpu_count=1, usd_per_hour=4.0)])
    query = Query(model="70b", gpus=["h100"], mode="sync", use_case="rag")
    low = fitted.advise(query, cheap)
    high = fitted.advise(query, dear)
    assert low.recommendation and high.recommendation
    # The recommendation is the JSON document's: six significant digits.
    assert high.recommendation["usd_per_query"] == pytest.approx(
        2 * low.recommendation["usd_per_query"], rel=1e-5
    )


def test_labels_and_intervals_widen_outside_the_measured_region(fitted: Advisor) -> None:
    snap = fitted.snapshot
    measured, interpolated, extrapolated = fitted.predictor.predict_sync(
        [
            cell(snap, "70b", "int4", "a100", 1, 1024, 128),  # Table 5, RAG
            cell(snap, "70b", "int4", "a100", 2, 512, 200),  # unmeasured, inside the region
            cell(snap, "70b", "int4", "h200", 2, 512, 200),  # a GPU the study never ran
        ]
    )
    assert (measured.label, interpolated.label, extrapolated.label) == (
        Label.MEASURED,
        Label.INTERPOLATED,
        Label.EXTRAPOLATED,
    )
    assert measured.latency_s == pytest.approx(5.1)

    def width(p) -> float:
        return math.log(p.latency_s_hi / p.latency_s_lo)

    assert width(measured) < width(interpolated) < width(extrapolated)


def test_any_dense_decoder_from_config_json_on_any_reference_gpu(fitted: Advisor) -> None:
    snap = fitted.snapshot
    spec = ModelSpec(model="qwen-like", arch=architecture_from_config(QWEN_LIKE))
    cells = [cell(snap, spec, "bf16", g.gpu, 2) for g in snap.gpus]
    predictions = fitted.predictor.predict_sync(cells)
    assert len(predictions) == len(snap.gpus)
    assert all(p.label is Label.EXTRAPOLATED and p.latency_s > 0 for p in predictions)
    asyn = fitted.predictor.predict_async(cells, LoadQuestion(ttft_limit_ms=1000, itl_limit_ms=100))
    assert all(a.max_qps > 0 for a in asyn)


def test_fit_keeps_only_coefficients(snapshot: Snapshot) -> None:
    import pickle

    predictor = PerformancePredictor().fit(snapshot)
    assert "sklearn" not in pickle.dumps(predictor).decode("latin-1")
    # Every effective parameter of every fitted context is non-negative: no efficiency above 1.
    spec = snapshot.model("70b")
    for row in snapshot.sync:
        shape = Shape(spec, row.format, snapshot.gpu(row.gpu), row.gpu_count, 1024, 128, "")
        t = terms(shape)
        assert all(parameter_value(predictor.sync_params_, f, t.keys[f]) >= 0 for f in FAMILIES)


def test_sync_bound_is_the_weight_stream_for_decode(snapshot: Snapshot) -> None:
    spec = snapshot.model("8b")
    t = terms(Shape(spec, Format.BF16, snapshot.gpu("a6000"), 1, 1, 2, ""))
    # 8B in BF16 streams ~16 GB per token; at 768 GB/s that is ~21 ms (data/README.md).
    assert t.itl_bound_s == pytest.approx(0.0196, rel=0.02)


def test_an_unstated_engine_never_hides_a_measurement(fitted: Advisor) -> None:
    from advisor.service import Query

    ask = {"model": "70b", "gpus": ["a100"], "formats": ["int4"], "use_case": "rag"}
    default = fitted.advise(Query(**ask, mode="sync", max_gpus=1))
    (one,) = [o for o in [default.recommendation, *default.rejected] if o and o["gpu_count"] == 1]
    assert one["label"] == "measured" and one["latency_s"] == pytest.approx(5.1)
    assert one["engine"] == "vllm 0.6.1.post2"
    assert default.query["engine"] == fitted.predictor.engine_ != "vllm 0.6.1.post2"
    stated = fitted.advise(Query(**ask, mode="sync", max_gpus=1, engine_version="0.7.2"))
    (other,) = [o for o in [stated.recommendation, *stated.rejected] if o and o["gpu_count"] == 1]
    assert other["label"] != "measured" and other["engine"] == "vllm 0.7.2"
