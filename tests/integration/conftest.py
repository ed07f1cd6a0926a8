"""A real `advisor serve` process for the integration tests."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def start_server(
    built_catalog: Path, tmp_path: Path, workers: int, token: str | None
) -> Iterator[str]:
    """`advisor serve` on a free loopback port over a copy of the catalog; always stopped."""
    catalog = tmp_path / "catalog.duckdb"
    shutil.copy(built_catalog, catalog)
    port = free_port()
    env = {
        **os.environ,
        "ADVISOR_CATALOG": str(catalog),
        "ADVISOR_MODEL_CACHE": str(tmp_path / "models"),
        # `advisor serve` makes its metrics folder here, where a test can look at it.
        "TMPDIR": str(tmp_path / "tmp"),
    }
    (tmp_path / "tmp").mkdir(exist_ok=True)
    env.pop("ADVISOR_IMPORT_TOKEN", None)
    if token:
        env["ADVISOR_IMPORT_TOKEN"] = token
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(BIN / "advisor"), "serve", "--port", str(port), "--workers", str(workers)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    if get(base + "/readyz")[0] == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail("server never became ready:\n" + log_path.read_text())
                time.sleep(0.2)
            yield base
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
def server(built_catalog: Path, tmp_path: Path) -> Iterator[str]:
    """Two workers, imports enabled (token `tok`)."""
    yield from start_server(built_catalog, tmp_path, workers=2, token="tok")


@pytest.fixture
def single_server(built_catalog: Path, tmp_path: Path) -> Iterator[str]:
    """One worker, imports enabled (token `tok`): every request meets the same event loop."""
    yield from start_server(built_catalog, tmp_path, workers=1, token="tok")


@pytest.fixture(scope="module")
def readonly_server(built_catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One worker, imports disabled: the catalog is held open read-only."""
    yield from start_server(built_catalog, tmp_path_factory.mktemp("ro"), workers=1, token=None)
