"""The supervisor: retriable errors back off and retry, crashes restart with a traceback and
count against health, a task that ends by itself is restarted, all counted by reason."""

from __future__ import annotations

import asyncio
import logging
import random

import pytest
from prometheus_client import CollectorRegistry

from anpr.errors import BusUnavailable, ConfigError
from anpr.supervise import RestartPolicy, Supervisor
from tests.support.wait import until

FAST = RestartPolicy(backoff_initial_s=0.001, backoff_max_s=0.004, max_crashes=3, window_s=60)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def restarts(registry: CollectorRegistry, task: str, reason: str) -> float:
    value = registry.get_sample_value(
        "anpr_task_restarts_total", {"process": "test", "task": task, "reason": reason}
    )
    return value or 0.0


def make(clock: FakeClock | None = None) -> tuple[Supervisor, CollectorRegistry]:
    registry = CollectorRegistry()
    sup = Supervisor("test", registry, policy=FAST, clock=clock or FakeClock())
    return sup, registry


async def test_retriable_errors_are_retried_and_leave_the_process_healthy() -> None:
    sup, registry = make()
    calls = 0
    done = asyncio.Event()

    async def flaky() -> None:
        nonlocal calls
        calls += 1
        if calls <= 10:
            raise BusUnavailable("broker away")
        done.set()
        await asyncio.Event().wait()

    sup.spawn("flaky", flaky)
    await asyncio.wait_for(done.wait(), 5)
    assert restarts(registry, "flaky", "retriable") == 10
    assert sup.healthy
    await sup.stop()


async def test_crashes_restart_with_traceback_and_turn_health_down_past_the_budget(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    sup, registry = make(clock)

    async def broken() -> None:
        raise TypeError("a bug")

    with caplog.at_level(logging.ERROR):
        sup.spawn("broken", broken)
        await until(lambda: restarts(registry, "broken", "error") >= 4)
    assert not sup.healthy
    assert registry.get_sample_value("anpr_process_healthy", {"process": "test"}) == 0
    assert any(r.exc_info and "a bug" in str(r.exc_info[1]) for r in caplog.records)
    snapshot = sup.snapshot()["broken"]
    assert snapshot["last_error"] == "TypeError: a bug"
    await sup.stop()
    # Crashes age out of the window: health comes back without a restart of the process.
    clock.now += FAST.window_s + 1
    assert sup.healthy


async def test_a_task_that_returns_is_restarted_as_exited() -> None:
    sup, registry = make()
    runs = 0

    async def quits() -> None:
        nonlocal runs
        runs += 1
        if runs > 2:
            await asyncio.Event().wait()

    sup.spawn("quits", quits)
    await until(lambda: runs == 3)
    assert restarts(registry, "quits", "exited") == 2
    await sup.stop()


async def test_non_retriable_project_errors_count_as_crashes() -> None:
    sup, registry = make()

    async def misconfigured() -> None:
        raise ConfigError("bad setting")

    sup.spawn("cfg", misconfigured)
    await until(lambda: restarts(registry, "cfg", "error") >= 1)
    assert sup.snapshot()["cfg"]["recent_crashes"] >= 1
    await sup.stop()


async def test_stop_cancels_every_task_and_periodic_steps_run() -> None:
    sup, _ = make()
    ticks = 0

    async def step() -> None:
        nonlocal ticks
        ticks += 1

    sup.spawn_periodic("tick", 0.001, step)
    await until(lambda: ticks >= 3)
    await sup.stop()
    assert sup.snapshot()["tick"]["state"] == "stopped"
    seen = ticks
    # A barrier, not a fixed wait: a second ticker with the same period steps five times, so
    # the stopped one would have stepped too had it been left running.
    other, _ = make()
    witness = 0

    async def witness_step() -> None:
        nonlocal witness
        witness += 1

    other.spawn_periodic("witness", 0.001, witness_step)
    await until(lambda: witness >= 5)
    await other.stop()
    assert ticks == seen


def test_backoff_is_capped_and_jittered() -> None:
    policy = RestartPolicy(backoff_initial_s=0.5, backoff_max_s=10.0)
    rng = random.Random(7)
    delays = [policy.backoff(attempt, rng) for attempt in range(1, 12)]
    assert all(d <= 10.0 for d in delays)
    assert 0.25 <= delays[0] <= 0.5
    assert delays[-1] >= 5.0
    assert len(set(delays)) == len(delays)


async def test_names_are_unique() -> None:
    sup, _ = make()

    async def forever() -> None:
        await asyncio.Event().wait()

    sup.spawn("one", forever)
    with pytest.raises(ValueError, match="already supervised"):
        sup.spawn("one", forever)
    await sup.stop()


async def test_a_cancellation_the_task_was_not_asked_for_is_a_crash_not_an_end() -> None:
    """A CancelledError that leaks out of a library (an inner future cancelled) is not a stop:
    the task is restarted, not left dead with its status saying running."""
    sup, registry = make()
    calls = 0
    again = asyncio.Event()

    async def leaky() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            inner = asyncio.get_running_loop().create_future()
            inner.cancel()
            await inner  # raises CancelledError; nobody cancelled this task
        again.set()
        await asyncio.Event().wait()

    sup.spawn("leaky", leaky)
    await asyncio.wait_for(again.wait(), 5)
    assert restarts(registry, "leaky", "error") == 1
    assert sup.snapshot()["leaky"]["last_error"] == "CancelledError: not a stop"
    await sup.cancel("leaky")
    assert sup.snapshot()["leaky"]["state"] != "running"
    await sup.stop()
