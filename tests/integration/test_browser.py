"""The page and the report in headless Chromium (Debian's package), driven by Playwright.

Chromium is started by the test with a fresh empty profile and background networking off;
`scripts/install-test-browser.sh` installs it where apt-get can.
"""

from __future__ import annotations

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
        env={"ADVISOR_MODEL_CACHE": str(tmp_path / "models"), "PATH": "/usr/bin:/bin"},
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
