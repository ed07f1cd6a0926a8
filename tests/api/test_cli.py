"""The command line over a private catalog copy, through click's runner."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from api.cli import advise, cli
from tests.conftest import fixture


@pytest.fixture
def run(catalog_file: Path):
    runner = CliRunner()

    def invoke(*args: str, command=cli):
        return runner.invoke(command, ["--catalog", str(catalog_file), *args])

    return invoke


def test_sql_json_is_one_array_of_row_objects(run) -> None:
    result = run(
        "catalog",
        "sql",
        "select count(*) as n from sync_latency where source like 'study:%'",
        "--json",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [{"n": 108}]


def test_sql_csv_has_a_header(run) -> None:
    result = run("catalog", "sql", "select gpu, memory_gib from gpus where gpu = 'h100'", "--csv")
    assert list(csv.reader(io.StringIO(result.output))) == [["gpu", "memory_gib"], ["h100", "80.0"]]


@pytest.mark.parametrize(
    "statement",
    [
        "delete from model_specs",
        "insert into aliases values ('gpu', 'x', 'h100')",
        "select 1; drop table gpu_specs",
        "copy gpu_specs to '/tmp/x.csv'",
        "attach '/tmp/other.duckdb'",
    ],
)
def test_sql_refuses_writes(run, statement: str, catalog_file: Path) -> None:
    con = duckdb.connect(str(catalog_file), read_only=True)
    (models,) = con.execute("select count(*) from model_specs").fetchone()
    con.close()
    result = run("catalog", "sql", statement)
    assert result.exit_code == 1
    assert "statements are refused" in result.output and "accepted: SELECT" in result.output
    con = duckdb.connect(str(catalog_file), read_only=True)
    assert con.execute("select count(*) from model_specs").fetchone() == (models,) != (0,)


def test_sql_error_is_one_line(run) -> None:
    result = run("catalog", "sql", "select nope from gpus")
    assert result.exit_code == 1 and "SQL failed" in result.output
    assert "Traceback" not in result.output


def test_path_and_info(run, catalog_file: Path) -> None:
    assert run("catalog", "path").output.strip() == str(catalog_file)
    info = json.loads(run("catalog", "info", "--json").output)
    # The study's 108 + 120 cells and the model cards' 291 + 228.
    assert info["counts"]["sync_latency rows"] == 108 + 291
    assert info["counts"]["async_throughput rows"] == 120 + 228
    h100 = [
        c
        for c in info["performance"]
        if c["gpu"] == "h100" and c["format"] == "fp8" and c["model"].startswith("llama-3.1")
    ]
    assert {(c["model"], c["gpu_count"]) for c in h100} == {
        ("llama-3.1-70b-instruct", 1),
        ("llama-3.1-405b-instruct", 8),
        ("llama-3.1-405b-instruct", 16),
    }


def test_import_guidellm_then_lm_eval_with_an_added_model(run) -> None:
    added = run("catalog", "add-model", str(fixture("tiny-llama", "config.json")))
    assert added.exit_code == 0, added.output
    assert "added tiny-llama: LlamaForCausalLM" in added.output
    report = fixture("guidellm", "guidellm-0.8.1-sweep.json")
    args = (
        "catalog",
        "import",
        "guidellm",
        str(report),
        "--model",
        "tiny-llama",
        "--format",
        "bf16",
        "--gpu",
        "l4",
        "--gpus",
        "1",
    )
    first = run(*args)
    assert first.exit_code == 0, first.output
    assert "imported 4 rows in 1 run(s)" in first.output
    assert "already in the catalog" in run(*args).output
    lm = run(
        "catalog",
        "import",
        "lm-eval",
        str(fixture("lm_eval", "lm-eval-0.4.13-hf-2shot.json")),
        "--format",
        "bf16",
        "--suite",
        "tiny",
    )
    assert lm.exit_code == 0, lm.output
    rows = json.loads(
        run(
            "catalog",
            "sql",
            "select suite, count(*) as n from accuracy where model = 'tiny-llama' group by suite",
            "--json",
        ).output
    )
    assert rows == [{"suite": "tiny", "n": 3}]
    points = json.loads(
        run(
            "catalog", "sql", "select count(*) as n from load_points where gpu = 'l4'", "--json"
        ).output
    )
    assert points == [{"n": 4}]


def test_import_refuses_a_broken_file_and_names_it(run, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text(fixture("guidellm", "guidellm-0.8.1-sweep.json").read_text()[:999])
    good = fixture("guidellm", "guidellm-0.8.1-concurrent-labels.json")
    result = run("catalog", "import", "guidellm", str(good), str(broken), "--model", "8b")
    assert result.exit_code == 1
    assert "broken.json: not valid JSON" in result.output
    count = run("catalog", "sql", "select count(*) as n from load_points", "--json")
    assert json.loads(count.output) == [{"n": 0}]


def test_import_without_gpu_names_the_flag(run) -> None:
    result = run(
        "catalog",
        "import",
        "guidellm",
        str(fixture("guidellm", "guidellm-0.8.1-sweep.json")),
        "--model",
        "8b",
        "--format",
        "bf16",
    )
    assert result.exit_code == 1 and "pass --gpu" in result.output


def test_add_model_refuses_non_decoders(run, tmp_path: Path) -> None:
    config = tmp_path / "t5" / "config.json"
    config.parent.mkdir()
    config.write_text(
        json.dumps(
            {
                "architectures": ["T5ForConditionalGeneration"],
                "model_type": "t5",
                "is_encoder_decoder": True,
            }
        )
    )
    result = run("catalog", "add-model", str(config))
    assert result.exit_code == 1 and "encoder-decoder" in result.output


def test_export_writes_parquet(run, tmp_path: Path) -> None:
    result = run("catalog", "export", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    con = duckdb.connect()
    (n,) = con.execute(
        f"select count(*) from '{tmp_path / 'out' / 'sync_latency.parquet'}'"
        " where source like 'study:%'"
    ).fetchone()
    assert n == 108


def test_advise_unknown_model_lists_accepted_and_closest(catalog_file: Path) -> None:
    result = CliRunner().invoke(advise, ["--model", "406b", "--catalog", str(catalog_file)])
    assert result.exit_code == 1
    assert "unknown model '406b' (did you mean 'llama-3.1-405b-instruct'?)" in result.output
    assert "llama-3.1-405b-instruct, llama-3.1-70b-instruct, llama-3.1-8b-instruct" in result.output
    assert "accepted: deepseek-r1-distill-llama-70b" in result.output


def test_profile_perf_refuses_an_unknown_use_case_before_serving(run, tmp_path: Path) -> None:
    result = run(
        "profile",
        "perf",
        "--checkpoint",
        str(tmp_path / "no-such-checkpoint"),
        "--model",
        "8b",
        "--format",
        "bf16",
        "--gpu",
        "l4",
        "--work-dir",
        str(tmp_path / "runs"),
        "--use-case",
        "chat",
    )
    assert result.exit_code == 1
    assert "unknown use case 'chat'; accepted: code_completion" in result.output
    assert not (tmp_path / "runs").exists()  # no server was started


def test_profile_run_dry_run_uses_the_tools_folder(catalog_file: Path, tmp_path: Path) -> None:
    plan = Path(__file__).resolve().parents[2] / "examples" / "tiny-cpu-plan.yaml"
    result = CliRunner(env={"ADVISOR_TOOLS_DIR": str(tmp_path / "tools")}).invoke(
        cli, ["--catalog", str(catalog_file), "profile", "run", str(plan), "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines and all(line.startswith(str(tmp_path / "tools")) for line in lines)
    assert sum("quantize_llmcompressor.py" in line for line in lines) == 1


def test_import_measurements_from_the_command_line(run, tmp_path: Path) -> None:
    table = fixture("measurements", "published-table.csv")
    before = json.loads(
        run("catalog", "sql", "select count(*) as n from sync_latency", "--json").output
    )
    for bad, words in (
        ("model,format\n8b,fp8\n", "column"),
        (table.read_text().replace("llama-3.1-8b-instruct,bf16", "llama-9b,bf16", 1), "add-model"),
        (table.read_text().replace("latency_s,2.1", "latency_ms,2.1", 1), "metric"),
        (table.read_text().replace("latency_s,2.1", "latency_s,-2.1", 1), "value"),
    ):
        path = tmp_path / "bad.csv"
        path.write_text(bad)
        refused = run("catalog", "import", "measurements", str(path))
        assert refused.exit_code == 1 and words in refused.output, refused.output
        assert "Traceback" not in refused.output and len(refused.output.strip().splitlines()) == 1
        unchanged = run("catalog", "sql", "select count(*) as n from sync_latency", "--json")
        assert json.loads(unchanged.output) == before
    imported = run("catalog", "import", "measurements", str(table))
    assert imported.exit_code == 0 and "imported" in imported.output, imported.output
    rows = json.loads(
        run(
            "catalog",
            "sql",
            "select latency_s, engine_version from sync_latency where gpu = 'l40s'"
            " and latency_s is not null order by latency_s",
            "--json",
        ).output
    )
    assert rows == [
        {"latency_s": 1.3, "engine_version": "0.8.5"},
        {"latency_s": 2.1, "engine_version": "0.8.5"},
    ]
    again = run("catalog", "import", "measurements", str(table))
    assert "already in the catalog" in again.output


def test_serve_says_where_it_listens_and_which_catalog(
    catalog_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import api.http.server

    started: list[tuple[object, ...]] = []
    monkeypatch.setattr(api.http.server, "run", lambda *args: started.append(args))
    result = CliRunner(env={"ADVISOR_IMPORT_TOKEN": ""}).invoke(
        cli, ["--catalog", str(catalog_file), "serve", "--port", "8123", "--workers", "2"]
    )
    assert result.exit_code == 0, result.output
    assert "advisor serving on http://127.0.0.1:8123 (2 workers)" in result.output
    assert f"catalog: {catalog_file}" in result.output and "imports disabled" in result.output
    assert started and started[0][1:] == ("127.0.0.1", 8123, 2, "warning")
