"""Profiling sessions without the command line: tools, workloads, serving, quantizing, plans
bound to a catalog. Fake tools stand in for vLLM and llmcompressor."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import duckdb
import pytest

from advisor.errors import InvalidInputError, UnknownNameError
from advisor.vocabulary import Format
from catalog import queries
from profiler.commands import QuantizeSpec, Tools
from profiler.perf import Workload
from profiler.plan import cells, load_plan
from profiler.runner import ToolError
from profiler.session import (
    ServeOptions,
    find_tools,
    plan_runner,
    quantize,
    serving,
    workloads_for,
)
from tests.profiler.fake_server import SERVE_MODELS

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CASES = {"rag": (1024, 128), "code_fixing": (1024, 1024)}

# Answers the version probe (`python -c ...`), else serves /v1/models on the --port it is given.
FAKE_VLLM = (
    """
import http.server, sys
if sys.argv[1] == "-c":
    print("0.0.1-fake")
    sys.exit(0)
port = int(sys.argv[sys.argv.index("--port") + 1])
print("serving", " ".join(sys.argv[1:]), flush=True)

"""
    + SERVE_MODELS
)
# Writes the checkpoint folder it is asked for, like the quantize script does.
FAKE_LLMCOMPRESSOR = """
import pathlib, sys
out = pathlib.Path(sys.argv[sys.argv.index("--out") + 1])
out.mkdir(parents=True)
(out / "recipe.yaml").write_text("fake")
print("quantized into", out)
"""


def executable(path: Path, body: str) -> str:
    path.write_text(f"#!{sys.executable}\n{body}")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_tools_come_from_the_tools_folder_and_a_plan_overrides_them(tmp_path: Path) -> None:
    assert find_tools(None) == Tools()
    tools = find_tools(tmp_path, {"lm_eval": "/opt/lm_eval"})
    assert tools.vllm_python == str(tmp_path / "vllm/bin/python")
    assert tools.guidellm == str(tmp_path / "vllm/bin/guidellm")
    assert tools.llmcompressor_python == str(tmp_path / "llmcompressor/bin/python")
    assert tools.lm_eval == "/opt/lm_eval"


def test_workloads_from_counts_names_or_every_use_case() -> None:
    assert workloads_for(CASES, ("rag",), 10, 20) == [Workload(prefill_tokens=10, decode_tokens=20)]
    assert workloads_for(CASES, ("rag",)) == [
        Workload(use_case="rag", prefill_tokens=1024, decode_tokens=128)
    ]
    assert [w.use_case for w in workloads_for(CASES)] == ["code_fixing", "rag"]
    # Only one of the counts: the use cases still decide.
    assert [w.use_case for w in workloads_for(CASES, (), 10, None)] == ["code_fixing", "rag"]


def test_an_unknown_use_case_lists_the_accepted_ones() -> None:
    with pytest.raises(
        InvalidInputError, match="unknown use case 'chat'; accepted: code_fixing, rag"
    ):
        workloads_for(CASES, ("rag", "chat"))


def test_serve_options_read_the_format_as_people_spell_it(tmp_path: Path) -> None:
    options = ServeOptions.of("W8A8-FP", checkpoint="ckpt", model="m", gpu="l4", work_dir=tmp_path)
    assert options.format is Format.FP8 and options.served_name == "m-fp8"
    assert options.work == tmp_path / "m_fp8_x1"
    with pytest.raises(UnknownNameError):
        ServeOptions.of("fp4", checkpoint="ckpt", model="m", gpu="l4")


def test_serving_yields_the_target_it_stands_for_and_stops_the_server(tmp_path: Path) -> None:
    tools = Tools(vllm_python=executable(tmp_path / "fake-vllm", FAKE_VLLM))
    options = ServeOptions.of(
        "int4", checkpoint="ckpt", model="m", gpu="l4", gpu_count=2, work_dir=tmp_path / "runs"
    )
    with serving(tools, options) as server:
        target = server.target
        assert target.base_url.startswith("http://127.0.0.1:")
        assert target.engine_version == "0.0.1-fake"
        assert (target.model, target.format, target.gpu, target.gpu_count) == (
            "m",
            Format.INT4,
            "l4",
            2,
        )
        assert target.tokenizer == "ckpt" and target.served_name == "m-int4"
        assert "--tensor-parallel-size" in target.engine_args
        assert server.work == tmp_path / "runs" / "m_int4_x2"
        assert server.env["HF_HUB_OFFLINE"] == "1"
    log = (tmp_path / "runs" / "m_int4_x2" / "vllm.log").read_text()
    assert "--served-model-name m-int4" in log


def test_quantize_runs_the_tool_and_keeps_its_log_next_to_the_checkpoint(tmp_path: Path) -> None:
    tools = Tools(llmcompressor_python=executable(tmp_path / "fake-llmc", FAKE_LLMCOMPRESSOR))
    out = tmp_path / "ckpt-fp8"
    seconds = quantize(tools, QuantizeSpec(model="base", format=Format.FP8, out=out))
    assert seconds >= 0 and (out / "recipe.yaml").exists()
    assert "quantized into" in (tmp_path / "ckpt-fp8.quantize.log").read_text()


def test_quantize_without_the_tool_names_the_install_script(tmp_path: Path) -> None:
    tools = Tools(llmcompressor_python=str(tmp_path / "missing" / "python"))
    with pytest.raises(ToolError, match=r"install-profiler-tools\.sh"):
        quantize(tools, QuantizeSpec(model="base", format=Format.FP8, out=tmp_path / "out"))


def test_use_case_tokens_come_from_the_catalog(ro: duckdb.DuckDBPyConnection) -> None:
    cases = queries.use_case_tokens(ro)
    assert cases["rag"] == (1024, 128) and cases["large_summarization"] == (4096, 512)
    assert cases["large_rag"] == (10240, 1536) and len(cases) == 9


def test_a_plan_bound_to_the_catalog_resolves_its_use_cases_there(
    ro: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    plan = load_plan(EXAMPLES / "study-llama-3.1-70b-plan.yaml")
    runner = plan_runner(ro, plan, tmp_path, lambda line: None)
    assert runner.tools.guidellm == str(tmp_path / "vllm/bin/guidellm")
    assert {(w.use_case, w.prefill_tokens, w.decode_tokens) for w in runner.workloads} >= {
        ("rag", 1024, 128),
        ("large_summarization", 4096, 512),
    }
    commands = [" ".join(c) for c in runner.dry_run()]
    assert any(c.startswith(str(tmp_path / "vllm/bin/python")) for c in commands)
    # Nothing of the plan is in the embedded catalog: no cell counts as done.
    cell = next(cells(runner.plan))
    assert not runner.done(cell, runner.workloads[0], None)
    assert not runner.done(cell, None, runner.task_sets[0].tasks)


def test_a_plan_with_a_use_case_the_catalog_lacks_is_refused(
    ro: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    plan_file = tmp_path / "plan.yaml"
    plan_file.write_text(
        "name: p\nmodels: [{name: m, tokenizer: t, checkpoints: {bf16: c}}]\n"
        "formats: [bf16]\ngpu: l4\ngpu_counts: [1]\nuse_cases: [chatbot]\n"
    )
    with pytest.raises(InvalidInputError, match="unknown use case 'chatbot'; accepted: "):
        plan_runner(ro, load_plan(plan_file), None, lambda line: None)
