"""Errors as problem details (RFC 9457): every exception mapped once, and the documented
problem responses of each kind of route.

What a problem echoes is held short (a 10 MB model name comes back as its first characters and
how many more there were), and it names no file system path of the server: a path comes back as
its last component, which for an upload is the uploaded file's name.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from functools import cache
from http import HTTPStatus
from pathlib import PurePosixPath
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
from api.http.limits import ImportTimeoutError, RequestTimeoutError, TooMuchWorkError
from api.schemas import Problem

log = logging.getLogger("advisor.api")
PROBLEM_BASE = "https://quant-advisor.invalid/problems/"

# A run of characters without a space or quote longer than this is echoed as its start; a whole text
# longer than MAX_TEXT too.
MAX_RUN = 120
KEPT_OF_RUN = 80
MAX_TEXT = 1000
_RUN = re.compile(rf"[^\s'\"]{{{MAX_RUN + 1},}}")
# An absolute path: a slash not inside a word, URL or relative path, then segments.
_PATH = re.compile(r"(?<![\w.:/~-])/[^\s/'\"(),;:]+(?:/[^\s/'\"(),;:]*)*")


def _shortened(text: str, keep: int) -> str:
    return f"{text[:keep]}…({len(text) - keep} more characters)"


@cache
def _root_entries() -> frozenset[str]:
    try:
        return frozenset(os.listdir("/"))
    except OSError:
        return frozenset()


def _without_path(match: re.Match[str]) -> str:
    """A file system path as its last component; anything else (an API route) as it was."""
    path = PurePosixPath(match.group(0))
    if len(path.parts) < 2 or path.parts[1] not in _root_entries():
        return match.group(0)
    return path.name or "/"


def clip(text: str) -> str:
    """`text` as a response may echo it: no server path, no long runs, not too long."""
    text = _PATH.sub(_without_path, text)
    text = _RUN.sub(lambda m: _shortened(m.group(0), KEPT_OF_RUN), text)
    return _shortened(text, MAX_TEXT) if len(text) > MAX_TEXT else text


def _clipped(value: Any) -> Any:
    if isinstance(value, str):
        return clip(value)
    if isinstance(value, list):
        return [_clipped(v) for v in value]
    if isinstance(value, dict):
        return {k: _clipped(v) for k, v in value.items()}
    return value


def problem(
    status: int, kind: str, title: str, detail: str, **extra: Any
) -> ProblemDetailsException:
    return ProblemDetailsException(
        status_code=status,
        type_=PROBLEM_BASE + kind,
        title=title,
        detail=clip(detail),
        extra=_clipped(extra) or None,
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


def _too_much(exc: TooMuchWorkError) -> ProblemDetailsException:
    return problem(
        413,
        "too-much-work",
        "Too much work for one request",
        str(exc),
        cap=exc.cap,
        limit=exc.limit,
    )


def _timeout(exc: RequestTimeoutError) -> ProblemDetailsException:
    return problem(503, "timeout", "Request timed out", str(exc), limit_s=exc.seconds)


def _import_timeout(exc: ImportTimeoutError) -> ProblemDetailsException:
    return problem(
        503,
        "import-timeout",
        "Import timed out; the catalog is unchanged",
        str(exc) + " (ADVISOR_IMPORT_TIMEOUT_S)",
        limit_s=exc.seconds,
    )


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


TOO_LARGE = (
    "the body is larger than this route takes: ADVISOR_MAX_JSON_BODY_BYTES for JSON bodies, "
    "ADVISOR_MAX_BODY_BYTES for uploads"
)


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
        detail=TOO_LARGE if status == 413 else clip(str(exc.detail)),
        headers=exc.headers,
    )


def _internal(exc: Exception) -> ProblemDetailsException:
    log.exception("unhandled error", exc_info=exc)
    return problem(500, "internal", "Internal error", "the server failed to answer; see its log")


PROBLEMS: dict[type[Exception], Callable[[Any], ProblemDetailsException]] = {
    TooMuchWorkError: _too_much,
    RequestTimeoutError: _timeout,
    ImportTimeoutError: _import_timeout,
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
    413: "body too large, or over a cap on work (price rows, configurations, candidates)",
    422: "invalid input",
    503: "catalog unavailable, or the request ran past its time cap",
}


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    return {
        status: ResponseSpec(
            data_container=Problem, description=WORDS[status], media_type="application/problem+json"
        )
        for status in statuses
    }


READ_SPEC = problems(422, 503)
WORK_SPEC = problems(413, 422, 503)
IMPORT_SPEC = problems(401, 403, 413, 422, 503)
