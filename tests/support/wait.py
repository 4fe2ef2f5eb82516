"""Waiting on conditions, never on fixed sleeps: `await until(lambda: ..., timeout_s=...)`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


async def until(condition: Callable[[], object], timeout_s: float = 5.0) -> None:
    """Return as soon as `condition()` is true; `AssertionError` after `timeout_s`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        if condition():
            return
        await asyncio.sleep(0.005)
    if not condition():
        raise AssertionError(f"condition not reached within {timeout_s} s")


async def until_async(check: Callable[[], Awaitable[object]], timeout_s: float = 5.0) -> None:
    """`until` for a condition that must be awaited (an HTTP call, a query)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not await check():
        if loop.time() >= deadline:
            raise AssertionError(f"condition not reached within {timeout_s} s")
        await asyncio.sleep(0.02)
