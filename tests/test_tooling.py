"""ruff and mypy stay clean: the configured tools run as part of the suite."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def tool(name: str, *argv: str) -> subprocess.CompletedProcess[str]:
    """`python -m NAME ARGV...` in the repository; skipped, saying why, if NAME is missing."""
    if importlib.util.find_spec(name) is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return subprocess.run(
        [sys.executable, "-m", name, *argv], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_ruff_lint_and_format() -> None:
    lint = tool("ruff", "check", ".")
    assert lint.returncode == 0, lint.stdout
    formatted = tool("ruff", "format", "--check", ".")
    assert formatted.returncode == 0, formatted.stdout


def test_mypy_strict() -> None:
    result = tool("mypy")
    assert result.returncode == 0, result.stdout


def test_a_missing_tool_skips_with_its_name() -> None:
    with pytest.raises(pytest.skip.Exception, match="no_such_tool_xyz is not installed"):
        tool("no_such_tool_xyz", "--version")
