"""A vendor push turned into reads and taken in: the work behind `POST /v1/ingest/{format}`.

The adapter parses the body into canonical reads (parsed again in the camera's zone when the
payload names a camera whose zone differs: times without an offset are its local time); each
read gets its camera, `?camera_id=` or the first of its vendor identities registered in a
camera's `external_ids`; vendor heartbeats are published best effort; the reads go through the
same pipeline as `/v1/reads`. The device is answered what its vendor documents on success, so it
stops resending. Another integrator's camera is never resolved from a vendor id.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from anpr.auth import Principal, Role
from anpr.bus.base import Message
from anpr.clock import now_ms
from anpr.codecs import HEARTBEATS
from anpr.codecs.records import HeartbeatRecord
from anpr.errors import AnprError
from anpr.http import error_body
from anpr.reads import FieldError, parse_time_or_none
from anpr.registry import Camera
from ingest.adapters import Adapter, AdapterResult
from ingest.service import GatewayService

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class VendorPush:
    """One request's body as the adapter takes it."""

    fmt: str
    adapter: Adapter
    body: bytes
    content_type: str | None
    headers: Mapping[str, str]
    camera_id: str | None  # `?camera_id=`

    def parse(self, tz: str | None) -> AdapterResult:
        return self.adapter.parse(self.body, self.content_type, camera_tz=tz, headers=self.headers)


@dataclass(frozen=True, slots=True)
class Answer:
    """What to answer the device: the vendor's own success reply (`payload` bytes of
    `media_type`), or a JSON body (`payload` a dict)."""

    status: int
    payload: bytes | dict[str, object]
    media_type: str | None = None


def _owned(principal: Principal, camera: Camera) -> bool:
    return principal.role is Role.ADMIN or camera.integrator_id == principal.integrator_id


def find_camera(
    service: GatewayService, principal: Principal, camera_id: str | None, vendor_ids: list[str]
) -> Camera | None:
    """The camera `?camera_id=` names, or the caller's camera with one of `vendor_ids`. Another
    integrator's camera is never resolved from a vendor id: its id would be named back."""
    if camera_id:
        return service.registry.cameras.get(camera_id)
    for vendor_id in vendor_ids:
        camera = service.registry.camera_by_external_id(vendor_id)
        if camera is not None and _owned(principal, camera):
            return camera
    return None


def parse_push(service: GatewayService, principal: Principal, push: VendorPush) -> AdapterResult:
    """The adapter's reading of the push, each read in the zone of its own camera; raises the
    adapter's `AdapterError` / `PayloadTooLarge`.

    Times without an offset are the camera's local time. A push may carry reads of several
    cameras (a vendor's site controller), in several zones: the payload is read again in each
    zone its reads' cameras have, and each read taken from the reading in its camera's zone.
    Read in one zone for all (the first read's), a read of another camera got a time hours off,
    and resent alone (read right) another derived read_id: the same read published twice."""
    given = service.registry.cameras.get(push.camera_id) if push.camera_id else None
    given = given if given is not None and _owned(principal, given) else None
    tz = given.timezone if given else None
    result = push.parse(tz)
    if given is not None or not result.reads:
        return result
    parsed_in = tz or "UTC"
    zones: list[str] = []
    for vendor_ids in result.vendor_ids:
        camera = find_camera(service, principal, None, vendor_ids)
        zones.append(camera.timezone if camera is not None else parsed_in)
    readings = {zone: push.parse(zone) for zone in set(zones) - {parsed_in}}
    for position, zone in enumerate(zones):
        reading = readings.get(zone)
        # Positions line up unless a time exists in one zone and not in another (a DST gap
        # made that read a problem there): then the read keeps its first reading.
        if reading is not None and reading.vendor_ids == result.vendor_ids:
            result.reads[position] = reading.reads[position]
    return result


async def publish_heartbeats(
    service: GatewayService, principal: Principal, result: AdapterResult, camera_id: str | None
) -> None:
    """Vendor heartbeats (OpenALPR agents) become camera heartbeats; best effort.

    A beat whose time is outside what a heartbeat may carry (a camera whose clock was never set
    sends 1970 in its own zone, before the epoch) is dropped: its record would not decode, and
    every consumer of the heartbeats topic would set it aside as poison."""
    messages = []
    for beat in result.heartbeats:
        camera = find_camera(service, principal, camera_id, beat["vendor_ids"])
        sent_ms = parse_time_or_none(beat["sent_at"])
        if camera is None or not _owned(principal, camera) or sent_ms is None:
            continue
        record: HeartbeatRecord = {
            "v": 1,
            "camera_id": camera.camera_id,
            "integrator_id": camera.integrator_id,
            "sent_at": beat["sent_at"],
            "sent_at_ms": sent_ms,
            "received_at": now_ms(),
            "status": beat["status"],
        }
        messages.append(
            Message(service.topics.heartbeats, camera.camera_id.encode(), HEARTBEATS.encode(record))
        )
    if messages:
        try:
            await service.bus.publish(messages, timeout_s=service.settings.publish_timeout_s)
        except AnprError as exc:
            log.warning("vendor heartbeats not published: %s", exc)


def _items(
    service: GatewayService, principal: Principal, result: AdapterResult, camera_id: str | None
) -> tuple[list[object], dict[int, FieldError]]:
    """The reads with their camera, and the positions of those no camera was found for."""
    items: list[object] = []
    broken: dict[int, FieldError] = {}
    for position, (read, vendor_ids) in enumerate(result.pairs()):
        camera = find_camera(service, principal, camera_id, vendor_ids)
        item = dict(read)
        if camera is not None:
            item["camera_id"] = camera.camera_id
        elif camera_id:
            item["camera_id"] = camera_id
        else:
            broken[position] = FieldError(
                "camera_id",
                "no camera found: pass ?camera_id= or register one of "
                f"{', '.join(vendor_ids) or '(no vendor id in the payload)'} in a camera's "
                "external_ids",
            )
        items.append(item)
    return items, broken


async def take_in(
    service: GatewayService, principal: Principal, push: VendorPush, result: AdapterResult
) -> Answer:
    """The parsed push taken in: heartbeats published, reads through the pipeline (raises the
    bus's `AnprError` when they could not be published: nothing was accepted)."""
    items, broken = _items(service, principal, result, push.camera_id)
    # Problems concern events that gave no read (an adapter's `index` counts the payload's
    # events, not the reads it produced), so they are counted and logged, never pinned on a read.
    if result.problems:
        service.metrics.reads_rejected.labels("vendor", "unregistered", "unregistered").inc(
            len(result.problems)
        )
        log.info(
            "%s push: %d events not turned into reads: %s",
            push.fmt,
            len(result.problems),
            [(p.get("index"), p["field"]) for p in result.problems[:5]],
        )
    await publish_heartbeats(service, principal, result, push.camera_id)
    status, media, payload = result.success_response
    if not items:
        if result.problems:
            errors = [{"field": p["field"], "message": p["message"]} for p in result.problems]
            return Answer(422, error_body("no read could be taken from the payload", errors))
        return Answer(status, payload, media)
    outcome = await service.pipeline.ingest(principal, items, broken)
    if outcome.status != 202:
        return Answer(outcome.status, outcome.body())
    if outcome.rejected:
        # Positions and field names only: a read_id (Frigate's holds the plate) or a message
        # quoting a value would put personal data in the log.
        log.info(
            "%s push: %d reads rejected: %s",
            push.fmt,
            len(outcome.rejected),
            [(r.index, [e.field for e in r.errors]) for r in outcome.rejected[:5]],
        )
    return Answer(status, payload, media)
