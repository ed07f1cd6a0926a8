"""The OpenAPI UI at `/schema`, from local assets: Swagger UI as the swagger-ui-bundle package
ships it, started by a script of this package (no CDN, nothing inline, so the page works
offline and under the service's Content-Security-Policy)."""

from __future__ import annotations

import html
from typing import Any

from litestar import Request, Router
from litestar.datastructures import CacheControlHeader
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.static_files import create_static_files_router
from swagger_ui_bundle import swagger_ui_path

ASSETS = "/static/swagger-ui"


class LocalSwaggerPlugin(OpenAPIRenderPlugin):
    """Swagger UI at the OpenAPI root (`/schema`) and `/schema/swagger`."""

    def __init__(self) -> None:
        super().__init__(
            path=["/", "/swagger"], favicon='<link rel="icon" href="data:,">', style=""
        )

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = html.escape(str(openapi_schema["info"]["title"]))
        spec = html.escape(self.get_openapi_json_route(request), quote=True)
        return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} API</title>
{self.favicon}
<link rel="stylesheet" href="{ASSETS}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-spec-url="{spec}"></div>
<script src="{ASSETS}/swagger-ui-bundle.js"></script>
<script src="/static/schema.js"></script>
</body>
</html>
""".encode()


def swagger_assets() -> Router:
    """The package's Swagger UI files, cached a day by browsers."""
    return create_static_files_router(
        path=ASSETS,
        directories=[swagger_ui_path],
        name="swagger-ui",
        cache_control=CacheControlHeader(public=True, max_age=86400),
        include_in_schema=False,
    )
