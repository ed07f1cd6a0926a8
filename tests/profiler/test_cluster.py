"""Plans on a real local Ray cluster (logical GPUs, loopback only): cells get their GPUs and no
more, quantize runs once before the cells that need it, the catalog ends up as the sequential
run fills it, a lost cell is retried, and a stop leaves no process behind. Fake tools (small
scripts writing real GuideLLM reports from tests/fixtures) stand in for vLLM, GuideLLM and
llmcompressor; each records its pid, its worker and the GPUs it was given under records/."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import duckdb
import pytest

from advisor.errors import InvalidInputError
from catalog.build import open_catalog
from profiler.cluster import RayPlan
from profiler.plan import PlanRunner, cell_key, cells, load_plan
from profiler.resources import cell_request, dry_run_lines
from profiler.runner import GROUPS_FILE_ENV, record_group, stop_recorded_groups
from profiler.session import plan_runner
from tests.conftest import fixture
from tests.profiler.catalog_contents import contents
from tests.profiler.fake_server import SERVE_MODELS

# Ray reads this when imported: a single-node cluster, every port on 127.0.0.1.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
ray = pytest.importorskip("ray")

ROOT = Path(__file__).resolve().parents[2]
REPORT = fixture("guidellm", "guidellm-0.8.1-concurrent-labels.json")
MODEL = "llama-3.1-8b-instruct"

FAKE_VLLM = (
    """
import http.server, json, os, pathlib, sys, time
if sys.argv[1] == "-c":
    print("0.0.1-fake")
    sys.exit(0)
arg = lambda name: sys.argv[sys.argv.index(name) + 1]
port = int(arg("--port"))
record = {"pid": os.getpid(), "worker": os.getppid(), "model": arg("--served-model-name"),
          "tp": int(arg("--tensor-parallel-size")), "started_s": time.time(),
          "gpus": os.environ.get("CUDA_VISIBLE_DEVICES", "")}
records = pathlib.Path(__file__).parent / "records"
(records / f"vllm-{os.getpid()}.json").write_text(json.dumps(record))

"""
    + SERVE_MODELS
)
# behaviour.json: "report" to copy (labelled as the command says), "sleep_s" per run, and
# "hang": {"gpu_count": N, "times": K} hangs the first K runs of that cell (a marker per hang).
FAKE_GUIDELLM = """
import json, os, pathlib, sys, time
here = pathlib.Path(__file__).parent
behaviour = json.loads((here / "behaviour.json").read_text())
args = sys.argv
output = next(a for a in args if a.startswith("kind=json,path=")).split("path=", 1)[1]
labels = dict(args[i + 1].split("=", 1) for i, a in enumerate(args) if a == "--label")
labels["profile"] = args[args.index("--profile") + 1]
record = {"pid": os.getpid(), "worker": os.getppid(), "labels": labels}
(here / "records" / f"guidellm-{os.getpid()}.json").write_text(json.dumps(record))
hang = behaviour.get("hang")
if hang and labels["gpu_count"] == str(hang["gpu_count"]):
    for k in range(hang["times"]):
        marker = here / "records" / f"hang-{k}"
        if not marker.exists():
            marker.write_text(str(os.getppid()))
            time.sleep(600)
time.sleep(behaviour.get("sleep_s", 0))
report = json.loads(pathlib.Path(behaviour["report"]).read_text())
report["config"]["metadata"]["labels"] = labels
pathlib.Path(output).write_text(json.dumps(report))
"""
FAKE_LLMCOMPRESSOR = """
import json, os, pathlib, sys, time
started = time.time()
out = pathlib.Path(sys.argv[sys.argv.index("--out") + 1])
out.mkdir(parents=True)
time.sleep(1)
(out / "recipe.yaml").write_text("fake")
(out / "config.json").write_text("{}")
records = pathlib.Path(__file__).parent / "records"
(records / f"quantize-{os.getpid()}.json").write_text(
    json.dumps({"out": str(out), "started_s": started, "ended_s": time.time()}))
"""


def executable(path: Path, body: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!{sys.executable}\n{body}")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    """One local cluster for the module: 4 logical L4 GPUs, every port on loopback."""
    ray.init(num_cpus=2, num_gpus=4, resources={"gpu_l4": 4}, include_dashboard=False)
    assert {n["NodeManagerAddress"] for n in ray.nodes()} == {"127.0.0.1"}
    yield
    ray.shutdown()


class Fakes:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.records = root / "records"
        self.records.mkdir(parents=True)
        self.tools = {
            "vllm_python": executable(root / "vllm-python", FAKE_VLLM),
            "guidellm": executable(root / "guidellm", FAKE_GUIDELLM),
            "llmcompressor_python": executable(root / "llmc-python", FAKE_LLMCOMPRESSOR),
        }
        self.behave()

    def behave(self, **behaviour: Any) -> None:
        (self.root / "behaviour.json").write_text(json.dumps({"report": str(REPORT), **behaviour}))

    def read(self, kind: str) -> list[dict[str, Any]]:
        return [json.loads(p.read_text()) for p in sorted(self.records.glob(f"{kind}-*.json"))]

    def stop_all(self) -> None:
        """Whatever a killed worker left running (its tools' groups), for the next test."""
        for record in self.read("vllm") + self.read("guidellm"):
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(record["pid"], signal.SIGKILL)


@pytest.fixture
def fakes(tmp_path: Path) -> Iterator[Fakes]:
    made = Fakes(tmp_path / "tools")
    yield made
    made.stop_all()


def write_plan(path: Path, fakes: Fakes, work: Path, gpu_counts: Any, formats: Any) -> Path:
    plan = {
        "name": "ray-test",
        "models": [{"name": MODEL, "tokenizer": "tok", "checkpoints": {"bf16": "ckpt"}}],
        "formats": formats,
        "gpu": "l4",
        "gpu_counts": gpu_counts,
        "use_cases": [{"prefill_tokens": 128, "decode_tokens": 16}],
        "limits": {"ttft_ms": 100000, "itl_ms": 100000},
        # Unguided: a guided first probe depends on the fit, which the sequential run renews
        # after each cell and Ray cells take as it was when the plan started.
        "search": {
            "sync_requests": 2,
            "probe_seconds": 1,
            "probe_requests": 2,
            "max_runs": 1,
            "guided": False,
        },
        "calibration": str(ROOT / "tests/fixtures/tools/calibration.jsonl"),
        "tools": fakes.tools,
        "ready_timeout_s": 60,
        "work_dir": str(work),
    }
    path.write_text(json.dumps(plan))
    return path


def bound(
    catalog: Path, plan_file: Path, said: list[str] | None = None
) -> tuple[duckdb.DuckDBPyConnection, PlanRunner]:
    con = open_catalog(catalog)
    say = (said if said is not None else []).append
    return con, plan_runner(con, load_plan(plan_file), None, say)


def test_cells_get_their_gpus_quantize_runs_once_and_the_catalog_matches_sequential(
    cluster: None, fakes: Fakes, built_catalog: Path, tmp_path: Path
) -> None:
    counts = {"bf16": [1, 2, 4], "int4": [1, 2]}
    seq_catalog, ray_catalog = tmp_path / "seq.duckdb", tmp_path / "ray.duckdb"
    shutil.copy(built_catalog, seq_catalog)
    shutil.copy(built_catalog, ray_catalog)
    before = duckdb.connect(str(built_catalog), read_only=True)
    (base,) = before.execute("SELECT max(source_id) FROM sources").fetchone()
    before.close()
    fakes.behave(sleep_s=1)
    plan = write_plan(tmp_path / "seq.json", fakes, tmp_path / "seq", counts, ["bf16", "int4"])
    con, runner = bound(seq_catalog, plan)
    sequential = runner.run()
    expected = contents(con, base)
    con.close()
    shutil.rmtree(fakes.records)
    fakes.records.mkdir()
    plan = write_plan(tmp_path / "ray.json", fakes, tmp_path / "ray", counts, ["bf16", "int4"])
    said: list[str] = []
    con, runner = bound(ray_catalog, plan, said)
    scheduled = RayPlan(runner)
    outcomes = scheduled.run("local")
    got = contents(con, base)
    (searches,) = con.execute(
        "SELECT count(*) FROM async_throughput WHERE model = ? AND source_id > ?", [MODEL, base]
    ).fetchone()
    con.close()

    assert [o.status for o in outcomes] == [o.status for o in sequential] == ["done"] * 5
    assert got == expected and len(got["load_points"]) >= 5
    assert searches == 5  # each cell recorded once
    # Progress: a line as each cell starts and ends, with the counts of the whole plan.
    assert sum(line.endswith(": started") for line in said) == 5
    assert said[-1].startswith("[5 done, 0 running, 0 queued, 0 failed] ")
    placements = scheduled.placements
    assert {k: len(p.gpu_ids) for k, p in placements.items()} == {
        f"{MODEL} {f} x{n}": n for f, ns in counts.items() for n in ns
    }
    # No over-subscription: at every task's start, the tasks running held disjoint GPUs, 4 at
    # most (the busiest moment is some task's start).
    items = list(placements.values())
    overlapped = False
    for a in items:
        now = [b for b in items if b.started_s <= a.started_s < b.ended_s]
        held = [g for b in now for g in b.gpu_ids]
        assert len(held) == len(set(held)) <= 4
        overlapped |= len(now) > 1
    assert overlapped  # cells ran in parallel where the GPUs allowed
    # The servers saw the GPUs Ray gave their cells.
    servers = {(r["model"], r["tp"]): r["gpus"] for r in fakes.read("vllm")}
    for key, placement in placements.items():
        model_format = f"{MODEL}-{key.split()[1]}"
        assert servers[(model_format, len(placement.gpu_ids))] == ",".join(placement.gpu_ids)
    # Quantize ran once, before every int4 cell started.
    (quantized,) = fakes.read("quantize")
    for key, placement in placements.items():
        if " int4 " in key:
            assert quantized["ended_s"] <= placement.started_s


@pytest.mark.parametrize(("kills", "status"), [(1, "done"), (2, "failed")])
def test_a_cell_whose_worker_is_killed_is_retried_once_then_recorded(
    cluster: None,
    fakes: Fakes,
    catalog_file: Path,
    tmp_path: Path,
    kills: int,
    status: str,
) -> None:
    fakes.behave(hang={"gpu_count": 2, "times": kills})
    plan = write_plan(tmp_path / "plan.json", fakes, tmp_path / "runs", [1, 2], ["bf16"])
    con, runner = bound(catalog_file, plan)
    results: list[Any] = []
    driver = threading.Thread(target=lambda: results.append(RayPlan(runner).run("local")))
    driver.start()
    try:
        for k in range(kills):
            marker = fakes.records / f"hang-{k}"
            deadline = time.monotonic() + 120
            while not marker.exists() and time.monotonic() < deadline:
                time.sleep(0.2)
            assert marker.exists(), "the cell never started"
            os.kill(int(marker.read_text()), signal.SIGKILL)  # its Ray worker
        driver.join(timeout=180)
        # The killed attempts' tools (their worker gone before its `finally`) were stopped:
        # SIGKILLed, so gone within moments (delivery is asynchronous on a loaded host).
        deadline = time.monotonic() + 10
        while True:
            tools = fakes.read("vllm") + fakes.read("guidellm")
            left = [r for r in tools if running(r["pid"])]
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        fakes.stop_all()
    assert not driver.is_alive()
    assert left == []
    (outcomes,) = results
    assert [(o.cell, o.status) for o in outcomes] == [
        (f"{MODEL} bf16 x1", "done"),
        (f"{MODEL} bf16 x2", status),
    ]
    (rows,) = con.execute(
        "SELECT count(*) FROM async_throughput WHERE model = ? AND gpu_count = 2", [MODEL]
    ).fetchone()
    con.close()
    assert rows == (1 if status == "done" else 0)
    if status == "failed":
        assert "WorkerCrashedError" in outcomes[1].detail
        assert (tmp_path / "runs" / f"{MODEL}_bf16_x2" / "error.txt").exists()


def test_sigterm_to_a_ray_driver_stops_every_task_tool_and_ray_process(
    fakes: Fakes, catalog_file: Path, tmp_path: Path
) -> None:
    psutil = pytest.importorskip("psutil")
    fakes.behave(hang={"gpu_count": 1, "times": 1})
    plan = write_plan(tmp_path / "plan.json", fakes, tmp_path / "runs", [1], ["bf16"])
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ADVISOR_MODEL_CACHE": str(tmp_path / "m")}
    env.pop("RAY_ADDRESS", None)
    command = [
        sys.executable, "-c", "from api.cli import main; main()", "--catalog", str(catalog_file),
        "profile", "run", str(plan), "--ray", "local",
    ]  # fmt: skip
    driver = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    seen: set[int] = set()
    try:
        deadline = time.monotonic() + 180
        while not (fakes.records / "hang-0").exists():
            assert driver.poll() is None, driver.communicate()
            assert time.monotonic() < deadline, "the cell never started"
            time.sleep(0.2)
        seen = {p.pid for p in psutil.Process(driver.pid).children(recursive=True)}
        seen |= {r["pid"] for r in fakes.read("vllm") + fakes.read("guidellm")}
        assert len(seen) >= 4  # Ray's own processes, the worker, the two tools
        driver.send_signal(signal.SIGTERM)
        _, stderr = driver.communicate(timeout=120)
        left = sorted(pid for pid in seen if running(pid))
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
            driver.wait()
        for pid in seen:
            with suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
    assert driver.returncode == 128 + signal.SIGTERM, stderr
    assert "stopped by SIGTERM" in stderr
    assert left == [], [psutil.Process(p).cmdline() for p in left if psutil.pid_exists(p)]


def test_the_ray_dry_run_shows_each_request_beside_its_commands(fakes: Fakes, tmp_path: Path):
    plan = write_plan(tmp_path / "p.json", fakes, tmp_path / "runs", [1, 2], ["bf16", "int4"])
    runner = PlanRunner(
        load_plan(plan), lambda name: (1, 1), lambda *a: False, print, lambda line: None
    )
    lines = dry_run_lines(runner)
    comments = [line for line in lines if isinstance(line, str)]
    assert comments[0] == (
        f'# cell {MODEL} bf16 1xl4: {{"num_cpus": 1, "num_gpus": 1, "resources": {{"gpu_l4": 1}}}}'
    )
    assert sum(c.startswith("# quantize ") for c in comments) == 1  # once for both int4 cells
    assert sum(c.startswith("# cell ") for c in comments) == 4
    reports = [a for line in lines if isinstance(line, list) for a in line if "path=" in a]
    assert len(reports) == len(set(reports)) == 8  # every cell its own report paths
    assert reports == [a for c in runner.dry_run() for a in c if "path=" in a]  # as without Ray


def test_a_cell_wider_than_a_node_asks_for_a_placement_group_of_whole_nodes() -> None:
    assert cell_request("h100", 8, node_gpus=8).bundles is None
    wide = cell_request("h100", 16, node_gpus=8)
    assert wide.strategy == "STRICT_SPREAD" and wide.num_gpus == 8
    assert wide.bundles == [
        {"CPU": 1, "GPU": 8, "gpu_h100": 8},
        {"GPU": 8, "gpu_h100": 8},
    ]
    with pytest.raises(InvalidInputError, match="accepted: at most 8, or a multiple of it"):
        cell_request("h100", 12, node_gpus=8)


def test_the_advisor_and_the_plain_profiler_never_import_ray() -> None:
    probe = (
        "import sys, api.cli, api.cli.profile, profiler.session, profiler.cluster\n"
        "print(sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.')))"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert found.stdout.strip() == "[]"


def test_the_groups_a_lost_attempt_left_are_stopped_and_no_other_process(tmp_path: Path) -> None:
    ledger = tmp_path / "process-groups"
    env = {GROUPS_FILE_ENV: str(ledger)}
    tool = subprocess.Popen(["sleep", "600"], start_new_session=True)
    record_group(env, tool.pid)
    host = socket.gethostname()
    with ledger.open("a") as out:
        out.write(f"{host} {os.getpid()} 1\n")  # a pid alive, but started at another time
        out.write(f"other-host {tool.pid} -\n")  # a group on another node
    try:
        assert stop_recorded_groups(ledger) == [tool.pid]
        assert tool.wait(timeout=10) == -signal.SIGKILL
    finally:
        with suppress(ProcessLookupError):
            os.killpg(tool.pid, signal.SIGKILL)
    assert ledger.read_text() == "" and stop_recorded_groups(tmp_path / "none") == []


def test_with_similarity_prompts_cells_wait_for_their_models_earlier_bf16_cells(
    fakes: Fakes, tmp_path: Path
) -> None:
    plan_file = write_plan(tmp_path / "p.json", fakes, tmp_path / "runs", [1, 2], ["bf16", "int4"])
    plan = load_plan(plan_file)
    for prompts, expected in [
        (None, {"bf16 x1": set(), "bf16 x2": set(), "int4 x1": set(), "int4 x2": set()}),
        (
            ROOT / "tests/fixtures/tools/prompts.jsonl",
            {  # as in the sequential order: the last bf16 answers are the baseline
                "bf16 x1": set(),
                "bf16 x2": {"bf16 x1"},
                "int4 x1": {"bf16 x1", "bf16 x2"},
                "int4 x2": {"bf16 x1", "bf16 x2"},
            },
        ),
    ]:
        with_prompts = plan.model_copy(update={"similarity_prompts": prompts})
        runner = PlanRunner(with_prompts, lambda name: (1, 1), lambda *a: False, print, print)
        todo = {cell_key(c): (c, runner.workloads, []) for c in cells(with_prompts)}
        after = RayPlan(runner)._after(todo)
        short = {k.removeprefix(f"{MODEL} "): {w.removeprefix(f"{MODEL} ") for w in v}
                 for k, v in after.items()}  # fmt: skip
        assert short == expected
