"""Frigate NVR licence-plate results, as an MQTT-to-HTTP bridge forwards them.

Two MQTT topics carry plates (docs.frigate.video/integrations/mqtt and
/configuration/license_plate_recognition):

- `frigate/events`: `{"type": "new"|"update"|"end", "before": {...}, "after": {...}}`; a car's
  `after.recognized_license_plate` (and `_score`, 0-1) once a plate was read. Frigate sends an
  update whenever the object changes, so one car gives several messages with the same plate.
- `frigate/tracked_object_update`: `{"type": "lpr", "id", "camera", "plate", "score",
  "timestamp", "name"}`; `plate` null (no `id`) when the camera's last car has left.

The body is the MQTT message as published, or a bridge's `{"topic", "payload"}` envelope (Node-RED's
message shape; `payload` as an object or a JSON string), whose topic prefix (`frigate`) names the
Frigate instance. Times are epoch seconds (UTC). Every read of one tracked object and plate gets
the read id `<object id>:<plate>`, so the updates of one car collapse into one read at the gateway.
Anything answered 2xx is delivered.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

import orjson

from anpr.normalize import normalize_plate
from ingest.adapters import fields as f
from ingest.adapters.base import Context, VendorAdapter
from ingest.adapters.result import CanonicalRead, Collector, put

_EVENT_TYPES = frozenset({"new", "update", "end"})


class FrigateAdapter(VendorAdapter):
    name = "frigate"

    def record(self, record: dict[str, Any], ctx: Context, out: Collector) -> None:
        instance = None
        if "payload" in record and "topic" in record:
            topic = f.text(record.get("topic")) or ""
            instance = topic.rsplit("/", 1)[0] if "/" in topic else None
            unwrapped = _payload(record["payload"], out)
            if unwrapped is None:
                return
            record = unwrapped
        kind = f.text(record.get("type"), max_len=64)
        if kind == "lpr":
            _plate_update(record, instance, out)
        elif kind in _EVENT_TYPES and isinstance(record.get("after"), dict):
            _event(record["after"], instance, out)
        elif kind is not None:
            out.notice("type", f"message type {kind[:40]!r} carries no plate read; ignored")
        else:
            out.problem("type", "not a Frigate events or tracked_object_update message")


def vendor_ids(camera: object, instance: str | None) -> list[str]:
    """`frigate:<topic prefix>:<camera>` (when a bridge names the topic), `frigate:<camera>`."""
    name = f.text(camera, max_len=128)
    if name is None:
        return []
    return [f"frigate:{instance}:{name}", f"frigate:{name}"] if instance else [f"frigate:{name}"]


def _payload(raw: object, out: Collector) -> dict[str, Any] | None:
    if isinstance(raw, str):
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            out.problem("payload", f"not valid JSON: {exc}")
            return None
    if not isinstance(raw, dict):
        out.problem("payload", "must be the Frigate message, a JSON object")
        return None
    return raw


def _plate_update(update: dict[str, Any], instance: str | None, out: Collector) -> None:
    plate = f.text(update.get("plate"), max_len=64)
    if plate is None:
        out.notice("plate", "no plate: Frigate clears the camera's plate when the car has left")
        return
    when = f.captured_at(update.get("timestamp"), UTC) or f.captured_at(
        update.get("recognized_license_plate_frame_time"), UTC
    )
    _read(plate, when, update.get("score"), update, instance, out, "timestamp")


def _event(after: dict[str, Any], instance: str | None, out: Collector) -> None:
    found = after.get("recognized_license_plate")
    if isinstance(found, list) and found:  # `[plate, score]`, as Frigate writes sub_label
        after = {**after, "recognized_license_plate_score": found[1] if len(found) > 1 else None}
        found = found[0]
    plate = f.text(found, max_len=64)
    if plate is None:
        label = f.text(after.get("label"), max_len=40) or "object"
        out.notice("after.recognized_license_plate", f"a tracked {label} without a plate; no read")
        return
    when = f.first_time(
        after, ("recognized_license_plate_frame_time", "frame_time", "start_time"), UTC
    )
    score = after.get("recognized_license_plate_score")
    _read(plate, when, score, after, instance, out, "after.frame_time")


def _read(
    plate: str,
    when: str | None,
    score: object,
    source: dict[str, Any],
    instance: str | None,
    out: Collector,
    time_field: str,
) -> None:
    index = out.take_index()
    if when is None:
        out.problem(time_field, "missing or not an epoch time", index)
        return
    read: CanonicalRead = {"captured_at": when, "plate": plate}
    put(read, "read_id", f.read_id(source.get("id"), normalize_plate(plate)))
    put(read, "confidence", f.confidence(score, scale="unit"))
    label = f.label(source.get("label"))
    put(read, "vehicle", f.vehicle(kind=label) if label else None)
    put(read, "images", f.pictures(overview_jpeg_b64=f.inline_jpeg_b64(source.get("thumbnail"))))
    out.add_read(read, vendor_ids(source.get("camera"), instance), index)
