"""The load model's queueing approximation against the step-level simulation of the scheduler:
prints figures, asserts nothing.

    python benchmarks/load_model.py [--requests N]

For fitted replicas of the embedded catalog (8B, 70B and 405B, short and long prompts), at 30%,
60% and 85% of the saturation rate, with constant and Poisson arrivals: the p50 and p99 TTFT and
ITL (GuideLLM's per-request ITL) of `advisor.load.figures` next to `advisor.simulate`'s, and the
median absolute % difference per figure. Also the saturation rate of each.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from advisor.cells import Cell
from advisor.load import Replica, figures, saturation_rate
from advisor.load_fit import arranged, costed
from advisor.simulate import SchedulerLimits, StepCost, Workload, saturation, simulate
from advisor.vocabulary import Arrivals, Format
from api.runtime import load_advisor
from api.settings import Settings

CASES = [
    ("8b", "bf16", "a100", 1, 1024, 128),
    ("8b", "int4", "a6000", 1, 256, 1024),
    ("70b", "fp8", "h100", 2, 512, 256),
    ("70b", "int8", "a100", 4, 4096, 512),
    ("405b", "int4", "h100", 8, 1024, 128),
]
LOADS = (0.3, 0.6, 0.85)


def replica_of(advisor, case) -> Replica:  # type: ignore[no-untyped-def]
    model, fmt, gpu, count, p, d = case
    snap = advisor.snapshot
    cell = Cell(
        model=snap.model(model),
        format=Format(fmt),
        gpu=snap.gpu(gpu),
        gpu_count=count,
        prefill_tokens=p,
        decode_tokens=d,
    )
    pr = advisor.predictor
    a = arranged([cell], pr.sync_params_, pr.engine_)
    r = costed(a, [cell], pr.load_params_)
    best = int(np.argmax(saturation_rate(r)))
    one = r.take(np.array([best]))
    # The simulation has no idle-server floor from the synchronous model: compare without it.
    return replace(one, ttft_alone_s=one.ttft_alone_s * 0, itl_alone_s=one.itl_alone_s * 0)


def simulated(r: Replica, rate: float, arrivals: Arrivals, n: int):  # type: ignore[no-untyped-def]
    cost = StepCost(
        fixed_s=float(r.fixed_s[0]),
        per_context_token_s=float(r.context_s[0]),
        per_decode_token_s=float(r.decode_s[0]),
        per_prefill_token_s=float(r.prompt_s[0]),
    )
    limits = SchedulerLimits(
        token_budget=int(r.token_budget[0]),
        max_num_seqs=int(r.max_num_seqs[0]),
        kv_capacity_tokens=int(r.kv_tokens[0]),
    )
    work = Workload(
        prompt_tokens=int(r.prompt[0]),
        output_tokens=int(r.output[0]),
        rate=rate,
        arrivals=arrivals,
        n_requests=n,
        seed=1,
    )
    return cost, limits, simulate(cost, limits, work)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    advisor = load_advisor(Settings())
    errors: dict[str, list[float]] = {}
    print(
        f"{'case':34s} {'load':>4s} {'arr':>8s}  "
        + "  ".join(f"{k:>17s}" for k in ("TTFT p50 ms", "TTFT p99 ms", "ITL p50 ms", "ITL p99 ms"))
    )
    for case in CASES:
        r = replica_of(advisor, case)
        sat = float(saturation_rate(r)[0])
        cost, limits, _ = simulated(r, sat * 0.1, Arrivals.CONSTANT, 50)
        measured_sat = saturation(cost, limits, int(r.prompt[0]), int(r.output[0])).achieved_rate
        name = "/".join(str(x) for x in case)
        print(f"{name:34s} saturation: model {sat:.3g}/s, simulation {measured_sat:.3g}/s")
        errors.setdefault("saturation", []).append(100 * abs(sat - measured_sat) / measured_sat)
        for load in LOADS:
            for arrivals in Arrivals:
                _, _, run = simulated(r, sat * load, arrivals, args.requests)
                cells = []
                for q in (50.0, 99.0):
                    model = figures(r, np.array([sat * load]), q, arrivals)
                    sim = run.percentiles(q)
                    for key, m, s in (
                        (f"ttft_p{q:g}", model.ttft_s[0], sim.ttft_s),
                        (f"itl_p{q:g}", model.itl_s[0], sim.request_itl_s),
                    ):
                        errors.setdefault(f"{key} {arrivals.value}", []).append(
                            100 * abs(m - s) / s
                        )
                        cells.append((key, m * 1000, s * 1000))
                ordered = sorted(cells, key=lambda c: (c[0][0] != "t", c[0]))
                print(
                    f"{'':34s} {load:4.0%} {arrivals.value:>8s}  "
                    + "  ".join(f"{m:7.1f} vs {s:7.1f}" for _, m, s in ordered)
                )
    print("\nmedian |model - simulation| / simulation, %:")
    for key, values in sorted(errors.items()):
        print(f"  {key:24s} {statistics.median(values):6.1f}  (n={len(values)})")


if __name__ == "__main__":
    main()
