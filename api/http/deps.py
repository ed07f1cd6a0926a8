"""What controllers declare once: the Engine dependency, the import token guard, request prices."""

from __future__ import annotations

import hmac
from typing import Any

from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from advisor.data import Snapshot
from advisor.hardware import PriceList, parse_price_rows
from api.runtime import Engine
from api.schemas import PriceRow
from api.settings import Settings


def engine_of(state: State) -> Engine:
    """The Engine a server process keeps in its application state (set by the lifespan)."""
    engine: Engine = state.engine
    return engine


ENGINE = {"engine": Provide(engine_of, sync_to_thread=False)}


def request_prices(
    snapshot: Snapshot, name: str | None, rows: list[PriceRow] | None, only: bool = False
) -> PriceList:
    """The prices a request asks for: a shipped list (default: the default one), the request's
    own rows merged over it, or with `only` its rows alone."""
    own = None if rows is None else parse_price_rows([r.model_dump() for r in rows], "prices")
    return snapshot.prices_for(name, own, replace=only)


def require_token(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    settings: Settings = connection.app.state.settings
    if not settings.imports_enabled or settings.import_token is None:
        raise PermissionDeniedException(
            detail="imports are disabled on this server: start it with ADVISOR_IMPORT_TOKEN set"
        )
    header = connection.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        raise NotAuthorizedException(
            detail="send Authorization: Bearer <token>",
            headers={"WWW-Authenticate": 'Bearer realm="imports"'},
        )
    if not hmac.compare_digest(
        header[7:].strip().encode(), settings.import_token.get_secret_value().encode()
    ):
        raise PermissionDeniedException(detail="the bearer token is not the one configured")
