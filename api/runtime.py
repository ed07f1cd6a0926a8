"""What a server or CLI process holds at run time: the catalog behind a file lock, the fitted
advisor (cached on disk by content), the answer cache, and price files read at the edge.

DuckDB lets one process write a file, and a writer excludes readers in other processes. So:
- imports disabled: each worker opens the catalog read-only once, at start-up, and keeps it;
  requests use their own cursor;
- imports enabled: no worker holds the file open. Reads and writes open it briefly under an
  advisory file lock shared by all workers (shared for reads, exclusive for writes), so the
  DuckDB locks never collide. Workers notice an import by the catalog file changing and reload
  the snapshot and the fit (the importing worker has already cached the new fit on disk).
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import io
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml
from cachetools import LRUCache

from advisor import __version__
from advisor.data import Snapshot
from advisor.errors import InvalidInputError
from advisor.hardware import PriceList, parse_price_rows
from advisor.service import Advisor
from api.settings import Settings
from catalog.build import open_catalog
from catalog.db import Connection, connect
from catalog.seed import seed_digest
from catalog.snapshot import read_snapshot

T = TypeVar("T")

LOG = logging.getLogger("advisor")


def load_snapshot(settings: Settings) -> Snapshot:
    """The catalog's snapshot, from a JSON copy beside the fitted models when the catalog file
    is unchanged since (same size, modification time and inode) and so are the code and the
    embedded data that built it; else read from the catalog, which is built or migrated first
    when needed, and the copy rewritten."""
    path = settings.catalog_path.expanduser()
    copy = _snapshot_copy(settings, path)
    if copy is not None:
        try:
            return Snapshot.model_validate_json(copy.read_bytes())
        except (OSError, ValueError):
            pass  # missing or from another layout: read the catalog
    con = open_catalog(path, read_only=True)
    try:
        snapshot = Snapshot.from_rows(read_snapshot(con))
    finally:
        con.close()
    for row in snapshot.skipped:
        LOG.warning("catalog row skipped (%s: %s): %s", row.part, row.row, row.reason)
    copy = _snapshot_copy(settings, path)  # the open may have built or migrated the file
    if copy is not None:
        _write_atomically(copy, snapshot.model_dump_json(by_alias=True))
        for stale in copy.parent.glob(f"{copy.name.rsplit('-', 1)[0]}-*.json"):
            if stale != copy:
                stale.unlink(missing_ok=True)
    return snapshot


def _snapshot_copy(settings: Settings, path: Path) -> Path | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    where = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    state = f"{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ino}:{catalog_digest()}"
    key = hashlib.sha256(state.encode()).hexdigest()[:16]
    return settings.model_cache_path / f"snapshot-{__version__}-{where}-{key}.json"


@cache
def catalog_digest() -> str:
    """The catalog code (schema, queries) and its embedded data: either changing rereads it."""
    digest = hashlib.sha256(seed_digest().encode())
    for package in ("catalog", "catalog.sql"):
        for entry in sorted(resources.files(package).iterdir(), key=lambda e: e.name):
            if entry.name.endswith((".py", ".sql")):
                digest.update(entry.read_bytes())
    return digest.hexdigest()


def _write_atomically(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)  # atomic: concurrent readers see the old file or the new one
    except OSError:
        pass  # a read-only cache folder only costs a read of the catalog next time


@cache
def code_digest() -> str:
    """Hash of the advisor's own source: coefficients of a changed model are never reused."""
    digest = hashlib.sha256(__version__.encode())
    for entry in sorted(resources.files("advisor").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".py"):
            digest.update(entry.read_bytes())
    return digest.hexdigest()


def cache_file(settings: Settings, snapshot: Snapshot) -> Path:
    key = f"{snapshot.digest[:20]}-{code_digest()[:12]}"
    return settings.model_cache_path / f"advisor-{__version__}-{key}.json"


def load_advisor(settings: Settings) -> Advisor:
    """The fitted advisor; an import changes the snapshot digest, so a cache is never stale."""
    return fitted_advisor(settings, load_snapshot(settings))


def fitted_advisor(settings: Settings, snapshot: Snapshot) -> Advisor:
    """The advisor fitted on `snapshot`, from the coefficients cached on disk (JSON) when they
    were fitted on the same content by the same code."""
    path = cache_file(settings, snapshot)
    try:
        document = json.loads(path.read_text())
        if isinstance(document, dict) and document.get("digest") == snapshot.digest:
            return Advisor.fit(snapshot, document)
    except (OSError, ValueError, KeyError, TypeError):
        pass  # missing, unreadable or from another layout: fit again
    advisor = Advisor.fit(snapshot)
    _write_atomically(path, json.dumps(advisor.coefficients()))
    return advisor


def read_prices(path: Path) -> PriceList:
    """A price list from CSV (gpu, gpu_count, usd_per_hour | usd_per_gpu_hour) or YAML (the same
    rows as a list, or a mapping gpu -> USD per GPU-hour, or gpu -> {count: USD per hour})."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise InvalidInputError(f"{path}: cannot read the price file ({exc.strerror})") from exc
    rows: list[dict[str, Any]]
    if path.suffix.lower() in {".yaml", ".yml"}:
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InvalidInputError(f"{path}: not valid YAML ({exc})") from exc
        if isinstance(document, dict) and "prices" in document:
            document = document["prices"]
        if isinstance(document, list):
            rows = [dict(r) for r in document if isinstance(r, dict)]
        elif isinstance(document, dict):
            rows = []
            for gpu, value in document.items():
                if isinstance(value, dict):
                    rows += [
                        {"gpu": gpu, "gpu_count": c, "usd_per_hour": v} for c, v in value.items()
                    ]
                else:
                    rows.append({"gpu": gpu, "gpu_count": 1, "usd_per_gpu_hour": value})
        else:
            raise InvalidInputError(f"{path}: expected a list of price rows or a gpu -> price map")
    else:
        rows = list(csv.DictReader(io.StringIO(text)))
    return parse_price_rows(rows, path.name)


class CatalogAccess:
    def __init__(self, path: Path, writable: bool) -> None:
        self.path = path
        self.writable = writable
        self._lock_path = path.with_name(path.name + ".lock")
        self._shared: Connection | None = None
        # Workers start together: whoever comes first builds or migrates the file; the lock
        # keeps the others from opening it meanwhile.
        with self._locked(fcntl.LOCK_EX):
            if writable:
                open_catalog(path).close()
            else:
                self._shared = open_catalog(path, read_only=True)

    @contextmanager
    def _locked(self, mode: int) -> Iterator[None]:
        self._lock_path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock_path.open("a") as handle:
            fcntl.flock(handle, mode)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def read(self, work: Callable[[Connection], T]) -> T:
        if self._shared is not None:
            cursor = self._shared.cursor()
            try:
                return work(cursor)
            finally:
                cursor.close()
        with self._locked(fcntl.LOCK_SH):
            con = connect(self.path, read_only=True)
            try:
                return work(con)
            finally:
                con.close()

    def write(self, work: Callable[[Connection], T]) -> T:
        if not self.writable:
            raise RuntimeError("the catalog is open read-only in this process")
        with self._locked(fcntl.LOCK_EX):
            con = open_catalog(self.path)
            try:
                return work(con)
            finally:
                con.close()

    def generation(self) -> tuple[int, int]:
        """Changes whenever the catalog file does."""
        stat = os.stat(self.path)
        return stat.st_mtime_ns, stat.st_size

    def close(self) -> None:
        if self._shared is not None:
            self._shared.close()
            self._shared = None


class Engine:
    """The fitted advisor over the catalog's current content, and an answer cache.

    Request threads share one Engine: the reload and the cache are each behind a lock.
    `on_change` is told after every (re)load and cache change (the HTTP side keeps gauges).
    """

    def __init__(
        self, settings: Settings, on_change: Callable[[Engine], None] | None = None
    ) -> None:
        self.settings = settings
        self.on_change = on_change or (lambda _engine: None)
        self.access = CatalogAccess(settings.catalog_path, settings.imports_enabled)
        self._lock = threading.Lock()
        self._answers_lock = threading.Lock()
        self._checked = 0.0
        # LRUCache(0) would refuse every entry with ValueError; a size of 0 means "no cache".
        self.answers: LRUCache[Hashable, bytes] = LRUCache(maxsize=settings.advice_cache_size or 1)
        self.fit_seconds = 0.0
        self.generation = self.access.generation()
        self.advisor = self._load()
        self.on_change(self)

    def _load(self) -> Advisor:
        started = time.perf_counter()
        snapshot = self.access.read(lambda con: Snapshot.from_rows(read_snapshot(con)))
        advisor = fitted_advisor(self.settings, snapshot)
        self.fit_seconds = time.perf_counter() - started
        return advisor

    def _replace(self, advisor: Advisor, generation: tuple[int, int]) -> None:
        self.advisor = advisor
        self.generation = generation
        with self._answers_lock:
            self.answers.clear()
        self.on_change(self)

    def current(self) -> Advisor:
        """The advisor, reloaded first if the catalog changed since it was fitted."""
        now = time.monotonic()
        if self.access.writable and now - self._checked >= self.settings.reload_check_s:
            self._checked = now
            generation = self.access.generation()
            if generation != self.generation:
                with self._lock:
                    if generation != self.generation:
                        self._replace(self._load(), generation)
        return self.advisor

    def cached_now(self, key: Hashable) -> bytes | None:
        """The cached answer for `key` if there is one and no reload check is due: never blocks,
        so the event loop may call it before handing a miss to a worker thread."""
        if (
            self.access.writable
            and time.monotonic() - self._checked >= self.settings.reload_check_s
        ):
            return None
        with self._answers_lock:
            return self.answers.get((id(self.advisor), key))

    def reload_now(self) -> None:
        with self._lock:
            # The generation first: an import landing during the load is then seen as newer.
            generation = self.access.generation()
            self._replace(self._load(), generation)

    def cached_answer(self, key: Hashable, compute: Callable[[], bytes]) -> bytes:
        advisor = self.current()
        full_key = (id(advisor), key)
        with self._answers_lock:
            found = self.answers.get(full_key)
        if found is not None:
            return found
        answer = compute()  # outside the lock: two threads may compute one answer, never block
        if self.settings.advice_cache_size:
            with self._answers_lock:
                self.answers[full_key] = answer
            self.on_change(self)
        return answer

    def cached_entries(self) -> int:
        with self._answers_lock:
            return len(self.answers)

    def close(self) -> None:
        self.access.close()


def engine_of(state: Any) -> Engine:
    """The Engine a server process keeps in its application state."""
    engine: Engine = state.engine
    return engine
