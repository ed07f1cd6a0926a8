"""`advise --model PATH/config.json` end to end through the CLI entry, for the families the
issue names: a full answer whose parameter count is the published one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from api.cli import advise
from tests.conftest import fixture

# name: (published total, published active or None), billions (tests/fixtures/configs/README.md)
MODELS = {
    "mixtral-8x7b": (46.7, 12.9),
    "qwen3-30b-a3b": (30.5, 3.3),
    "gpt-oss-20b": (20.91, None),
    "deepseek-v2-lite": (15.7, None),
    "gemma-2-2b": (2.61, None),
    "gemma-3-1b": (1.0, None),
    "phi-4-mini": (3.84, None),
    "llama-3.1-8b-instruct-w4a16": (8.03, None),
}


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> CliRunner:
    cache = tmp_path_factory.mktemp("models")
    return CliRunner(env={"ADVISOR_MODEL_CACHE": str(cache)})


@pytest.fixture(scope="module")
def catalog(built_catalog: Path) -> Path:
    return built_catalog


@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_config_gets_a_full_answer_with_its_parameter_count(
    runner: CliRunner, catalog: Path, name: str
) -> None:
    config = fixture("configs", name, "config.json")
    args = ["--model", str(config), "--gpu", "h100", "--catalog", str(catalog)]
    result = runner.invoke(advise, [*args, "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    total, active = MODELS[name]
    assert doc["query"]["params_b"] == pytest.approx(total, rel=0.02)
    if active is not None:
        assert doc["query"]["active_params_b"] == pytest.approx(active, rel=0.02)
    rec = doc["recommendation"]
    assert rec is not None
    if doc["query"]["active_params_b"] is not None:  # no mixture of experts measured yet
        assert rec["label"] == "extrapolated"
    assert rec["vllm_serve_command"].startswith("vllm serve ")
    shown = runner.invoke(advise, args)
    assert shown.exit_code == 0, shown.output
    assert f"({doc['query']['params_b']:.3g}B parameters" in shown.output


@pytest.fixture(scope="module")
def added(built_catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A catalog file with Mixtral and a W4A16 checkpoint added through `catalog add-model`."""
    from api.cli import cli

    path = tmp_path_factory.mktemp("added") / "catalog.duckdb"
    shutil.copy(built_catalog, path)
    for name, hf_id in (
        ("mixtral-8x7b", "mistralai/Mixtral-8x7B-v0.1"),
        ("llama-3.1-8b-instruct-w4a16", None),
    ):
        args = ["catalog", "add-model", str(fixture("configs", name)), "--name", f"my-{name}"]
        args += ["--hf-id", hf_id] if hf_id else []
        result = CliRunner().invoke(cli, ["--catalog", str(path), *args])
        assert result.exit_code == 0, result.output
    return path


def answer(runner: CliRunner, catalog: Path, model: str) -> dict[str, Any]:
    args = ["--model", model, "--gpu", "h100", "--catalog", str(catalog), "--json"]
    result = runner.invoke(advise, args)
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.output))


def test_a_model_added_to_the_catalog_answers_as_its_config_does(
    runner: CliRunner, added: Path
) -> None:
    """Its experts are stored: the same total and active parameters, the same option."""
    config = str(fixture("configs", "mixtral-8x7b", "config.json"))
    stored, given = answer(runner, added, "my-mixtral-8x7b"), answer(runner, added, config)
    assert stored["query"]["params_b"] == given["query"]["params_b"]
    assert stored["query"]["params_b"] == pytest.approx(46.7, rel=0.02)
    assert stored["query"]["active_params_b"] == given["query"]["active_params_b"]
    assert stored["query"]["active_params_b"] == pytest.approx(12.9, rel=0.02)
    rec, expected = stored["recommendation"], given["recommendation"]
    assert rec["label"] == "extrapolated"  # no mixture of experts measured yet
    # Only the label naming the model differs: the checkpoint is the hub id's in both.
    expected["guidellm_command"] = expected["guidellm_command"].replace(
        f"model={config}", "model=my-mixtral-8x7b"
    )
    assert rec == expected


def test_a_quantized_checkpoint_added_to_the_catalog_is_not_quantized_again(
    runner: CliRunner, added: Path
) -> None:
    doc = answer(runner, added, "my-llama-3.1-8b-instruct-w4a16")
    assert doc["query"]["formats"] == ["int4"]
    options = [doc["recommendation"], *doc["alternatives"], *doc["rejected"]]
    assert {o["format"] for o in options if o} == {"int4"}
    assert doc["recommendation"]["quantize_command"] is None
