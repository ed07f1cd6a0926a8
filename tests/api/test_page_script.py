"""The page's own words for an answer (api/web/app.js), run under Node without a browser."""

from __future__ import annotations

import json
import shutil
import subprocess
from importlib import resources
from typing import Any

import pytest

from tests.api.test_operating_point import QUERY, answer, fleet, option

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="no Node.js to run the page's script")

# The script's functions, in a context whose document has nothing and whose fetch never
# answers: init() then waits forever instead of drawing.
HARNESS = """
const vm = require("vm");
const fs = require("fs");
const context = {document: {querySelector: () => null, getElementById: () => null},
                 fetch: () => new Promise(() => {}), console};
vm.createContext(context);
const exported = ";globalThis.page = {targetsLine, optionColumns, winnerFigures, fleetText, fmt};";
vm.runInContext(fs.readFileSync(process.argv[1], "utf8") + exported, context);
const doc = JSON.parse(fs.readFileSync(0, "utf8"));
const page = context.page;
const options = [doc.recommendation, ...doc.alternatives];
const columns = page.optionColumns(doc.query, options);
process.stdout.write(JSON.stringify({
  targets: page.targetsLine(doc.query),
  headers: columns.map(([header]) => header),
  first: columns.map(([, cell]) => cell(options[0])),
  winner: page.winnerFigures(doc.recommendation, doc.query),
  fleet: page.fleetText(doc.recommendation, doc.query),
  numbers: [1180, 1000, 0.5, 12345].map((v) => page.fmt(v, 4)),
}));
"""


def run_page(document: dict[str, Any]) -> dict[str, Any]:
    script = resources.files("api.web").joinpath("app.js")
    assert NODE is not None
    done = subprocess.run(
        [NODE, "-e", HARNESS, str(script)],
        input=json.dumps(document),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_the_page_names_the_percentile_and_the_operating_point() -> None:
    got = run_page(answer(QUERY, [option(1), option(2)]).model_dump(mode="json"))
    assert got["targets"].startswith("TTFT < 1000 ms, ITL < 100 ms at p95, constant arrivals")
    assert "QPS @ op" in got["headers"] and "TTFT / ITL p95 ms" in got["headers"]
    assert "limited by" in got["headers"] and "max QPS (80%)" in got["headers"]
    assert "kv_cache" in got["first"]
    winner = "0.61 requests/s per deployment at the operating point, p95 TTFT 912 [700-1180] ms"
    assert winner in got["winner"]
    assert "idle server: 456.4 / 22.5 ms" in got["winner"]
    assert got["fleet"] == ""


def test_the_page_shows_the_fleet_for_a_target_load() -> None:
    query = {**QUERY, "qps": 20.0, "headroom_pct": 10.0}
    got = run_page(answer(query, [fleet(1, 37)]).model_dump(mode="json"))
    for header in ("deployments", "GPUs total", "fleet $/hour", "$/M output tokens"):
        assert header in got["headers"], header
    assert got["fleet"] == (
        "37 deployment(s), 37 GPUs for 20 QPS: $66.23/hour, $0.970 per million output tokens; "
        "sized on 0.55 QPS per deployment (10% headroom); chance to meet the limits at 20 QPS: 93%"
    )
    assert got["targets"].endswith("20 QPS with 10% headroom")


def test_the_page_writes_round_numbers_whole() -> None:
    got = run_page(answer(QUERY, [option(1)]).model_dump(mode="json"))
    assert got["numbers"] == ["1180", "1000", "0.5", "12,345"]


def test_a_sync_answer_on_the_page_names_no_percentile() -> None:
    query = {**QUERY, "mode": "sync", "ttft_limit_ms": None, "itl_limit_ms": None}
    got = run_page(answer(query, [option(1)]).model_dump(mode="json"))
    assert got["headers"][:4] == ["format", "GPUs", "latency (80%)", "TTFT / ITL ms"]
    assert " at p" not in got["targets"] and "arrivals" not in got["targets"]
