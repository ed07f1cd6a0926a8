"""JSON request bodies parsed in a worker thread: the handler gets the raw bytes, OpenAPI the
model.

Litestar decodes and validates `data` on the event loop before a handler runs, and a 30 MiB
body takes seconds there (msgspec, then pydantic, for every price row), stalling every other
request of the process. `Deferred[Model]` declares the body as `Model` for the OpenAPI document
but hands the handler the bytes; a `sync_to_thread` handler calls `parse()` in its worker thread.
The body's lists are held to the caps on work (`api.http.limits`) before anything is validated,
and the body itself to ADVISOR_MAX_JSON_BODY_BYTES (the app's default body limit).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import msgspec
from litestar.connection import ASGIConnection
from litestar.dto import AbstractDTO, DTOFieldDefinition
from litestar.exceptions import ClientException, ValidationException
from litestar.openapi.spec import Reference, Schema
from litestar.typing import FieldDefinition
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from api.http.limits import ListCap, body_caps
from api.settings import Settings

M = TypeVar("M", bound=BaseModel)
# No name, id or message of these bodies comes near this. Longer strings are refused before the
# core sees them: matching a 30 MiB name against the catalog's names holds the GIL for seconds.
MAX_STRING_CHARS = 10_000


def too_long(value: Any, path: tuple[str, ...] = ()) -> tuple[str, ...] | None:
    """Where in a decoded JSON document the first over-long string is, if anywhere."""
    if isinstance(value, str):
        return path if len(value) > MAX_STRING_CHARS else None
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        if isinstance(key, str) and len(key) > MAX_STRING_CHARS:
            return (*path, key[:40])
        if isinstance(item, str | dict | list) and (found := too_long(item, (*path, str(key)))):
            return found
    return None


@dataclass(frozen=True)
class Deferred(Generic[M]):
    """A request body not yet decoded: `model` is what it must validate as."""

    model: type[M]
    raw: bytes
    where: str  # "POST /v1/advice", as Litestar names a request in its validation errors
    caps: tuple[ListCap, ...] = field(default=())

    def parse(self) -> M:
        """Decode, check the caps, validate, raising what Litestar itself raises for a bad body."""
        try:
            decoded = msgspec.json.decode(self.raw)
        except msgspec.DecodeError as exc:
            raise ClientException(detail=str(exc)) from exc
        for cap in self.caps:
            cap.check(decoded)
        if (where := too_long(decoded)) is not None:
            message = f"String should have at most {MAX_STRING_CHARS} characters"
            key = ".".join(where) or None
            raise ValidationException(
                detail=f"Validation failed for {self.where}",
                extra=[{"key": key, "message": message, "source": None}],
            )
        try:
            return self.model.model_validate(decoded)
        except PydanticValidationError as exc:
            errors = [
                {
                    "key": ".".join(str(part) for part in e["loc"]) or None,
                    "message": e["msg"],
                    "source": None,
                }
                for e in exc.errors(include_url=False, include_context=False, include_input=False)
            ]
            raise ValidationException(
                detail=f"Validation failed for {self.where}", extra=errors
            ) from None


class DeferredDTO(AbstractDTO[M]):
    """Used as `dto=DeferredDTO[Model]` on a handler whose `data` is `Deferred[Model]`."""

    @classmethod
    def generate_field_definitions(
        cls, model_type: type[Any]
    ) -> Generator[DTOFieldDefinition, None, None]:
        yield from ()

    @classmethod
    def detect_nested_field(cls, field_definition: FieldDefinition) -> bool:
        return False

    @classmethod
    def create_for_field_definition(
        cls, field_definition: FieldDefinition, handler_id: str, backend_cls: Any = None
    ) -> None:
        return None  # no transfer models: nothing is decoded on the loop

    @classmethod
    def create_openapi_schema(
        cls, field_definition: FieldDefinition, handler_id: str, schema_creator: Any
    ) -> Reference | Schema:
        schema: Reference | Schema = schema_creator.for_field_definition(
            FieldDefinition.from_annotation(
                cls.model_type, kwarg_definition=field_definition.kwarg_definition
            )
        )
        return schema

    def decode_bytes(self, value: bytes) -> Deferred[M]:
        connection: ASGIConnection[Any, Any, Any, Any] = self.asgi_connection
        where = f"{connection.scope.get('method', '')} {connection.url.path}"
        settings: Settings = connection.app.state.settings
        return Deferred(self.model_type, value, where, body_caps(settings))
