"""Chart specifications built from advice documents, checked without a browser."""

from __future__ import annotations

import io
import json
import re
import struct
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from advisor.errors import AdvisorError
from advisor.service import Advisor, Query
from api.chart_drawing import _px, to_png, to_svg
from api.charts import (
    HEIGHT,
    WIDTH,
    advice_chart,
    limits_chart,
    load_curve_chart,
    recovery_chart,
)
from api.report import report_html, write_report


def document(fitted: Advisor, **query) -> dict:
    return json.loads(fitted.advise(Query(**query)).model_dump_json())


def evaluated(doc: dict, key: str) -> list[dict]:
    options = ([doc["recommendation"]] if doc["recommendation"] else []) + doc["alternatives"]
    options += [r for r in doc["rejected"] if not r.get("blocked")]
    return [o for o in options if o.get(key) and o.get("usd_per_query")]


def test_one_mark_per_candidate_and_the_winner_highlighted(fitted: Advisor) -> None:
    doc = document(fitted, model="70b", gpus=["a100", "h100"], mode="sync", latency_s=4)
    chart = advice_chart(doc)
    assert len(chart.marks) == len(evaluated(doc, "latency_s"))
    winners = [m for m in chart.marks if m.recommended]
    rec = doc["recommendation"]
    assert [m.id for m in winners] == [f"{rec['format']}-{rec['gpu']}-{rec['gpu_count']}"]
    assert {m.feasible for m in chart.marks} == {True, False}
    assert chart.x.label.startswith("latency") and chart.y.scale == "log"
    assert [(g.axis, g.value) for g in chart.guides] == [("x", 4.0)]
    assert chart.region is not None and chart.region[1] == 4.0
    # The frontier: cost falls as latency rises, every point feasible, none dominated.
    xs, ys = zip(*chart.frontier, strict=True)
    assert list(xs) == sorted(xs) and list(ys) == sorted(ys, reverse=True)
    feasible = [(m.x, m.y) for m in chart.marks if m.feasible]
    for x, y in chart.frontier:
        assert not any(fx <= x and fy < y for fx, fy in feasible)
    assert (winners[0].x, winners[0].y) in chart.frontier


def test_async_chart_uses_max_qps_and_the_target_load(fitted: Advisor) -> None:
    doc = document(fitted, model="405b", use_case="rag", qps=20)
    chart = advice_chart(doc)
    assert chart.x.label == "max QPS within the limits at p99"
    doc["query"]["percentile"] = 90.0
    assert advice_chart(doc).x.label.endswith("at p90")
    assert [(g.axis, g.value) for g in chart.guides] == [("x", 20.0)]
    assert len(chart.marks) == len(evaluated(doc, "max_qps"))


def test_recovery_chart_has_each_format_its_interval_and_the_floor(fitted: Advisor) -> None:
    doc = document(fitted, model="8b", min_recovery=99, suite="leaderboard_v1")
    chart = recovery_chart(doc)
    assert chart.x.categories == ["bf16", "fp8", "int8", "int4"]
    int4 = next(m for m in chart.marks if m.id == "recovery-int4")
    assert int4.y == pytest.approx(98.72) and int4.lo < 98.72 < int4.hi
    assert [(g.axis, g.value) for g in chart.guides] == [("y", 99.0)]


@pytest.mark.parametrize("mode", ["async", "sync"])
def test_svg_and_png_draw_every_mark(fitted: Advisor, mode: str) -> None:
    doc = document(fitted, model="70b", gpus=["a100", "h100"], mode=mode, latency_s=20)
    chart = advice_chart(doc)
    svg = to_svg(chart)
    assert svg.count('class="mark') == len(chart.marks)
    assert svg.count('class="mark recommended"') == 1
    assert svg.count('class="feasible-region"') == (mode == "sync")
    assert to_png(chart).startswith(b"\x89PNG\r\n\x1a\n")


def test_async_limits_chart_draws_both_limits_and_the_region_within(fitted: Advisor) -> None:
    doc = document(fitted, model="70b", use_case="code_completion", gpus=["h100"], qps=10)
    chart = limits_chart(doc)
    assert sorted((g.axis, g.value) for g in chart.guides) == [("x", 1000.0), ("y", 100.0)]
    assert chart.region is not None and chart.region[1] == 1000.0
    assert chart.region_y is not None and chart.region_y[1] == 100.0
    # Every feasible option is inside the region, at its operating point.
    inside = [m for m in chart.marks if m.feasible]
    assert inside and all(m.x <= 1000 and m.y <= 100 for m in inside)
    assert {m.recommended for m in chart.marks} == {True, False}
    svg = to_svg(chart)
    assert svg.count('class="limit"') == 2 and svg.count('class="feasible-region"') == 1
    # The region's rectangle ends at the two limit lines.
    rect = re.search(r'class="feasible-region" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)"', svg)
    assert rect is not None
    x, y, width = map(float, rect.groups())
    right, top = _px(chart, 1000.0, 100.0)
    assert x + width == pytest.approx(right, abs=0.2) and y == pytest.approx(top, abs=0.2)


def test_chart_text_writes_figures_in_full(fitted: Advisor) -> None:
    doc = document(fitted, model="70b", gpus=["a100", "h100"])
    svg = to_svg(advice_chart(doc)) + to_svg(recovery_chart(doc)) + to_svg(limits_chart(doc))
    assert not re.search(r"\de[+-]\d", svg)  # no 1.13e+03, no $1.79e-05


def test_load_curve_chart_draws_limits() -> None:
    points = [
        {
            "benchmark_index": i,
            "strategy": "constant",
            "achieved_rps": r,
            "ttft_p99_ms": 100 * r,
            "itl_p99_ms": 10 * r,
        }
        for i, r in enumerate((1.0, 2.0, 4.0))
    ]
    chart = load_curve_chart("x", points, 1000, 100)
    assert len(chart.marks) == 6
    assert {(g.axis, g.value) for g in chart.guides} == {("y", 1000), ("y", 100)}


def test_report_is_self_contained(fitted: Advisor, tmp_path: Path) -> None:
    doc = document(fitted, model="70b", gpus=["a100", "h100"])
    page = report_html(doc)
    assert 'id="report-data"' in page and "/static/" not in page
    assert page.count("limits-chart-svg") == 1  # async: the limits chart travels with it
    assert not re.search(r'(?:src|href)\s*=\s*"(?:https?:)?//', page)  # nothing fetched
    for name in ("report.html", "chart.svg", "chart.png"):
        write_report(doc, tmp_path / name)
    assert (tmp_path / "chart.svg").read_text().startswith("<svg")
    assert (tmp_path / "chart.png").read_bytes()[:4] == b"\x89PNG"


def pixels(png: bytes) -> tuple[int, int, Callable[[float, float], tuple[int, int, int, int]]]:
    """(width, height, RGBA at (x, y)), read back with Cairo, the library cairosvg binds."""
    cairocffi = pytest.importorskip("cairocffi")
    surface = cairocffi.ImageSurface.create_from_png(io.BytesIO(png))
    data, stride = bytes(surface.get_data()), surface.get_stride()

    def rgba(x: float, y: float) -> tuple[int, int, int, int]:
        offset = int(y) * stride + int(x) * 4
        blue, green, red, alpha = data[offset : offset + 4]  # ARGB32, little-endian
        return red, green, blue, alpha

    return surface.get_width(), surface.get_height(), rgba


def test_png_is_the_svg_rasterised(fitted: Advisor) -> None:
    chart = advice_chart(document(fitted, model="70b", gpus=["a100", "h100"]))
    png = to_png(chart)
    assert struct.unpack(">II", png[16:24]) == (WIDTH, HEIGHT)  # IHDR
    width, height, rgba = pixels(png)
    assert (width, height) == (WIDTH, HEIGHT)
    assert rgba(WIDTH - 2, HEIGHT - 2) == (255, 255, 255, 255)  # opaque white, as before
    # The winner sits where the SVG puts it, in its format's colour.
    winner = next(m for m in chart.marks if m.recommended)
    red, green, blue, _ = rgba(*_px(chart, winner.x, winner.y))
    assert f"#{red:02x}{green:02x}{blue:02x}" == winner.colour
    # The title is text, drawn: dark pixels where the SVG writes it (a font was found).
    title_band = [rgba(x, y) for x in range(78, 400) for y in range(8, 30)]
    assert sum(sum(p[:3]) < 3 * 128 for p in title_band) > 200


def test_png_without_cairo_says_what_to_install(
    fitted: Advisor, monkeypatch: pytest.MonkeyPatch
) -> None:
    chart = advice_chart(document(fitted, model="70b", gpus=["a100", "h100"]))
    monkeypatch.setitem(sys.modules, "cairosvg", None)  # as if it could not be imported
    with pytest.raises(AdvisorError, match="libcairo2"):
        to_png(chart)
