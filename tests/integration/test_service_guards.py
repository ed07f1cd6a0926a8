"""The service's guards, through Litestar's test client: caps on work and body size, time caps,
short error bodies without server paths, security headers, imports that commit only on 2xx."""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from litestar.testing import TestClient

from api.app import create_app
from api.settings import Settings
from tests.conftest import fixture

TOKEN = "guard-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SWEEP = fixture("guidellm", "guidellm-0.8.1-sweep.json")
SWEEP_FIELDS = {"model": "8b", "format": "bf16", "gpu": "l4", "gpus": "1"}
PRICE = {"gpu": "a100", "gpu_count": 1, "usd_per_hour": 1.5}
CONFIG = {
    "model": "8b",
    "format": "bf16",
    "gpu": "l4",
    "gpu_count": 1,
    "prefill_tokens": 256,
    "decode_tokens": 32,
}


def app_client(catalog: Path, tmp: Path, **more: object) -> TestClient:
    settings = Settings(
        catalog=catalog, model_cache=tmp / "models", reload_check_s=0, import_token=TOKEN, **more
    )
    return TestClient(create_app(settings))


@pytest.fixture
def client(catalog_file: Path, tmp_path: Path) -> Iterator[TestClient]:
    with app_client(catalog_file, tmp_path) as c:
        yield c


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "Traceback" not in response.text
    body: dict = response.json()
    return body


def rows(client: TestClient) -> dict[str, int]:
    ready: dict[str, int] = client.get("/readyz").json()["rows"]
    return ready


def upload(client: TestClient, route: str, name: str, content: bytes, **fields: str):
    return client.post(
        f"/v1/imports/{route}", files={"file": (name, content)}, data=fields, headers=AUTH
    )


def test_every_response_carries_the_security_headers(client: TestClient) -> None:
    for response in (
        client.get("/"),
        client.get("/v1/advice?model=8b"),
        client.get("/v1/advice?model=nope"),
        client.get("/no/such/route"),
        client.get("/schema"),
        client.get("/static/app.js"),
    ):
        headers = response.headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["x-frame-options"] == "DENY"
        policy = headers["content-security-policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.urls += [v for k, v in found.items() if k in {"src", "href"} and v]
        self._in_script = tag == "script" and "src" not in found
        assert "style" not in found, (tag, attrs)

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False


@pytest.mark.parametrize("page", ["/schema", "/schema/swagger", "/", "/catalog"])
def test_pages_load_nothing_from_another_host_and_nothing_inline(
    client: TestClient, page: str
) -> None:
    links = Links()
    links.feed(client.get(page).text)
    assert links.urls and links.inline_scripts == 0
    external = [u for u in links.urls if re.match(r"^(https?:)?//", u)]
    assert external == []
    for url in links.urls:
        if not url.startswith("data:"):
            assert client.get(url).status_code == 200, url


def test_the_openapi_ui_assets_come_from_the_package(client: TestClient) -> None:
    from swagger_ui_bundle import swagger_ui_path

    served = client.get("/static/swagger-ui/swagger-ui-bundle.js")
    assert served.status_code == 200
    assert served.content == (Path(swagger_ui_path) / "swagger-ui-bundle.js").read_bytes()
    assert client.get("/static/swagger-ui/../../settings.py").status_code == 404


def test_a_json_body_over_its_limit_is_413_naming_the_setting(client: TestClient) -> None:
    body = problem(client.post("/v1/advice", json={"model": "x" * (2 * 2**20)}), 413)
    assert "ADVISOR_MAX_JSON_BODY_BYTES" in body["detail"]


@pytest.mark.parametrize(
    ("route", "body", "cap"),
    [
        ("/v1/advice", {"model": "8b", "prices": [PRICE] * 1001}, "max_price_rows"),
        ("/v1/predict", {"configurations": [CONFIG] * 1001}, "max_predict_rows"),
        ("/v1/predict", {"configurations": [CONFIG], "prices": [PRICE] * 1001}, "max_price_rows"),
    ],
)
def test_lists_over_their_cap_are_413_naming_cap_and_limit(
    client: TestClient, route: str, body: dict, cap: str
) -> None:
    found = problem(client.post(route, json=body), 413)
    assert found["cap"] == cap and found["limit"] == 1000
    assert "1001" in found["detail"] and f"ADVISOR_{cap.upper()}" in found["detail"]


def test_within_the_caps_the_same_requests_answer(client: TestClient) -> None:
    assert client.post("/v1/advice", json={"model": "8b", "prices": [PRICE] * 3}).status_code == 200
    predicted = client.post("/v1/predict", json={"configurations": [CONFIG] * 50})
    assert predicted.status_code == 200 and len(predicted.json()["predictions"]) == 50


def test_candidates_over_the_cap_are_413(catalog_file: Path, tmp_path: Path) -> None:
    with app_client(catalog_file, tmp_path, max_candidates=40) as small:
        # 3 GPU types x 4 formats x 5 counts = 60 candidates
        found = problem(small.get("/v1/advice?model=8b&gpu=a100,h100,l4"), 413)
        assert found["cap"] == "max_candidates" and found["limit"] == 40
        assert small.get("/v1/advice?model=8b&gpu=a100,h100&max_gpus=2").status_code == 200


def test_a_request_past_its_time_cap_is_a_503_one_liner(catalog_file: Path, tmp_path: Path) -> None:
    with app_client(catalog_file, tmp_path, request_timeout_s=0.01) as slow:
        found = problem(slow.post("/v1/predict", json={"configurations": [CONFIG] * 1000}), 503)
        assert "ADVISOR_REQUEST_TIMEOUT_S" in found["detail"] and "\n" not in found["detail"]
        assert slow.get("/healthz").status_code == 200


def test_error_bodies_echo_at_most_a_few_hundred_characters(client: TestClient) -> None:
    name = "m" * 50_000
    for response in (
        client.get("/v1/advice", params={"model": name}),
        client.post("/v1/advice", json={"model": "8b", "gpus": [name[:9_000]]}),
    ):
        found = problem(response, 422)
        assert len(response.content) < 4_000
        assert re.search(r"…\(\d+ more characters\)", found["detail"]), found["detail"]


def test_no_server_path_in_an_import_refusal(client: TestClient) -> None:
    temp = tempfile.gettempdir()
    for name, content in (
        ("sweep.json", b'{"benchmarks": '),
        ("../../etc/passwd.yaml", b"a: [unclosed"),
        ("x" * 300 + ".json", b"{}"),
        ("..", b"\xff\xfe not utf-8"),
    ):
        response = upload(client, "guidellm", name, content, **SWEEP_FIELDS)
        found = problem(response, 422)
        assert temp not in response.text and "advisor-upload-" not in response.text
        assert "/" not in found["detail"].split(":", 1)[0], found["detail"]
    assert client.get("/readyz").json()["catalog"] == "catalog.duckdb"


def test_importer_errors_of_any_kind_are_422_one_liners(client: TestClient) -> None:
    before = rows(client)
    cases = [
        ("measurements", "rows.csv", b"\xff\xfe\x00garbage\n1,2,3", {}),
        ("lm-eval", "r.json", b'{"results": {"x": 5}, "versions": [1, 2]}', {}),
        ("guidellm", "s.json", b"[" * 100_000 + b"]" * 100_000, SWEEP_FIELDS),
        ("guidellm", "s.json", b'{"benchmarks": "a string"}', SWEEP_FIELDS),
    ]
    for route, name, content, fields in cases:
        found = problem(upload(client, route, name, content, **fields), 422)
        assert "\n" not in found["detail"] and found["detail"].startswith(name)
    found = problem(upload(client, "guidellm", "sweep.json", SWEEP.read_bytes(), gpus="0"), 422)
    assert "gpus" in found["detail"]
    assert rows(client) == before


def test_an_import_that_would_break_the_catalog_is_rolled_back(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import api.http.uploads

    before = rows(client)
    monkeypatch.setattr(
        api.http.uploads, "fit_elsewhere", lambda *_: ("ZeroDivisionError: a poison row", "...")
    )
    found = problem(
        upload(client, "guidellm", "sweep.json", SWEEP.read_bytes(), **SWEEP_FIELDS), 422
    )
    assert "cannot be answered from" in found["detail"] and "ZeroDivisionError" in found["detail"]
    assert rows(client) == before
    monkeypatch.undo()
    landed = upload(client, "guidellm", "sweep.json", SWEEP.read_bytes(), **SWEEP_FIELDS)
    assert landed.status_code == 201, landed.text
    assert rows(client) != before


def test_the_fit_of_rows_that_cannot_be_fitted_says_why(tmp_path: Path) -> None:
    from api.http.uploads import fit_elsewhere

    settings = Settings(catalog=tmp_path / "c.duckdb", model_cache=tmp_path / "models")
    unfit = fit_elsewhere(settings, {"models": []}, time.monotonic() + 120)
    assert unfit is not None and unfit[0].startswith(("KeyError", "ValidationError"))
    assert "Traceback" in unfit[1]


def test_an_import_past_its_time_cap_is_503_and_keeps_nothing(
    catalog_file: Path, tmp_path: Path
) -> None:
    with app_client(catalog_file, tmp_path, import_timeout_s=0.5) as slow:
        before = rows(slow)
        response = upload(slow, "guidellm", "sweep.json", SWEEP.read_bytes(), **SWEEP_FIELDS)
        found = problem(response, 503)
        assert "nothing was imported" in found["detail"] or "TIMEOUT" in found["detail"]
        assert rows(slow) == before
