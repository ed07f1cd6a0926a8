"""An upload into the catalog: parsed in a worker process, checked, then committed.

Uploaded files are parsed in a worker process, never in the server's. A parser holds the GIL
for as long as one C call runs (`json.loads` of 30 MiB takes seconds), which a worker thread
cannot hide from the event loop; a YAML bomb takes gigabytes; a parser stuck on a pathological
file never returns. In a process of its own (`python -m api.http.isolated`; not an
`anyio.to_process` worker, which drops `__main__`, that DuckDB imports) none of that reaches
the server: the process has a memory cap, is killed when the import's time is up,
and what it sends back is the parsed batch or one line saying why not.

The rows are then committed only once the catalog with them has been read and fitted, inside the
same transaction (the fit, seconds of CPU, in such a process too): an import that answers
anything but 2xx leaves the catalog as it was.
"""

from __future__ import annotations

import logging
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from traceback import format_exc
from typing import Any

import anyio
import anyio.to_thread
from litestar.datastructures import UploadFile
from pydantic import ValidationError

from advisor.errors import (
    AdvisorError,
    ImportRejectedError,
    InvalidInputError,
    MissingFieldError,
)
from api.http.isolated import Parsed, Parser, fit_isolated, parse_isolated, upload_name
from api.http.limits import ImportTimeoutError
from api.runtime import Engine
from api.schemas import ImportResult
from api.settings import Settings
from catalog.db import Connection
from catalog.importers.common import ImportOptions
from catalog.records import Batch, IngestResult
from catalog.snapshot import read_snapshot
from catalog.store import ingest

log = logging.getLogger("advisor.api")


ISOLATED = [sys.executable, "-m", "api.http.isolated"]


def child_environment() -> dict[str, str]:
    """The server's environment, with its import path: the child runs the same code."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}


def save_upload(upload: UploadFile, path: Path) -> None:
    """The upload's bytes into `path`, in pieces (blocking: a worker thread's job)."""
    upload.file.seek(0)
    with path.open("wb") as out:
        shutil.copyfileobj(upload.file, out, 2**20)


async def parse_upload(
    parse: Parser, path: Path, options: ImportOptions, memory_bytes: int
) -> Batch:
    """The parsed batch of the file saved at `path`, or the refusal raised as the importers
    raise it, naming the file by its name only.

    Called within the import's time cap: when it is up, the parsing process is killed."""
    name = path.name
    request = pickle.dumps(
        (parse_isolated, (parse, path, options, memory_bytes)), pickle.HIGHEST_PROTOCOL
    )
    done = await anyio.run_process(
        ISOLATED,
        input=request,
        check=False,
        env=child_environment(),
    )
    if done.returncode != 0 or not done.stdout:
        log.warning(
            "the process parsing %s ended with status %s: %s",
            name,
            done.returncode,
            done.stderr.decode(errors="replace")[-2000:],
        )
        raise ImportRejectedError(
            name, "cannot be read (the process parsing it ended, most likely out of memory)"
        )
    parsed: Parsed = pickle.loads(done.stdout)  # written by our own child, not the client
    if parsed.unexpected is not None:
        # An importer bug: the client gets one line, the log the whole story.
        log.warning("import of %s failed unexpectedly:\n%s", name, parsed.unexpected)
    if parsed.missing_field is not None and parsed.missing_option is not None:
        raise MissingFieldError(name, parsed.missing_field, parsed.missing_option)
    if parsed.batch is None:
        raise ImportRejectedError(name, parsed.problem or "cannot be read")
    return parsed.batch


def import_options(**fields: object) -> ImportOptions:
    """The form's options, or one line naming the field refused (`gpus=0`)."""
    try:
        return ImportOptions.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_context=False, include_input=False)[0]
        field = ".".join(str(p) for p in first["loc"]) or "input"
        field = {"gpu_count": "gpus"}.get(field, field)  # the form field's name
        raise InvalidInputError(f"invalid value for {field}: {first['msg']}") from None


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def fit_elsewhere(
    settings: Settings, rows: dict[str, Any], deadline: float
) -> tuple[str, str] | None:
    """`fit_isolated` in a process of its own, so that the fit's seconds of CPU and its long C
    calls stay off this process's GIL; killed at the import's deadline. Blocking."""
    request = pickle.dumps((fit_isolated, (settings, rows)), pickle.HIGHEST_PROTOCOL)
    try:
        done = subprocess.run(
            ISOLATED,
            input=request,
            capture_output=True,
            check=False,
            env=child_environment(),
            timeout=max(0.1, deadline - time.monotonic()),
        )
    except subprocess.TimeoutExpired:
        raise ImportTimeoutError(settings.import_timeout_s) from None
    if done.returncode != 0 or not done.stdout:
        stderr = done.stderr.decode(errors="replace")[-2000:]
        return f"the fit's process ended with status {done.returncode}", stderr
    unfit: tuple[str, str] | None = pickle.loads(done.stdout)  # our own child's answer
    return unfit


def commit_checked(
    engine: Engine, name: str, batch: Batch, replace: bool, deadline: float
) -> ImportResult:
    """Ingest `batch` and commit it only if the catalog with it still reads and fits, within
    the time cap (`deadline`, on the monotonic clock); then switch this process to the new fit.

    Blocking: call it in a worker thread."""
    batch = batch.model_copy(
        update={"source": batch.source.model_copy(update={"uri": f"upload:{name}"})}
    )
    answers: list[ImportResult] = []

    def check(con: Connection, results: list[IngestResult]) -> None:
        (result,) = results
        answers.append(ImportResult(file=name, **result.model_dump()))
        if not result.duplicate or replace:
            unfit = fit_elsewhere(engine.settings, read_snapshot(con), deadline)
            if unfit is not None:
                log.warning("import of %s would break the catalog:\n%s", name, unfit[1])
                raise ImportRejectedError(
                    name, f"with these rows the catalog cannot be answered from ({unfit[0]})"
                )
        if time.monotonic() > deadline:
            raise ImportTimeoutError(engine.settings.import_timeout_s)

    try:
        engine.access.write(lambda con: ingest(con, batch, replace=replace, before_commit=check))
    except (AdvisorError, ImportTimeoutError):
        raise
    except Exception as exc:
        log.warning("import of %s failed unexpectedly:\n%s", name, format_exc())
        raise ImportRejectedError(
            name, f"the catalog cannot take these rows ({first_line(exc)})"
        ) from None
    (answer,) = answers
    if not answer.duplicate or replace:
        try:
            engine.reload_now()  # the fit checked above, from the disk cache
        except Exception:
            # Committed and checked: the answer stays 201; the next request reloads.
            log.exception("reload after the import of %s failed", name)
    return answer


async def run_import(
    engine: Engine,
    upload: UploadFile,
    parse: Parser,
    options: ImportOptions,
    replace: bool,
    seconds_left: float,
) -> ImportResult:
    """An upload into the catalog within `seconds_left` (what the import's time cap leaves once
    the body is in), or a refusal."""
    name = upload_name(upload.filename)
    cap_s = engine.settings.import_timeout_s
    seconds_left = min(seconds_left, cap_s)
    deadline = time.monotonic() + seconds_left
    try:
        with (
            anyio.fail_after(seconds_left),
            tempfile.TemporaryDirectory(prefix="advisor-upload-") as folder,
        ):
            path = Path(folder) / name
            # The bytes never pass through the event loop whole: saved and parsed elsewhere.
            await anyio.to_thread.run_sync(save_upload, upload, path)
            batch = await parse_upload(parse, path, options, engine.settings.import_memory_bytes)
    except TimeoutError:
        raise ImportTimeoutError(cap_s) from None
    return await anyio.to_thread.run_sync(commit_checked, engine, name, batch, replace, deadline)
