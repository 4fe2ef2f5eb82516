"""Percentiles and summaries of latency samples. Pure."""

from __future__ import annotations

import math
from collections.abc import Sequence

QUANTILES = (("p50", 0.50), ("p90", 0.90), ("p99", 0.99), ("p99_9", 0.999))


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an ascending sequence (`q` from 0 to 1)."""
    if not ordered:
        raise ValueError("no samples")
    if not 0.0 <= q <= 1.0:
        raise ValueError("q must be from 0 to 1")
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def summarize(samples: Sequence[float]) -> dict[str, float | int | None]:
    """count, mean, p50, p90, p99, p99.9 and max (None when there are no samples)."""
    if not samples:
        return {"count": 0, "mean": None, **{name: None for name, _ in QUANTILES}, "max": None}
    ordered = sorted(samples)
    out: dict[str, float | int | None] = {
        "count": len(ordered),
        "mean": round(sum(ordered) / len(ordered), 2),
    }
    for name, q in QUANTILES:
        out[name] = round(percentile(ordered, q), 2)
    out["max"] = round(ordered[-1], 2)
    return out
