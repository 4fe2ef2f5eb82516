"""Per-camera counts of rejected and duplicate reads, published for the API's camera health.

Counts are aggregated in memory and flushed every few seconds (a supervised periodic task) to
the gateway-events topic, off the request path: losing a few seconds of these counts on a crash
is acceptable, slowing the camera's acknowledgement is not. Counts that could not be published
are kept for the next flush.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict

from anpr.bus.base import Bus, Message
from anpr.clock import now_ms
from anpr.codecs import GATEWAY_EVENTS
from anpr.errors import AnprError

log = logging.getLogger(__name__)


class GatewayEvents:
    def __init__(self, bus: Bus, topic: str) -> None:
        self._bus = bus
        self._topic = topic
        self._rejected: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self._duplicates: Counter[str] = Counter()

    def rejected(self, camera_id: str, reason: str) -> None:
        self._rejected[camera_id][reason] += 1

    def duplicate(self, camera_id: str) -> None:
        self._duplicates[camera_id] += 1

    async def flush(self) -> None:
        """Publish the counts gathered since the last flush; on failure they are kept and the
        error raised (the supervisor retries)."""
        cameras = set(self._rejected) | set(self._duplicates)
        if not cameras:
            return
        at = now_ms()
        rejected, duplicates = self._rejected, self._duplicates
        self._rejected, self._duplicates = defaultdict(Counter), Counter()
        messages = [
            Message(
                self._topic,
                camera_id.encode(),
                GATEWAY_EVENTS.encode(
                    {
                        "v": 1,
                        "camera_id": camera_id,
                        "at": at,
                        "rejected": sum(rejected[camera_id].values()),
                        "rejected_by_reason": dict(rejected[camera_id]),
                        "duplicates": duplicates[camera_id],
                    }
                ),
            )
            for camera_id in sorted(cameras)
        ]
        try:
            await self._bus.publish(messages, timeout_s=10.0)
        except BaseException:
            for camera_id, reasons in rejected.items():
                self._rejected[camera_id].update(reasons)
            self._duplicates.update(duplicates)
            raise

    async def flush_on_stop(self) -> None:
        try:
            await self.flush()
        except AnprError as exc:
            log.warning("gateway events not published at stop: %s", exc)
