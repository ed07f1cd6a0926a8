"""The installed console scripts, run as real processes on a fresh catalog file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def run(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ADVISOR_CATALOG": str(tmp_path / "fresh" / "catalog.duckdb")}
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, check=False)


def test_advise_builds_the_embedded_catalog_on_first_use(tmp_path: Path) -> None:
    result = run(tmp_path, str(BIN / "advise"), "--model", "405b")
    assert result.returncode == 0, result.stderr
    assert "llama-3.1-405b-instruct" in result.stdout
    assert (tmp_path / "fresh" / "catalog.duckdb").exists()
    counted = run(
        tmp_path,
        str(BIN / "advisor"),
        "catalog",
        "sql",
        "select count(*) as n from async_throughput where source like 'study:%'",
        "--json",
    )
    assert json.loads(counted.stdout) == [{"n": 120}]


def test_errors_are_one_line_and_exit_non_zero(tmp_path: Path) -> None:
    result = run(tmp_path, str(BIN / "advisor"), "catalog", "sql", "drop table gpus")
    assert result.returncode == 1
    assert result.stderr.startswith("error: DROP statements are refused")
    assert "Traceback" not in result.stderr


def test_help_lists_the_commands(tmp_path: Path) -> None:
    result = run(tmp_path, str(BIN / "advisor"), "catalog", "--help")
    for command in ("add-model", "export", "import", "info", "path", "sql"):
        assert command in result.stdout
