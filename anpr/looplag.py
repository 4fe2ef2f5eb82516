"""How late the event loop runs what is due: the process-wide sign of work that blocks it.

Every request, consumer and stream of a service shares one asyncio loop, so any code that holds
it (a large synchronous encode, a store call left on the loop, a long garbage collection) delays
everything else at once, and shows up as tail latency in every hop with no hop to blame. A
supervised task sleeps `interval_s` again and again and records how much later than asked it
woke: `anpr_event_loop_lag_seconds{process}`. A wake more than `BLOCKED_S` late is also logged
(with the duration only), so a stall can be found in the logs next to what ran at that time.

No library was found that does this for asyncio with Prometheus (aiomonitor is an interactive
console; `loop.slow_callback_duration` works only in debug mode, which slows the loop down).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Histogram

log = logging.getLogger(__name__)

INTERVAL_S = 0.5  # with 0.2 each idle process used 0.002-0.003 cores more (make bench 16:28)
BLOCKED_S = 1.0
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class LoopLagMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.lag = Histogram(
            "anpr_event_loop_lag_seconds",
            "How much later than due the event loop woke a timer: time other work held the loop.",
            ["process"],
            buckets=BUCKETS,
            registry=registry,
        )


class LoopLagWatch:
    """Measures the lag of the running loop; `run` is a task body for the supervisor."""

    def __init__(
        self,
        process: str,
        registry: CollectorRegistry,
        *,
        interval_s: float = INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._process = process
        self._interval_s = interval_s
        self._clock = clock
        self._lag = LoopLagMetrics(registry).lag.labels(process)
        self.worst_s = 0.0

    def observe(self, lag_s: float) -> None:
        lag_s = max(0.0, lag_s)
        self._lag.observe(lag_s)
        self.worst_s = max(self.worst_s, lag_s)
        if lag_s >= BLOCKED_S:
            log.warning("%s: event loop blocked for %d ms", self._process, round(lag_s * 1000))

    async def run(self) -> None:
        while True:
            asked = self._clock()
            await asyncio.sleep(self._interval_s)
            self.observe(self._clock() - asked - self._interval_s)
