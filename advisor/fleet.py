"""Fleet sizing: how many deployments a target load needs, and what the fleet costs."""

from __future__ import annotations

import math
from typing import Any

# A deployment whose capacity is within this of the target is enough (float noise).
EPSILON = 1e-9


# The 80% interval's ends are the 10th and 90th percentiles: z = 1.2816 on either side.
Z_80 = 1.2815516


def sized_deployments(target_qps: float, qps_per_deployment: float) -> int:
    """Deployments that carry `target_qps` when each carries `qps_per_deployment`."""
    return max(math.ceil(target_qps / qps_per_deployment - EPSILON), 1)


def chance_to_meet(max_qps: float, operating_qps: float, log_low: float, log_high: float) -> float:
    """The chance that a deployment's true max QPS is at least `operating_qps`, taking the
    prediction's log error as normal with the interval's 10th and 90th percentiles
    (log(measured / predicted) = `log_low`, `log_high`)."""
    if max_qps <= 0 or operating_qps <= 0:
        return 0.0
    centre = math.log(max_qps) + (log_low + log_high) / 2
    spread = max((log_high - log_low) / (2 * Z_80), 1e-9)
    z = (centre - math.log(operating_qps)) / spread
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


def fleet_figures(
    deployments: int, usd_per_hour: float, target_qps: float, decode_tokens: int, gpus: int
) -> dict[str, Any]:
    """The fleet's USD per hour, USD per million output tokens and GPUs at the target load."""
    fleet = deployments * usd_per_hour
    return {
        "deployments": deployments,
        "fleet_gpus": deployments * gpus,
        "fleet_usd_per_hour": fleet,
        "usd_per_million_output_tokens": fleet / (target_qps * 3600 * decode_tokens) * 1e6,
    }
