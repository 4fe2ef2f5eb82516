"""Per-camera aggregates for the API's camera health, and first contacts for its rollout report,
published on the gateway's own topic (gateway events).

- counts records (no `kind`): per camera and minute, the reads this gateway accepted (count,
  first and last seen, confidence, images, own read ids, a clock-skew sketch) and the reads it
  rejected or dropped as duplicates (`ingest.camerastats`). The API's health tracker sums the
  records of every gateway and never decodes the reads topic;
- `"kind": "contact"`: requests naming a registered camera from one caller (`requests`, how
  many were `refused`), for the rollout report; never counted against the camera's health.

Everything is aggregated in memory and flushed every second (a supervised periodic task), off
the request path: losing a second of these counts on a crash is acceptable, slowing the
camera's acknowledgement is not. Counts that could not be published are kept for the next flush.
"""

from __future__ import annotations

import logging

from anpr.bus.base import Bus, Message
from anpr.clock import now_ms
from anpr.codecs import GATEWAY_EVENTS
from anpr.errors import AnprError
from anpr.reads import ReadRecord
from anpr.timeslice import sliced
from ingest.camerastats import AggregateKey, CameraAggregates, CameraCounts

log = logging.getLogger(__name__)

# Records per publish of a flush (a gateway with 2,000 cameras sends 4,000 a second).
FLUSH_PART = 1000

# (camera_id, caller) -> [first request at, requests, refused]
Contacts = dict[tuple[str, str], list[int]]


class GatewayEvents:
    def __init__(self, bus: Bus, topic: str) -> None:
        self._bus = bus
        self._topic = topic
        self._counts = CameraAggregates()
        # First contact for the rollout report, counted against the caller (never against the
        # camera's health).
        self._contacts: Contacts = {}

    def accepted(self, reads: list[ReadRecord]) -> None:
        """Reads made durable on the reads topic."""
        self._counts.add_reads(reads)

    def rejected(self, camera_id: str, reason: str, detail: str | None = None) -> None:
        at = now_ms()
        self._counts.at(camera_id, at).add_rejected(at, reason, detail)

    def contact(self, camera_id: str, caller: str, *, refused: bool, reads: int = 1) -> None:
        """`reads` reads of a request named a registered camera (accepted, rejected or refused:
        a request's reads of one camera are all refused or none)."""
        entry = self._contacts.get((camera_id, caller))
        if entry is None:
            entry = self._contacts[(camera_id, caller)] = [now_ms(), 0, 0]
        entry[1] += reads
        if refused:
            entry[2] += reads

    def duplicate(self, camera_id: str) -> None:
        at = now_ms()
        self._counts.at(camera_id, at).add_duplicate(at)

    def _count_message(self, key: AggregateKey, found: CameraCounts) -> Message:
        camera_id = key[0]
        value = {"v": 1, "camera_id": camera_id, **found.fields()}
        return Message(self._topic, camera_id.encode(), GATEWAY_EVENTS.encode(value))  # type: ignore[arg-type]

    def _contact_message(self, key: tuple[str, str], entry: list[int]) -> Message:
        (camera_id, caller), (first, requests, refused) = key, entry
        value = {
            "v": 1,
            "kind": "contact",
            "camera_id": camera_id,
            "caller": caller,
            "at": first,
            "requests": requests,
            "refused": refused,
        }
        return Message(self._topic, camera_id.encode(), GATEWAY_EVENTS.encode(value))  # type: ignore[arg-type]

    async def flush(self) -> None:
        """Publish what was gathered since the last flush; what could not be published is kept
        and the error raised (the supervisor retries).

        In parts of `FLUSH_PART` records, each encoded in slices (`anpr.timeslice`): at 10,000
        cameras a flush is 20,000 records, which held the gateway's loop, and the cameras'
        requests with it, for 260-330 ms a second in one piece. A part is published or kept
        whole, so a failure never publishes a count twice."""
        if not (self._counts or self._contacts):
            return
        counts = sorted(self._counts.take().items())
        contacts, self._contacts = sorted(self._contacts.items()), {}
        parts: list[tuple[list[tuple[AggregateKey, CameraCounts]], Contacts]] = [
            (counts[n : n + FLUSH_PART], {}) for n in range(0, len(counts), FLUSH_PART)
        ]
        parts += [
            ([], dict(contacts[n : n + FLUSH_PART])) for n in range(0, len(contacts), FLUSH_PART)
        ]
        for done, (part_counts, part_contacts) in enumerate(parts):
            try:
                messages = [self._count_message(*item) async for item in sliced(part_counts)]
                messages += [
                    self._contact_message(*item) async for item in sliced(part_contacts.items())
                ]
                await self._bus.publish(messages, timeout_s=10.0)
            except BaseException:
                for kept_counts, kept_contacts in parts[done:]:
                    self._restore(dict(kept_counts), kept_contacts)
                raise

    def _restore(self, counts: dict[AggregateKey, CameraCounts], contacts: Contacts) -> None:
        self._counts.restore(counts)
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
