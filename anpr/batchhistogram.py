"""A Prometheus histogram fed a batch of observations at a time, for per-record latencies on
hot paths.

`prometheus_client.Histogram.observe` takes a lock and walks the buckets for every value: at
tens of thousands of reads a second that was 12% of the matcher's time. This keeps plain counts
per bucket, adds a whole batch by sorting it and bisecting once per bucket (no lock: every
caller runs on the event loop) and is exported through the public custom-collector interface
as an ordinary histogram, so queries and dashboards see no difference.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence

from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry


class BatchHistogram(Collector):
    def __init__(
        self,
        name: str,
        documentation: str,
        *,
        buckets: Sequence[float],
        registry: CollectorRegistry,
        scale: float = 1.0,
    ) -> None:
        """`scale` converts observed values to the exported unit (1/1000: ms in, seconds out)."""
        self._name = name
        self._doc = documentation
        self._bounds = sorted(buckets)
        self._scaled = [b / scale for b in self._bounds]  # bounds in the observed unit
        self._scale = scale
        self._counts = [0] * (len(self._bounds) + 1)  # the last one is +Inf
        self._sum = 0.0
        registry.register(self)

    def observe_many(self, values: Iterable[float]) -> None:
        # Sorted once, then one bisect per bucket: C loops, about 3x faster than a bisect per
        # value for a matcher batch of 2,000 latencies.
        ordered = sorted(values)
        counts, below = self._counts, 0
        for i, bound in enumerate(self._scaled):
            upto = bisect_right(ordered, bound)  # "le": a value equal to the bound is in it
            counts[i] += upto - below
            below = upto
        counts[-1] += len(ordered) - below
        self._sum += sum(ordered) * self._scale

    def collect(self) -> Iterator[HistogramMetricFamily]:
        cumulative = 0
        buckets: list[tuple[str, float]] = []
        for bound, count in zip([*self._bounds, math.inf], self._counts, strict=True):
            cumulative += count
            buckets.append(("+Inf" if bound == math.inf else repr(float(bound)), cumulative))
        family = HistogramMetricFamily(self._name, self._doc, buckets=buckets, sum_value=self._sum)
        yield family

    def describe(self) -> Iterator[HistogramMetricFamily]:
        yield HistogramMetricFamily(self._name, self._doc)
