"""What a server process holds: its way to the catalog and the fitted advisor.

DuckDB lets one process write a file, and a writer excludes readers in other processes. So:
- imports disabled: each worker opens the catalog read-only once, at start-up, and keeps it;
  requests use their own cursor;
- imports enabled: no worker holds the file open. Reads and writes open it briefly under an
  advisory file lock shared by all workers (shared for reads, exclusive for writes), so the
  DuckDB locks never collide. Workers notice an import by the catalog file changing and reload
  the snapshot and the fit (the importing worker has already cached the new fit on disk).
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from advisor.data import Snapshot
from advisor.service import Advisor
from api.engine import fitted_advisor
from api.settings import Settings
from catalog.build import open_catalog
from catalog.db import Connection, connect
from catalog.snapshot import read_snapshot

T = TypeVar("T")


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
    """The fitted advisor over the catalog's current content, and an answer cache."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.access = CatalogAccess(settings.catalog_path, settings.imports_enabled)
        self._lock = threading.Lock()
        self._checked = 0.0
        self.answers: OrderedDict[Any, bytes] = OrderedDict()
        self.fit_seconds = 0.0
        self.generation = self.access.generation()
        self.advisor = self._load()

    def _load(self) -> Advisor:
        started = time.perf_counter()
        snapshot = self.access.read(lambda con: Snapshot.from_rows(read_snapshot(con)))
        advisor = fitted_advisor(self.settings, snapshot)
        self.fit_seconds = time.perf_counter() - started
        return advisor

    def current(self) -> Advisor:
        """The advisor, reloaded first if the catalog changed since it was fitted."""
        now = time.monotonic()
        if self.access.writable and now - self._checked >= self.settings.reload_check_s:
            self._checked = now
            generation = self.access.generation()
            if generation != self.generation:
                with self._lock:
                    if generation != self.generation:
                        self.advisor = self._load()
                        self.generation = generation
                        self.answers.clear()
        return self.advisor

    def reload_now(self) -> None:
        with self._lock:
            self.advisor = self._load()
            self.generation = self.access.generation()
            self.answers.clear()

    def cached_answer(self, key: Any, compute: Callable[[], bytes]) -> bytes:
        advisor = self.current()
        full_key = (id(advisor), key)
        found = self.answers.get(full_key)
        if found is not None:
            self.answers.move_to_end(full_key)
            return found
        answer = compute()
        if self.settings.advice_cache_size:
            self.answers[full_key] = answer
            while len(self.answers) > self.settings.advice_cache_size:
                self.answers.popitem(last=False)
        return answer

    def close(self) -> None:
        self.access.close()


def engine_of(state: Any) -> Engine:
    """The Engine a server process keeps in its application state."""
    engine: Engine = state.engine
    return engine
