"""Running the tools: every subprocess of the product starts here, logs to a file, and is always
stopped (normal end, error, Ctrl-C, SIGTERM, SIGHUP) with its whole process group."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from advisor.errors import AdvisorError


class ToolError(AdvisorError):
    """A tool is missing, failed, or did not become ready."""


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where the main thread is, as Ctrl-C raises KeyboardInterrupt:
    it unwinds through every `finally` that stops a tool, and no `except Exception` takes it."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"stopped by {signal.Signals(signum).name}")


STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
# A file (in the tools' environment) where every tool's process group is written down, so that
# the groups of a run whose process was killed before its `finally` ran can be stopped later.
GROUPS_FILE_ENV = "ADVISOR_PROCESS_GROUPS"


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block, the first SIGTERM or SIGHUP raises `Stopped`; later ones are ignored so
    that the clean-up they interrupt finishes (each stop is bounded: SIGKILL after a grace
    period). The previous handlers come back afterwards. For the main thread, at the edge."""
    stopping: list[int] = []

    def handle(signum: int, _frame: FrameType | None) -> None:
        if stopping:
            return
        stopping.append(signum)
        raise Stopped(signum)

    previous = {sig: signal.signal(sig, handle) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def fresh_dir(parent: Path, name: str) -> Path:
    """A new folder `parent/name-<UTC time>` for one run's files: a report can never be one an
    earlier run left there."""
    parent.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    for attempt in range(100):
        path = parent / (f"{name}-{stamp}" + (f"-{attempt}" if attempt else ""))
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    raise ToolError(f"cannot make a new folder for {name} in {parent}")


def require_executable(command: Sequence[str], install_hint: str) -> None:
    exe = command[0]
    if os.sep in exe:
        if not Path(exe).exists():
            raise ToolError(f"{exe} does not exist; {install_hint}")
    elif shutil.which(exe) is None:
        raise ToolError(f"{exe!r} is not on PATH; {install_hint}")


def tool_environment(scratch: Path) -> dict[str, str]:
    """Offline, loopback-only settings for vLLM, GuideLLM and lm-eval, with their caches and
    IPC sockets in `scratch` (never a shared temp folder)."""
    env = dict(os.environ)
    env.update(
        {
            "VLLM_HOST_IP": "127.0.0.1",
            "VLLM_NO_USAGE_STATS": "1",
            "DO_NOT_TRACK": "1",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1",
            "TMPDIR": str(scratch / "tmp"),
            "VLLM_CACHE_ROOT": str(scratch / "vllm-cache"),
            "HF_HOME": str(scratch / "hf-home"),
        }
    )
    env.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    (scratch / "tmp").mkdir(parents=True, exist_ok=True)
    return env


def run_tool(
    command: Sequence[str], log: Path, env: dict[str, str], timeout_s: float, install_hint: str
) -> float:
    """Run to completion; returns seconds taken. Raises ToolError naming the log on failure."""
    require_executable(command, install_hint)
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with log.open("w") as out:
        process = subprocess.Popen(
            list(command), stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        record_group(env, process.pid)
        try:
            code = process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            stop_group(process)
            raise ToolError(f"{command[0]} ran past {timeout_s:g} s; log: {log}") from None
        except BaseException:
            stop_group(process)
            raise
        if group_alive(process.pid):  # workers that outlived the tool
            stop_group(process)
    if code != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-5:]
        raise ToolError(
            f"{Path(command[0]).name} exited with {code}; log: {log}\n" + "\n".join(tail)
        )
    return time.monotonic() - started


def stop_group(process: subprocess.Popen[bytes], grace_s: float = 15.0) -> None:
    """SIGTERM the process group, then SIGKILL what is left of it, the leader reaped. The
    leader exiting is not enough: vLLM's engine core or a tool's workers may outlive it.

    A Ctrl-C or signal arriving meanwhile does not leave the group running: the stop finishes
    first (at once, with SIGKILL), then the interruption goes on."""
    interrupted: KeyboardInterrupt | None = None
    while True:
        try:
            _stop_group(process, 0.0 if interrupted else grace_s)
            break
        except KeyboardInterrupt as exc:
            interrupted = exc
    if interrupted is not None:
        raise interrupted


def _stop_group(process: subprocess.Popen[bytes], grace_s: float) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace_s)
    while group_alive(process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def group_alive(pgid: int) -> bool:
    """Whether a process of the group is still running (zombies waiting to be reaped are not)."""
    try:
        entries = list(Path("/proc").iterdir())
    except OSError:  # no /proc: any member, zombies included, counts
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def _started(pid: int) -> str | None:
    """The process's start time (clock ticks since boot): with the pid, one process for good."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def record_group(env: dict[str, str], pgid: int) -> None:
    """Write the group down where the environment says (nothing when it does not)."""
    ledger = env.get(GROUPS_FILE_ENV)
    if ledger:
        with open(ledger, "a") as out:
            out.write(f"{socket.gethostname()} {pgid} {_started(pgid) or '-'}\n")


def stop_recorded_groups(ledger: Path) -> list[int]:
    """Kill what is left of the groups written down in `ledger` on this host, then empty it;
    returns the groups that were still running. A leader alive with another start time is
    another process that got the pid: left alone."""
    try:
        lines = ledger.read_text().splitlines()
    except FileNotFoundError:
        return []
    stopped = []
    host = socket.gethostname()
    for line in lines:
        name, pgid_text, started = [*line.split(), "", "", ""][:3]
        if name != host or not pgid_text.isdigit():
            continue
        pgid = int(pgid_text)
        now = _started(pgid)
        if now is not None and started not in ("-", now):
            continue
        if group_alive(pgid):
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
            stopped.append(pgid)
    ledger.write_text("")
    return stopped


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(
    command: Sequence[str],
    port: int,
    log: Path,
    env: dict[str, str],
    ready_timeout_s: float,
    install_hint: str,
) -> Iterator[str]:
    """Start an OpenAI-compatible server, wait until /v1/models answers, yield its base URL,
    and always stop it with its process group."""
    require_executable(command, install_hint)
    log.parent.mkdir(parents=True, exist_ok=True)
    base = f"http://127.0.0.1:{port}"
    with log.open("w") as out:
        process = subprocess.Popen(
            list(command), stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        record_group(env, process.pid)
        try:
            deadline = time.monotonic() + ready_timeout_s
            while True:
                if process.poll() is not None:
                    tail = log.read_text(errors="replace").strip().splitlines()[-8:]
                    # Its Python lacks the server's package: the tools are not installed.
                    hint = f"; {install_hint}" if any("No module named" in t for t in tail) else ""
                    raise ToolError(
                        f"the server exited with {process.returncode} before it was "
                        f"ready{hint}; log: {log}\n" + "\n".join(tail)
                    )
                try:
                    with urllib.request.urlopen(base + "/v1/models", timeout=2) as response:
                        if response.status == 200:
                            break
                except (urllib.error.URLError, OSError):
                    pass
                if time.monotonic() > deadline:
                    raise ToolError(
                        f"the server was not ready after {ready_timeout_s:g} s; log: {log}"
                    )
                time.sleep(0.5)
            yield base
        finally:
            stop_group(process)


@contextmanager
def scratch_dir(parent: Path | None = None) -> Iterator[Path]:
    """A private folder for a tool's temp files, caches and sockets; removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="advisor-profile-", dir=parent))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def installed_version(python: str, distributions: Sequence[str]) -> str | None:
    """The version of the first installed distribution, as the tool's own Python sees it."""
    probe = (
        "import sys\nfrom importlib.metadata import version, PackageNotFoundError\n"
        "for name in sys.argv[1:]:\n    try:\n        print(version(name)); break\n"
        "    except PackageNotFoundError:\n        pass\n"
    )
    try:
        found = subprocess.run(
            [python, "-c", probe, *distributions],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return found.stdout.strip() or None
