"""The token-guarded imports: a GuideLLM report or an lm-eval results file into the catalog."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from litestar import Controller, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import MultipartBody

from api.http.deps import ENGINE, require_token
from api.http.problems import IMPORT_SPEC
from api.runtime import Engine
from api.schemas import ImportResult
from catalog.importers import guidellm, lm_eval
from catalog.importers.common import ImportOptions
from catalog.records import Batch
from catalog.store import ingest


@dataclass
class GuideLLMUpload:
    file: UploadFile
    model: str | None = None
    format: str | None = None
    gpu: str | None = None
    gpus: int | None = None
    use_case: str | None = None
    method: str | None = None
    replace: bool = False


@dataclass
class LmEvalUpload:
    file: UploadFile
    model: str | None = None
    format: str | None = None
    suite: str | None = None
    method: str | None = None
    replace: bool = False


Parser = Callable[[Path, ImportOptions], Batch]


def import_upload(
    engine: Engine, upload: UploadFile, parse: Parser, options: ImportOptions, replace: bool
) -> ImportResult:
    """Parse the upload from a private temporary file, ingest it, refit: all blocking work."""
    name = (
        re.sub(r"[^A-Za-z0-9._-]", "_", Path(upload.filename or "upload.json").name)
        or "upload.json"
    )
    upload.file.seek(0)
    content = upload.file.read()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(content)
        batch = parse(path, options)
    batch = batch.model_copy(
        update={"source": batch.source.model_copy(update={"uri": f"upload:{name}"})}
    )
    (result,) = engine.access.write(lambda con: ingest(con, batch, replace=replace))
    if not result.duplicate or replace:
        engine.reload_now()
    return ImportResult(file=name, **result.model_dump())


class ImportsController(Controller):
    path = "/v1/imports"
    tags = ("imports",)
    guards = (require_token,)
    dependencies = ENGINE

    @post("/guidellm", sync_to_thread=True, status_code=201, responses=IMPORT_SPEC)
    def import_guidellm(
        self, engine: NamedDependency[Engine], data: MultipartBody[GuideLLMUpload]
    ) -> ImportResult:
        """Add a GuideLLM report (JSON or YAML) to the catalog; the advice uses it at once."""
        options = ImportOptions(
            model=data.model,
            format=data.format,
            gpu=data.gpu,
            gpu_count=data.gpus,
            use_case=data.use_case,
            method=data.method,
        )
        return import_upload(engine, data.file, guidellm.parse_result, options, data.replace)

    @post("/lm-eval", sync_to_thread=True, status_code=201, responses=IMPORT_SPEC)
    def import_lm_eval(
        self, engine: NamedDependency[Engine], data: MultipartBody[LmEvalUpload]
    ) -> ImportResult:
        """Add an lm-eval results file to the catalog."""
        options = ImportOptions(
            model=data.model, format=data.format, suite=data.suite, method=data.method
        )
        return import_upload(engine, data.file, lm_eval.parse_result, options, data.replace)
