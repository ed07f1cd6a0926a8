"""Calibration: a team's own measurement corrects its configuration through the per-token terms.

One imported synchronous cell of a configuration moves every other prompt and output shape of
that configuration the same way, and leaves other GPUs (and other configurations) alone.
"""

from __future__ import annotations

import math

import pytest

from advisor.data import Snapshot, SyncCell
from advisor.latency import Shape, terms
from advisor.predictor import Cell, PerformancePredictor
from advisor.vocabulary import Format, Label


def _cell(snapshot: Snapshot, gpu: str, prefill: int, decode: int, count: int = 1) -> Cell:
    return Cell(
        model=snapshot.model("70b"),
        format=Format.INT4,
        gpu=snapshot.gpu(gpu),
        gpu_count=count,
        prefill_tokens=prefill,
        decode_tokens=decode,
    )


SHAPES = [(256, 128), (1024, 512), (4096, 1024), (512, 64)]


@pytest.mark.parametrize("factor", [1.3, 0.8])
def test_one_measured_cell_moves_the_other_shapes_of_its_configuration(
    snapshot: Snapshot, factor: float
) -> None:
    before = PerformancePredictor().fit(snapshot)
    engine = before.engine_
    (rag,) = before.predict_sync([_cell(snapshot, "h200", 1024, 128)])
    measured = SyncCell(
        model="llama-3.1-70b-instruct",
        format=Format.INT4,
        gpu="h200",
        gpu_count=1,
        use_case="rag",
        prefill_tokens=1024,
        decode_tokens=128,
        latency_s=rag.latency_s * factor,
        decode_flag=None,
        source="team:own-measurement",
        engine="vllm" if engine else None,
        engine_version=engine.split(" ", 1)[1] if engine else None,
    )
    after = PerformancePredictor().fit(
        snapshot.model_copy(update={"sync": [*snapshot.sync, measured]})
    )

    (now,) = after.predict_sync([_cell(snapshot, "h200", 1024, 128)])
    assert now.label is Label.MEASURED and now.latency_s == pytest.approx(rag.latency_s * factor)

    # The correction goes to the decode steps: their share of the measured cell is `share`, so
    # the per-token time moves by (factor - 1) / share, shrunk a little toward the pooled
    # prediction (one cell is not certainty), and so does a shape that is mostly decode; a
    # shape with more prompt moves less.
    share = (rag.itl_ms / 1000 * 127) / rag.latency_s
    full = (factor - 1) / share
    itl_ratio = 1 + full
    others = [_cell(snapshot, "h200", p, d) for p, d in SHAPES]
    old = before.predict_sync(others)
    new = after.predict_sync(others)
    for o, n, (prefill, decode) in zip(old, new, SHAPES, strict=True):
        assert n.label is not Label.MEASURED
        # ... but never faster than the roofline of the decode steps.
        shape = Shape(
            snapshot.model("70b"), Format.INT4, snapshot.gpu("h200"), 1, prefill, decode, engine
        )
        floor = terms(shape).itl_bound_s * 1000 / o.itl_ms
        moved = n.itl_ms / o.itl_ms - 1
        assert n.itl_ms / o.itl_ms >= floor * 0.999
        assert 0.5 * abs(max(itl_ratio, floor) - 1) <= abs(moved) <= 1.3 * abs(full)
        assert (moved > 0) == (factor > 1)
        # The prompt's share moves less than the per-token time (it is not what was measured).
        assert abs(math.log(n.ttft_ms / o.ttft_ms)) < abs(math.log(n.itl_ms / o.itl_ms))
        # The latency moves between 1 (the prompt's share) and the per-token ratio.
        ratio = n.latency_s / o.latency_s
        per_token = n.itl_ms / o.itl_ms
        assert min(1.0, per_token) * 0.999 <= ratio <= max(1.0, per_token) * 1.001
        assert (ratio > 1) == (factor > 1)

    # Other GPUs stay where they were (within 3% of a 30% move: the global INT4 terms weigh
    # one more cell among many); the same GPU at another count learns a little (its
    # format-on-GPU efficiency is pooled), in the same direction and by less.
    for gpu, count in (("h100", 1), ("a100", 2), ("a6000", 1)):
        unmoved_old = before.predict_sync([_cell(snapshot, gpu, 1024, 256, count)])[0]
        unmoved_new = after.predict_sync([_cell(snapshot, gpu, 1024, 256, count)])[0]
        assert unmoved_new.latency_s == pytest.approx(unmoved_old.latency_s, rel=0.03)
    (pooled_old,) = before.predict_sync([_cell(snapshot, "h200", 1024, 256, 2)])
    (pooled_new,) = after.predict_sync([_cell(snapshot, "h200", 1024, 256, 2)])
    moved = math.log(pooled_new.latency_s / pooled_old.latency_s)
    assert 0 <= moved / math.log(factor) < 0.8


def test_more_measurements_are_followed_more_closely(snapshot: Snapshot) -> None:
    """A configuration whose true per-token time is 1.4x the pooled prediction: each measured
    shape brings the prediction of an unmeasured one closer to the truth."""
    before = PerformancePredictor().fit(snapshot)
    engine = before.engine_

    def truth(prefill: int, decode: int) -> float:
        (p,) = before.predict_sync([_cell(snapshot, "h200", prefill, decode)])
        return p.latency_s + 0.4 * (decode - 1) * p.itl_ms / 1000

    shapes = [(1024, 128), (256, 128), (512, 256), (4096, 512)]
    rows = [
        SyncCell(
            model="llama-3.1-70b-instruct",
            format=Format.INT4,
            gpu="h200",
            gpu_count=1,
            use_case=None,
            prefill_tokens=prefill,
            decode_tokens=decode,
            latency_s=truth(prefill, decode),
            decode_flag=None,
            source="team:own-measurement",
            engine="vllm" if engine else None,
            engine_version=engine.split(" ", 1)[1] if engine else None,
        )
        for prefill, decode in shapes
    ]
    target = _cell(snapshot, "h200", 2048, 1024)
    expected = truth(2048, 1024)
    errors = []
    for measured in ([], rows[:1], rows[:2], rows):
        fitted = PerformancePredictor().fit(
            snapshot.model_copy(update={"sync": [*snapshot.sync, *measured]})
        )
        (p,) = fitted.predict_sync([target])
        errors.append(abs(p.latency_s - expected) / expected)
    assert errors[0] > 0.25
    assert errors[1] < errors[0] / 3
    assert errors[3] <= errors[1] + 0.005
    assert errors[3] < 0.05
