"""`advise --model PATH/config.json` end to end through the CLI entry, for the families the
issue names: a full answer whose parameter count is the published one."""

from __future__ import annotations

import json
from pathlib import Path

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


def test_the_catalog_refuses_what_it_cannot_store_yet(catalog_file: Path) -> None:
    """Its model columns are a dense decoder's: experts would be read back as a dense model."""
    from api.cli import cli

    config = fixture("configs", "mixtral-8x7b", "config.json")
    result = CliRunner().invoke(
        cli, ["--catalog", str(catalog_file), "catalog", "add-model", str(config)]
    )
    assert result.exit_code == 1 and "catalog does not store yet" in result.output
