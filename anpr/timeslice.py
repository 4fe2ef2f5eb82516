"""Long loops on a shared event loop, cut into slices so that nothing waits behind them.

The API streams hits from the same event loop that folds the gateways' per-camera aggregates
(two records a camera a second: 20,000 a second at 10,000 cameras) and that evaluates every
camera's status for the health gauges. Done in one go, that work held the loop for 10-20 ms a
second at 200 cameras and about a second at 10,000, and every hit fetched meanwhile waited for
it (`benchmarks.health_scale`; at `make bench`'s 200 cameras it made no measurable difference
to the end-to-end p99, which the waits for a CPU set there).

`sliced` hands the loop back once a slice of `SLICE_S` of work is spent, so a hit waits at most
about one slice. The work itself is unchanged; only when the loop may run something else is.
A slice is measured, not counted: the cost of an item varies tenfold between a camera with a
quiet hour and a busy one. `release` frees a large list in slices the same way; `finish` runs
work already cut into steps (a generator) with the loop's turns between them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Generator, Iterable
from typing import TypeVar

T = TypeVar("T")

SLICE_S = 0.002
# The clock is read once per this many items (a read costs about as much as a small item).
CHECK_EVERY = 16


async def sliced(items: Iterable[T], *, slice_s: float = SLICE_S) -> AsyncIterator[T]:
    """`items`, one by one; between two of them the event loop runs whatever is ready, each
    time `slice_s` of work was done since it last did (0: every `CHECK_EVERY` items)."""
    clock = time.perf_counter
    deadline = clock() + slice_s
    for count, item in enumerate(items, 1):
        yield item
        if count % CHECK_EVERY == 0 and clock() >= deadline:
            await asyncio.sleep(0)
            deadline = clock() + slice_s


async def release(items: list[T], *, slice_s: float = SLICE_S) -> None:
    """Empties `items` from its end, in slices: for the last reference to a million objects
    (a 1M-entry upload's parsed entries, or its plan), which took 130-150 ms to free at once."""
    async for _ in sliced(range(len(items)), slice_s=slice_s):
        items.pop()


async def finish(steps: Generator[None, None, T]) -> T:
    """Run `steps` to its end, the event loop running whatever is ready between two; its
    return value (a fold cut into steps: `HotlistBook.changes_in_steps`)."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            result: T = done.value
            return result
        await asyncio.sleep(0)
