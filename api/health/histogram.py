"""A fixed-bin histogram and the quantiles read from it. Pure.

Bin `i` spans `bounds[i]` to `bounds[i + 1]`; the last bound may be infinite (an open last bin).
Quantiles and shares interpolate linearly inside a bin, so they are exact at a bin bound: a
threshold that is one of the bounds (0.5 and 0.7 of confidence, 120 s of heartbeat gap) gives
the same pass or fail as the raw values would. Between bounds the answer is an estimate.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

# Confidence 0-1 in tenths: [0, 0.1), [0.1, 0.2), ..., [0.9, 1.0].
CONFIDENCE_BOUNDS: tuple[float, ...] = tuple(i / 10 for i in range(11))
# Seconds between two heartbeats (expected: about 60): (0, 30], (30, 45], ..., (1800, inf).
GAP_BOUNDS_S: tuple[float, ...] = (0, 30, 45, 60, 75, 90, 120, 180, 300, 600, 1800, math.inf)


def confidence_bin(confidence: float) -> int:
    """The bin of a confidence; a value on a bound goes to the bin above it (0.5 is not low)."""
    inner = CONFIDENCE_BOUNDS[1:-1]
    return bisect_right(inner, min(max(confidence, 0.0), 1.0))


def gap_bin(gap_s: float) -> int:
    """The bin of a gap; a gap on a bound goes to the bin below it (120 s is within 120 s)."""
    inner = GAP_BOUNDS_S[1:-1]
    return bisect_left(inner, gap_s)


@dataclass(frozen=True, slots=True)
class Histogram:
    bounds: tuple[float, ...]
    counts: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.bounds) != len(self.counts) + 1:
            raise ValueError("a histogram needs one bound more than it has bins")

    @classmethod
    def empty(cls, bounds: Sequence[float]) -> Histogram:
        return cls(tuple(bounds), (0,) * (len(bounds) - 1))

    @property
    def total(self) -> int:
        return sum(self.counts)

    def quantile(self, q: float) -> float | None:
        """The value below which a share `q` of the samples lie; None without samples. In an
        open last bin the answer is that bin's lower bound (the value is at least that)."""
        total = self.total
        if not total:
            return None
        target = min(max(q, 0.0), 1.0) * total
        seen = 0
        for i, count in enumerate(self.counts):
            if count and seen + count >= target:
                low, high = self.bounds[i], self.bounds[i + 1]
                if math.isinf(high):
                    return low
                return low + (high - low) * max(target - seen, 0) / count
            seen += count
        return self.bounds[-2] if math.isinf(self.bounds[-1]) else self.bounds[-1]

    def share_below(self, value: float) -> float | None:
        """The share of samples below `value`; None without samples."""
        total = self.total
        if not total:
            return None
        below = 0.0
        for i, count in enumerate(self.counts):
            low, high = self.bounds[i], self.bounds[i + 1]
            if high <= value:
                below += count
            elif low < value and not math.isinf(high):
                below += count * (value - low) / (high - low)
        return below / total
