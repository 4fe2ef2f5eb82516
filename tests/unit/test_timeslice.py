"""`anpr.timeslice.sliced`: every item once, in order, with the event loop run between slices
of work, and not when the work fits in one slice; `release` empties a list the same way."""

from __future__ import annotations

import time

from anpr.timeslice import CHECK_EVERY, release, sliced
from tests.support.ticker import Ticker


def work(seconds: float) -> None:
    """Busy for `seconds`, as an item's work is (the loop cannot run meanwhile)."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


async def test_every_item_once_in_order() -> None:
    items = list(range(1000))
    assert [item async for item in sliced(items, slice_s=0)] == items
    assert [item async for item in sliced(iter(items))] == items
    assert [item async for item in sliced([])] == []


async def test_the_loop_runs_other_work_between_slices() -> None:
    async with Ticker() as ticker:
        async for _ in sliced(range(CHECK_EVERY * 10), slice_s=0):
            pass
        assert ticker.ticks == 10


async def test_work_that_fits_in_a_slice_is_not_interrupted() -> None:
    async with Ticker() as ticker:
        async for _ in sliced(range(CHECK_EVERY * 10), slice_s=60):
            pass
        assert ticker.ticks == 0


async def test_a_slice_is_time_not_a_count() -> None:
    # Items of 1 ms each and slices of 5 ms: the loop runs after every CHECK_EVERY items
    # (the clock is read that often), never more often.
    async with Ticker() as ticker:
        async for _ in sliced(range(CHECK_EVERY * 3), slice_s=0.005):
            work(0.001)
        assert ticker.ticks == 3


async def test_a_list_is_released_in_slices() -> None:
    items = [object() for _ in range(CHECK_EVERY * 10)]
    async with Ticker() as ticker:
        await release(items, slice_s=0)
        assert ticker.ticks == 10
    assert items == []
