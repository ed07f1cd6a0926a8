"""The page's own words for an answer (api/web/app.js), run under Node without a browser."""

from __future__ import annotations

import json
import shutil
import subprocess
from importlib import resources
from typing import Any

import numpy as np
import pytest

from api.figures import fixed, usd
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
const text = (html) => html.replace(/<[^>]*>/g, "");  // what a reader sees of the markup
const options = [doc.recommendation, ...doc.alternatives];
const columns = page.optionColumns(doc.query, options);
process.stdout.write(JSON.stringify({
  targets: page.targetsLine(doc.query),
  headers: columns.map(([header]) => header),
  first: columns.map(([, cell]) => text(cell(options[0]))),
  winner: text(page.winnerFigures(doc.recommendation, doc.query)),
  fleet: text(page.fleetText(doc.recommendation, doc.query)),
  numbers: [1180, 1000, 0.5, 12345].map((v) => page.fmt(v, 4)),
}));
"""


# The page's formatters over many figures: [fmt(v, d) for v, d in pairs], [usd(v) for v].
FIGURES = """
const vm = require("vm");
const fs = require("fs");
const context = {document: {querySelector: () => null, getElementById: () => null},
                 fetch: () => new Promise(() => {}), console};
vm.createContext(context);
vm.runInContext(fs.readFileSync(process.argv[1], "utf8") + ";globalThis.f = {fmt, usd};", context);
const {pairs, dollars} = JSON.parse(fs.readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify({
  fixed: pairs.map(([v, d]) => context.f.fmt(v, d)), usd: dollars.map((v) => context.f.usd(v)),
}));
"""


def run_node(harness: str, document: Any) -> dict[str, Any]:
    script = resources.files("api.web").joinpath("app.js")
    assert NODE is not None
    done = subprocess.run(
        [NODE, "-e", harness, str(script)],
        input=json.dumps(document),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def run_page(document: dict[str, Any]) -> dict[str, Any]:
    return run_node(HARNESS, document)


def test_the_page_names_the_percentile_and_the_operating_point() -> None:
    got = run_page(answer(QUERY, [option(1), option(2)]).model_dump(mode="json"))
    assert got["targets"].startswith("TTFT < 1,000 ms, ITL < 100 ms at p95, constant arrivals")
    assert "QPS @ op" in got["headers"] and "TTFT / ITL p95 ms" in got["headers"]
    assert "limited by" in got["headers"] and "max QPS (80%)" in got["headers"]
    assert "kv_cache" in got["first"]
    winner = "0.61 requests/s per deployment at the operating point, p95 TTFT 912 [700-1,180] ms"
    assert winner in got["winner"]
    assert "idle server: 456.4 / 22.5 ms" in got["winner"]
    assert got["fleet"] == ""


def test_the_page_shows_the_fleet_for_a_target_load() -> None:
    query = {**QUERY, "qps": 20.0, "headroom_pct": 10.0}
    got = run_page(answer(query, [fleet(1, 37)]).model_dump(mode="json"))
    for header in ("deployments", "GPUs total", "fleet $/hour", "$/M output tokens"):
        assert header in got["headers"], header
    assert got["fleet"] == (
        "37 deployment(s), 37 GPUs for 20 QPS: $66.23/hour, $0.97 per million output tokens; "
        "sized on 0.55 QPS per deployment (10% headroom); chance to meet the limits at 20 QPS: 93%"
    )
    assert got["targets"].endswith("20 QPS with 10% headroom")


def test_the_page_writes_round_numbers_whole() -> None:
    got = run_page(answer(QUERY, [option(1)]).model_dump(mode="json"))
    assert got["numbers"] == ["1,180", "1,000", "0.5", "12,345"]


# Figures the old formatters got wrong (110.3 read "11", 1.79e-05, $0.8), ties, powers of ten.
EDGES = [110.3, 1130.0, 1180.0, 99.96, 49.976, 0.09996, 2.5, 0.125, 1e-7, 1.79e-5, 0.8, 1e21]


def test_the_page_writes_every_figure_as_the_terminal_does() -> None:
    rng = np.random.default_rng(0)
    values = EDGES + [float(v) for v in 10 ** rng.uniform(-8, 8, 3000)]
    rounded = zip(values[:600], rng.integers(0, 4, 600), strict=True)
    values += [float(np.round(v, k)) for v, k in rounded]
    values += [-v for v in values[:50]]
    pairs = [(v, d) for v in values for d in (3, 4)]
    dollars = [abs(v) for v in values]
    got = run_node(FIGURES, {"pairs": pairs, "dollars": dollars})
    expected = {"fixed": [fixed(v, d) for v, d in pairs], "usd": [usd(v) for v in dollars]}
    for kind, inputs in (("fixed", pairs), ("usd", dollars)):
        wrong = [
            (x, a, b) for x, a, b in zip(inputs, got[kind], expected[kind], strict=True) if a != b
        ]
        assert wrong == [], wrong[:5]
    assert "e" not in "".join(got["fixed"] + got["usd"])
    assert got["fixed"][:2] == ["110", "110.3"] and got["usd"][EDGES.index(0.8)] == "$0.80"


def test_a_sync_answer_on_the_page_names_no_percentile() -> None:
    query = {**QUERY, "mode": "sync", "ttft_limit_ms": None, "itl_limit_ms": None}
    got = run_page(answer(query, [option(1)]).model_dump(mode="json"))
    assert got["headers"][:4] == ["format", "GPUs", "latency (80%)", "TTFT / ITL ms"]
    assert " at p" not in got["targets"] and "arrivals" not in got["targets"]


# Any expression over the page's functions, evaluated after the script: its JSON value.
EXPRESSION = """
const vm = require("vm");
const fs = require("fs");
const context = {document: {querySelector: () => null, getElementById: () => null},
                 fetch: () => new Promise(() => {}), console};
vm.createContext(context);
vm.runInContext(fs.readFileSync(process.argv[1], "utf8"), context);
const {expression, doc} = JSON.parse(fs.readFileSync(0, "utf8"));
context.doc = doc;
let result;
try { result = {value: vm.runInContext(expression, context)}; }
catch (err) { result = {error: err.message}; }
process.stdout.write(JSON.stringify(result));
"""


def evaluate(expression: str, doc: Any = None) -> dict[str, Any]:
    return run_node(EXPRESSION, {"expression": expression, "doc": doc})


def test_a_pasted_price_csv_reads_as_advise_prices_reads_it() -> None:
    rows = evaluate('csvPrices("gpu,gpu_count,usd_per_hour\\nh100,8,19.92\\n\\nl4,,0.8\\n")')
    assert rows["value"] == [
        {"gpu": "h100", "gpu_count": 8, "usd_per_hour": 19.92},
        {"gpu": "l4", "usd_per_hour": 0.8},
    ]
    headerless = evaluate('csvPrices("a100,2,3.2")')
    assert headerless["value"] == [{"gpu": "a100", "gpu_count": 2, "usd_per_hour": 3.2}]
    per_gpu = evaluate('csvPrices("gpu,usd_per_gpu_hour\\nmi300x,2.1")')
    assert per_gpu["value"] == [{"gpu": "mi300x", "usd_per_gpu_hour": 2.1}]
    unknown = evaluate('csvPrices("gpu,count,usd\\na100,1,1")')
    assert unknown["error"].startswith("price CSV: unknown column count, usd; the columns are")
    bad = evaluate('csvPrices("gpu,gpu_count,usd_per_hour\\na100,1,cheap")')
    assert 'usd_per_hour "cheap" is not a number' in bad["error"]


def test_read_as_says_the_query_in_words() -> None:
    query = {
        **QUERY,
        "model": "llama-3.1-70b-instruct",
        "use_case": "code_completion",
        "qps": 10.0,
        "gpus": ["h100", "a100"],
        "min_recovery_pct": 98.0,
        "suite": "leaderboard_v1",
    }
    setup = (
        'NAMES.models["llama-3.1-70b-instruct"] = {hf_id: "meta-llama/Llama-3.1-70B-Instruct"};'
        'NAMES.useCases.code_completion = {name: "Code Completion"};'
        'NAMES.gpus.h100 = {name: "NVIDIA H100 SXM"};'
    )
    words = evaluate(setup + "queryWords(doc)", query)["value"]
    assert words.startswith("Llama-3.1-70B-Instruct, code completion (")
    assert "async at 10 QPS" in words and "TTFT ≤ 1,000 ms and ITL ≤ 100 ms at p95" in words
    assert "accuracy ≥ 98% of BF16 on leaderboard_v1" in words
    assert "on NVIDIA H100 SXM or a100" in words and "{" not in words
