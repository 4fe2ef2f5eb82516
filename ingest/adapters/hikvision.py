"""Hikvision ISAPI `EventNotificationAlert` pushes from an ANPR camera's "HTTP listening" host.

Sent as a bare XML body, as `multipart/form-data` or `multipart/mixed` with the XML in one part
(`anpr.xml`) and the pictures in others (`licensePlatePicture.jpg`, `detectionPicture.jpg`,
`vehiclePicture.jpg`), or with `uploadImagesDataType=URL` as `pictureURL`s inside the XML. Newer
firmware can send the same alert as JSON (`parameterFormatType=JSON`). The XML namespace depends on
the firmware (`http://www.hikvision.com/ver20/XMLSchema`, `.../ver10/...`,
`http://www.isapi.org/ver20/XMLSchema`, or none): elements are matched on local names.

Event types `ANPR` and `vehicleDetection` carry a read; `heartBeat` (and the `videoloss`/`inactive`
keep-alive) becomes a heartbeat; others are ignored. `confidenceLevel` is 0-100. `direction`
`forward` is a vehicle driving towards the camera, `reverse` one driving away. The camera's
`country` is an index into Hikvision's own country list, read only when it is a letter code.

The camera needs an HTTP 200; the body is an ISAPI `ResponseStatus` saying OK.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from ingest.adapters import fields as f
from ingest.adapters.base import Context, VendorAdapter
from ingest.adapters.envelope import INVALID, Envelope, load_json, load_xml
from ingest.adapters.multipart import Part
from ingest.adapters.result import (
    NOT_A_TIME,
    CanonicalRead,
    Collector,
    LocationIn,
    SuccessResponse,
    put,
)

_RESPONSE = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<ResponseStatus version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">'
    b"<requestURL>/</requestURL><statusCode>1</statusCode><statusString>OK</statusString>"
    b"<subStatusCode>ok</subStatusCode></ResponseStatus>\n"
)
_READ_EVENTS = frozenset({"anpr", "vehicledetection"})
_NO_PLATE = frozenset({"", "unknown", "noplate", "no plate", "无车牌", "车牌", "-"})
_DIRECTIONS = {"forward": "approaching", "reverse": "receding", "unknown": "unknown"}
# pictureInfo `type` (or the part's name) -> the canonical picture it is.
_PLATE_PICTURES = ("licenseplatepicture", "plate")
_OVERVIEW_PICTURES = ("detectionpicture", "vehiclepicture", "scenepicture", "backgroundpicture")


class HikvisionAdapter(VendorAdapter):
    name = "hikvision"
    success_response = SuccessResponse(200, "application/xml; charset=utf-8", _RESPONSE)

    def walk(self, envelope: Envelope, ctx: Context, out: Collector) -> None:
        alert = _alert(envelope, out)
        if alert is not None:
            _event(alert, ctx.pictures, ctx.tz, out)


def vendor_ids(alert: dict[str, Any]) -> list[str]:
    """`hikvision:<MAC>:<channelID>`, then `hikvision:<MAC>` (MAC as 12 upper-case hex digits)."""
    mac = f.mac12(alert.get("macAddress"))
    if mac is None:
        return []
    channel = f.text(alert.get("channelID")) or f.text(alert.get("dynChannelID"))
    return [f"hikvision:{mac}:{channel}", f"hikvision:{mac}"] if channel else [f"hikvision:{mac}"]


def _alert(envelope: Envelope, out: Collector) -> dict[str, Any] | None:
    if envelope.kind == "json":
        document = load_json(envelope, out)
        if document is INVALID:
            return None
        content: object = document
        if isinstance(document, dict) and isinstance(document.get("EventNotificationAlert"), dict):
            content = document["EventNotificationAlert"]  # some firmware wraps the alert
        root = "EventNotificationAlert" if isinstance(content, dict) else ""
    else:
        parsed = load_xml(envelope, out)
        if parsed is None:
            return None
        root, content = parsed
    if root != "EventNotificationAlert" or not isinstance(content, dict):
        out.problem("body", f"expected an ISAPI EventNotificationAlert, got <{root[:40]}>")
        return None
    return content


def _event(alert: dict[str, Any], pictures: list[Part], tz: tzinfo, out: Collector) -> None:
    kind = f.text(alert.get("eventType"), max_len=64) or ""
    state = (f.text(alert.get("eventState")) or "").lower()
    if kind.lower() == "heartbeat" or (kind.lower() == "videoloss" and state == "inactive"):
        sent = f.captured_at(alert.get("dateTime"), tz)
        if sent is None:
            out.problem("dateTime", "a heartbeat needs its time")
            return
        status = {
            "event_type": kind,
            "event_state": state,
            "channel_name": alert.get("channelName"),
        }
        status = {k: v for k, v in status.items() if isinstance(v, str) and v}
        out.result.heartbeats.append(
            {"vendor_ids": vendor_ids(alert), "sent_at": sent, "status": status}
        )
        return
    if kind.lower() not in _READ_EVENTS:
        out.notice("eventType", f"event type {kind[:40]!r} carries no plate read; ignored")
        return
    index = out.take_index()
    anpr = f.obj(alert.get("ANPR"))
    raw_plate = anpr.get("licensePlate", anpr.get("originalLicensePlate"))
    plate = f.text(raw_plate, max_len=64)
    if plate is None:
        out.problem("ANPR.licensePlate", "missing or empty: a read needs a plate", index)
        return
    if plate.lower() in _NO_PLATE:
        message = f"the camera reports a vehicle without a readable plate ({plate!r}); no read"
        out.notice("ANPR.licensePlate", message, index)
        return
    when = f.captured_at(alert.get("dateTime"), tz) or _picture_time(anpr, tz)
    if when is None:
        out.problem("dateTime", NOT_A_TIME, index)
        return
    read: CanonicalRead = {"captured_at": when, "plate": plate}
    put(read, "read_id", f.read_id(alert.get("UUID")))
    put(read, "confidence", f.confidence(anpr.get("confidenceLevel"), scale="percent"))
    put(read, "country", f.country(anpr.get("country")))
    direction = (f.text(anpr.get("direction")) or "").lower()
    put(read, "direction", _DIRECTIONS.get(direction))
    lane = f.integer(anpr.get("line", anpr.get("laneNo")))
    put(read, "lane", lane if lane is not None and 0 <= lane <= 32 else None)
    info = f.obj(anpr.get("vehicleInfo"))
    put(read, "vehicle", f.vehicle(color=info.get("color"), kind=_word(anpr.get("vehicleType"))))
    put(read, "images", _images(anpr, pictures, out, index) or None)
    put(read, "location", _gps(f.obj(alert.get("DeviceGPSInfo"))))
    out.add_read(read, vendor_ids(alert), index)


def _images(
    anpr: dict[str, Any], pictures: list[Part], out: Collector, index: int
) -> dict[str, str]:
    """Pictures as multipart parts (named in `pictureInfoList`) or as URLs in the XML."""
    listed = f.objs(f.obj(anpr.get("pictureInfoList")).get("pictureInfo"))
    kinds = {f.text(p.get("fileName")) or "": (f.text(p.get("type")) or "") for p in listed}
    images: dict[str, str] = {}
    for info in listed:
        url = f.text(info.get("pictureURL"), max_len=2048)
        slot = _slot(f.text(info.get("type")) or "", "url")
        if url and slot and url.startswith(("http://", "https://")):
            images.setdefault(slot, url)
    for part in pictures:
        name = part.filename or part.name or part.headers.get("content-id", "").strip("<>")
        slot = _slot(kinds.get(name) or name, "jpeg_b64")
        if slot is None or slot in images:
            continue
        encoded = f.jpeg_b64(part.data)
        if encoded is None:
            out.notice(f"multipart.{name[:40]}", "picture is not a JPEG; dropped", index)
        else:
            images[slot] = encoded
    return images


def _slot(kind: str, suffix: str) -> str | None:
    lowered = kind.lower().rsplit(".", 1)[0]
    if lowered.startswith(_PLATE_PICTURES):
        return f"plate_{suffix}"
    if lowered.startswith(_OVERVIEW_PICTURES):
        return f"overview_{suffix}"
    return None


def _picture_time(anpr: dict[str, Any], tz: tzinfo) -> str | None:
    for info in f.objs(f.obj(anpr.get("pictureInfoList")).get("pictureInfo")):
        found = f.captured_at(info.get("absTime"), tz)
        if found is not None:
            return found
    return None


def _word(value: object) -> str | None:
    """A vehicle type given as a word (`SUVMPV`), not one of the numeric codes."""
    found = f.label(value)
    return None if found is None or found.isdigit() else found


def _gps(info: dict[str, Any]) -> LocationIn | None:
    lat = _degrees(f.obj(info.get("Latitude")), f.text(info.get("latitudeType")), "S")
    lon = _degrees(f.obj(info.get("Longitude")), f.text(info.get("longitudeType")), "W")
    return f.location(lat, lon)


def _degrees(dms: dict[str, Any], hemisphere: str | None, negative: str) -> float | None:
    degree, minute, second = (f.number(dms.get(k)) for k in ("degree", "minute", "sec"))
    if degree is None:
        return None
    value = degree + (minute or 0.0) / 60 + (second or 0.0) / 3600
    return -value if (hemisphere or "").upper() == negative else value
