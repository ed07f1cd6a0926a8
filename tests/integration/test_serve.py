"""`advisor serve` as a real process on a free loopback port, exercised over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.integration.conftest import BIN, get


def test_real_server_answers_like_the_cli(server: str, tmp_path: Path) -> None:
    status, advice = get(server + "/v1/advice?model=405b&use_case=rag")
    assert status == 200
    asked = get(server + "/v1/ask?q=best%20format%20for%20RAG%20on%20A100")[1]
    assert asked["understood"]["gpus"] == ["a100"]
    cli = subprocess.run(
        [str(BIN / "advise"), "--model", "405b", "--use-case", "rag", "--json"],
        env={
            **os.environ,
            "ADVISOR_CATALOG": str(tmp_path / "catalog.duckdb"),
            "ADVISOR_MODEL_CACHE": str(tmp_path / "cli-models"),
        },
        capture_output=True,
        text=True,
        check=False,
    )
    # The server holds no lock on the catalog with imports enabled, so the CLI can read it.
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout) == advice
    status, body = get(server + "/v1/advice?model=nope")
    assert status == 422 and "accepted" in body


def test_import_over_http_reaches_every_worker(server: str) -> None:
    from tests.conftest import fixture

    report = fixture("guidellm", "guidellm-0.8.1-sweep.json").read_bytes()
    boundary = "----advisor-test"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in {"model": "8b", "format": "bf16", "gpu": "l4", "gpus": "1"}.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="sweep.json"\r\n'
        "Content-Type: application/json\r\n\r\n".encode()
        + report
        + b"\r\n"
    )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    request = urllib.request.Request(
        server + "/v1/imports/guidellm",
        data=body,
        method="POST",
        headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Authorization": "Bearer tok",
        },
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 201
    time.sleep(1.0)  # workers look for catalog changes every 0.5 s
    query = json.dumps(
        {
            "configurations": [
                {
                    "model": "8b",
                    "format": "bf16",
                    "gpu": "l4",
                    "gpu_count": 1,
                    "prefill_tokens": 256,
                    "decode_tokens": 32,
                }
            ]
        }
    ).encode()
    labels = set()
    for _ in range(12):  # new connections spread over both workers
        request = urllib.request.Request(
            server + "/v1/predict",
            data=query,
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            labels.add(json.loads(response.read())["predictions"][0]["label"])
    assert labels == {"measured"}
