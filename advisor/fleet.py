"""Fleet sizing: how many deployments a target load needs, and what the fleet costs."""

from __future__ import annotations

import math
from typing import Any

# A deployment whose capacity is within this of the target is enough (float noise).
EPSILON = 1e-9


def deployments_for(target_qps: float, qps_per_deployment: float) -> int:
    return math.ceil(target_qps / qps_per_deployment - EPSILON)


def fleet_figures(
    deployments: int, usd_per_hour: float, target_qps: float, decode_tokens: int
) -> dict[str, Any]:
    """The fleet's USD per hour and USD per million output tokens at the target load."""
    fleet = deployments * usd_per_hour
    return {
        "deployments": deployments,
        "fleet_usd_per_hour": fleet,
        "usd_per_million_output_tokens": fleet / (target_qps * 3600 * decode_tokens) * 1e6,
    }
