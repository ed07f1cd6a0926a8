"""Load benchmark of GET /v1/advice over loopback: prints figures, asserts nothing.

    python benchmarks/load.py [--workers 2] [--concurrency 64] [--seconds 30]

Starts `advisor serve` on a free port over a fresh catalog, warms it, then keeps
`--concurrency` keep-alive connections busy for `--seconds` with a mix of realistic queries
(models x use cases or token counts x modes x GPU sets x limits x loads) and prints requests per
second, p50 / p90 / p99 latency and the error count. The client is a small asyncio HTTP/1.1
client in this process; on a 2-core machine it competes with the server for the CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

BIN = Path(sys.executable).parent


def query_mix(seed: int = 7, size: int = 400) -> list[str]:
    rng = random.Random(seed)
    models = ["8b", "70b", "405b", "meta-llama/Llama-3.1-70B-Instruct"]
    use_cases = [
        "rag",
        "code_completion",
        "docstring_generation",
        "code_fixing",
        "instruction_following",
        "multi_turn_chat",
        "small_summarization",
        "large_summarization",
    ]
    gpu_sets = [None, "a100", "h100", "a100,h100", "a6000", "a6000,a100,h100"]
    paths = []
    for _ in range(size):
        params: dict[str, str] = {"model": rng.choice(models)}
        if rng.random() < 0.8:
            params["use_case"] = rng.choice(use_cases)
        else:
            params["prefill_tokens"] = str(rng.choice([128, 512, 1024, 2048, 4096]))
            params["decode_tokens"] = str(rng.choice([64, 128, 256, 512]))
        if gpus := rng.choice(gpu_sets):
            params["gpu"] = gpus
        params["mode"] = rng.choice(["async", "async", "sync"])
        if rng.random() < 0.3:
            params["ttft_ms"] = str(rng.choice([300, 500, 1000, 2000]))
        if rng.random() < 0.2:
            params["min_recovery"] = str(rng.choice([97, 98, 99, 99.5]))
        if rng.random() < 0.2:
            params["qps"] = str(rng.choice([5, 20, 100]))
        paths.append("/v1/advice?" + urlencode(params))
    return paths


async def worker(
    host: str,
    port: int,
    paths: list[str],
    until: float,
    out: list[float],
    errors: list[int],
    seed: int,
) -> None:
    rng = random.Random(seed)
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < until:
            path = rng.choice(paths)
            started = time.perf_counter()
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            out.append(time.perf_counter() - started)
            if status != 200:
                errors.append(status)
    finally:
        writer.close()


async def drive(
    host: str, port: int, paths: list[str], concurrency: int, seconds: float
) -> tuple[list[float], list[int], float]:
    latencies: list[float] = []
    errors: list[int] = []
    started = time.perf_counter()
    until = started + seconds
    await asyncio.gather(
        *(worker(host, port, paths, until, latencies, errors, i) for i in range(concurrency))
    )
    return latencies, errors, time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="disable the per-process answer cache: every request is computed",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = {
            **os.environ,
            "ADVISOR_CATALOG": f"{tmp}/catalog.duckdb",
            "ADVISOR_MODEL_CACHE": f"{tmp}/models",
        }
        env.pop("ADVISOR_IMPORT_TOKEN", None)
        if args.no_cache:
            env["ADVISOR_ADVICE_CACHE_SIZE"] = "0"
        server = subprocess.Popen(
            [str(BIN / "advisor"), "serve", "--port", str(port), "--workers", str(args.workers)],
            env=env,
            start_new_session=True,
        )
        try:
            for _ in range(300):
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2):
                        break
                except OSError:
                    time.sleep(0.2)
            paths = query_mix()
            # Warm-up: every query of the mix once per worker (fills the answer caches).
            asyncio.run(drive("127.0.0.1", port, paths, 8, 3 + 0.02 * len(paths) * args.workers))
            latencies, errors, elapsed = asyncio.run(
                drive("127.0.0.1", port, paths, args.concurrency, args.seconds)
            )
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    latencies.sort()
    n = len(latencies)
    print(
        f"GET /v1/advice, {args.workers} workers, concurrency {args.concurrency}, "
        f"{args.seconds:g} s, {len(set(paths))} distinct queries in the mix"
    )
    print(f"requests: {n}, {n / elapsed:,.0f} per second")

    def ms(q: float) -> str:
        return f"{1000 * latencies[min(n - 1, int(n * q))]:.1f} ms"

    print(
        f"latency: p50 {ms(0.5)}, p90 {ms(0.9)}, p99 {ms(0.99)}, "
        f"mean {1000 * statistics.fmean(latencies):.1f} ms"
    )
    print(f"errors: {len(errors)}" + (f" (statuses {sorted(set(errors))})" if errors else ""))


if __name__ == "__main__":
    main()
