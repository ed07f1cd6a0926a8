"""How a figure and an option read for people: significant digits in positional notation,
dollars and cents, an option's format and GPU layout."""

from __future__ import annotations

import math
from typing import Any

from advisor.search import positional


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return positional(value, digits)
    return str(value)


def usd(value: float | None) -> str:
    """Dollars and cents from $0.10 up ($0.80 beside $1.60); below, three significant digits
    in positional notation ($0.0000179, never $1.79e-05)."""
    if value is None:
        return "-"
    if value >= 0.1 or value == 0:
        return f"${value:,.2f}"
    decimals = 2 - math.floor(math.log10(value))
    return f"${value:.{decimals}f}"


def layout(o: dict[str, Any]) -> str:
    text = f"{o['gpu_count']} x {o['gpu']}"
    if (o.get("replicas") or 1) > 1:
        text += f" ({o['replicas']}x TP{o['tensor_parallel_size']})"
    return text


def format_of(o: dict[str, Any]) -> str:
    """The format, and when it runs weight-only on this GPU (FP8 on Ampere), that it does."""
    return f"{o['format']} (weight-only)" if o.get("weight_only") else str(o["format"])
