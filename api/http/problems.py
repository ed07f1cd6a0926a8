"""Errors as problem details (RFC 9457): every exception mapped once, and the documented
problem responses of each kind of route."""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import ResponseSpec
from litestar.plugins.problem_details import (
    ProblemDetailsConfig,
    ProblemDetailsException,
    ProblemDetailsPlugin,
)

from advisor.errors import (
    AdvisorError,
    CatalogError,
    ImportRejectedError,
    MissingFieldError,
    UnknownNameError,
)
from advisor.vocabulary import PERCENTILES, Arrivals, Mode
from api.ask import AskError
from api.schemas import Problem

log = logging.getLogger("advisor.api")
PROBLEM_BASE = "https://quant-advisor.invalid/problems/"


def problem(
    status: int, kind: str, title: str, detail: str, **extra: Any
) -> ProblemDetailsException:
    return ProblemDetailsException(
        status_code=status,
        type_=PROBLEM_BASE + kind,
        title=title,
        detail=detail,
        extra=extra or None,
    )


def _unknown(exc: UnknownNameError) -> ProblemDetailsException:
    detail = str(exc)
    if exc.kind == "model" and not exc.hint:  # no config files here: say how a model gets in
        detail += " (models are added to the catalog with `advisor catalog add-model`)"
    return problem(
        422,
        "unknown-name",
        f"Unknown {exc.kind}",
        detail,
        accepted=exc.accepted,
        closest=exc.closest[0] if exc.closest else None,
    )


def _ask(exc: AskError) -> ProblemDetailsException:
    return problem(
        422,
        "question-not-understood",
        "Question not understood",
        str(exc),
        unrecognised=exc.unrecognised,
        examples=exc.examples,
    )


def _invalid(exc: AdvisorError) -> ProblemDetailsException:
    return problem(422, "invalid-input", "Invalid input", str(exc))


# The form field that supplies each import option the domain's errors name.
IMPORT_FIELDS = {"gpu_count": "gpus"}


def _rejected_file(exc: ImportRejectedError) -> ProblemDetailsException:
    detail = str(exc)
    if isinstance(exc, MissingFieldError):
        detail += f"; send the form field {IMPORT_FIELDS.get(exc.option, exc.option)}"
    return problem(422, "import-rejected", "File rejected; the catalog is unchanged", detail)


def _catalog(exc: CatalogError) -> ProblemDetailsException:
    return problem(503, "catalog-unavailable", "Catalog unavailable", str(exc))


# Closed sets whose values a client is told when it sends another (a GET parameter is refused
# by Litestar before the core can name them).
ACCEPTED: dict[str, list[Any]] = {
    "percentile": [int(p) if p.is_integer() else p for p in PERCENTILES],
    "arrivals": [a.value for a in Arrivals],
    "mode": [m.value for m in Mode],
}


def _validation(exc: ValidationException) -> ProblemDetailsException:
    errors = [
        {"field": e.get("key"), "message": e.get("message"), "source": e.get("source")}
        for e in (exc.extra if isinstance(exc.extra, list) else [])
    ]
    fields = [str(e["field"]) for e in errors if e["field"]]
    detail = f"invalid value for {', '.join(fields)}" if fields else str(exc.detail)
    if len(errors) == 1 and errors[0]["message"]:
        detail += ": " + str(errors[0]["message"]).removeprefix("Value error, ")
    closed = next((f for f in fields if f in ACCEPTED), None)
    if closed is None:
        return problem(422, "invalid-input", "Invalid input", detail, errors=errors)
    accepted = ACCEPTED[closed]
    words = ", ".join(str(a) for a in accepted)
    if words not in detail:
        detail += f" ({closed} accepts {words})"
    return problem(422, "invalid-input", "Invalid input", detail, errors=errors, accepted=accepted)


def _http(exc: HTTPException) -> ProblemDetailsException:
    status = exc.status_code
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    return ProblemDetailsException(
        status_code=status,
        type_=PROBLEM_BASE + f"http-{status}",
        title=title,
        detail=str(exc.detail),
        headers=exc.headers,
    )


def _internal(exc: Exception) -> ProblemDetailsException:
    log.exception("unhandled error", exc_info=exc)
    return problem(500, "internal", "Internal error", "the server failed to answer; see its log")


PROBLEMS: dict[type[Exception], Callable[[Any], ProblemDetailsException]] = {
    UnknownNameError: _unknown,
    AskError: _ask,
    ImportRejectedError: _rejected_file,
    CatalogError: _catalog,
    AdvisorError: _invalid,
    ValidationException: _validation,
    HTTPException: _http,
    Exception: _internal,
}


def problem_details_plugin() -> ProblemDetailsPlugin:
    return ProblemDetailsPlugin(ProblemDetailsConfig(exception_to_problem_detail_map=PROBLEMS))


WORDS = {
    401: "no bearer token",
    403: "wrong token, or imports disabled",
    404: "not found",
    413: "body too large",
    422: "invalid input",
    503: "catalog unavailable",
}


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    return {
        status: ResponseSpec(
            data_container=Problem, description=WORDS[status], media_type="application/problem+json"
        )
        for status in statuses
    }


READ_SPEC = problems(422, 503)
IMPORT_SPEC = problems(401, 403, 413, 422)
