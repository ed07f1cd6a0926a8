"""Speed of the advisor: prints figures, asserts nothing.

    python benchmarks/speed.py

1. `advise --model 405b` wall time as a fresh process (start-up included): the first run on a
   new catalog (builds it and fits), the first with a built catalog but no fitted-model cache,
   then warm runs.
2. In-process search for one query (every format x GPU x count, predicted, filtered, ranked),
   and uncached async answers on one core, each query a new token shape.
3. `advisor predict` on 500 configurations, in process.
4. The refit after an import: both performance models fitted on the catalog's snapshot, with
   their held-out intervals (what the next answer after an import pays once).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def wall(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "ADVISOR_CATALOG": f"{tmp}/catalog.duckdb",
            "ADVISOR_MODEL_CACHE": f"{tmp}/models",
        }
        advise = [str(BIN / "advise"), "--model", "405b"]
        first = wall(advise, env)
        for cached in Path(tmp, "models").glob("*"):
            cached.unlink()
        unfitted = wall(advise, env)
        warm = [wall(advise, env) for _ in range(5)]
        print(f"advise --model 405b, new catalog (build + fit): {first:.2f} s")
        print(f"advise --model 405b, no fitted-model cache:     {unfitted:.2f} s")
        print(
            f"advise --model 405b, warm (median of 5):        {statistics.median(warm):.2f} s"
            f" (min {min(warm):.2f}, max {max(warm):.2f})"
        )

        from advisor.service import PredictRequest, Query, predict
        from api.runtime import load_advisor
        from api.settings import Settings

        advisor = load_advisor(
            Settings(
                catalog=Path(env["ADVISOR_CATALOG"]), model_cache=Path(env["ADVISOR_MODEL_CACHE"])
            )
        )
        for query in (
            Query(model="405b"),
            Query(model="405b", mode="sync"),
            Query(model="70b", use_case="rag", qps=50),
        ):
            advisor.advise(query)
            times = []
            for _ in range(50):
                started = time.perf_counter()
                advisor.advise(query)
                times.append(time.perf_counter() - started)
            print(
                f"search, {query.model} {query.mode.value}{' qps' if query.qps else ''}: "
                f"median {1000 * statistics.median(times):.1f} ms, "
                f"p90 {1000 * sorted(times)[44]:.1f} ms (50 runs)"
            )
        # Uncached answers on one core: every query a new token shape, so no memoised shape helps.
        import random

        from threadpoolctl import threadpool_limits

        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        shapes = random.Random(7)
        with threadpool_limits(limits=1):
            for model in ("8b", "70b", "405b"):
                times = []
                for _ in range(30):
                    query = Query(
                        model=model,
                        prefill_tokens=shapes.randint(64, 4096),
                        decode_tokens=shapes.randint(16, 1024),
                    )
                    started = time.perf_counter()
                    advisor.advise(query)
                    times.append(time.perf_counter() - started)
                print(
                    f"uncached async answer, {model}, new token shape each, one core: median "
                    f"{1000 * statistics.median(times):.1f} ms, max {1000 * max(times):.1f} ms"
                )
        requests = [
            PredictRequest(
                model=["8b", "70b", "405b"][i % 3],
                format=["bf16", "fp8", "int8", "int4"][i % 4],
                gpu=["h100", "h200", "l40s", "b200"][i % 4],
                gpu_count=[1, 2, 4, 8][i % 4] * (1 + (i % 3 == 2)),
                prefill_tokens=128 + 7 * i,
                decode_tokens=64 + i % 300,
                mode=["sync", "async"][i % 2],
            )
            for i in range(500)
        ]
        started = time.perf_counter()
        predict(advisor, requests)
        print(f"predict, 500 configurations in process: {time.perf_counter() - started:.2f} s")

        from advisor.service import Advisor

        refits = []
        for _ in range(5):
            started = time.perf_counter()
            Advisor.fit(advisor.snapshot)
            refits.append(time.perf_counter() - started)
        print(
            f"refit after an import (both models, intervals): median "
            f"{statistics.median(refits):.2f} s, max {max(refits):.2f} s (5 runs, "
            f"{len(advisor.snapshot.sync)} sync and {len(advisor.snapshot.async_)} async rows)"
        )


if __name__ == "__main__":
    main()
