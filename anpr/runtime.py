"""What a process's background work runs on, and how it reports its health.

One `Runtime` per service (gateway, matcher, API; three of them in `anpr run`), built in the
app factory and passed down: the bus, the supervisor of every task, the dead-letter policy, and
the consumer loops it hosts. `/healthz` and `/readyz` of every process read it:
- alive (`/healthz` 200) while every task is within its crash budget (`anpr.supervise`);
- ready (`/readyz` 200) while every consumer loop is caught up, assigned and making progress
  (`anpr.consume`), plus whatever else the service needs (the matcher: its hotlists loaded).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Gauge

from anpr.bus.base import Bus
from anpr.bus.drift import CHECK_INTERVAL_S, DriftCollector, DriftWatch
from anpr.deadletter import DeadLetters
from anpr.gcpauses import GcPauseCollector
from anpr.looplag import LoopLagWatch
from anpr.settings import CommonSettings
from anpr.supervise import RestartPolicy, Supervisor
from anpr.topics import Topics

if TYPE_CHECKING:
    from anpr.consume import ConsumerLoop

DEFAULT_STALL_S = 30.0


class LoopMetrics:
    def __init__(self, registry: CollectorRegistry, process: str) -> None:
        self._process = process
        self.lag = Gauge(
            "anpr_consumer_lag",
            "Records on the loop's assigned partitions not yet handled.",
            ["process", "loop"],
            registry=registry,
        )
        self.last_progress = Gauge(
            "anpr_consumer_last_progress_timestamp_seconds",
            "When the loop last handled records or had none waiting (Unix time).",
            ["process", "loop"],
            registry=registry,
        )
        self.ready = Gauge(
            "anpr_consumer_ready",
            "1 while the loop is caught up, assigned and making progress.",
            ["process", "loop"],
            registry=registry,
        )
        self.stalled = Gauge(
            "anpr_consumer_stalled",
            "1 while the loop has records waiting and has made no progress for ANPR_STALL_S.",
            ["process", "loop"],
            registry=registry,
        )
        self.consumers = Gauge(
            "anpr_consumer_replacements",
            "Consumers made by the loop so far (1 + replacements after faults).",
            ["process", "loop"],
            registry=registry,
        )

    def track(self, loop: ConsumerLoop) -> None:
        labels = (self._process, loop.name)
        if not loop.discreet:
            self.lag.labels(*labels).set_function(lambda: loop.lag)
            offset = time.time() - time.monotonic()
            self.last_progress.labels(*labels).set_function(lambda: loop.last_progress + offset)
        self.ready.labels(*labels).set_function(lambda: 1 if loop.ready else 0)
        self.stalled.labels(*labels).set_function(lambda: 1 if loop.stalled else 0)
        self.consumers.labels(*labels).set_function(lambda: loop.consumers_made)


@dataclass
class Runtime:
    process: str
    bus: Bus
    registry: CollectorRegistry
    deadletter_topic: str
    stall_s: float = DEFAULT_STALL_S
    policy: RestartPolicy = field(default_factory=RestartPolicy)
    loops: list[ConsumerLoop] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.supervisor = Supervisor(self.process, self.registry, policy=self.policy)
        self.dead_letters = DeadLetters(
            self.bus, self.deadletter_topic, process=self.process, registry=self.registry
        )
        self._loop_metrics = LoopMetrics(self.registry, self.process)
        self.loop_lag = LoopLagWatch(self.process, self.registry)
        GcPauseCollector(self.process, self.registry)
        self.topic_drift = DriftWatch(lambda: self.bus.topic_drift())
        DriftCollector(self.process, self.registry, lambda: self.topic_drift.drift)

    @classmethod
    def for_process(
        cls, process: str, settings: CommonSettings, bus: Bus, registry: CollectorRegistry
    ) -> Runtime:
        return cls(
            process=process,
            bus=bus,
            registry=registry,
            deadletter_topic=Topics.from_prefix(settings.topic_prefix).deadletter,
            stall_s=settings.stall_s,
            policy=RestartPolicy(
                max_crashes=settings.task_max_crashes, window_s=settings.task_crash_window_s
            ),
        )

    def watch_event_loop(self) -> None:
        """Start measuring the event loop's lag (`anpr.looplag`) and checking the topics'
        settings against the specs (`anpr.bus.drift`); once, from the service's start."""
        self.supervisor.spawn("event-loop-lag", self.loop_lag.run)
        self.supervisor.spawn_periodic("topic-drift", CHECK_INTERVAL_S, self.topic_drift.step)

    def add_loop(self, loop: ConsumerLoop) -> None:
        if loop not in self.loops:
            self.loops.append(loop)
            self._loop_metrics.track(loop)

    async def stop(self) -> None:
        await self.supervisor.stop()

    @property
    def alive(self) -> bool:
        return self.supervisor.healthy

    @property
    def loops_ready(self) -> bool:
        return all(loop.ready for loop in self.loops)

    def health(self) -> dict[str, dict[str, dict[str, object]]]:
        """The detail `/healthz` shows: every task's state and restarts."""
        return {"tasks": self.supervisor.snapshot()}

    def readiness(self) -> dict[str, dict[str, object]]:
        """The detail `/readyz` shows: every consumer loop's state."""
        return {
            loop.name: {
                "state": loop.state.value,
                "caught_up": loop.caught_up.is_set(),
                **({} if loop.discreet else {"lag": loop.lag}),
                "stalled": loop.stalled,
                "consumers_made": loop.consumers_made,
            }
            for loop in self.loops
        }
