"""Moved to `api.runtime`; this re-export keeps the CLI's imports working until the merge."""

from api.runtime import fitted_advisor, load_advisor, load_snapshot, read_prices

__all__ = ["fitted_advisor", "load_advisor", "load_snapshot", "read_prices"]
