"""The HTTP service's entry points, for `advisor serve` and `uvicorn --factory api.app:...`."""

from api.http.app import app_from_environment, create_app

__all__ = ["app_from_environment", "create_app"]
