"""The ingest pipeline shared by `/v1/reads` and the vendor adapters: validate, check the camera
belongs to the caller, drop duplicates, publish durably, count."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from anpr.auth import Principal, Role
from anpr.bus.base import Bus, LandedLate, Message
from anpr.clock import now_ms
from anpr.codecs import READS
from anpr.errors import BusUnavailable
from anpr.reads import FieldError, ReadLimits, ReadRecord, validate_read
from anpr.readshape import ReadShape, as_sent
from anpr.registry import RegistryView
from ingest.dedup import DedupKey, Publishing, RecentReads
from ingest.events import GatewayEvents
from ingest.keys_outbox import KeysOutbox
from ingest.metrics import UNREGISTERED, GatewayMetrics
from ingest.rejections import detail_of

REASONS = frozenset({
    "read", "read_id", "camera_id", "captured_at", "plate", "country", "confidence",
    "candidates", "direction", "lane", "vehicle", "images", "location", "body", "camera",
})  # fmt: skip
_ROOT = re.compile(r"^[a-z_]+")


def reason_of(errors: Sequence[FieldError]) -> str:
    match = _ROOT.match(errors[0].field) if errors else None
    root = match.group(0) if match else "other"
    return root if root in REASONS else "other"


@dataclass(slots=True)
class Rejection:
    index: int
    read_id: str | None
    errors: list[FieldError]
    forbidden: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "index": self.index,
            "read_id": self.read_id,
            "errors": [e.as_dict() for e in self.errors],
        }


@dataclass(slots=True)
class IngestOutcome:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    read_ids: list[str] = field(default_factory=list)

    @property
    def status(self) -> int:
        if self.accepted or self.duplicates:
            return 202
        if self.rejected and all(r.forbidden for r in self.rejected):
            return 403
        return 422

    def body(self) -> dict[str, object]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": [r.as_dict() for r in self.rejected],
        }


class IngestPipeline:
    def __init__(
        self,
        *,
        bus: Bus,
        topic: str,
        registry: RegistryView,
        recent: RecentReads,
        metrics: GatewayMetrics,
        events: GatewayEvents,
        retention_ms: int,
        publish_timeout_s: float,
        keys: KeysOutbox | None = None,
    ) -> None:
        self._bus = bus
        self._topic = topic
        self._registry = registry
        self._recent = recent
        self._metrics = metrics
        self._events = events
        self._retention_ms = retention_ms
        self._timeout = publish_timeout_s
        self._keys = keys  # None: no other gateway to tell (and no keys topic)

    def _check_camera(
        self, principal: Principal, camera_id: object
    ) -> tuple[str, FieldError | None]:
        """The integrator the read belongs to, or why the caller may not push it.

        An unregistered camera and another integrator's camera get the same answer, so camera
        ids cannot be probed (issue 11, item 3)."""
        if not isinstance(camera_id, str):
            return "", None  # validate_read names the missing camera_id
        camera = self._registry.cameras.get(camera_id)
        if camera is None or (
            principal.role is not Role.ADMIN and camera.integrator_id != principal.integrator_id
        ):
            return "", not_yours(camera_id)
        return camera.integrator_id, None

    async def ingest(
        self,
        principal: Principal,
        items: Sequence[object],
        broken: dict[int, FieldError] | None = None,
    ) -> IngestOutcome:
        """Accept what can be accepted; raises `BusUnavailable` when Kafka cannot take it."""
        received = now_ms()
        limits = ReadLimits(now_ms=received, retention_ms=self._retention_ms)
        outcome = IngestOutcome()
        fresh: dict[DedupKey, ReadRecord] = {}
        waiting: dict[DedupKey, tuple[ReadRecord, Publishing]] = {}
        broken = broken or {}
        caller = principal.integrator_id or principal.role.value
        # Per camera named, once a request: its owner or why not, and whether it is registered.
        cameras: dict[str, tuple[str, FieldError | None, bool]] = {}
        contacts: dict[str, int] = {}  # registered cameras named: reads
        for index, raw in enumerate(items):
            if index in broken:
                self._reject(outcome, index, None, [broken[index]], "", caller)
                continue
            named, raw_id = sent_ids(raw)
            if isinstance(named, str):
                camera = cameras.get(named)
                if camera is None:
                    owned_by, refusal = self._check_camera(principal, named)
                    registered = named in self._registry.cameras
                    camera = cameras[named] = (owned_by, refusal, registered)
                integrator_id, camera_error, registered = camera
                if registered:
                    contacts[named] = contacts.get(named, 0) + 1
            else:
                integrator_id, camera_error = self._check_camera(principal, named)
            checked = validate_read(
                raw, integrator_id=integrator_id, received_at_ms=received, limits=limits
            )
            read_id = raw_id if isinstance(raw_id, str) else None
            if camera_error is not None or isinstance(checked, list):
                errors = [camera_error] if camera_error else []
                if isinstance(checked, list):
                    errors.extend(e for e in checked if e.field != "camera_id" or not camera_error)
                # A read for the caller's own camera counts against that camera; any other
                # (unregistered, foreign, no camera_id) only against the caller.
                own = str(named) if camera_error is None and integrator_id else ""
                self._reject(
                    outcome,
                    index,
                    read_id,
                    errors,
                    own,
                    caller,
                    forbidden=camera_error is not None,
                    raw=as_sent(raw) if isinstance(raw, ReadShape) else raw,
                )
                continue
            key: DedupKey = (checked["camera_id"], checked["read_id"])
            pending = self._recent.in_flight(key)
            if key in fresh or key in waiting or self._recent.seen(key):
                self._duplicate(outcome, checked)
            elif pending is not None:
                waiting[key] = (checked, pending)
            else:
                fresh[key] = checked

        for camera_id, reads in contacts.items():
            refused = cameras[camera_id][1] is not None
            self._events.contact(camera_id, caller, refused=refused, reads=reads)

        # From here the fresh reads are ours: a copy sent meanwhile waits for this request.
        publishing = self._recent.begin(fresh) if fresh else None
        published = False
        try:
            # A copy being published by another request: this one is its duplicate once it is
            # stored; if it fails, this request fails as it did.
            for record, pending in waiting.values():
                await self._copy_stored(pending)
                self._duplicate(outcome, record)
            if fresh:
                await self._publish(fresh)
                published = True
        finally:
            if publishing is not None:
                self._recent.finish(publishing, fresh, published=published)
        if fresh:
            records = list(fresh.values())
            outcome.accepted = len(records)
            self._events.accepted(records)
            # Plain dicts, not `Counter`s: two of those per request were 1-2 µs of a single read.
            per_camera: dict[tuple[str, str], int] = {}
            non_latin: dict[tuple[str, str], int] = {}
            read_ids = outcome.read_ids
            for record in records:
                read_ids.append(record["read_id"])
                owner = (record["camera_id"], record["integrator_id"])
                per_camera[owner] = per_camera.get(owner, 0) + 1
                if not record["plate_norm"].isascii():
                    non_latin[owner] = non_latin.get(owner, 0) + 1
            # One labelled update per camera, not per read: label lookups cost microseconds.
            for (camera_id, integrator_id), count in per_camera.items():
                self._metrics.reads_accepted.labels(camera_id, integrator_id).inc(count)
            for (camera_id, integrator_id), count in non_latin.items():
                self._metrics.reads_non_latin.labels(camera_id, integrator_id).inc(count)
        self._metrics.dedup_entries.set(len(self._recent))
        return outcome

    async def _copy_stored(self, pending: Publishing) -> None:
        """Wait for the copy another request is publishing to be stored: `CopyNotPublished`
        (503) when its publish failed, `BusUnavailable` when it takes longer than this
        request's own publish may."""
        try:
            async with asyncio.timeout(self._timeout):
                await asyncio.shield(pending.outcome())
        except TimeoutError:
            raise BusUnavailable(
                f"a copy of a read in it, sent by another request, was still being stored after "
                f"{self._timeout:g} s"
            ) from None

    async def _publish(self, fresh: dict[DedupKey, ReadRecord]) -> None:
        """Publish the fresh reads (registered in flight by the caller); once Kafka has them,
        their keys go to the other gateways (`ingest.keys_outbox`: after the reads, never with
        them, so no key is published for a read Kafka did not store)."""
        messages = [
            Message(
                self._topic,
                record["camera_id"].encode(),
                READS.encode(record),
                (("read_id", record["read_id"].encode()),),
            )
            for record in fresh.values()
        ]
        keys = list(fresh)
        started = time.perf_counter()
        await self._bus.publish(messages, timeout_s=self._timeout, landed_late=self._late(keys))
        self._metrics.produce_seconds.observe(time.perf_counter() - started)
        if self._keys is not None:
            self._keys.add(keys)

    def _late(self, keys: list[DedupKey]) -> LandedLate:
        """For a publish that failed (answered 503) but whose reads Kafka stored after all: they
        are known from then on, here and at the other gateways, so a resend is a duplicate."""

        def landed(indices: Sequence[int]) -> None:
            stored = [keys[i] for i in indices]
            self._recent.add(stored)
            if self._keys is not None:
                self._keys.add(stored)
            self._metrics.reads_stored_late.inc(len(stored))

        return landed

    def _duplicate(self, outcome: IngestOutcome, record: ReadRecord) -> None:
        outcome.duplicates += 1
        self._metrics.reads_duplicate.labels(record["camera_id"], record["integrator_id"]).inc()
        self._events.duplicate(record["camera_id"])

    def _reject(
        self,
        outcome: IngestOutcome,
        index: int,
        read_id: str | None,
        errors: list[FieldError],
        camera_id: str,
        caller: str,
        *,
        forbidden: bool = False,
        raw: object = None,
    ) -> None:
        """Record a rejection: against `camera_id` (and its camera health) when it is the
        caller's own camera, else against the caller only."""
        outcome.rejected.append(Rejection(index, read_id, errors, forbidden))
        reason = reason_of(errors)
        integrator = self._registry.cameras[camera_id].integrator_id if camera_id else caller
        self._metrics.reads_rejected.labels(
            reason, camera_id or UNREGISTERED, integrator or UNREGISTERED
        ).inc()
        if camera_id:
            self._events.rejected(camera_id, reason, detail_of(errors, raw))


def sent_ids(raw: object) -> tuple[object, object]:
    """The `camera_id` and `read_id` a submitted read names (each None when it has none)."""
    if type(raw) is ReadShape:
        return raw.camera_id, raw.read_id
    if isinstance(raw, dict):
        return raw.get("camera_id"), raw.get("read_id")
    return None, None


def not_yours(camera_id: str) -> FieldError:
    """The one answer for a camera that is not registered, or not to the caller."""
    return FieldError("camera_id", f"camera {camera_id!r} is not registered to you")
