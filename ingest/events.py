"""Per-camera counts of rejected and duplicate reads, published for the API's camera health,
and first contacts (`"kind": "contact"`: a request naming a registered camera, with its caller
and how many were refused) for the API's rollout report. Contact records carry no `rejected`
count, so camera health is never degraded by what another caller sent.

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
        self._details: defaultdict[str, Counter[str]] = defaultdict(Counter)
        # (camera_id, caller) -> [first request at, requests, refused]: first contact for the
        # rollout report, counted against the caller (never against the camera's health).
        self._contacts: dict[tuple[str, str], list[int]] = {}
        self._task: asyncio.Task[None] | None = None

    def rejected(self, camera_id: str, reason: str, detail: str | None = None) -> None:
        self._rejected[camera_id][reason] += 1
        if detail is not None:
            self._details[camera_id][detail] += 1

    def contact(self, camera_id: str, caller: str, *, refused: bool) -> None:
        """A request named a registered camera (accepted, rejected or refused)."""
        entry = self._contacts.get((camera_id, caller))
        if entry is None:
            entry = self._contacts[(camera_id, caller)] = [now_ms(), 0, 0]
        entry[1] += 1
        entry[2] += int(refused)

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

    def _contact_messages(self) -> list[Message]:
        out = [
            Message(
                self._topic,
                camera_id.encode(),
                orjson.dumps(
                    {
                        "v": 1,
                        "kind": "contact",
                        "camera_id": camera_id,
                        "caller": caller,
                        "at": first,
                        "requests": requests,
                        "refused": refused,
                    }
                ),
            )
            for (camera_id, caller), (first, requests, refused) in sorted(self._contacts.items())
        ]
        self._contacts.clear()
        return out

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._flush_s)
            await self.flush()

    async def flush(self) -> None:
        cameras = set(self._rejected) | set(self._duplicates)
        contacts = self._contact_messages()
        if not cameras and not contacts:
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
                        "rejected_by_detail": dict(self._details[camera_id]),
                    }
                ),
            )
            for camera_id in sorted(cameras)
        ]
        messages.extend(contacts)
        self._rejected.clear()
        self._duplicates.clear()
        self._details.clear()
        try:
            await self._bus.publish(messages, timeout_s=10.0)
        except AnprError as exc:
            log.warning("gateway events not published (%d cameras): %s", len(messages), exc)
