"""An answer's targets in words, the same in the terminal, the report and the charts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from advisor.vocabulary import DEFAULT_PERCENTILE


def percentile_word(query: Mapping[str, Any]) -> str:
    """The percentile the answer's limits apply to, as GuideLLM names it: p99."""
    return f"p{float(query.get('percentile') or DEFAULT_PERCENTILE):g}"


def targets_line(query: Mapping[str, Any]) -> str:
    """The limits, floor and load of an answer's query in words: what the title line says."""
    sync = query.get("mode") == "sync"
    latency = [
        f"TTFT < {query['ttft_limit_ms']:g} ms" if query.get("ttft_limit_ms") else "",
        f"ITL < {query['itl_limit_ms']:.4g} ms" if query.get("itl_limit_ms") else "",
        f"latency < {query['latency_limit_s']:g} s" if query.get("latency_limit_s") else "",
    ]
    parts = [", ".join(x for x in latency if x)]
    if parts[0] and not sync:
        parts[0] += f" at {percentile_word(query)}"
    if not sync:
        parts.append(f"{query.get('arrivals') or 'poisson'} arrivals")
    if query.get("min_recovery_pct"):
        parts.append(f"recovery >= {query['min_recovery_pct']:g}% ({query['suite']})")
    if query.get("qps"):
        load = f"{query['qps']:g} QPS"
        if query.get("headroom_pct") is not None:
            load += f" with {query['headroom_pct']:g}% headroom"
        parts.append(load)
    return ", ".join(x for x in parts if x)
