"""Plate Recognizer webhooks: Stream (`hook.event` = `recognition`) and Snapshot (`image.done`).

Body: `{"hook": {...}, "data": {"camera_id", "timestamp", "results": [...]}}` as JSON, or as the
`json` field of a `multipart/form-data` body whose `upload` field is the JPEG ("webhook with
image"), or as `json=` of a urlencoded form. One read per entry of `data.results`. Scores are 0-1.

`timestamp` is UTC by the vendor's definition: Snapshot sends it without an offset and is still UTC,
so only `timestamp_local` and `timestamp_camera` without an offset are read in the camera's zone.
Results from `detection_mode=vehicle` (`plate` is an object with `props`) are read too.

Plate Recognizer wants HTTP 200 back; a target that keeps answering errors has its webhook removed
(docs: guides.platerecognizer.com, Snapshot "Webhooks"), and Snapshot sends a webhook for every
image, plates or not: a webhook without plates is not an error.
"""

from __future__ import annotations

from datetime import UTC, tzinfo
from typing import Any

from ingest.adapters import fields as f
from ingest.adapters.base import Context, VendorAdapter
from ingest.adapters.multipart import Part
from ingest.adapters.result import NOT_A_TIME, CanonicalRead, Collector, put

_ORIENTATION = {"front": "approaching", "rear": "receding", "unknown": "unknown"}


class PlateRecognizerAdapter(VendorAdapter):
    name = "platerecognizer"

    def record(self, record: dict[str, Any], ctx: Context, out: Collector) -> None:
        _webhook(record, _upload(ctx.pictures, out), ctx.tz, out)


def vendor_ids(data: dict[str, Any]) -> list[str]:
    """`platerecognizer:<camera_id>` (Stream's camera section name, Snapshot's `camera_id`)."""
    camera = f.text(data.get("camera_id"))
    return [f"platerecognizer:{camera}"] if camera else []


def _upload(pictures: list[Part], out: Collector) -> str | None:
    """The `upload` picture of a webhook with image, as base64 JPEG."""
    for part in pictures:
        if (part.name or "") in ("upload", "image", "file") or (part.filename and not part.name):
            found = f.jpeg_b64(part.data)
            if found is None:
                out.notice(f"multipart.{part.name}", "the uploaded picture is not a JPEG; dropped")
            return found
    return None


def _webhook(record: dict[str, Any], overview: str | None, tz: tzinfo, out: Collector) -> None:
    data = record.get("data")
    if not isinstance(data, dict):
        if "results" not in record:
            out.problem("data", "not a Plate Recognizer webhook: no data object")
            return
        data = record  # a bare recognition response, without the hook envelope
    results = data.get("results")
    if not isinstance(results, list):
        out.problem("data.results", "must be an array of plate results")
        return
    if not results:
        out.notice("data.results", "a recognition without plates (sent for every image)")
        return
    when = _time(data, tz)
    for position, result in enumerate(results):
        index = out.take_index()
        where = f"data.results[{position}]"
        if not isinstance(result, dict):
            out.problem(where, "must be an object", index)
        elif when is None:
            out.problem("data.timestamp", NOT_A_TIME, index)
        else:
            _read(result, where, when, overview, data, out, index)


def _time(data: dict[str, Any], tz: tzinfo) -> str | None:
    for key, zone in (("timestamp", UTC), ("timestamp_local", tz), ("timestamp_camera", tz)):
        found = f.captured_at(data.get(key), zone)
        if found is not None:
            return found
    return None


def _read(
    result: dict[str, Any],
    where: str,
    when: str,
    overview: str | None,
    data: dict[str, Any],
    out: Collector,
    index: int,
) -> None:
    plate_field = result.get("plate")
    if isinstance(plate_field, dict):  # detection_mode=vehicle
        props = f.obj(plate_field.get("props"))
        options = f.objs(props.get("plate"))
        plate = f.text(options[0].get("value"), max_len=64) if options else None
        score: object = options[0].get("score") if options else plate_field.get("score")
        region: object = _first(props.get("region")).get("value")
        alternatives = [
            (o.get("value"), f.confidence(o.get("score"), scale="unit")) for o in options
        ]
    else:
        plate = f.text(plate_field, max_len=64)
        score = result.get("score")
        region = f.obj(result.get("region")).get("code")
        alternatives = [
            (c.get("plate"), f.confidence(c.get("score"), scale="unit"))
            for c in f.objs(result.get("candidates"))
        ]
    if plate is None:
        if plate_field is None and isinstance(result.get("vehicle"), dict):
            out.notice(f"{where}.plate", "a vehicle without a readable plate; no read", index)
        else:
            out.problem(f"{where}.plate", "missing or empty: a read needs a plate", index)
        return
    read: CanonicalRead = {"captured_at": when, "plate": plate}
    put(read, "confidence", f.confidence(score, scale="unit"))
    put(read, "country", f.country(region))
    put(read, "candidates", f.candidates(plate, alternatives) or None)
    vehicle = f.obj(result.get("vehicle"))
    props = f.obj(vehicle.get("props"))
    make_model = _first(result.get("model_make")) or _first(props.get("make_model"))
    color = _first(result.get("color")) or _first(props.get("color"))
    orientation = _first(result.get("orientation")) or _first(props.get("orientation"))
    put(
        read,
        "vehicle",
        f.vehicle(
            make=make_model.get("make"),
            model=make_model.get("model"),
            color=color.get("color", color.get("value")),
            kind=vehicle.get("type"),
        ),
    )
    facing = f.text(orientation.get("orientation", orientation.get("value")))
    put(read, "direction", _ORIENTATION.get(facing.lower()) if facing else None)
    if overview:
        read["images"] = {"overview_jpeg_b64": overview}
    out.add_read(read, vendor_ids(data), index)


def _first(options: object) -> dict[str, Any]:
    """The most likely option of a scored list (the vendor sorts them best first)."""
    found = f.objs(options)
    return found[0] if found else {}
