"""How long the garbage collector held the process: `anpr_gc_pause_seconds{process,generation}`.

A full collection walks every object the process tracks; in a service holding a large registry
or index it stops the event loop for tens to hundreds of milliseconds, and every request and
record in flight waits it out. The loop-lag timer (`anpr.looplag`) shows that the loop was held,
this shows when the collector was the cause and which generation it was.

One `gc.callbacks` hook per process feeds plain counters (no lock: the hook runs in whichever
thread allocated, between two bytecodes, so taking a lock there could deadlock against the same
thread's metric update). Each service's registry exports them through the public
custom-collector interface as an ordinary histogram. In `anpr run` the three services share one
process and one collector, so their three series show the same pauses.

prometheus_client's own `GCCollector` counts collections and collected objects, not their
duration; no maintained library was found that exports the pause time.
"""

from __future__ import annotations

import gc
import time
from bisect import bisect_left
from collections.abc import Callable, Iterator

from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
GENERATIONS = 3
NAME = "anpr_gc_pause_seconds"
HELP = "How long each garbage collection held the process (all its threads), by generation."


class GcPauses:
    """Bucket counts and sums per generation; `hook` is the `gc.callbacks` entry."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self._started = 0.0
        self.counts = [[0] * (len(BUCKETS) + 1) for _ in range(GENERATIONS)]  # last: +Inf
        self.sums = [0.0] * GENERATIONS

    def hook(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = self._clock()
        else:
            self.add(info["generation"], self._clock() - self._started)

    def add(self, generation: int, seconds: float) -> None:
        # bisect_left: a pause equal to a bound counts in that bound's bucket ("le").
        self.counts[generation][bisect_left(BUCKETS, seconds)] += 1
        self.sums[generation] += seconds


_installed: GcPauses | None = None


def process_pauses() -> GcPauses:
    """The process's one recorder, hooked into the collector on first use."""
    global _installed
    if _installed is None:
        _installed = GcPauses()
        gc.callbacks.append(_installed.hook)
    return _installed


class GcPauseCollector(Collector):
    def __init__(
        self, process: str, registry: CollectorRegistry, pauses: GcPauses | None = None
    ) -> None:
        self._process = process
        self._pauses = pauses or process_pauses()
        registry.register(self)

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily(NAME, HELP, labels=["process", "generation"])
        bounds = [*(repr(b) for b in BUCKETS), "+Inf"]
        for generation in range(GENERATIONS):
            counts = list(self._pauses.counts[generation])  # a copy: the hook may add meanwhile
            cumulative, buckets = 0, []
            for bound, count in zip(bounds, counts, strict=True):
                cumulative += count
                buckets.append((bound, float(cumulative)))
            family.add_metric(
                [self._process, str(generation)], buckets, self._pauses.sums[generation]
            )
        yield family

    def describe(self) -> Iterator[HistogramMetricFamily]:
        yield HistogramMetricFamily(NAME, HELP, labels=["process", "generation"])
