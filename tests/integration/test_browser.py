"""The page and the report in headless Chromium (Debian's package), driven by Playwright.

Chromium is started by the test with a fresh empty profile and background networking off;
`scripts/install-test-browser.sh` installs it where apt-get can.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="no Chromium: run scripts/install-test-browser.sh"),
]
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-sync",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        profile = tmp_path_factory.mktemp("chromium-profile")
        context = p.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=ARGS,
            viewport={"width": 1280, "height": 1000},
        )
        yield context
        context.close()


def watch(page) -> tuple[list[str], list[str]]:
    errors: list[str] = []
    requests: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("request", lambda r: requests.append(r.url))
    return errors, requests


def test_page_answers_a_question_with_the_chart(
    browser, readonly_server: str, tmp_path: Path
) -> None:
    page = browser.new_page()
    errors, _ = watch(page)
    page.goto(readonly_server + "/")
    page.wait_for_selector("#gpus input")
    page.fill("#question", "70B for RAG on A100 or H100")
    page.click("#ask-button")
    page.wait_for_selector("#advice-chart svg circle.mark", timeout=30_000)
    advice = page.evaluate(
        "fetch('/v1/advice?model=70b&use_case=rag&gpu=a100,h100').then(r => r.json())"
    )
    candidates = ([advice["recommendation"]] if advice["recommendation"] else []) + advice[
        "alternatives"
    ]
    candidates += [r for r in advice["rejected"] if not r.get("blocked")]
    # The chart plots the options that have a capacity and a cost (FP8 on an A100, weight-only,
    # may meet the limits at no load: max_qps 0).
    candidates = [c for c in candidates if (c["max_qps"] or 0) > 0 and c["usd_per_query"]]
    assert page.locator("#advice-chart svg circle.mark").count() == len(candidates)
    assert page.locator("#advice-chart svg circle.recommended").count() == 1
    rec = advice["recommendation"]
    assert (
        page.inner_text("#recommendation")
        == f"{rec['format']} on {rec['gpu_count']} x {rec['gpu']}"
    )
    assert "vllm serve" in page.inner_text("#serve-command")
    assert page.locator("#recovery-chart svg circle.mark").count() == 4
    # An async answer draws its TTFT and ITL limits and the region within both.
    assert page.locator("#limits-chart svg line.limit").count() == 2
    assert page.locator("#limits-chart svg rect.feasible-region").count() == 1
    # What the question was read as, in words; the GPU boxes are the answer's GPU set.
    understood = page.inner_text("#understood")
    assert understood.startswith("Read as: Llama-3.1-70B-Instruct, RAG (1,024 in / 128 out")
    assert "{" not in understood and "TTFT ≤ 1,000 ms and ITL ≤ 100 ms at p99" in understood
    checked = page.eval_on_selector_all("#gpus input:checked", "boxes => boxes.map(b => b.value)")
    assert sorted(checked) == sorted(advice["query"]["gpus"]) == ["a100", "h100"]
    page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
    assert (tmp_path / "page.png").stat().st_size > 10_000
    assert errors == []
    page.close()


def test_form_query_and_the_catalog_view(browser, readonly_server: str) -> None:
    page = browser.new_page()
    errors, _ = watch(page)
    page.goto(readonly_server + "/")
    page.wait_for_selector("#gpus input")
    page.fill("input[name=model]", "8b")
    page.select_option("select[name=mode]", "sync")
    page.click("#advise-button")
    page.wait_for_selector("#advice-chart svg circle.recommended", timeout=30_000)
    assert page.inner_text("#recommendation").startswith("int4 on 1 x")
    page.goto(readonly_server + "/catalog")
    page.wait_for_selector("#matrix table")
    assert page.locator("#matrix td.measured").count() > 0
    assert page.locator("#matrix td.predicted").count() > 0
    assert errors == []
    page.close()


def test_report_opens_offline_from_disk(browser, built_catalog: Path, tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.duckdb"
    shutil.copy(built_catalog, catalog)
    report = tmp_path / "report.html"
    subprocess.run(
        [
            str(BIN / "advise"),
            "--model",
            "70b",
            "--gpu",
            "a100,h100",
            "--mode",
            "sync",
            "--latency-s",
            "4",
            "--report",
            str(report),
            "--catalog",
            str(catalog),
        ],
        check=True,
        capture_output=True,
        # PYTHONPATH passes through: a worktree's checkout writes the report, not the install.
        env={
            "ADVISOR_MODEL_CACHE": str(tmp_path / "models"),
            "PATH": "/usr/bin:/bin",
            **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"},
        },
    )
    page = browser.new_page()
    errors, requests = watch(page)
    page.goto(report.as_uri())
    page.wait_for_selector("#advice-chart svg circle.mark")
    assert page.locator("#advice-chart svg circle.recommended").count() == 1
    assert "cheaper option" in page.inner_text("#winner")
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert errors == []
    page.close()


def test_schema_renders_offline_under_the_csp(browser, readonly_server: str) -> None:
    # Every request to another host fails, as it would without a network.
    page = browser.new_page()
    errors, requests = watch(page)
    page.route(
        "**/*",
        lambda route: (
            route.continue_() if route.request.url.startswith(readonly_server) else route.abort()
        ),
    )
    page.goto(readonly_server + "/schema")
    page.wait_for_selector(".opblock-tag", timeout=30_000)
    assert page.locator(".opblock").count() >= 13
    assert "quant-advisor" in page.inner_text(".info")
    assert [u for u in requests if not u.startswith((readonly_server, "data:"))] == []
    assert errors == []  # a CSP violation is a console error
    page.close()


# A figure as the page writes it: digits with thousands separators, maybe $ or %, never 1e-5.
FIGURE = re.compile(r"-?\$?\d{1,3}(?:,\d{3})*(?:\.\d+)?%?")
SHOWN = """() => {
  const figures = (box) => [...box.querySelectorAll("[data-field]")]
    .map((s) => [s.dataset.field, s.textContent]);
  return {
    rows: [...document.querySelectorAll("tr[data-option]")].map((tr) => ({
      table: tr.closest("table").id, option: tr.dataset.option, figures: figures(tr),
    })),
    winner: figures(document.querySelector("#winner")),
    advice: window.shownAdvice,
  };
}"""


def option_id(o: dict) -> str:
    return f"{o['format']}-{o['gpu']}-{o['gpu_count']}"


def check_figure(field: str, text: str, value: float) -> None:
    """The text read back is the value at the precision shown, to at least 3 significant
    digits (dollars from $0.10: to the cent): 110.3 may read 110 but not 11, 0.00116 not 0."""
    assert FIGURE.fullmatch(text), (field, text)
    shown = float(text.replace("$", "").replace(",", "").replace("%", ""))
    decimals = len(text.split(".")[1].rstrip("%")) if "." in text else 0
    assert math.isclose(shown, value, abs_tol=0.5 * 10**-decimals * (1 + 1e-9)), (
        field,
        text,
        value,
    )
    if not (text.startswith("$") and shown >= 0.1):
        assert math.isclose(shown, value, rel_tol=0.0051), (field, text, value)


def ask_form(page, server: str, fields: dict[str, str], gpus: list[str]) -> dict:
    """Fill the form, press Advise, and return what the page shows and the JSON it shows."""
    page.goto(server + "/")
    page.wait_for_selector("#gpus input")
    for name, value in fields.items():
        if page.locator(f"select[name={name}]").count():
            page.select_option(f"select[name={name}]", value)
        else:
            page.fill(f"input[name={name}]", value)
    for box in page.locator("#gpus input").all():
        box.set_checked(box.get_attribute("value") in gpus)
    page.click("#advise-button")
    page.wait_for_selector("#advice-chart svg", timeout=60_000)
    shown: dict = page.evaluate(SHOWN)
    return shown


QUERIES = {
    # Hundreds of deployments and GPUs: figures of three integer digits and more.
    "async, a target load": (
        {"model": "70b", "use_case": "code_completion", "qps": "400"},
        ["h100"],
    ),
    "async, the most load": ({"model": "405b", "use_case": "rag"}, ["a100", "h100", "l40s"]),
    "sync": ({"model": "8b", "mode": "sync", "latency_s": "4"}, ["a100", "a6000", "l4"]),
}


@pytest.mark.parametrize("name", QUERIES)
def test_every_figure_on_the_page_is_its_json_value(
    browser, readonly_server: str, name: str
) -> None:
    page = browser.new_page()
    errors, _ = watch(page)
    fields, gpus = QUERIES[name]
    shown = ask_form(page, readonly_server, fields, gpus)
    advice = shown["advice"]
    options = ([advice["recommendation"]] if advice["recommendation"] else []) + advice[
        "alternatives"
    ]
    by_table = {
        "alternatives": {option_id(o): o for o in options},
        "rejected": {option_id(o): o for o in advice["rejected"]},
    }
    # Every option is a row, each once.
    for table, expected in by_table.items():
        rows = [r["option"] for r in shown["rows"] if r["table"] == table]
        assert sorted(rows) == sorted(expected), table
    checked = 0
    for row in shown["rows"]:
        option = by_table[row["table"]][row["option"]]
        for field, text in row["figures"]:
            check_figure(field, text, option[field])
            checked += 1
    for field, text in shown["winner"]:
        check_figure(field, text, advice["recommendation"][field])
    assert checked >= 6 * len(options) and len(shown["winner"]) >= 3
    assert errors == []
    page.close()


def test_the_price_editor_changes_the_answer(browser, readonly_server: str) -> None:
    page = browser.new_page()
    errors, _ = watch(page)
    query = {"model": "70b", "use_case": "rag"}
    before = ask_form(page, readonly_server, query, ["a100", "h100"])["advice"]
    assert before["recommendation"]["gpu"] == "h100" and before["query"]["prices_merged"] is None
    # One row: A100s at 10 cents an hour make the A100 the cheapest.
    page.fill("#price-rows tbody tr:first-child input[aria-label=GPU]", "a100")
    page.fill("#price-rows tbody tr:first-child input[aria-label='GPUs per offer']", "1")
    page.fill(
        "#price-rows tbody tr:first-child input[aria-label='USD per hour for the offer']", "0.1"
    )
    page.click("#advise-button")
    page.wait_for_function("() => window.shownAdvice.query.prices_merged !== null", timeout=60_000)
    after = page.evaluate("window.shownAdvice")
    rec = after["recommendation"]
    assert rec["gpu"] == "a100" and rec["usd_per_hour"] == pytest.approx(0.1 * rec["gpu_count"])
    assert rec["usd_per_query"] < before["recommendation"]["usd_per_query"]
    assert page.inner_text("#recommendation").endswith("x a100")
    # A pasted CSV that replaces the list: only the H100 has a price, the A100 none.
    page.fill("#price-rows tbody tr:first-child input[aria-label=GPU]", "")
    page.fill("#price-rows tbody tr:first-child input[aria-label='USD per hour for the offer']", "")
    page.fill("#prices-csv", "gpu,gpu_count,usd_per_gpu_hour\nh100,1,3.00\nh100,8,2.50\n")
    page.check("#prices-only")
    page.click("#advise-button")
    page.wait_for_function("() => window.shownAdvice.query.not_priced.length > 0", timeout=60_000)
    only = page.evaluate("window.shownAdvice")
    assert only["query"]["not_priced"] == ["a100"] and only["recommendation"]["gpu"] == "h100"
    assert "not priced: a100" in page.inner_text("#price-source")
    # A CSV the API could not read is said on the page, in one line, before anything is sent.
    page.fill("#prices-csv", "gpu,count,usd\na100,1,1\n")
    page.click("#advise-button")
    assert "unknown column count, usd" in page.inner_text("#error")
    assert errors == []
    page.close()


def test_the_catalog_fits_1400_pixels(browser, readonly_server: str) -> None:
    page = browser.new_page()
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(readonly_server + "/catalog")
    page.wait_for_selector("#matrix table")
    widths = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth,"
        " document.querySelector('#matrix').scrollWidth,"
        " document.querySelector('#matrix').clientWidth]"
    )
    assert widths[0] <= widths[1] and widths[2] <= widths[3], widths
    gpus = page.evaluate("fetch('/v1/coverage').then(r => r.json()).then(c => c.gpus.length)")
    assert page.locator("#matrix thead tr:nth-child(2) th").count() == gpus
    page.close()
