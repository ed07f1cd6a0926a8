"""The architecture is checked, not just drawn: import-linter's contracts (pyproject.toml) and an
AST scan that the core does no I/O and reads no environment."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = (
    "import sys; from importlinter.cli import lint_imports_command; "
    "sys.exit(lint_imports_command(prog_name='lint-imports'))"
)


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` with this repository's contracts, on the packages found under `tree`."""
    pytest.importorskip("importlinter", reason="import-linter not installed (the test extra)")
    return subprocess.run(
        [sys.executable, "-c", LINT_IMPORTS, str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_import_contracts_hold() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


def test_the_contracts_forbid_what_the_house_style_forbids() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    forbidden = {c["source_modules"][0]: set(c["forbidden_modules"]) for c in config["contracts"]}
    assert forbidden["advisor"] >= {
        *("catalog", "api", "profiler", "duckdb", "litestar"),
        *("subprocess", "uvicorn", "click", "rich"),
    }
    assert forbidden["catalog"] >= {"api", "profiler"}
    assert forbidden["profiler"] >= {"api"}


def test_a_core_module_that_runs_a_process_breaks_a_contract(tmp_path: Path) -> None:
    for package in ("advisor", "api", "catalog", "profiler"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "advisor" / "fit.py").write_text("import subprocess\n")
    (tmp_path / "catalog" / "db.py").write_text("from api import app\n")
    (tmp_path / "api" / "app.py").write_text("")
    result = lint_imports(tmp_path)
    assert result.returncode == 1
    assert "advisor is not allowed to import subprocess" in result.stdout
    assert "catalog is not allowed to import api" in result.stdout
    assert "1 kept, 2 broken" in result.stdout


# ---------------------------------------------------------------------------- no I/O in the core

FILE_METHODS = {"open", "read_text", "read_bytes", "write_text", "write_bytes"}
ENVIRONMENT = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}


def io_calls(source: str) -> list[str]:
    """Where a module opens a file or reads the environment: `line: what`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id == "open":
                found.append(f"{node.lineno}: open(")
            elif isinstance(func, ast.Attribute) and func.attr in FILE_METHODS:
                found.append(f"{node.lineno}: .{func.attr}(")
        elif isinstance(node, ast.Attribute) and node.attr in ENVIRONMENT:
            if isinstance(node.value, ast.Name) and node.value.id == "os":
                found.append(f"{node.lineno}: os.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            found += [
                f"{node.lineno}: from os import {a.name}"
                for a in node.names
                if a.name in ENVIRONMENT
            ]
    return sorted(found, key=lambda f: int(f.split(":")[0]))


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("x = open('f').read()", ["1: open("]),
        ("from pathlib import Path\nPath('f').read_text()", ["2: .read_text("]),
        ("p.write_bytes(b'')\nq.open()", ["1: .write_bytes(", "2: .open("]),
        ("import os\nos.environ['X']", ["2: os.environ"]),
        ("import os\nos.getenv('X')", ["2: os.getenv"]),
        ("from os import environ, sep", ["1: from os import environ"]),
        ("import os\nos.path.join('a', 'b')\nopened = 1", []),
    ],
)
def test_the_scan_finds_file_and_environment_access(source: str, expected: list[str]) -> None:
    assert io_calls(source) == expected


def test_the_core_opens_no_file_and_reads_no_environment() -> None:
    found = {
        str(path.relative_to(ROOT)): calls
        for path in sorted((ROOT / "advisor").rglob("*.py"))
        if (calls := io_calls(path.read_text()))
    }
    assert found == {}
