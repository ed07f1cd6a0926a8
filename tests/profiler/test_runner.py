"""Process control: readiness, failures, and no orphans."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from profiler.runner import ToolError, free_port, run_tool, served, tool_environment

HINT = "install it"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_server_that_never_becomes_ready_is_stopped(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    # A "server" that never listens, with a child of its own: both must be gone afterwards.
    script = (
        "import os, subprocess, sys, time; "
        f"c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); "
        f"open({str(pid_file)!r}, 'w').write(str(c.pid)); time.sleep(600)"
    )
    with (
        pytest.raises(ToolError, match="not ready after 2 s"),
        served(
            [sys.executable, "-c", script],
            free_port(),
            tmp_path / "server.log",
            tool_environment(tmp_path),
            2,
            HINT,
        ),
    ):
        pass
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(child)


def test_a_server_that_exits_says_so_with_its_log(tmp_path: Path) -> None:
    command = [sys.executable, "-c", "import sys; print('boom: no model'); sys.exit(3)"]
    with (
        pytest.raises(ToolError, match="exited with 3 before it was ready") as caught,
        served(command, free_port(), tmp_path / "server.log", tool_environment(tmp_path), 30, HINT),
    ):
        pass
    assert "boom: no model" in str(caught.value)


def test_a_server_whose_package_is_missing_names_the_install(tmp_path: Path) -> None:
    """`advisor profile perf` without the tools: the Python on PATH has no vLLM."""
    command = [sys.executable, "-m", "vllm_is_not_installed_here"]
    with (
        pytest.raises(ToolError, match=f"before it was ready; {HINT}; log:"),
        served(command, free_port(), tmp_path / "server.log", tool_environment(tmp_path), 30, HINT),
    ):
        pass


def test_a_real_http_server_becomes_ready_and_is_stopped(tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "v1").mkdir()
    (tmp_path / "v1" / "models").write_text('{"data": []}')
    command = [
        sys.executable,
        "-m",
        "http.server",
        str(port),
        "--bind",
        "127.0.0.1",
        "--directory",
        str(tmp_path),
    ]
    with served(command, port, tmp_path / "log", tool_environment(tmp_path / "s"), 30, HINT) as url:
        assert url == f"http://127.0.0.1:{port}"
    with pytest.raises(OSError):
        import socket

        socket.create_connection(("127.0.0.1", port), timeout=1)


def test_failing_and_missing_tools(tmp_path: Path) -> None:
    with pytest.raises(ToolError, match="exited with 2"):
        run_tool(
            [sys.executable, "-c", "import sys; sys.exit(2)"],
            tmp_path / "l",
            dict(os.environ),
            30,
            HINT,
        )
    with pytest.raises(ToolError, match="'no-such-tool-xyz' is not on PATH; install it"):
        run_tool(["no-such-tool-xyz"], tmp_path / "l", dict(os.environ), 30, HINT)
    with pytest.raises(ToolError, match="ran past 1 s"):
        run_tool(
            [sys.executable, "-c", "import time; time.sleep(30)"],
            tmp_path / "l",
            dict(os.environ),
            1,
            HINT,
        )
    assert run_tool([sys.executable, "-c", "pass"], tmp_path / "l", dict(os.environ), 30, HINT) >= 0
