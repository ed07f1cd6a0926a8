"""How a figure and an option read for people: significant digits in positional notation,
dollars and cents, an option's format and GPU layout."""

from __future__ import annotations

from typing import Any

from advisor.figures import fixed, usd

__all__ = ["fixed", "fmt", "format_of", "layout", "usd"]


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return fixed(value, digits)
    return str(value)


def layout(o: dict[str, Any]) -> str:
    text = f"{o['gpu_count']} x {o['gpu']}"
    if (o.get("replicas") or 1) > 1:
        text += f" ({o['replicas']}x TP{o['tensor_parallel_size']})"
    return text


def format_of(o: dict[str, Any]) -> str:
    """The format, and when it runs weight-only on this GPU (FP8 on Ampere), that it does."""
    return f"{o['format']} (weight-only)" if o.get("weight_only") else str(o["format"])
