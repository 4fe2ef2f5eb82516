"""AXIS License Plate Verifier (ACAP) HTTP push events.

One JSON object per event, bare or as the JSON part of a multipart POST whose other part is the
picture named by `imageType` (`plate` crop or `roi` frame). The ACAP sends an event when a car is
first seen (`carState` `new`), when its plate or direction changes (`update`) and when it has left
(`lost`); each event is a read. `capture_timestamp` is epoch ms (as a string), `datetime` the
camera's wall clock (`20210611 130538252`), `plateCountry` ISO alpha-3, `plateConfidence` 0-1,
`carMoveDirection` `in` (towards the camera) or `out`. The ACAP takes any 2xx as delivered.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from ingest.adapters import fields as f
from ingest.adapters.base import Context, VendorAdapter
from ingest.adapters.multipart import Part
from ingest.adapters.result import Collector, put

_DIRECTIONS = {
    "in": "approaching",
    "approaching": "approaching",
    "out": "receding",
    "departing": "receding",
    "leaving": "receding",
    "receding": "receding",
    "unknown": "unknown",
    "undefined": "unknown",
}
_PLATE_KEYS = ("plateUTF8", "plateUnicode", "plateText", "plateASCII")  # best encoding first
_PLATE_NAMES = ("lp", "plate")
_TIME_KEYS = ("capture_timestamp", "capture_ts", "datetime")
_OVERVIEW_NAMES = ("roi", "frame", "full", "overview", "car", "vehicle", "scene")


class AxisAdapter(VendorAdapter):
    name = "axis"

    def record(self, record: dict[str, Any], ctx: Context, out: Collector) -> None:
        _event(record, ctx.pictures, ctx.tz, out)


def vendor_ids(event: dict[str, Any]) -> list[str]:
    """`axis:<serial>`: the serial number, which on Axis devices is the MAC's 12 hex digits."""
    info = f.obj(event.get("camera_info"))
    serial = f.text(info.get("SerialNumber"), max_len=64)
    ids = [f"axis:{serial.upper()}"] if serial else []
    mac = f.mac12(info.get("MACAddress"))
    if mac:
        ids.append(f"axis:{mac}")
    return list(dict.fromkeys(ids))


def _event(event: dict[str, Any], pictures: list[Part], tz: tzinfo, out: Collector) -> None:
    index = out.take_index()
    plate = next(filter(None, (f.text(event.get(k), max_len=64) for k in _PLATE_KEYS)), None)
    when = f.first_time(event, _TIME_KEYS, tz)
    read = out.begin(index, ("plateText", plate), (f.time_field(event, _TIME_KEYS), when))
    if read is None:
        return
    put(read, "confidence", f.confidence(event.get("plateConfidence"), scale="unit"))
    put(read, "country", f.country(event.get("plateCountry")))
    direction = (f.text(event.get("carMoveDirection")) or "").lower()
    put(read, "direction", _DIRECTIONS.get(direction))
    kind = event.get("vehicleType", event.get("carType"))
    color = event.get("carColor", event.get("vehicleColor"))
    put(read, "vehicle", f.vehicle(color=color, kind=kind))
    geotag = f.obj(event.get("geotag"))
    put(read, "location", f.location(geotag.get("lat"), geotag.get("lon")))
    put(read, "images", _images(event, pictures, out, index) or None)
    out.add_read(read, vendor_ids(event), index)


def _images(
    event: dict[str, Any], pictures: list[Part], out: Collector, index: int
) -> dict[str, str]:
    images: dict[str, str] = {}
    announced = (f.text(event.get("imageType")) or "").lower()
    uris = event.get("imagesURI")
    for uri in uris if isinstance(uris, list) else []:
        found = f.text(uri, max_len=2048)
        slot = _slot(found.rsplit("/", 1)[-1], "url") if found else None
        if found and slot and found.startswith(("http://", "https://")):
            images.setdefault(slot, found)
    inline = f.inline_jpeg_b64(event.get("image", event.get("imageBase64")))
    slot = _slot(announced, "jpeg_b64")
    if inline and slot:
        images[slot] = inline
    for part in pictures:
        slot = _slot(part.name or part.filename or "", "jpeg_b64") or _slot(announced, "jpeg_b64")
        if slot is None or slot in images:
            continue
        encoded = f.jpeg_b64(part.data)
        if encoded is None:
            out.notice(
                f"multipart.{(part.name or '')[:40]}", "picture is not a JPEG; dropped", index
            )
        else:
            images[slot] = encoded
    return images


def _slot(name: str, suffix: str) -> str | None:
    """Which picture a file or image-type name is: `..._lp_...`/`plate`, or `roi`/`frame`."""
    words = name.lower().replace("-", "_").replace(".", "_").split("_")
    stems = [w.rstrip("0123456789") for w in words] + [w.lstrip("0123456789") for w in words]
    if any(s in _PLATE_NAMES for s in stems):
        return f"plate_{suffix}"
    if any(s in _OVERVIEW_NAMES for s in stems):
        return f"overview_{suffix}"
    return None
