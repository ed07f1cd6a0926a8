"""Undo over HTTP on a real two-worker server: the sources listing and the removal of an
import are token-guarded, a removal makes every worker forget the rows at once, and a catalog
that cannot be answered from fails /readyz until the bad import is removed."""

from __future__ import annotations

import fcntl
import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from catalog.build import open_catalog
from catalog.importers import guidellm
from catalog.importers.common import ImportOptions
from catalog.store import ingest
from tests.conftest import fixture

SWEEP = fixture("guidellm", "guidellm-0.8.1-sweep.json")
TOKEN = {"Authorization": "Bearer tok"}
CELL = {
    "model": "8b",
    "format": "bf16",
    "gpu": "l4",
    "gpu_count": 1,
    "prefill_tokens": 256,
    "decode_tokens": 32,
}


def call(
    url: str, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def upload(server: str) -> int:
    boundary = "----advisor-test"
    fields = {"model": "8b", "format": "bf16", "gpu": "l4", "gpus": "1"}
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="sweep.json"\r\n'
        "Content-Type: application/json\r\n\r\n".encode()
        + SWEEP.read_bytes()
        + b"\r\n"
    )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    status, result = call(
        server + "/v1/imports/guidellm",
        "POST",
        body,
        {"Content-Type": f"multipart/form-data; boundary={boundary}", **TOKEN},
    )
    assert status == 201, result
    return int(result["source_id"])


def labels(server: str) -> set[str]:
    """The label of the cell's prediction, asked often enough to reach both workers."""
    query = json.dumps({"configurations": [CELL]}).encode()
    found = set()
    for _ in range(12):
        status, body = call(
            server + "/v1/predict", "POST", query, {"Content-Type": "application/json"}
        )
        assert status == 200, body
        found.add(body["predictions"][0]["label"])
    return found


def settle() -> None:
    time.sleep(1.0)  # workers look for catalog changes every 0.5 s


def test_sources_list_and_remove_over_http(server: str) -> None:
    assert labels(server) == {"extrapolated"}
    source_id = upload(server)
    settle()
    assert labels(server) == {"measured"}

    assert call(server + "/v1/catalog/sources")[0] == 401
    assert call(server + "/v1/catalog/sources", headers={"Authorization": "Bearer no"})[0] == 403
    status, listed = call(server + "/v1/catalog/sources", headers=TOKEN)
    assert status == 200
    mine = next(s for s in listed if s["id"] == source_id)
    assert mine["file"] == "upload:sweep.json" and mine["rows"] == 4 and mine["removable"]
    assert mine["imported_at"].endswith("Z")  # an RFC 3339 date-time, as documented
    assert not [s["file"] for s in listed if s["file"].startswith("/")]  # no server paths
    assert {s["kind"] for s in listed if not s["removable"]} == {"study", "card"}

    url = f"{server}/v1/catalog/sources/{source_id}"
    assert call(url, "DELETE")[0] == 401
    status, body = call(f"{server}/v1/catalog/sources/1", "DELETE", headers=TOKEN)
    assert status == 422 and "cannot be removed" in body["detail"]
    status, body = call(f"{server}/v1/catalog/sources/99999", "DELETE", headers=TOKEN)
    assert status == 422 and "no source 99999" in body["detail"]

    status, removed = call(url, "DELETE", headers=TOKEN)
    assert status == 200, removed
    assert (removed["id"], removed["rows"], removed["runs"]) == (source_id, 4, 1)
    settle()
    assert labels(server) == {"extrapolated"}  # every worker forgot the rows
    assert source_id not in {
        s["id"] for s in call(server + "/v1/catalog/sources", headers=TOKEN)[1]
    }
    assert call(url, "DELETE", headers=TOKEN)[0] == 422  # gone


def poison(catalog: Path) -> int:
    """An import whose rows break the views on every read (the issue's prompt mean of 3e9
    with no nominal token count), written beside the server under its lock."""
    with catalog.with_name(catalog.name + ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        con = open_catalog(catalog)
        try:
            options = ImportOptions(model="8b", format="bf16", gpu="l4", gpu_count=1)
            (result,) = ingest(con, guidellm.parse_result(SWEEP, options))
            con.execute(
                "UPDATE runs SET prefill_tokens = NULL WHERE source_id = ?", [result.source_id]
            )
            con.execute(
                "UPDATE benchmarks SET prompt_tokens_mean = 3e9 WHERE run_id IN "
                "(SELECT run_id FROM runs WHERE source_id = ?)",
                [result.source_id],
            )
        finally:
            con.close()
            fcntl.flock(lock, fcntl.LOCK_UN)
    return result.source_id


def test_readyz_fails_until_a_bad_import_is_removed(server: str, tmp_path: Path) -> None:
    assert call(server + "/readyz")[0] == 200
    source_id = poison(tmp_path / "catalog.duckdb")
    for _ in range(6):  # both workers
        status, health = call(server + "/readyz")
        assert status == 503, health
        assert health["status"].startswith("not ready: ") and "\n" not in health["status"]
    status, removed = call(f"{server}/v1/catalog/sources/{source_id}", "DELETE", headers=TOKEN)
    assert status == 200, removed
    for _ in range(6):
        status, health = call(server + "/readyz")
        assert status == 200 and health["status"] == "ready", health
