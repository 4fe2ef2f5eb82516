"""Read-your-writes: wait, bounded, until this replica's own view shows a write it published.

The registry and hotlist views are folds of compacted topics, updated by followers; a route that
publishes a change waits here for its follower to apply it, so a GET right after the write sees
it. The wait is bounded: past it the write is still durable and the answer still a success.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class ChangeSignal:
    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def wait_for(self, predicate: Callable[[], bool], timeout_s: float) -> bool:
        """True once `predicate()` holds; False if it still does not after `timeout_s`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            event = self._event
            if predicate():
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                return predicate()
