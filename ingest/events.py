"""Per-camera counts of rejected and duplicate reads, published for the API's camera health.

Counts are aggregated in memory and flushed every few seconds to the gateway-events topic, off
the request path: losing a few seconds of these counts on a crash is acceptable, slowing the
camera's acknowledgement is not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter, defaultdict

import orjson

from anpr.bus.base import Bus, Message
from anpr.clock import now_ms
from anpr.errors import AnprError

log = logging.getLogger(__name__)


class GatewayEvents:
    def __init__(self, bus: Bus, topic: str, *, flush_s: float) -> None:
        self._bus = bus
        self._topic = topic
        self._flush_s = flush_s
        self._rejected: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self._duplicates: Counter[str] = Counter()
        self._task: asyncio.Task[None] | None = None

    def rejected(self, camera_id: str, reason: str) -> None:
        self._rejected[camera_id][reason] += 1

    def duplicate(self, camera_id: str) -> None:
        self._duplicates[camera_id] += 1

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="gateway-events")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._flush_s)
            await self.flush()

    async def flush(self) -> None:
        cameras = set(self._rejected) | set(self._duplicates)
        if not cameras:
            return
        at = now_ms()
        messages = [
            Message(
                self._topic,
                camera_id.encode(),
                orjson.dumps(
                    {
                        "v": 1,
                        "camera_id": camera_id,
                        "at": at,
                        "rejected": sum(self._rejected[camera_id].values()),
                        "rejected_by_reason": dict(self._rejected[camera_id]),
                        "duplicates": self._duplicates[camera_id],
                    }
                ),
            )
            for camera_id in sorted(cameras)
        ]
        self._rejected.clear()
        self._duplicates.clear()
        try:
            await self._bus.publish(messages, timeout_s=10.0)
        except AnprError as exc:
            log.warning("gateway events not published (%d cameras): %s", len(messages), exc)
