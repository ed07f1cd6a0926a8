"""An lm-eval import takes over from the accuracy prior at once: a Qwen3 model given as a path,
its real lm-eval results (BF16 and FP8, tests/fixtures/accuracy/) imported into a real DuckDB
catalog through the command line, and the next answer's recovery is the measured one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from api.cli import advise, cli
from tests.conftest import fixture

CONFIG = fixture("accuracy", "tiny-qwen3", "config.json")
BF16 = fixture("accuracy", "lm-eval-0.4.13-hf-tiny-qwen3-bf16-2shot.json")
FP8 = fixture("accuracy", "lm-eval-0.4.13-hf-tiny-qwen3-fp8-2shot.json")


@pytest.fixture
def runner(tmp_path: Path) -> CliRunner:
    return CliRunner(env={"ADVISOR_MODEL_CACHE": str(tmp_path / "models")})


def options(runner: CliRunner, catalog: Path) -> dict[str, dict[str, Any]]:
    """The answer's recovery per format, for the model given as a path (no accuracy floor)."""
    args = ["--model", str(CONFIG), "--gpu", "h100", "--min-recovery", "0", "--json"]
    result = runner.invoke(advise, [*args, "--catalog", str(catalog)])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    found: dict[str, dict[str, Any]] = {}
    for option in [doc["recommendation"], *doc["alternatives"], *doc["rejected"]]:
        if option and option.get("recovery_pct") is not None:
            found.setdefault(option["format"], option)
    return found


def score(path: Path, metric: str = "acc,none") -> float:
    return float(json.loads(path.read_text())["results"]["tiny_mc"][metric])


@pytest.mark.slow
def test_an_lm_eval_import_replaces_the_prior(runner: CliRunner, catalog_file: Path) -> None:
    before = options(runner, catalog_file)
    assert before["fp8"]["accuracy_label"] == "extrapolated"
    assert before["fp8"]["accuracy_basis"].startswith(
        "prior: no fp8 accuracy data on leaderboard_v1 for family qwen3"
    )

    def catalog(*args: str) -> None:
        result = runner.invoke(cli, ["--catalog", str(catalog_file), "catalog", *args])
        assert result.exit_code == 0, result.output

    catalog("add-model", str(CONFIG.parent))  # catalog id: the folder's name, tiny-qwen3
    # The tiny tasks stand in for the study's Leaderboard V1 set, imported under its name as
    # `advisor profile accuracy --tasks leaderboard_v1` does.
    for path, fmt in ((BF16, "bf16"), (FP8, "fp8")):
        catalog(
            "import",
            "lm-eval",
            str(path),
            "--model",
            "tiny-qwen3",
            "--format",
            fmt,
            "--suite",
            "leaderboard_v1",
        )
    after = options(runner, catalog_file)

    fp8 = after["fp8"]
    assert fp8["accuracy_label"] == "measured"
    assert fp8["accuracy_basis"].startswith(f"lm-eval:{FP8.name}#")
    # tiny_mc's accuracy, FP8 over BF16 (the first metric of the task; tiny_gen scores 0 in both,
    # which has no recovery).
    assert fp8["recovery_pct"] == pytest.approx(100 * score(FP8) / score(BF16))
    # Formats still without an import keep their prior.
    assert after["int4"]["accuracy_basis"].startswith("prior: no int4 accuracy data")


def test_the_table_says_when_the_recovery_is_a_prior(runner: CliRunner, catalog_file: Path) -> None:
    result = runner.invoke(
        advise,
        ["--model", str(CONFIG), "--gpu", "h100", "--catalog", str(catalog_file)],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("accuracy:"))
    assert "of BF16 on leaderboard_v1, extrapolated: prior: no " in line
    assert "for family qwen3" in line
