"""The rate search guided by the advisor's prediction against the exhaustive one, on the CPU
tier: prints figures, asserts nothing.

    python benchmarks/ratesearch.py --catalog BUILT.duckdb [--tools .tools] [--workload 128x16]

vLLM's CPU build serves the tiny random Llama of tests/fixtures/tools/make_tiny_model.py (added
to a copy of the catalog; `--gpu`, default l4, is the catalog GPU the host stands for). For each
workload: the guided search (the advisor fitted over the catalog copy, calibrated on the cell's
synchronous run, re-fitted after each write so a later workload sees the earlier one's rows),
then the exhaustive one (doubling from the synchronous rate, its rows kept out of the catalog
so the guide never reads them), both to `--tolerance`; and once, GuideLLM's own sweep profile
(synchronous, throughput, then evenly spaced constant rates) for its time and resolution.
Each line: GuideLLM runs, wall seconds and max QPS of each, the guided search's error against
the exhaustive one, and the guided search's reasons.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from advisor.vocabulary import Format
from catalog.build import open_catalog
from catalog.importers import guidellm
from catalog.importers.common import ImportOptions
from profiler.commands import LoadSpec, build_guidellm_command
from profiler.guide import AdvisorGuide
from profiler.perf import PerfResult, SearchSettings, Workload, profile_performance
from profiler.ratesearch import Limits, Probe
from profiler.runner import run_tool
from profiler.session import ServeOptions, find_tools, serving, writer

ROOT = Path(__file__).resolve().parents[1]


def tiny_model(tools: Path, into: Path) -> Path:
    out = into / "tiny-llama"
    if not (out / "config.json").exists():
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        script = ROOT / "tests/fixtures/tools/make_tiny_model.py"
        subprocess.run([str(tools / "vllm/bin/python"), str(script), str(out)], check=True, env=env)
    return out


def add_model(catalog: Path, model: Path) -> None:
    env = {**os.environ, "ADVISOR_CATALOG": str(catalog), "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-c", "from api.cli import main; main()", "catalog", "add-model"]
    subprocess.run([*command, str(model)], check=True, env=env, capture_output=True)


def sweep(tools, target, workload, work: Path, env, settings: SearchSettings, size: int) -> str:
    """One GuideLLM sweep run: its wall time and the highest passing constant rate in it."""
    spec = LoadSpec(
        target=target.base_url,
        model=target.served_name,
        tokenizer=target.tokenizer,
        prefill_tokens=workload.prefill_tokens,
        decode_tokens=workload.decode_tokens,
        output=work / "sweep.json",
        max_requests=settings.probe_requests,
        max_seconds=settings.probe_seconds,
        labels={"model": target.model, "format": target.format.value, "gpu": target.gpu},
    )
    command = build_guidellm_command(tools, spec)
    command[command.index("kind=synchronous")] = (
        f"kind=sweep,sweep_size={size},strategy_type=constant"
    )
    work.mkdir(parents=True, exist_ok=True)
    seconds = run_tool(command, work / "sweep.log", env, settings.timeout_s, "install the tools")
    points = guidellm.parse_result(spec.output, ImportOptions()).runs[0].load_points
    rates, passed = [], []
    for point in points:
        if point.target_rate is None or point.strategy.value != "constant":
            continue
        total = point.successful + point.errored + point.incomplete
        tail = {m: point.stats[m].p99 if m in point.stats else None for m in ("ttft_ms", "itl_ms")}
        probe = Probe(
            rate=point.target_rate,
            ttft_ms=tail["ttft_ms"],
            itl_ms=tail["itl_ms"],
            error_rate=point.errored / total if total else 1.0,
            achieved_rps=point.achieved_rps,
        )
        rates.append(point.target_rate)
        if probe.meets(settings.limits):
            passed.append(point.target_rate)
    best = max(passed, default=0.0)
    above = [r for r in rates if r > best]
    gap = f"{100 * (min(above) / best - 1):.0f}%" if best and above else "n/a"
    return (
        f"sweep (1 GuideLLM run, {len(points)} benchmarks, {seconds:.0f} s): "
        f"max QPS {best:.3g}, next rate up {gap} above it; rates "
        + ", ".join(f"{r:.3g}" for r in sorted(rates))
    )


def line(name: str, result: PerfResult, seconds: float) -> str:
    return f"{name}: {result.runs} GuideLLM runs ({seconds:.0f} s), max QPS {result.max_qps:.4g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog", type=Path, required=True, help="a built catalog (copied)")
    parser.add_argument("--tools", type=Path, default=ROOT / ".tools")
    parser.add_argument("--gpu", default="l4", help="catalog GPU id the host stands for")
    parser.add_argument("--workload", action="append", help="PREFILLxDECODE (repeatable)")
    parser.add_argument("--ttft-ms", type=float, default=2000.0)
    parser.add_argument("--itl-ms", type=float, default=100.0)
    parser.add_argument("--probe-seconds", type=float, default=6.0)
    parser.add_argument("--tolerance", type=float, default=0.05)
    parser.add_argument("--sweep-size", type=int, default=6, help="0: no sweep run")
    parser.add_argument("--work", type=Path, help="where models, logs and reports go")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="ratesearch-"))
    work.mkdir(parents=True, exist_ok=True)
    catalog = work / "catalog.duckdb"
    shutil.copy(args.catalog, catalog)
    model = tiny_model(args.tools, work)
    add_model(catalog, model)
    tools = find_tools(args.tools)
    settings = SearchSettings(
        limits=Limits(ttft_ms=args.ttft_ms, itl_ms=args.itl_ms),
        sync_requests=8,
        probe_seconds=args.probe_seconds,
        probe_requests=400,
        tolerance=args.tolerance,
        max_runs=14,
    )
    options = ServeOptions(
        checkpoint=str(model),
        model="tiny-llama",
        format=Format.BF16,
        gpu=args.gpu,
        max_model_len=1024,
        enforce_eager=True,
        work_dir=work / "runs",
    )
    shapes = args.workload or ["128x16"]
    con = open_catalog(catalog)
    guide = AdvisorGuide.over(con)
    print(f"work folder: {work}")
    with serving(tools, options) as server:
        for number, shape in enumerate(shapes):
            prefill, decode = (int(x) for x in shape.split("x"))
            workload = Workload(prefill_tokens=prefill, decode_tokens=decode)
            t0 = time.monotonic()
            guided = profile_performance(
                tools,
                server.target,
                workload,
                server.work / f"guided-{shape}",
                server.env,
                settings,
                guide.writing(writer(con)),
                guide,
            )
            t1 = time.monotonic()
            exhaustive = profile_performance(
                tools,
                server.target,
                workload,
                server.work / f"exhaustive-{shape}",
                server.env,
                settings,
                lambda batch: None,
            )
            t2 = time.monotonic()
            error = (
                abs(guided.max_qps / exhaustive.max_qps - 1) if exhaustive.max_qps else float("nan")
            )
            print(
                f"\n== {shape} (prefill x decode), limits p99 TTFT {args.ttft_ms:g} ms, "
                f"ITL {args.itl_ms:g} ms, tolerance {100 * args.tolerance:g}%"
            )
            print(line("guided", guided, t1 - t0))
            print(line("exhaustive", exhaustive, t2 - t1))
            print(f"guided vs exhaustive: error {100 * error:.1f}%")
            print(f"guidance: {guided.guidance}")
            inside = guided.prior and guided.prior.low <= exhaustive.max_qps <= guided.prior.high
            print(f"exhaustive max QPS inside the guide's interval: {bool(inside)}")
            for reason in guided.reasons:
                print(f"  guided probe {reason}")
            for reason in exhaustive.reasons:
                print(f"  exhaustive probe {reason}")
            if number == 0 and args.sweep_size:
                print(
                    sweep(
                        tools,
                        server.target,
                        workload,
                        server.work / "sweep",
                        server.env,
                        settings,
                        args.sweep_size,
                    )
                )
    print(f"\nadvisor fits: {guide.fits}, {guide.fit_seconds:.1f} s in all")
    con.close()


if __name__ == "__main__":
    main()
