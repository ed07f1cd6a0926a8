"""The token-guarded imports: a GuideLLM report, an lm-eval results file or a measurements CSV
into the catalog; the list of sources, and the removal of an import."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from pathlib import PurePath
from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import KwargDefinition, MultipartBody

from api.http.deps import ENGINE, require_token
from api.http.limits import OWN_TIMEOUT, release_deadline
from api.http.problems import IMPORT_SPEC, problems
from api.http.uploads import import_options, run_import
from api.runtime import Engine
from api.schemas import ImportResult, Source
from catalog import store
from catalog.importers import guidellm, lm_eval, measurements


def _say(text: str) -> KwargDefinition:
    return KwargDefinition(description=text)


# Form fields with their descriptions for the OpenAPI document.
File = Annotated[UploadFile, _say("the file to import")]
ModelName = Annotated[str | None, _say("model id, alias or HF id; default: what the file names")]
FormatName = Annotated[str | None, _say("quantization format; default: from the checkpoint name")]
Method = Annotated[str | None, _say("quantization algorithm")]
Replace = Annotated[bool, _say("swap the rows of an earlier import of the same file")]
GpuName = Annotated[str | None, _say("GPU type (GuideLLM does not record it, or label gpu=)")]
GpuCount = Annotated[int | None, _say("GPUs serving the model (or label gpu_count=)")]
UseCase = Annotated[str | None, _say("use case id (or label use_case=)")]
Suite = Annotated[str | None, _say("accuracy suite name")]
EngineVersion = Annotated[
    str | None, _say("vLLM version the measurements were taken with, where the file does not say")
]


@dataclass
class GuideLLMUpload:
    file: File
    model: ModelName = None
    format: FormatName = None
    gpu: GpuName = None
    gpus: GpuCount = None
    use_case: UseCase = None
    method: Method = None
    engine_version: EngineVersion = None
    replace: Replace = False


@dataclass
class MeasurementsUpload:
    file: File
    engine_version: EngineVersion = None
    replace: Replace = False


@dataclass
class LmEvalUpload:
    file: File
    model: ModelName = None
    format: FormatName = None
    suite: Suite = None
    method: Method = None
    replace: Replace = False


class ImportsController(Controller):
    """Each upload is parsed in a worker process and committed from a worker thread
    (`api.http.uploads`); the routes keep their own time cap (ADVISOR_IMPORT_TIMEOUT_S)."""

    path = "/v1/imports"
    tags = ("imports",)
    guards = (require_token,)
    dependencies = ENGINE

    @post("/guidellm", opt=OWN_TIMEOUT, status_code=201, responses=IMPORT_SPEC)
    async def import_guidellm(
        self,
        request: Request[Any, Any, Any],
        engine: NamedDependency[Engine],
        data: MultipartBody[GuideLLMUpload],
    ) -> ImportResult:
        """Add a GuideLLM report (JSON or YAML) to the catalog; the advice uses it at once."""
        options = import_options(
            model=data.model,
            format=data.format,
            gpu=data.gpu,
            gpu_count=data.gpus,
            use_case=data.use_case,
            method=data.method,
            engine_version=data.engine_version,
        )
        return await run_import(
            engine,
            data.file,
            guidellm.parse_result,
            options,
            data.replace,
            release_deadline(request),
        )

    @post("/measurements", opt=OWN_TIMEOUT, status_code=201, responses=IMPORT_SPEC)
    async def import_measurements(
        self,
        request: Request[Any, Any, Any],
        engine: NamedDependency[Engine],
        data: MultipartBody[MeasurementsUpload],
    ) -> ImportResult:
        """Add a measurements CSV (model, format, gpu, gpu_count, prefill_tokens,
        decode_tokens, metric, value; optional use_case, engine, engine_version, ttft_limit_ms,
        itl_limit_ms, source, notes) to the catalog; the advice uses it at once."""
        options = import_options(engine_version=data.engine_version)
        return await run_import(
            engine,
            data.file,
            measurements.parse_result,
            options,
            data.replace,
            release_deadline(request),
        )

    @post("/lm-eval", opt=OWN_TIMEOUT, status_code=201, responses=IMPORT_SPEC)
    async def import_lm_eval(
        self,
        request: Request[Any, Any, Any],
        engine: NamedDependency[Engine],
        data: MultipartBody[LmEvalUpload],
    ) -> ImportResult:
        """Add an lm-eval results file to the catalog."""
        options = import_options(
            model=data.model, format=data.format, suite=data.suite, method=data.method
        )
        return await run_import(
            engine,
            data.file,
            lm_eval.parse_result,
            options,
            data.replace,
            release_deadline(request),
        )


def source_out(row: dict[str, Any]) -> Source:
    """A source as the API shows it: a file of the server's file system by its name only, the
    time with its zone (the catalog keeps UTC without one)."""
    file = PurePath(str(row["file"]))
    return Source.model_validate(
        {
            **row,
            "file": file.name if file.is_absolute() else str(file),
            "imported_at": row["imported_at"].replace(tzinfo=UTC),
        }
    )


class SourcesController(Controller):
    path = "/v1/catalog/sources"
    tags = ("imports",)
    guards = (require_token,)
    dependencies = ENGINE

    @get("/", sync_to_thread=True, responses=problems(401, 403))
    def list_sources(self, engine: NamedDependency[Engine]) -> list[Source]:
        """Where the catalog's rows come from: the embedded study tables and model cards, and
        every import, with its content hash, when it came and how many rows it holds."""
        return [source_out(row) for row in engine.access.read(store.sources)]

    @delete(
        "/{source_id:int}",
        sync_to_thread=True,
        status_code=200,
        responses=problems(401, 403, 422),
    )
    def remove_source(self, engine: NamedDependency[Engine], source_id: int) -> Source:
        """Take an import out of the catalog with every row it added (one transaction); the
        advice forgets those rows at once. The study tables and model cards cannot be removed."""
        removed = engine.access.write(lambda con: store.remove_source(con, source_id))
        engine.reload_now()
        return source_out(removed)
