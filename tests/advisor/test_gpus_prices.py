"""What runs where (vLLM's table), how predictions resting on estimates are labelled, and how
price lists are chosen, merged and used."""

from __future__ import annotations

import pytest

from advisor.candidates import blocked_reason
from advisor.cells import Cell
from advisor.data import STUDY_PRICE_LIST
from advisor.errors import InvalidInputError, UnknownNameError
from advisor.hardware import PriceEntry, PriceList
from advisor.service import Query
from advisor.vocabulary import Format, Label


def prices(name: str, *rows: tuple[str, int, float]) -> PriceList:
    return PriceList(
        name=name, entries=[PriceEntry(gpu=g, gpu_count=c, usd_per_hour=u) for g, c, u in rows]
    )


def test_peak_for_follows_the_format_support_table(snapshot) -> None:
    a100, h100, b200, mi300x = (snapshot.gpu(g) for g in ("a100", "h100", "b200", "mi300x"))
    # FP8 on Ampere: FP8 weights, BF16 math (W8A16 through Marlin).
    assert a100.peak_for(Format.FP8) == a100.bf16_tflops and a100.runs_weight_only(Format.FP8)
    assert h100.peak_for(Format.FP8) == h100.fp8_tflops and not h100.runs_weight_only(Format.FP8)
    # INT8 W8A8: not on Blackwell, whatever the datasheet says; not on AMD.
    assert b200.int8_tops is not None and b200.peak_for(Format.INT8) is None
    assert mi300x.peak_for(Format.INT8) is None
    # INT4 W4A16: NVIDIA Ampere and newer, BF16 math; not listed for AMD.
    assert a100.peak_for(Format.INT4) == a100.bf16_tflops
    assert b200.peak_for(Format.INT4) == b200.bf16_tflops
    assert mi300x.peak_for(Format.INT4) is None
    assert mi300x.peak_for(Format.FP8) == mi300x.fp8_tflops


def test_every_gpu_has_every_format_from_the_table(snapshot) -> None:
    for gpu in snapshot.gpus:
        assert {s.format for s in gpu.formats} == set(Format), gpu.gpu
        assert gpu.supports(Format.BF16)


@pytest.mark.parametrize(
    ("gpu", "fmt", "words"),
    [
        ("b200", Format.INT8, "compute capability >= 10.0"),
        ("mi300x", Format.INT8, "no INT8 W8A8 on AMD"),
        ("mi325x", Format.INT4, "not listed for AMD"),
    ],
)
def test_a_format_that_does_not_run_says_which_and_why(
    snapshot, gpu: str, fmt: Format, words: str
) -> None:
    model = snapshot.model("8b")
    found = blocked_reason(model, fmt, snapshot.gpu(gpu), 1, 2048, snapshot.price_list())
    assert found is not None and found.reason == "unsupported"
    assert gpu in found.detail and fmt.value in found.detail and words in found.detail


def test_missing_and_estimated_figures_are_named(snapshot) -> None:
    mi325x, a10g, h100 = snapshot.gpu("mi325x"), snapshot.gpu("a10g"), snapshot.gpu("h100")
    assert mi325x.missing_fields == ("int8_tops",) and mi325x.int8_tops is None
    # One GPU alone needs no interconnect: its estimate matters from two GPUs on.
    assert mi325x.estimated_for(Format.BF16, 1) == []
    assert mi325x.estimated_for(Format.BF16, 2) == ["interconnect_gbps"]
    assert "bf16_tflops" in a10g.estimated_for(Format.INT4, 1)
    assert h100.estimated_for(Format.FP8, 8) == [] and not h100.extrapolates(Format.FP8, 8)


def cell(snapshot, model: str, fmt: Format, gpu: str, count: int) -> Cell:
    return Cell(
        model=snapshot.model(model),
        format=fmt,
        gpu=snapshot.gpu(gpu),
        gpu_count=count,
        prefill_tokens=1024,
        decode_tokens=128,
    )


def test_weight_only_and_estimated_figures_are_extrapolated(fitted, snapshot) -> None:
    predictor = fitted.predictor
    # Inside the fitted region: the study measured 70B INT8 on A100s at this shape.
    assert predictor.label(cell(snapshot, "70b", Format.INT8, "a100", 2)) is Label.INTERPOLATED
    # FP8 on A100: no measurement of the weight-only kernel path anywhere.
    assert predictor.label(cell(snapshot, "70b", Format.FP8, "a100", 2)) is Label.EXTRAPOLATED
    # The A10G's tensor rates are estimates.
    assert predictor.label(cell(snapshot, "8b", Format.BF16, "a10g", 1)) is Label.EXTRAPOLATED


def test_a_weight_only_option_says_so(fitted) -> None:
    advice = fitted.advise(Query(model="70b", gpu_types=["a100"], formats=["fp8"]))
    options = [o for o in [*advice.alternatives, *advice.rejected] if o.label is not None]
    if advice.recommendation is not None:
        assert advice.recommendation["weight_only"] is True
    assert options and all(o.weight_only and o.label is Label.EXTRAPOLATED for o in options)


def test_nearest_count_pricing_keeps_node_and_single_prices_apart() -> None:
    listed = prices("l", ("h100", 1, 2.0), ("h100", 8, 24.0))
    assert listed.usd_per_hour("h100", 1) == 2.0
    assert listed.usd_per_hour("h100", 2) == pytest.approx(4.0)  # single x 2 (ratio 2 < 4)
    assert listed.usd_per_hour("h100", 4) == pytest.approx(12.0)  # half a node (ratio 2 < 4)
    assert listed.usd_per_hour("h100", 16) == pytest.approx(48.0)  # two nodes
    assert listed.usd_per_hour("l4", 1) is None


def test_own_prices_merge_per_gpu_and_count() -> None:
    shipped = prices("market", ("h100", 1, 4.0), ("h100", 8, 40.0), ("a100", 1, 1.6))
    own = prices("mine.csv", ("h100", 1, 2.5), ("l40s", 1, 1.1))
    merged = shipped.merged_with(own)
    assert merged.name == "market" and merged.merged == "mine.csv"
    assert merged.usd_per_hour("h100", 1) == 2.5  # yours win
    assert merged.usd_per_hour("h100", 8) == 40.0  # the node price stays
    assert merged.usd_per_hour("a100", 1) == 1.6  # others stay
    assert merged.usd_per_hour("l40s", 1) == 1.1  # yours add


def test_shipped_lists_by_name(snapshot) -> None:
    default = snapshot.price_list()
    assert default.is_default and default.as_of is not None and default.source
    assert set(default.gpus()) == {g.gpu for g in snapshot.gpus}
    study = snapshot.price_list(STUDY_PRICE_LIST)
    assert study.usd_per_hour("a100", 8) == 14.32 and str(study.as_of) == "2024-10-28"
    with pytest.raises(UnknownNameError, match=r"accepted: .*lambda-2024-10-28"):
        snapshot.price_list("lambda-2023")
    own = prices("mine.csv", ("h100", 1, 2.5))
    alone = snapshot.prices_for(own=own, replace=True)
    assert alone.gpus() == ["h100"] and alone.name == "mine.csv"
    with pytest.raises(InvalidInputError, match="not both"):
        snapshot.prices_for(STUDY_PRICE_LIST, own, replace=True)


def test_the_default_search_leaves_out_estimated_prices_unless_named(fitted) -> None:
    advice = fitted.advise(Query(model="8b"))
    assert not {"a5000", "mi325x", "mi355x"} & set(advice.query["gpu_types"])
    assert any("mi325x" in d for d in advice.query["defaults"])
    named = fitted.advise(Query(model="8b", gpu_types=["mi325x"]))
    assert named.query["gpu_types"] == ["mi325x"]
    assert "estimate" in named.query["price_notes"]["mi325x"]


def test_an_unpriced_gpu_is_predicted_and_named_not_priced(fitted, snapshot) -> None:
    study = snapshot.price_list(STUDY_PRICE_LIST)  # no L40S in the study's list
    advice = fitted.advise(Query(model="70b", gpu_types=["l40s"]), study)
    assert advice.recommendation is None and advice.query["not_priced"] == ["l40s"]
    assert advice.query["price_list"] == STUDY_PRICE_LIST
    assert advice.query["price_list_as_of"] == "2024-10-28"
    unpriced = [r for r in advice.rejected if r.reason == "no_price"]
    assert unpriced and all(r.detail.startswith("not priced") for r in unpriced)
    # Predicted all the same: the figures are there, the cost is not.
    assert all(r.max_qps is not None and r.usd_per_query is None for r in unpriced)
    assert any("meets the targets otherwise" in r.detail for r in unpriced)
    assert "not priced: l40s" in advice.message
