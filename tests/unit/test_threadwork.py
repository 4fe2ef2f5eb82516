"""`anpr.threadwork.on_worker`: the switch interval is fine while bulk work runs on a worker
thread, and put back after the last of them, whatever happened to it."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Iterator

import pytest

from anpr.threadwork import FINE_SWITCH_S, on_worker


@pytest.fixture(autouse=True)
def default_interval() -> Iterator[float]:
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.005)
    yield 0.005
    sys.setswitchinterval(before)


async def test_the_interval_is_fine_while_the_work_runs_and_put_back_after() -> None:
    seen = await on_worker(sys.getswitchinterval)
    assert seen == pytest.approx(FINE_SWITCH_S, rel=0.05)
    assert sys.getswitchinterval() == pytest.approx(0.005, rel=0.05)


async def test_it_stays_fine_until_the_last_of_two_ends_and_after_a_failure() -> None:
    first_running, release_first = threading.Event(), threading.Event()

    def first() -> float:
        first_running.set()
        release_first.wait(10)
        return sys.getswitchinterval()

    def fails() -> None:
        raise ValueError("bad upload")

    slow = asyncio.create_task(on_worker(first))
    await asyncio.to_thread(first_running.wait, 10)
    with pytest.raises(ValueError, match="bad upload"):
        await on_worker(fails)
    assert sys.getswitchinterval() == pytest.approx(FINE_SWITCH_S, rel=0.05)  # the first still runs
    release_first.set()
    assert await slow == pytest.approx(FINE_SWITCH_S, rel=0.05)
    assert sys.getswitchinterval() == pytest.approx(0.005, rel=0.05)


async def test_a_finer_interval_set_by_the_operator_is_kept() -> None:
    sys.setswitchinterval(0.0001)
    assert await on_worker(sys.getswitchinterval) == pytest.approx(0.0001, rel=0.05)
    assert sys.getswitchinterval() == pytest.approx(0.0001, rel=0.05)
