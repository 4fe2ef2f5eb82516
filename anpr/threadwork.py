"""Bulk work on a worker thread without starving the event loop of the GIL.

A hotlist upload is parsed and planned on a worker thread (`asyncio.to_thread`) so that the loop
goes on streaming hits. But the thread holds the GIL, and the loop's thread, each time it gives
the GIL up (a socket call, every SQLite call of the embedded bus and store), waits for the
interpreter's switch interval (5 ms) to take it back: a loop making a few such calls per turn
ran about 30 turns a second while 600,000 entries were parsed, and a hit waited up to 90 ms per
turn behind it (`python -m benchmarks.gil_switch`: loop lag p99 92 ms, against 9 ms with the
interval at 0.5 ms; the parse took as long).

`on_worker` runs a function on a worker thread with the switch interval at `FINE_SWITCH_S`
meanwhile, put back when the last such function ends. The interval is the interpreter's, for
every thread of the process: the work itself pays a few more switches, the loop's latency is
what counts.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

FINE_SWITCH_S = 0.0005


class _Switching:
    """How many `on_worker` functions run, and the interval to put back after the last."""

    def __init__(self) -> None:
        self.running = 0
        self.saved = 0.0

    def enter(self) -> None:
        if self.running == 0:
            self.saved = sys.getswitchinterval()
            sys.setswitchinterval(min(self.saved, FINE_SWITCH_S))
        self.running += 1

    def leave(self) -> None:
        self.running -= 1
        if self.running == 0:
            sys.setswitchinterval(self.saved)


_SWITCHING = _Switching()


async def on_worker(func: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """`asyncio.to_thread(func, ...)`, the GIL handed over more often meanwhile (see above)."""
    _SWITCHING.enter()
    try:
        return await asyncio.to_thread(func, *args, **kwargs)
    finally:
        _SWITCHING.leave()
