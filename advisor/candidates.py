"""Enumeration and feasibility: every format x GPU x count, and why one cannot be evaluated."""

from __future__ import annotations

from collections.abc import Iterator

from advisor.hardware import MEMORY_UTILISATION, Gpu, ModelSpec, PriceList
from advisor.search import Violation
from advisor.sizes import fits, memory_needed_gib
from advisor.vocabulary import Format


def blocked_reason(
    model: ModelSpec, fmt: Format, gpu: Gpu, count: int, context_tokens: int, prices: PriceList
) -> Violation | None:
    """Why this deployment cannot be evaluated (format, memory, price), or None."""
    unsupported = gpu.unsupported_reason(fmt)
    if unsupported is not None:
        return Violation(reason="unsupported", detail=unsupported)
    if not fits(model.arch, fmt, gpu, count, context_tokens):
        need = memory_needed_gib(model.arch, fmt, context_tokens)
        have = count * gpu.memory_gib * MEMORY_UTILISATION
        return Violation(
            reason="memory",
            excess_pct=100 * (need - have) / have,
            detail=f"needs {need:,.0f} GiB (weights and one {context_tokens}-token sequence); "
            f"{count} x {gpu.memory_gib:g} GiB x {MEMORY_UTILISATION} = {have:,.0f} GiB",
        )
    if prices.usd_per_hour(gpu.gpu, count) is None:
        return Violation(
            reason="no_price", detail=f"not priced: no price for {gpu.gpu} in {prices.name!r}"
        )
    return None


def enumerate_candidates(
    gpus: list[Gpu], formats: list[Format], counts: list[int]
) -> Iterator[tuple[Gpu, Format, int]]:
    """Every (GPU, format, count) in the order the answer lists them."""
    for gpu in gpus:
        for fmt in formats:
            for count in counts:
                yield gpu, fmt, count
