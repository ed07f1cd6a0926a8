"""The runtime: the answer cache (bounded LRU, cleared on reload, never blocking on the loop)
and the fitted models cached on disk as JSON coefficients."""

from __future__ import annotations

import time
from pathlib import Path

from api.runtime import Engine
from api.settings import Settings


def test_answer_cache_is_a_bounded_lru_cleared_on_reload(
    catalog_file: Path, tmp_path: Path
) -> None:
    seen: list[int] = []
    settings = Settings(
        catalog=catalog_file,
        model_cache=tmp_path / "models",
        advice_cache_size=2,
        import_token="t",
        reload_check_s=60,
    )
    engine = Engine(settings, on_change=lambda e: seen.append(e.cached_entries()))
    try:
        calls: list[str] = []

        def answer(key: str) -> bytes:
            return engine.cached_answer(key, lambda: calls.append(key) or key.encode())

        assert [answer(k) for k in ("a", "b", "a", "c", "a", "b")] == [
            b"a", b"b", b"a", b"c", b"a", b"b"
        ]  # fmt: skip
        assert calls == ["a", "b", "c", "b"]  # "b" was the least recently used when "c" came
        assert engine.cached_entries() == 2
        assert engine.cached_now("a") == b"a" and engine.cached_now("zzz") is None
        engine.reload_now()
        assert engine.cached_entries() == 0 and engine.cached_now("a") is None
        assert seen[-1] == 0  # the hook heard of the reload
        answer("a")
        engine._checked = time.monotonic() - 120  # a reload check is due: not on the loop
        assert engine.cached_now("a") is None
    finally:
        engine.close()


def test_a_cache_size_of_zero_keeps_nothing(catalog_file: Path, tmp_path: Path) -> None:
    settings = Settings(catalog=catalog_file, model_cache=tmp_path / "m", advice_cache_size=0)
    engine = Engine(settings)
    try:
        assert engine.cached_answer("a", lambda: b"1") == b"1"
        assert engine.cached_answer("a", lambda: b"2") == b"2"
        assert engine.cached_entries() == 0
    finally:
        engine.close()


def test_fitted_models_are_cached_as_json_coefficients(catalog_file: Path, tmp_path: Path) -> None:
    import json

    from advisor.service import Query
    from api.runtime import fitted_advisor, load_snapshot

    settings = Settings(catalog=catalog_file, model_cache=tmp_path / "models")
    snapshot = load_snapshot(settings)
    fresh = fitted_advisor(settings, snapshot)
    (cached_file,) = (tmp_path / "models").glob("advisor-*.json")
    document = json.loads(cached_file.read_text())
    assert document["digest"] == snapshot.digest
    assert set(document["performance"]) >= {"sync_params", "load_params", "sync_q", "async_q"}
    reloaded = fitted_advisor(settings, snapshot)  # from the file: nothing fitted
    assert reloaded is not fresh
    query = Query(model="70b", use_case="rag", gpu_types=["a100", "h100"])
    assert reloaded.advise(query).model_dump() == fresh.advise(query).model_dump()
    # A file from another catalog content is never used.
    cached_file.write_text(json.dumps({**document, "digest": "other"}))
    assert (
        fitted_advisor(settings, snapshot).advise(query).model_dump()
        == fresh.advise(query).model_dump()
    )
    assert json.loads(cached_file.read_text())["digest"] == snapshot.digest


def test_the_snapshot_is_read_from_its_copy_until_the_catalog_changes(
    catalog_file: Path, tmp_path: Path
) -> None:
    from api.runtime import load_snapshot
    from catalog.db import connect
    from catalog.importers import guidellm
    from catalog.importers.common import ImportOptions
    from catalog.store import ingest
    from tests.conftest import fixture

    settings = Settings(catalog=catalog_file, model_cache=tmp_path / "models")
    first = load_snapshot(settings)
    (copy,) = (tmp_path / "models").glob("snapshot-*.json")
    assert load_snapshot(settings) == first
    con = connect(catalog_file)
    options = ImportOptions(model="8b", format="bf16", gpu="h100", gpu_count=1)
    ingest(con, guidellm.parse_result(fixture("guidellm", "guidellm-0.8.1-sweep.json"), options))
    con.close()
    after = load_snapshot(settings)
    assert after.digest != first.digest and len(after.load_points) == 4
    (newer,) = (tmp_path / "models").glob("snapshot-*.json")  # the stale copy is gone
    assert newer != copy
