"""Bad input is refused with a clear message, and the catalog is left unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from advisor.errors import ImportRejectedError, MissingFieldError, UnknownNameError
from catalog.importers import guidellm, lm_eval
from catalog.importers.common import ImportOptions
from catalog.store import ingest
from tests.conftest import fixture

SWEEP = fixture("guidellm", "guidellm-0.8.1-sweep.json")
LM = fixture("lm_eval", "lm-eval-0.4.13-hf-2shot.json")
H100 = ImportOptions(model="8b", format="bf16", gpu="h100", gpu_count=1)
TABLES = (
    "sources",
    "runs",
    "benchmarks",
    "latency_stats",
    "accuracy_results",
    "sync_results",
    "async_results",
    "model_specs",
)


def snapshot(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content)
    return path


def edited_sweep(tmp_path: Path, edit) -> Path:
    document = json.loads(SWEEP.read_text())
    edit(document)
    return write(tmp_path, "edited.json", json.dumps(document))


def test_truncated_json_names_file_and_position(tmp_path: Path) -> None:
    path = write(tmp_path, "cut.json", SWEEP.read_text()[:5000])
    with pytest.raises(ImportRejectedError, match=r"cut\.json: not valid JSON .* line \d+"):
        guidellm.parse_result(path, H100)


def test_empty_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ImportRejectedError, match="empty"):
        guidellm.parse_result(write(tmp_path, "empty.json", "  \n"), H100)
    with pytest.raises(ImportRejectedError, match="not valid YAML"):
        guidellm.parse_result(write(tmp_path, "bad.yaml", "a: [1, 2\nb: }"), H100)


def test_an_lm_eval_file_is_not_a_guidellm_report() -> None:
    with pytest.raises(ImportRejectedError, match=r"not a GuideLLM report.*expected GuideLLM"):
        guidellm.parse_result(LM, H100)
    with pytest.raises(ImportRejectedError, match="not an lm-eval results file"):
        lm_eval.parse_result(SWEEP, ImportOptions(model="8b", format="bf16"))


def test_unknown_layout_version(tmp_path: Path) -> None:
    path = edited_sweep(tmp_path, lambda d: d["metadata"].update(version=7))
    with pytest.raises(ImportRejectedError, match=r"metadata\.version=7.*0\.7-0\.8"):
        guidellm.parse_result(path, H100)


def test_out_of_range_value_names_the_benchmark_and_field(tmp_path: Path) -> None:
    path = edited_sweep(
        tmp_path, lambda d: d["benchmarks"][1]["metrics"]["request_totals"].update(errored=-3)
    )
    with pytest.raises(ImportRejectedError, match=r"benchmarks\[1\].*'errored'.*-3"):
        guidellm.parse_result(path, H100)


def test_unknown_strategy(tmp_path: Path) -> None:
    path = edited_sweep(
        tmp_path, lambda d: d["benchmarks"][0]["config"]["strategy"].update(type_="burst")
    )
    with pytest.raises(ImportRejectedError, match="'burst' is not one of synchronous"):
        guidellm.parse_result(path, H100)


def test_missing_gpu_names_the_option() -> None:
    # Domain words only: the CLI adds the flag and the HTTP service the form field.
    with pytest.raises(MissingFieldError, match=r"does not say the GPU type$") as gpu:
        guidellm.parse_result(SWEEP, ImportOptions(model="8b", format="bf16"))
    assert gpu.value.option == "gpu"
    with pytest.raises(MissingFieldError, match=r"does not say the GPU count$") as count:
        guidellm.parse_result(SWEEP, ImportOptions(model="8b", format="bf16", gpu="h100"))
    assert count.value.option == "gpu_count"
    with pytest.raises(MissingFieldError, match=r"quantization format$") as fmt:
        guidellm.parse_result(SWEEP, ImportOptions(model="8b", gpu="h100", gpu_count=1))
    assert fmt.value.option == "format"


def test_unknown_format_lists_accepted() -> None:
    with pytest.raises(
        UnknownNameError, match=r"unknown format .fp4.*accepted: bf16, fp8, int4, int8"
    ):
        guidellm.parse_result(
            SWEEP, ImportOptions(model="8b", format="fp4", gpu="h100", gpu_count=1)
        )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            ImportOptions(model="9b", format="bf16", gpu="h100", gpu_count=1),
            r"unknown model '9b'.*accepted: .*llama-3\.1-405b-instruct.*add-model",
        ),
        (
            ImportOptions(model="8b", format="bf16", gpu="h1000", gpu_count=1),
            r"unknown gpu 'h1000' \(did you mean 'h100'\?\); accepted: a100, a100-40gb",
        ),
        (
            ImportOptions(model="8b", format="bf16", gpu="h100", gpu_count=1, use_case="chat"),
            r"unknown use case 'chat'.*accepted: code_completion",
        ),
    ],
)
def test_unknown_names_leave_the_catalog_unchanged(
    con: duckdb.DuckDBPyConnection, options: ImportOptions, message: str
) -> None:
    before = snapshot(con)
    with pytest.raises(UnknownNameError, match=message):
        ingest(con, guidellm.parse_result(SWEEP, options))
    assert snapshot(con) == before


def test_a_bad_batch_rolls_back_the_good_ones_before_it(con: duckdb.DuckDBPyConnection) -> None:
    before = snapshot(con)
    good = guidellm.parse_result(SWEEP, H100)
    bad = lm_eval.parse_result(LM, ImportOptions(format="bf16"))  # model tiny-llama is unknown
    with pytest.raises(UnknownNameError):
        ingest(con, good, bad)
    assert snapshot(con) == before
