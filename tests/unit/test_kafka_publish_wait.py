"""The wait of a Kafka publish (`anpr.bus.kafka._all_settled`): done once every record's future
is, and a publish given up (its timeout cancels the wait) cancels none of its records, whose
outcomes are still followed for `landed_late`."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from anpr.bus.kafka import _all_settled


async def test_done_once_every_future_is_even_when_one_appears_twice() -> None:
    loop = asyncio.get_running_loop()
    first: asyncio.Future[Any] = loop.create_future()
    second: asyncio.Future[Any] = loop.create_future()
    waiter = _all_settled([first, second, first])  # a shared batch's future, once per record
    first.set_result(None)
    await asyncio.sleep(0)
    assert not waiter.done()
    second.set_exception(RuntimeError("refused"))
    await asyncio.wait_for(waiter, 1.0)
    assert second.exception() is not None


async def test_done_at_once_when_every_future_is() -> None:
    settled: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    settled.set_result(None)
    assert _all_settled([settled]).done()
    assert _all_settled([]).done()


async def test_a_wait_given_up_cancels_no_record() -> None:
    record: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            await _all_settled([record])
    assert not record.cancelled()
    record.set_result(None)  # stored after all: its outcome is still there to follow
    await asyncio.sleep(0)
    assert record.result() is None
