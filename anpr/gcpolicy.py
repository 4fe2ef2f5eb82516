"""Garbage-collector policy for long-running services.

A matcher holds a hotlist index of millions of objects and the API a large hit store cache;
CPython's full collections would walk all of them, pausing the event loop for tens to hundreds
of milliseconds, which shows up directly as alert latency. Once a process has loaded its
long-lived state, `freeze_long_lived` moves everything alive into the permanent generation so
collections only walk objects created since. Reference counting still frees acyclic garbage.
"""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger(__name__)


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
