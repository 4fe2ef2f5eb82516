"""Per-camera counts of rejected and duplicate reads, published for the API's camera health,
and first contacts (`"kind": "contact"`: a request naming a registered camera, with its caller
and how many were refused) for the API's rollout report. Contact records carry no `rejected`
count, so camera health is never degraded by what another caller sent.

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

# (camera_id, caller) -> [first request at, requests, refused]
Contacts = dict[tuple[str, str], list[int]]


class GatewayEvents:
    def __init__(self, bus: Bus, topic: str) -> None:
        self._bus = bus
        self._topic = topic
        self._rejected: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self._duplicates: Counter[str] = Counter()
        self._details: defaultdict[str, Counter[str]] = defaultdict(Counter)
        # First contact for the rollout report, counted against the caller (never against the
        # camera's health).
        self._contacts: Contacts = {}

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

    def _messages(
        self,
        rejected: defaultdict[str, Counter[str]],
        duplicates: Counter[str],
        details: defaultdict[str, Counter[str]],
        contacts: Contacts,
    ) -> list[Message]:
        at = now_ms()
        counts = [
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
                        "rejected_by_detail": dict(details[camera_id]),
                    }
                ),
            )
            for camera_id in sorted(set(rejected) | set(duplicates))
        ]
        firsts = [
            Message(
                self._topic,
                camera_id.encode(),
                GATEWAY_EVENTS.encode(
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
            for (camera_id, caller), (first, requests, refused) in sorted(contacts.items())
        ]
        return counts + firsts

    async def flush(self) -> None:
        """Publish what was gathered since the last flush; on failure it is kept and the error
        raised (the supervisor retries)."""
        if not (self._rejected or self._duplicates or self._contacts):
            return
        rejected, duplicates, details, contacts = (
            self._rejected,
            self._duplicates,
            self._details,
            self._contacts,
        )
        self._rejected, self._duplicates = defaultdict(Counter), Counter()
        self._details, self._contacts = defaultdict(Counter), {}
        try:
            await self._bus.publish(
                self._messages(rejected, duplicates, details, contacts), timeout_s=10.0
            )
        except BaseException:
            self._restore(rejected, duplicates, details, contacts)
            raise

    def _restore(
        self,
        rejected: defaultdict[str, Counter[str]],
        duplicates: Counter[str],
        details: defaultdict[str, Counter[str]],
        contacts: Contacts,
    ) -> None:
        for camera_id, reasons in rejected.items():
            self._rejected[camera_id].update(reasons)
        for camera_id, words in details.items():
            self._details[camera_id].update(words)
        self._duplicates.update(duplicates)
        for key, (first, requests, refused) in contacts.items():
            now = self._contacts.get(key)
            if now is None:
                self._contacts[key] = [first, requests, refused]
            else:
                self._contacts[key] = [min(first, now[0]), now[1] + requests, now[2] + refused]

    async def flush_on_stop(self) -> None:
        try:
            await self.flush()
        except AnprError as exc:
            log.warning("gateway events not published at stop: %s", exc)
