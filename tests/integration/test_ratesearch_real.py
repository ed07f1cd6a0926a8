"""The guided rate search against the exhaustive one with the real tools on this CPU machine:
vLLM's CPU build serving the tiny random Llama, GuideLLM's runs, the advisor fitted over a
catalog copy. CPU timings are noisy, so this asserts convergence and that the run count and the
error are reported, not how small they are (benchmarks/ratesearch.py prints the figures).

Needs the tool environments of scripts/install-profiler-tools.sh (ADVISOR_TOOLS_DIR, default
.tools); without them it skips, naming the script.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from advisor.vocabulary import Format
from catalog.build import open_catalog
from profiler.guide import AdvisorGuide
from profiler.perf import SearchSettings, Workload, profile_performance
from profiler.ratesearch import Limits
from profiler.session import ServeOptions, find_tools, serving, writer

ROOT = Path(__file__).resolve().parents[2]
TOOLS = Path(os.environ.get("ADVISOR_TOOLS_DIR", ROOT / ".tools"))
pytestmark = [
    pytest.mark.realstack,
    pytest.mark.skipif(
        not (TOOLS / "vllm/bin/guidellm").exists(),
        reason=f"no tools in {TOOLS}: run scripts/install-profiler-tools.sh",
    ),
]


def test_guided_search_converges_and_reports_runs_and_error(
    built_catalog: Path, tmp_path: Path
) -> None:
    model = tmp_path / "tiny-llama"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    script = ROOT / "tests/fixtures/tools/make_tiny_model.py"
    python = str(TOOLS / "vllm/bin/python")
    subprocess.run([python, str(script), str(model)], check=True, env=env, timeout=300)
    catalog = tmp_path / "catalog.duckdb"
    shutil.copy(built_catalog, catalog)
    cli = [sys.executable, "-c", "from api.cli import main; main()", "catalog", "add-model"]
    subprocess.run(
        [*cli, str(model)],
        check=True,
        capture_output=True,
        env={**os.environ, "ADVISOR_CATALOG": str(catalog), "PYTHONPATH": str(ROOT)},
    )
    settings = SearchSettings(
        limits=Limits(ttft_ms=2000, itl_ms=100),
        sync_requests=4,
        # 5-s probes: in 3 s a tiny CPU server completes a handful of requests, and the
        # achieved rate (completed / seconds) is too coarse to tell a pass from saturation.
        probe_seconds=5,
        probe_requests=200,
        tolerance=0.5,
        max_runs=10,
    )
    options = ServeOptions(
        checkpoint=str(model),
        model="tiny-llama",
        format=Format.BF16,
        gpu="l4",
        max_model_len=512,
        enforce_eager=True,
        work_dir=tmp_path / "runs",
    )
    workload = Workload(prefill_tokens=128, decode_tokens=16)
    con = open_catalog(catalog)
    guide = AdvisorGuide.over(con)
    try:
        with serving(find_tools(TOOLS), options) as server:
            run = (find_tools(TOOLS), server.target, workload)
            guided = profile_performance(
                *run, server.work / "g", server.env, settings, guide.writing(writer(con)), guide
            )
            exhaustive = profile_performance(
                *run, server.work / "e", server.env, settings, lambda batch: None
            )
    finally:
        con.close()
    assert guided.prior is not None, guided.guidance  # the advisor answered for this cell
    assert guided.decision.startswith("converged"), guided.reasons
    assert exhaustive.decision.startswith("converged"), exhaustive.reasons
    error = abs(guided.max_qps / exhaustive.max_qps - 1)
    print(
        f"guided: {guided.runs} runs, {guided.max_qps:.3g} QPS; exhaustive: {exhaustive.runs} "
        f"runs, {exhaustive.max_qps:.3g} QPS; error {100 * error:.0f}%"
    )
    assert guided.runs == 1 + len(guided.reasons) and len(guided.reasons) >= 2
    assert error < 1.0  # the same server, both to 50%: the same order, whatever the noise
