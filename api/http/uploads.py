"""An upload into the catalog: parsed in a worker process, checked, then committed.

Uploaded files are parsed in a worker process, never in the server's. A parser holds the GIL
for as long as one C call runs (`json.loads` of 30 MiB takes seconds), which a worker thread
cannot hide from the event loop; a YAML bomb takes gigabytes; a parser stuck on a pathological
file never returns. In a worker process (`anyio.to_process`, reused between uploads) none of
that reaches the server: the process has a memory cap, is killed when the import's time is up,
and what it sends back is the parsed batch or one line saying why not.

The rows are then committed only once the catalog with them has been read and fitted, inside the
same transaction: an import that answers anything but 2xx leaves the catalog as it was.
"""

from __future__ import annotations

import logging
import time
from traceback import format_exc

import anyio
import anyio.to_process
import anyio.to_thread
from litestar.datastructures import UploadFile
from pydantic import ValidationError

from advisor.data import Snapshot
from advisor.errors import (
    AdvisorError,
    ImportRejectedError,
    InvalidInputError,
    MissingFieldError,
)
from api.http.limits import ImportTimeoutError
from api.http.parsing import Parser, parse_isolated, upload_name
from api.runtime import Engine, fitted_advisor
from api.schemas import ImportResult
from catalog.db import Connection
from catalog.importers.common import ImportOptions
from catalog.records import Batch, IngestResult
from catalog.snapshot import read_snapshot
from catalog.store import ingest

log = logging.getLogger("advisor.api")


async def parse_upload(
    parse: Parser, name: str, content: bytes, options: ImportOptions, memory_bytes: int
) -> Batch:
    """The parsed batch, or the refusal raised as the importers raise it.

    Called within the import's time cap: at the deadline the worker process is killed."""
    try:
        parsed = await anyio.to_process.run_sync(
            parse_isolated, parse, name, content, options, memory_bytes, cancellable=True
        )
    except anyio.BrokenWorkerProcess as exc:
        log.warning("the process parsing %s ended: %r", name, exc.__cause__)
        raise ImportRejectedError(
            name, "cannot be read (the process parsing it ended, most likely out of memory)"
        ) from None
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
            try:
                # The fit every process loads next (cached on disk by content).
                fitted_advisor(engine.settings, Snapshot.from_rows(read_snapshot(con)))
            except AdvisorError:
                raise
            except Exception as exc:
                log.warning("import of %s would break the catalog:\n%s", name, format_exc())
                raise ImportRejectedError(
                    name, f"with these rows the catalog cannot be answered from ({first_line(exc)})"
                ) from None
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
    content = await upload.read()
    try:
        with anyio.fail_after(seconds_left):
            batch = await parse_upload(
                parse, name, content, options, engine.settings.import_memory_bytes
            )
    except TimeoutError:
        raise ImportTimeoutError(cap_s) from None
    return await anyio.to_thread.run_sync(commit_checked, engine, name, batch, replace, deadline)
