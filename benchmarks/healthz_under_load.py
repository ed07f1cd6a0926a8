"""How long `/healthz` waits while one worker process takes a 30 MiB request: prints figures,
asserts nothing.

    python benchmarks/healthz_under_load.py [--mib 30] [--only advice-prices,...]

Starts `advisor serve` (one worker, imports enabled) on a free port over a fresh catalog, then,
for each kind of large request (a long model name, a long price list, many predict rows, a
GuideLLM report and a measurements CSV uploaded for import), sends it over one connection while
another keeps asking `/healthz` every 10 ms over a keep-alive connection. It prints, per kind,
the request's status and time and the `/healthz` times: the idle median, and the worst and the
99th percentile while the request was in flight; "delay" is the worst minus the idle median.
The issue's bar: no delay above 100 ms. The first row sends no request: one CPU-bound process
runs for 8 s beside the server, the floor of what the machine itself adds (an upload is parsed
in such a process).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent
SWEEP = ROOT / "tests" / "fixtures" / "guidellm" / "guidellm-0.8.1-sweep.json"
TOKEN = "bench-token"
BOUNDARY = "----healthz-bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def repeated(head: str, item: str, tail: str, size: int) -> bytes:
    """`head` + `item`, `item`, ... + `tail`, about `size` bytes of JSON."""
    count = max(1, (size - len(head) - len(tail)) // (len(item) + 1))
    return (head + ",".join([item] * count) + tail).encode()


def multipart(fields: dict[str, str], filename: str, content: bytes) -> bytes:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    parts.append(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def guidellm_report(size: int) -> bytes:
    """The sweep fixture with its benchmarks repeated up to about `size` bytes."""
    report = json.loads(SWEEP.read_bytes())
    one = json.dumps(report["benchmarks"][0])
    copies = max(1, size // len(one))
    report["benchmarks"] = report["benchmarks"] * (copies // len(report["benchmarks"]) + 1)
    return json.dumps(report).encode()


def measurements_csv(size: int) -> bytes:
    head = "model,format,gpu,gpu_count,prefill_tokens,decode_tokens,metric,value\n"
    row = "8b,bf16,l4,1,256,32,latency_s,1.25\n"
    return (head + row * max(1, (size - len(head)) // len(row))).encode()


def scenarios(size: int) -> dict[str, tuple[str, dict[str, str], Callable[[], bytes]]]:
    """Name -> (path, headers, body maker)."""
    as_json = {"Content-Type": "application/json"}
    upload = {
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        "Authorization": f"Bearer {TOKEN}",
    }
    price = '{"gpu":"a100","gpu_count":1,"usd_per_hour":1.5}'
    config = (
        '{"model":"8b","format":"bf16","gpu":"l4","gpu_count":1,'
        '"prefill_tokens":256,"decode_tokens":32}'
    )
    target = {"model": "8b", "format": "bf16", "gpu": "l4", "gpus": "1"}
    return {
        # The floor: what one busy process elsewhere on the machine does to /healthz.
        "cpu-burner-no-request": ("", {}, lambda: b""),
        "advice-long-model": (
            "/v1/advice",
            as_json,
            lambda: json.dumps({"model": "x" * size}).encode(),
        ),
        "advice-prices": (
            "/v1/advice",
            as_json,
            lambda: repeated('{"model":"8b","prices":[', price, "]}", size),
        ),
        "predict-rows": (
            "/v1/predict",
            as_json,
            lambda: repeated('{"configurations":[', config, "]}", size),
        ),
        "import-guidellm": (
            "/v1/imports/guidellm",
            upload,
            lambda: multipart(target, "sweep.json", guidellm_report(size)),
        ),
        "import-measurements": (
            "/v1/imports/measurements",
            upload,
            lambda: multipart({}, "rows.csv", measurements_csv(size)),
        ),
    }


def send(port: int, path: str, headers: dict[str, str], body: bytes) -> tuple[int, float]:
    """POST over a plain socket as fast as the server reads; the status and seconds taken."""
    started = time.perf_counter()
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "Connection: close\r\n\r\n"
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=300) as sock:
        # Answered early (413 on the Content-Length) and closed: read what it said.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(head.encode() + body)
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(1 << 16):
                answer += chunk
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
    return status, time.perf_counter() - started


def probe(port: int, until: threading.Event, pause_s: float = 0.01) -> list[float]:
    """/healthz times over one keep-alive connection until `until` is set."""
    con = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    times = []
    try:
        while not until.is_set():
            started = time.perf_counter()
            con.request("GET", "/healthz")
            response = con.getresponse()
            response.read()
            times.append(time.perf_counter() - started)
            if response.status != 200:
                raise RuntimeError(f"/healthz answered {response.status}")
            time.sleep(pause_s)
    finally:
        con.close()
    return times


def idle_median(port: int, samples: int = 50) -> float:
    done = threading.Event()
    timer = threading.Timer(samples * 0.012, done.set)
    timer.start()
    times = probe(port, done)
    return statistics.median(times)


def burn(seconds: float) -> tuple[int, float]:
    """No request: one CPU-bound process for `seconds` (what a parse costs the machine)."""
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-c",
            f"import time\nt = time.time() + {seconds}\nwhile time.time() < t: pass",
        ],
        check=True,
    )
    return 0, time.perf_counter() - started


def measure(port: int, path: str, headers: dict[str, str], body: bytes) -> dict[str, float]:
    done = threading.Event()
    outcome: list[tuple[int, float]] = []

    def client() -> None:
        try:
            outcome.append(burn(8) if path == "" else send(port, path, headers, body))
        finally:
            done.set()

    thread = threading.Thread(target=client)
    thread.start()
    times = probe(port, done)
    thread.join()
    times.sort()
    status, seconds = outcome[0] if outcome else (0, float("nan"))
    return {
        "status": status,
        "request_s": seconds,
        "probes": len(times),
        "max_ms": 1000 * times[-1],
        "p99_ms": 1000 * times[min(len(times) - 1, int(0.99 * len(times)))],
    }


def wait_ready(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server never became ready")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=float, default=30, help="size of each request body")
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each scenario")
    args = parser.parse_args()
    size = int(args.mib * 2**20)
    chosen = scenarios(size)
    if args.only:
        chosen = {k: v for k, v in chosen.items() if k in args.only.split(",")}
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = {
            **os.environ,
            "ADVISOR_CATALOG": f"{tmp}/catalog.duckdb",
            "ADVISOR_MODEL_CACHE": f"{tmp}/models",
            "ADVISOR_IMPORT_TOKEN": TOKEN,
            # Large enough for the body and its multipart framing.
            "ADVISOR_MAX_BODY_BYTES": str(size + 2**20),
        }
        server = subprocess.Popen(
            [str(BIN / "advisor"), "serve", "--port", str(port), "--workers", "1"],
            env=env,
            start_new_session=True,
        )
        try:
            wait_ready(port, server)
            print(f"one worker, bodies of {args.mib:g} MiB; /healthz probed every 10 ms")
            print(
                f"{'request':<22}{'status':>7}{'took s':>9}{'probes':>8}"
                f"{'idle ms':>9}{'p99 ms':>9}{'max ms':>9}{'delay ms':>10}"
            )
            for name, (path, headers, make) in chosen.items():
                body = make()
                for _ in range(args.repeat):
                    idle = 1000 * idle_median(port)
                    got = measure(port, path, headers, body)
                    print(
                        f"{name:<22}{got['status']:>7}{got['request_s']:>9.2f}{got['probes']:>8}"
                        f"{idle:>9.1f}{got['p99_ms']:>9.1f}{got['max_ms']:>9.1f}"
                        f"{got['max_ms'] - idle:>10.1f}"
                    )
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
