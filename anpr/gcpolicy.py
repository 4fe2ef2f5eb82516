"""Garbage-collector policy for long-running services.

A matcher holds a hotlist index of millions of objects and the API a large hit store cache;
CPython's full collections would walk all of them, pausing the event loop for tens to hundreds
of milliseconds, which shows up directly as alert latency. Once a process has loaded its
long-lived state, `freeze_long_lived` moves everything alive into the permanent generation so
collections only walk objects created since. Reference counting still frees acyclic garbage.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

# How often a follower of a topic that builds large state in bulk (the hotlists) freezes what it
# built: a 1M-entry upload is folded in 50 pause-free freezes.
BULK_FREEZE_RECORDS = 20_000


def freeze_arrivals() -> None:
    """Freeze what is alive now without collecting first: no pause.

    For state arriving in bulk (a hotlist upload, folded record by record): without it each full
    collection during the fold walked everything staged so far, and the collector ran about ten
    of them over a 1M-entry upload, each longer than the last (up to 320 ms in the API). Frozen
    objects are still freed by reference counting when dropped; only cyclic garbage that is
    already unreachable at this instant stays until the process ends, and a fold makes little.
    """
    gc.freeze()


def freezing(items: Iterable[T], *, every: int = BULK_FREEZE_RECORDS) -> Iterator[T]:
    """`items`, what is alive frozen (`freeze_arrivals`) after each `every` of them.

    For bulk work on a worker thread (an upload parsed, a replacement planned): a full
    collection holds the GIL, the event loop's thread waiting, while it walks every container
    not frozen, the work's own lists and sets of a million items included (50-430 ms each
    during a 1M-entry upload).
    """
    for count, item in enumerate(items, 1):
        yield item
        if count % every == 0:
            freeze_arrivals()


# Allocations of containers between two collections of the young generation (CPython: 700).
YOUNG_THRESHOLD = 10_000


@contextlib.contextmanager
def young_collected_less_often() -> Iterator[None]:
    """The young generation collected after `YOUNG_THRESHOLD` allocations instead of 700, while
    the block runs (the gateway's life).

    A gateway request makes a few containers per read (the read's dict, its record, its
    message) that stay alive across the broker's round trip: at 700 the collector ran about 260
    young collections a second under batches of 100 and walked them each time, 4 % of the
    gateway's CPU (`anpr_gc_pause_seconds`). At 10,000 the gateway ran 5-12 % more requests
    per CPU-second (docs/performance.md). Reference counting still frees what is not in a
    cycle at once; cyclic garbage waits a little longer."""
    young, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
    try:
        yield
    finally:
        now = gc.get_threshold()
        gc.set_threshold(young, now[1], now[2])


def freeze_long_lived(reason: str) -> None:
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    log.info(
        "gc: %d objects frozen after %s (%.0f ms)",
        gc.get_freeze_count(),
        reason,
        (time.perf_counter() - started) * 1000,
    )
