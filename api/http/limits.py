"""What one request may take: a time cap (a middleware) and caps on its work (price rows,
predict rows, candidates evaluated), each refusal naming the cap and its setting."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import anyio
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from advisor.hardware import GPU_COUNTS
from advisor.query import Query
from advisor.vocabulary import Format
from api.settings import Settings

# Handlers with this opt key get the import time cap instead of the request one, and may take
# over their own deadline once the body is in (`release_deadline`).
IMPORT_ROUTE = "import_route"
OWN_TIMEOUT = {IMPORT_ROUTE: True}
_SCOPE_KEY = "advisor_deadline"


class RequestTimeoutError(Exception):
    """A request ran past its time cap before its answer started."""

    def __init__(self, seconds: float, setting: str) -> None:
        self.seconds = seconds
        self.setting = setting
        super().__init__(
            f"the request took longer than {seconds:g} s ({setting}); ask for less, or retry"
        )


class ImportTimeoutError(Exception):
    """An import ran past its time cap; nothing of it was kept."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(f"the import took longer than {seconds:g} s; nothing was imported")


class TooMuchWorkError(Exception):
    """A request over one of the per-request caps on work."""

    def __init__(self, cap: str, limit: int, got: int, what: str) -> None:
        self.cap = cap
        self.limit = limit
        self.got = got
        super().__init__(
            f"{got} {what}; this server takes at most {limit} per request (ADVISOR_{cap.upper()})"
        )


@dataclass(frozen=True)
class ListCap:
    """A top-level list of a JSON body and how long it may be."""

    field: str
    cap: str  # the setting's name
    what: str
    limit: int

    def check(self, document: Any) -> None:
        value = document.get(self.field) if isinstance(document, dict) else None
        if isinstance(value, list) and len(value) > self.limit:
            raise TooMuchWorkError(self.cap, self.limit, len(value), self.what)


def body_caps(settings: Settings) -> tuple[ListCap, ...]:
    """The caps a JSON body is checked against once decoded, before it is validated."""
    return (
        ListCap("prices", "max_price_rows", "price rows", settings.max_price_rows),
        ListCap("configurations", "max_predict_rows", "configurations", settings.max_predict_rows),
    )


def candidates_asked(query: Query, catalog_gpus: int) -> int:
    """How many candidates (GPU type x format x GPU count) `query` can make the search
    evaluate, counting every name given as its own (names are resolved one by one too)."""
    gpus = len(set(query.gpu_types)) if query.gpu_types else catalog_gpus
    formats = len(set(query.formats)) if query.formats else len(Format)
    counts = sum(1 for c in GPU_COUNTS if c <= query.max_gpus)
    return gpus * formats * counts


def check_candidates(settings: Settings, query: Query, catalog_gpus: int) -> None:
    asked = candidates_asked(query, catalog_gpus)
    if asked > settings.max_candidates:
        raise TooMuchWorkError(
            "max_candidates",
            settings.max_candidates,
            asked,
            "candidates (GPU types x formats x GPU counts); name fewer GPU types or formats",
        )


class RequestTimeout(ASGIMiddleware):
    """Cancels a request that has not started its answer within its time cap and answers 503.

    Work handed to a worker thread is not stopped (a thread cannot be), only no longer waited
    for: the caps on work keep it short. Import routes get the import time cap; once their body
    is in they take the deadline over (`release_deadline`), so that the commit of an import is
    never cut between its rows landing and its 201.
    """

    scopes = (ScopeType.HTTP,)

    def __init__(self, settings: Settings) -> None:
        self.request_s = settings.request_timeout_s
        self.import_s = settings.import_timeout_s

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        handler = scope.get("route_handler")
        is_import = bool(handler is not None and handler.opt.get(IMPORT_ROUTE))
        seconds = self.import_s if is_import else self.request_s
        setting = "ADVISOR_IMPORT_TIMEOUT_S" if is_import else "ADVISOR_REQUEST_TIMEOUT_S"
        with anyio.CancelScope(deadline=anyio.current_time() + seconds) as cancel:
            scope.setdefault("state", {})[_SCOPE_KEY] = cancel

            async def send_started(message: Message) -> None:
                if message["type"] == "http.response.start":
                    cancel.deadline = math.inf  # the answer is on its way: let it finish
                await send(message)

            await next_app(scope, receive, send_started)
        if cancel.cancelled_caught:
            raise RequestTimeoutError(seconds, setting)


def release_deadline(connection: ASGIConnection[Any, Any, Any, Any]) -> float:
    """The handler keeps its own time from here on (imports: see `api.http.uploads`): the
    seconds left of the request's time cap, or infinity when it has none."""
    cancel = connection.scope.get("state", {}).get(_SCOPE_KEY)
    if not isinstance(cancel, anyio.CancelScope):
        return math.inf
    left = cancel.deadline - anyio.current_time()
    cancel.deadline = math.inf
    return max(0.0, left)
