"""One supervisor per process for every long-running task: nothing may end silently.

Each task is a coroutine function run again whenever it ends:
- a retriable `AnprError` (the bus is away, a consumer stalled) is retried after a capped,
  jittered exponential backoff; these say nothing about the process itself, so they do not
  count against its health (a broker outage must not make the orchestrator kill every process);
- any other exception is logged with its traceback and the task restarted after the same
  backoff; it counts against the process's health;
- a task that returns without being asked to stop is treated as a crash ("exited"), and so is
  one ended by a `CancelledError` that is not a cancellation of the task itself.

Every restart is counted in `anpr_task_restarts_total{process,task,reason}`. Once more than
`max_crashes` crashes happen within `window_s`, `healthy` turns false and `/healthz` answers 503
so that the orchestrator replaces the process; the tasks keep being restarted meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum

from prometheus_client import CollectorRegistry, Counter, Gauge

from anpr.errors import AnprError

log = logging.getLogger(__name__)

TaskBody = Callable[[], Awaitable[None]]


class RestartReason(StrEnum):
    RETRIABLE = "retriable"
    ERROR = "error"
    EXITED = "exited"


class TaskState(StrEnum):
    RUNNING = "running"
    BACKING_OFF = "backing_off"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    backoff_initial_s: float = 0.2
    backoff_max_s: float = 10.0
    max_crashes: int = 5
    window_s: float = 300.0
    # A task that ran this long before failing starts its backoff from the beginning again.
    healthy_run_s: float = 30.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: uniform in [cap/2, cap] of the capped exponential step."""
        cap = min(self.backoff_max_s, self.backoff_initial_s * (2 ** max(0, attempt - 1)))
        return rng.uniform(cap / 2, cap)


@dataclass(slots=True)
class TaskStatus:
    name: str
    state: TaskState = TaskState.RUNNING
    restarts: int = 0
    last_error: str | None = None
    crashes: deque[float] = field(default_factory=deque)


class SupervisorMetrics:
    """The kernel's task metrics, registered in the process's own registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.restarts = Counter(
            "anpr_task_restarts_total",
            "Background task restarts, by why the task ended.",
            ["process", "task", "reason"],
            registry=registry,
        )
        self.healthy = Gauge(
            "anpr_process_healthy",
            "1 while the process's background tasks are within their crash budget.",
            ["process"],
            registry=registry,
        )


class Supervisor:
    def __init__(
        self,
        process: str,
        registry: CollectorRegistry,
        *,
        policy: RestartPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.process = process
        self.policy = policy or RestartPolicy()
        self.metrics = SupervisorMetrics(registry)
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.status: dict[str, TaskStatus] = {}
        self._stopping = False
        self.metrics.healthy.labels(process).set_function(lambda: 1 if self.healthy else 0)

    def spawn(self, name: str, body: TaskBody) -> None:
        """Run `body` under supervision until `stop()`; names are unique per process."""
        if name in self._tasks:
            raise ValueError(f"task {name!r} is already supervised")
        self.status[name] = TaskStatus(name)
        self._tasks[name] = asyncio.create_task(self._keep(name, body), name=name)

    def spawn_periodic(self, name: str, interval_s: float, step: TaskBody) -> None:
        """Run `step` every `interval_s`; a failing step is restarted like any task."""

        async def every() -> None:
            while True:
                await step()
                await asyncio.sleep(interval_s)

        self.spawn(name, every)

    async def cancel(self, name: str) -> None:
        """Stop one task (a service that stops a part of itself)."""
        task = self._tasks.pop(name, None)
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        self.status[name].state = TaskState.STOPPED

    async def stop(self) -> None:
        self._stopping = True
        for name in list(self._tasks):
            await self.cancel(name)

    @property
    def healthy(self) -> bool:
        now = self._clock()
        # A snapshot: `/metrics` reads this on a worker thread (`anpr.health_routes`).
        statuses = list(self.status.values())
        return all(self._recent_crashes(s, now) <= self.policy.max_crashes for s in statuses)

    def _recent_crashes(self, status: TaskStatus, now: float) -> int:
        while status.crashes and now - status.crashes[0] > self.policy.window_s:
            status.crashes.popleft()
        return len(status.crashes)

    def snapshot(self) -> dict[str, dict[str, object]]:
        now = self._clock()
        return {
            name: {
                "state": s.state.value,
                "restarts": s.restarts,
                "recent_crashes": self._recent_crashes(s, now),
                "last_error": s.last_error,
            }
            for name, s in sorted(self.status.items())
        }

    async def _keep(self, name: str, body: TaskBody) -> None:
        status = self.status[name]
        attempt = 0
        while True:
            started = self._clock()
            status.state = TaskState.RUNNING
            try:
                await body()
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if self._stopping or task is None or task.cancelling():
                    raise  # stopped: `cancel()` or `stop()`
                # A cancellation nobody asked of this task (a library's future cancelled under
                # it) would otherwise end it for good while its status still said running.
                reason = RestartReason.ERROR
                log.error("%s ended by a cancellation it was not asked for; restarting", name)
                status.last_error = "CancelledError: not a stop"
            except AnprError as exc:
                reason = RestartReason.RETRIABLE if exc.retriable else RestartReason.ERROR
                if exc.retriable:
                    log.warning("%s: %s; retrying", name, exc)
                else:
                    log.error("%s failed: %s", name, exc, exc_info=exc)
                status.last_error = f"{type(exc).__name__}: {exc}"
            except Exception as exc:
                reason = RestartReason.ERROR
                log.error("%s crashed; restarting", name, exc_info=exc)
                status.last_error = f"{type(exc).__name__}: {exc}"
            else:
                if self._stopping:
                    return
                reason = RestartReason.EXITED
                log.error("%s ended without being stopped; restarting", name)
                status.last_error = "exited"
            now = self._clock()
            attempt = 1 if now - started >= self.policy.healthy_run_s else attempt + 1
            status.restarts += 1
            if reason is not RestartReason.RETRIABLE:
                status.crashes.append(now)
            self.metrics.restarts.labels(self.process, name, reason.value).inc()
            status.state = TaskState.BACKING_OFF
            await asyncio.sleep(self.policy.backoff(attempt, self._rng))
