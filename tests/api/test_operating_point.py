"""The operating point and the fleet at the edges: the table, the flags and the report."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from rich.console import Console

from advisor.search import Option
from advisor.service import Advice
from api.cli import advise
from api.render import advice_columns, fitted_table, print_advice
from api.report import report_html
from api.words import targets_line

QUERY: dict[str, Any] = {
    "model": "llama-3.1-70b-instruct",
    "prefill_tokens": 1024,
    "decode_tokens": 128,
    "mode": "async",
    "ttft_limit_ms": 1000.0,
    "itl_limit_ms": 100.0,
    "latency_limit_s": None,
    "min_recovery_pct": 98.0,
    "suite": "leaderboard_v1",
    "qps": None,
    "percentile": 95.0,
    "arrivals": "constant",
    "headroom_pct": None,
    "defaults": ["ttft_ms=1000 (the study's limit)", "itl_ms=100 (the study's limit)"],
}


def option(gpu_count: int, **more: Any) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "format": "int4",
        "gpu": "a100",
        "gpu_count": gpu_count,
        "max_qps": 0.74 * gpu_count,
        "max_qps_lo": 0.55 * gpu_count,
        "max_qps_hi": 0.99 * gpu_count,
        "operating_qps": 0.61 * gpu_count,
        "ttft_ms": 912.0,
        "ttft_ms_lo": 700.0,
        "ttft_ms_hi": 1180.0,
        "itl_ms": 41.5,
        "itl_ms_lo": 30.0,
        "itl_ms_hi": 55.0,
        "ttft_unloaded_ms": 456.4,
        "itl_unloaded_ms": 22.5,
        "binding_constraint": "kv_cache",
        "usd_per_query": 0.000676 * gpu_count,
        "usd_per_hour": 1.79 * gpu_count,
        "recovery_pct": 99.53,
        "label": "interpolated",
    }
    return Option.model_validate({**figures, **more}).model_dump(mode="json")


def answer(query: dict[str, Any], options: list[dict[str, Any]]) -> Advice:
    winner = {**options[0], "vllm_serve_command": "vllm serve x", "guidellm_command": "guidellm"}
    return Advice(
        query=query,
        recommendation=winner,
        alternatives=[Option.model_validate(o) for o in options[1:]],
        rejected=[],
        closest_misses=[],
        message="",
    )


def fleet(gpu_count: int, deployments: int) -> dict[str, Any]:
    return option(
        gpu_count,
        operating_qps=20 / deployments,
        deployments=deployments,
        fleet_gpus=deployments * gpu_count,
        fleet_usd_per_hour=1.79 * gpu_count * deployments,
        usd_per_million_output_tokens=0.97 * gpu_count,
        sized_qps_per_deployment=0.55 * gpu_count,
        meets_limits_probability=0.934,
    )


def rendered(advice: Advice, width: int) -> str:
    console = Console(file=io.StringIO(), width=width)
    print_advice(console, advice)
    text: str = console.file.getvalue()  # type: ignore[attr-defined]
    return text


def header_text(text: str) -> str:
    """The table's header cells, wrapped lines joined back: 'TTFT / ITL p95 ms'."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("┏"))
    end = next(i for i, line in enumerate(lines) if line.startswith("┡"))
    cells: list[list[str]] = []
    for line in lines[start + 1 : end]:
        parts = [p.strip() for p in line.strip("┃").split("┃")]
        cells = (
            [[*c, p] for c, p in zip(cells, parts, strict=True)] if cells else [[p] for p in parts]
        )
    return " | ".join(" ".join(w for w in c if w) for c in cells)


def test_the_async_table_shows_the_operating_point_at_the_chosen_percentile() -> None:
    text = rendered(answer(QUERY, [option(1), option(2)]), 200)
    headers = header_text(text)
    assert "QPS @ op" in headers and "TTFT / ITL p95 ms" in headers
    assert "limited by" in headers and "max QPS (80%)" in headers
    assert "kv_cache" in text and "0.61" in text and "912 / 41.5" in text
    # The winner's intervals and its idle-server figures, which the table has no room for.
    assert "0.61 QPS per deployment, p95 TTFT 912 [700-1,180] ms, ITL 41.5 [30-55] ms" in text
    assert "idle server: 456.4 / 22.5 ms" in text
    assert "TTFT < 1000 ms, ITL < 100 ms at p95, constant arrivals" in text.splitlines()[0]


def test_without_an_operating_point_the_columns_say_nothing_of_one() -> None:
    bare = {"operating_qps": None, "binding_constraint": None}
    text = rendered(answer(QUERY, [option(1, **bare)]), 200)
    headers = header_text(text)
    assert "QPS @ op" not in headers and "limited by" not in headers
    assert "TTFT / ITL ms" in headers and "p95 ms" not in headers
    assert "load:" not in text


def test_a_target_load_shows_the_fleet_and_its_sizing() -> None:
    query = {**QUERY, "qps": 20.0}
    text = rendered(answer(query, [fleet(1, 37), fleet(2, 19)]), 200)
    headers = header_text(text)
    for column in ("deployments", "GPUs total", "fleet USD/h", "USD/M out"):
        assert column in headers, column
    assert re.search(r"│ int4 +│ 2 x a100 .*│ 19 +│ 38 +│ \$68\.02 +│ \$1\.94 ", text)
    assert "fleet:   37 deployments, 37 GPUs, $66.23/hour, $0.97 per million output tokens" in text
    assert (
        "sized on 0.55 QPS per deployment (the 80% interval's low end); "
        "chance to meet the limits at 20 QPS: 93%" in text
    )
    with_headroom = rendered(answer({**query, "headroom_pct": 15.0}, [fleet(1, 37)]), 200)
    assert "(15% headroom)" in with_headroom
    assert "20 QPS with 15% headroom" in with_headroom.splitlines()[0]


@pytest.mark.parametrize("qps", [None, 20.0])
def test_eighty_columns_keep_the_cost_and_fit(qps: float | None) -> None:
    query = {**QUERY, "qps": qps, "latency_limit_s": 6.0}
    options = [fleet(n, 40 // n) for n in (1, 2, 4, 8, 16)]
    text = rendered(answer(query, options), 80)
    table = [line for line in text.splitlines() if line[:1] in "┏┃┡│└"]
    assert table and max(len(line) for line in table) <= 80
    headers = header_text(text)
    assert ("fleet USD/h" if qps else "USD/query") in headers
    assert "format" in headers and "GPUs" in headers
    assert "hidden at this width:" in text
    assert "hidden at this width:" not in rendered(answer(query, options), 250)


def test_columns_are_dropped_least_important_first() -> None:
    query = {**QUERY, "qps": 20.0}
    options = [fleet(1, 37)]
    columns = advice_columns(query, options)
    console = Console(file=io.StringIO(), width=80)
    _, hidden = fitted_table(console, columns, options)
    names = {c.header for c in hidden}
    assert "label" in names and "recovery" in names
    assert not names & {"format", "GPUs", "fleet USD/h", "deployments"}


def test_a_sync_table_is_as_before() -> None:
    query = {**QUERY, "mode": "sync", "ttft_limit_ms": None, "itl_limit_ms": None}
    headers = header_text(rendered(answer(query, [option(1)]), 200))
    assert headers == (
        "format | GPUs | latency (80%) | TTFT / ITL ms | USD/query | USD/hour | recovery | label"
    )
    assert "at p" not in targets_line(query) and "arrivals" not in targets_line(query)


def test_the_targets_line_names_the_latency_limit_at_the_percentile() -> None:
    line = targets_line({**QUERY, "latency_limit_s": 4.0, "percentile": 99.0})
    assert line.startswith("TTFT < 1000 ms, ITL < 100 ms, latency < 4 s at p99, constant")


def test_the_report_names_the_percentile_in_its_title_and_chart() -> None:
    advice = answer({**QUERY, "qps": 20.0}, [fleet(1, 37)]).model_dump(mode="json")
    page = report_html(advice)
    title = page[page.index("<title>") : page.index("</title>")]
    assert "at p95" in title and "constant arrivals" in title
    assert "max QPS within the limits at p95" in page  # the inlined cost chart's axis


@pytest.fixture
def runner(tmp_path: Path) -> CliRunner:
    return CliRunner(env={"ADVISOR_MODEL_CACHE": str(tmp_path / "models")})


def test_a_bad_percentile_is_one_line_naming_the_accepted_ones(
    runner: CliRunner, catalog_file: Path
) -> None:
    result = runner.invoke(
        advise, ["--model", "8b", "--percentile", "80", "--catalog", str(catalog_file)]
    )
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "percentile" in lines[0]
    assert "50, 90, 95, 99" in lines[0] and "value error" not in lines[0]


def test_a_bad_headroom_names_its_flag(runner: CliRunner, catalog_file: Path) -> None:
    result = runner.invoke(
        advise, ["--model", "8b", "--headroom", "100", "--catalog", str(catalog_file)]
    )
    assert result.exit_code == 1
    assert "headroom: input should be less than 100" in result.output


def test_the_flags_reach_the_query(runner: CliRunner, catalog_file: Path) -> None:
    args = ["--model", "70b", "--gpu", "h100", "--format", "fp8", "--qps", "5"]
    args += ["--percentile", "90", "--arrivals", "constant", "--headroom", "20"]
    args += ["--latency-s", "8", "--json", "--catalog", str(catalog_file)]
    result = runner.invoke(advise, args)
    assert result.exit_code == 0, result.output
    query = json.loads(result.output)["query"]
    assert query["percentile"] == 90 and query["arrivals"] == "constant"
    assert query["headroom_pct"] == 20 and query["latency_limit_s"] == 8
    plain = runner.invoke(
        advise,
        [
            "--model",
            "70b",
            "--gpu",
            "h100",
            "--format",
            "fp8",
            "--qps",
            "5",
            "--catalog",
            str(catalog_file),
        ],
    )
    assert plain.exit_code == 0, plain.output
    assert "at p99, poisson arrivals" in plain.output.splitlines()[0]
    assert "deployments" in plain.output and "fleet:" in plain.output
