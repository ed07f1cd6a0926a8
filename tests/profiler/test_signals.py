"""A profiler that cleans up: SIGTERM and SIGHUP stop `advisor profile perf` like Ctrl-C, with
no tool process left behind, and each GuideLLM run writes a fresh report, so a run that wrote
none is an error, never a previous run's report. Fake tools stand in for vLLM and GuideLLM."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path

import pytest

from advisor.vocabulary import Format
from catalog.records import Batch
from profiler.commands import Tools
from profiler.perf import SearchSettings, Target, Workload, run_guidellm
from profiler.runner import ToolError, run_tool
from tests.conftest import fixture
from tests.profiler.fake_server import SERVE_MODELS

ROOT = Path(__file__).resolve().parents[2]
REPORT = fixture("guidellm", "guidellm-0.8.1-concurrent-labels.json")

# vLLM: answers the version probe, else starts an "engine core" that ignores SIGTERM (as a
# busy worker may) and serves /v1/models on its --port. Every pid goes into $FAKE_PIDS.
FAKE_VLLM = (
    """
import http.server, os, pathlib, signal, subprocess, sys
if sys.argv[1] == "-c":
    print("0.0.1-fake")
    sys.exit(0)
pids = pathlib.Path(os.environ["FAKE_PIDS"])
engine = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"])
(pids / "vllm").write_text(str(os.getpid()))
(pids / "vllm-engine").write_text(str(engine.pid))
port = int(sys.argv[sys.argv.index("--port") + 1])

"""
    + SERVE_MODELS
)
# GuideLLM: $FAKE_GUIDELLM says what it does. "hang": a run that never ends, with a worker;
# "silent": exit 0 writing nothing; "report": copy $FAKE_REPORT to the path it is given.
FAKE_GUIDELLM = """
import os, pathlib, shutil, subprocess, sys, time
mode = os.environ["FAKE_GUIDELLM"]
output = next(a for a in sys.argv if a.startswith("kind=json,path=")).split("path=", 1)[1]
if mode == "report":
    shutil.copy(os.environ["FAKE_REPORT"], output)
if mode == "hang":
    pids = pathlib.Path(os.environ["FAKE_PIDS"])
    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    (pids / "guidellm").write_text(str(os.getpid()))
    (pids / "guidellm-worker").write_text(str(worker.pid))
    time.sleep(600)
"""


def executable(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!{sys.executable}\n{body}")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def running(pid: int) -> bool:
    """Alive and not a zombie (a zombie holds nothing: no GPU, no port)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


@pytest.fixture
def tools_dir(tmp_path: Path) -> Path:
    """A tools folder as scripts/install-profiler-tools.sh lays it out, with the fakes."""
    root = tmp_path / "tools"
    executable(root / "vllm/bin/python", FAKE_VLLM)
    executable(root / "vllm/bin/guidellm", FAKE_GUIDELLM)
    return root


def wait_for(path: Path, process: subprocess.Popen[str], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        if process.poll() is not None:
            pytest.fail(f"advisor exited with {process.returncode}:\n{process.communicate()}")
        if time.monotonic() > deadline:
            pytest.fail(f"{path.name} never started")
        time.sleep(0.1)


@pytest.mark.parametrize("sent", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_signal_stops_profile_perf_and_leaves_no_tool_running(
    sent: signal.Signals, tools_dir: Path, catalog_file: Path, tmp_path: Path
) -> None:
    pids = tmp_path / "pids"
    pids.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "ADVISOR_TOOLS_DIR": str(tools_dir),
        "ADVISOR_MODEL_CACHE": str(tmp_path / "models"),
        "FAKE_PIDS": str(pids),
        "FAKE_GUIDELLM": "hang",
    }
    command = [
        sys.executable, "-c", "from api.cli import main; main()", "--catalog", str(catalog_file),
        "profile", "perf", "--checkpoint", "ckpt", "--model", "8b", "--format", "bf16",
        "--gpu", "l4", "--prefill", "16", "--decode", "8", "--work-dir", str(tmp_path / "runs"),
    ]  # fmt: skip
    advisor = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    tools: dict[str, int] = {}
    try:
        wait_for(pids / "guidellm-worker", advisor, 120)
        tools = {name: int((pids / name).read_text()) for name in
                 ("vllm", "vllm-engine", "guidellm", "guidellm-worker")}  # fmt: skip
        assert all(running(pid) for pid in tools.values())
        advisor.send_signal(sent)
        _, stderr = advisor.communicate(timeout=90)  # the engine takes the 15 s grace
        left = [name for name, pid in tools.items() if running(pid)]
    finally:
        if advisor.poll() is None:
            os.killpg(advisor.pid, signal.SIGKILL)
            advisor.wait()
        for leader in ("vllm", "guidellm"):  # a failure here must not leak the fakes
            if leader in tools:
                with suppress(ProcessLookupError):
                    os.killpg(tools[leader], signal.SIGKILL)
    assert advisor.returncode == 128 + sent
    assert stderr.strip() == f"error: stopped by {sent.name}; every tool it started was stopped"
    assert left == []


def target() -> Target:
    return Target(
        model="tiny-llama",
        format=Format.INT4,
        gpu="h100",
        gpu_count=1,
        served_name="tiny-llama",
        tokenizer="tok",
        base_url="http://127.0.0.1:1",
    )


def run_once(tools_dir: Path, work: Path, ingested: list[Batch]):
    return run_guidellm(
        Tools(guidellm=str(tools_dir / "vllm/bin/guidellm")),
        target(),
        Workload(use_case="rag", prefill_tokens=1024, decode_tokens=128),
        work,
        "rag-sync",
        dict(os.environ),
        SearchSettings(),
        ingested.append,
        None,
    )


def test_each_run_writes_a_fresh_report(
    tools_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_GUIDELLM", "report")
    monkeypatch.setenv("FAKE_REPORT", str(REPORT))
    ingested: list[Batch] = []
    work = tmp_path / "work"
    run_once(tools_dir, work, ingested)
    run_once(tools_dir, work, ingested)
    reports = sorted(work.glob("rag-sync-*/report.json"))
    assert len(reports) == 2 and len(ingested) == 2
    assert [b.source.uri for b in ingested] == [str(r.resolve()) for r in reports]
    assert all((r.parent / "guidellm.log").exists() for r in reports)


def test_a_run_that_writes_no_report_is_an_error_not_an_old_report(
    tools_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    # Reports of earlier runs, where the profiler used to write and where it writes now.
    (work / "rag-sync-20260101T000000000000Z").mkdir(parents=True)
    shutil.copy(REPORT, work / "rag-sync.json")
    shutil.copy(REPORT, work / "rag-sync-20260101T000000000000Z" / "report.json")
    monkeypatch.setenv("FAKE_GUIDELLM", "silent")
    ingested: list[Batch] = []
    with pytest.raises(ToolError, match=r"GuideLLM exited 0 but wrote no report .*report\.json"):
        run_once(tools_dir, work, ingested)
    assert ingested == []


def test_workers_that_outlive_a_tool_are_stopped_with_it(tmp_path: Path) -> None:
    pid_file = tmp_path / "worker.pid"
    script = (
        "import subprocess, sys; "
        "w = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); "
        f"open({str(pid_file)!r}, 'w').write(str(w.pid))"
    )
    run_tool([sys.executable, "-c", script], tmp_path / "tool.log", dict(os.environ), 60, "")
    assert not running(int(pid_file.read_text()))
