"""Plans: validation, the commands of --dry-run, and resuming (cells in the catalog are skipped)."""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor.errors import AdvisorError
from profiler.plan import PlanRunner, cells, load_plan

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CASES = {
    "rag": (1024, 128),
    "code_completion": (256, 1024),
    "docstring_generation": (768, 128),
    "code_fixing": (1024, 1024),
    "instruction_following": (256, 128),
    "multi_turn_chat": (512, 256),
    "small_summarization": (1024, 128),
    "large_summarization": (4096, 512),
}


def runner(plan, done=lambda *a: False, force=False) -> PlanRunner:
    return PlanRunner(plan, CASES.__getitem__, done, lambda batch: None, lambda line: None, force)


def test_the_study_plan_dry_run_shows_every_command() -> None:
    plan = load_plan(EXAMPLES / "study-llama-3.1-70b-plan.yaml")
    assert len(list(cells(plan))) == 8
    commands = [" ".join(c) for c in runner(plan).dry_run()]
    serves = [c for c in commands if "vllm.entrypoints.openai.api_server" in c]
    assert len(serves) == 8
    assert sum("--tensor-parallel-size 4" in c for c in serves) == 4
    assert any("Meta-Llama-3.1-70B-Instruct-FP8 --served-model-name" in c for c in serves)
    syncs = [c for c in commands if "kind=synchronous" in c]
    assert len(syncs) == 8 * 8
    assert any("prompt_tokens=4096,output_tokens=512" in c for c in syncs)
    evals = [c for c in commands if "local-completions" in c]
    assert len(evals) == 8 * 2 and any("leaderboard_mmlu_pro" in c for c in evals)
    assert not any("quantize_llmcompressor.py" in c for c in commands)


def test_missing_quantized_checkpoints_are_made_with_llmcompressor(tmp_path: Path) -> None:
    plan = load_plan(EXAMPLES / "tiny-cpu-plan.yaml")
    commands = [" ".join(c) for c in runner(plan).dry_run()]
    quantize = [c for c in commands if "quantize_llmcompressor.py" in c]
    assert len(quantize) == 1 and "--format int4" in quantize[0]
    assert "--calibration tests/fixtures/tools/calibration.jsonl" in quantize[0]
    assert sum("--enforce-eager" in c for c in commands) == 2


def test_cells_in_the_catalog_are_skipped(tmp_path: Path) -> None:
    plan = load_plan(EXAMPLES / "tiny-cpu-plan.yaml").model_copy(update={"work_dir": tmp_path})
    outcomes = runner(plan, done=lambda cell, workload, suite: True).run()
    assert [o.status for o in outcomes] == ["skipped", "skipped"]


def test_a_failed_cell_records_its_error_and_the_plan_goes_on(tmp_path: Path) -> None:
    plan = load_plan(EXAMPLES / "tiny-cpu-plan.yaml").model_copy(
        update={
            "work_dir": tmp_path,
            "tools": {
                "vllm_python": str(tmp_path / "no-python"),
                "llmcompressor_python": str(tmp_path / "no-python"),
            },
        }
    )
    outcomes = runner(plan).run()
    assert [o.status for o in outcomes] == ["failed", "failed"]
    assert "does not exist; install the profiler's tools" in outcomes[0].detail
    assert (tmp_path / "tiny-llama_bf16_x1" / "error.txt").exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: x\nmodels: []\nformats: [bf16]\ngpu: h100\ngpu_counts: [1]\n", "models"),
        (
            "name: x\nmodels: [{name: m, tokenizer: t}]\nformats: [fp4]\n"
            "gpu: h100\ngpu_counts: [1]\n",
            "unknown format 'fp4'",
        ),
        ("name: [", "cannot read the plan"),
    ],
)
def test_bad_plans_are_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(text)
    with pytest.raises(AdvisorError, match=message):
        load_plan(path)
