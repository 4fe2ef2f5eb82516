"""Prometheus counters, gauges and histograms updated from the event loop only, without locks.

prometheus_client takes a lock for every `inc`, `set` and `observe`, another in every `labels()`
lookup (which also rebuilds the label tuple), and walks a histogram's buckets in Python. The
updates one single-read request makes in the gateway (eight, on seven metrics) cost 10.3-11.4 µs
that way and 1.5-1.9 µs here, in a loop over them: about 3.5 % of such a request's ~270 µs of
CPU (docs/performance.md). These metrics keep plain numbers, find a labelled child with one dict
lookup and a bucket with one bisect, and are exported through prometheus_client's public
custom-collector interface as ordinary counters, gauges and histograms, so scrapes, queries,
alert rules and dashboards see the same series, `_created` included (the gateway's alert on its
first 500 reads it).

Not thread-safe for updates, by design: update them only from the event loop's thread (the
request path, the consumer loops). A metric updated from a worker thread stays on
prometheus_client. Reading is safe from a scrape's worker thread: the series are read from a
snapshot, and a histogram read between two of its updates may show a count one ahead of its
sum, as prometheus_client's own histograms may.
"""

from __future__ import annotations

import math
import time
from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from typing import Generic, TypeVar

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString

# How prometheus_client writes a bucket's `le` (untyped in the library).
_le: Callable[[float], str] = floatToGoString


class Value:
    """One series of a counter."""

    __slots__ = ("created", "value")

    def __init__(self) -> None:
        self.value = 0.0
        self.created = time.time()

    def inc(self, amount: float = 1.0) -> None:
        self.value += amount


class Buckets:
    """One series of a histogram: a count per bucket (not cumulative) and the sum."""

    __slots__ = ("bounds", "counts", "created", "sum")

    def __init__(self, bounds: list[float]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last one is +Inf
        self.sum = 0.0
        self.created = time.time()

    def observe(self, value: float) -> None:
        # "le": a value equal to a bound is in that bound's bucket.
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value


Child = TypeVar("Child", Value, Buckets)


class _Family(Collector, Generic[Child]):
    """A metric family and its series, one per tuple of label values, made by `new_child`."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        registry: CollectorRegistry,
        new_child: Callable[[], Child],
    ) -> None:
        self._name = name
        self._doc = documentation
        self._labelnames = tuple(labelnames)
        self._new_child: Callable[[], Child] = new_child
        self._children: dict[tuple[str, ...], Child] = {} if labelnames else {(): new_child()}
        registry.register(self)

    def series(self) -> list[tuple[tuple[str, ...], Child]]:
        """A snapshot of the series: scrapes run on a worker thread (`anpr.health_routes`)
        while the loop may add one; `list()` of a dict's items is one step under the GIL."""
        return list(self._children.items())

    def labels(self, *values: str) -> Child:
        child = self._children.get(values)
        if child is None:
            if len(values) != len(self._labelnames):
                raise ValueError(f"{self._name}: labels {self._labelnames}, got {values!r}")
            child = self._children[values] = self._new_child()
        return child

    def forget(self, label: str, value: str) -> None:
        """Drop every series whose `label` is `value` (a deleted camera's)."""
        index = self._labelnames.index(label)
        for values in [v for v in self._children if v[index] == value]:
            del self._children[values]


class LoopCounter(_Family[Value]):
    """A counter; `name` may end in `_total`, as with prometheus_client."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        *,
        registry: CollectorRegistry,
    ) -> None:
        super().__init__(name.removesuffix("_total"), documentation, labelnames, registry, Value)

    def inc(self, amount: float = 1.0) -> None:
        self._children[()].value += amount

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(self._name, self._doc, labels=self._labelnames)
        for values, child in self.series():
            family.add_metric(values, child.value, created=child.created)
        yield family


class LoopGauge(Collector):
    """A gauge without labels."""

    def __init__(self, name: str, documentation: str, *, registry: CollectorRegistry) -> None:
        self._name = name
        self._doc = documentation
        self._value = 0.0
        registry.register(self)

    def inc(self, amount: float = 1.0) -> None:
        self._value += amount

    def dec(self, amount: float = 1.0) -> None:
        self._value -= amount

    def set(self, value: float) -> None:
        self._value = float(value)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(self._name, self._doc, value=self._value)


class LoopHistogram(_Family[Buckets]):
    """A histogram, with or without labels."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        *,
        buckets: Sequence[float],
        registry: CollectorRegistry,
    ) -> None:
        bounds = sorted(float(b) for b in buckets if b != math.inf)
        self._bounds = bounds
        super().__init__(name, documentation, labelnames, registry, lambda: Buckets(bounds))

    def observe(self, value: float) -> None:
        self._children[()].observe(value)

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily(self._name, self._doc, labels=self._labelnames)
        les = [_le(b) for b in self._bounds] + ["+Inf"]
        for values, child in self.series():
            cumulative, buckets = 0, []
            for le, count in zip(les, child.counts, strict=True):
                cumulative += count
                buckets.append((le, float(cumulative)))
            family.add_metric(values, buckets, child.sum)
            labels = dict(zip(self._labelnames, values, strict=True))
            family.samples.append(Sample(f"{self._name}_created", labels, child.created))
        yield family
