"""Genetec AutoVu SharpV/SharpZ3 "HTTP extension" plate reads, JSON or XML.

JSON: one object (or an array of them) with `PlateRead`, `Timestamp`, `SourceUrl` (the Sharp's
name), `LprCameraName`, `ContextImage`/`PlateImage` (base64 JPEG), `Latitude`/`Longitude` and
`PlateAnalytics` [{Key, Score, Value}] (`Confidence Score` 0-100, `Relative Motion`, `Context`
(the plate's country), `Vehicle Type`, ...). XML: the same fields under `<Plate>`. The Sharp's FTP
template (`<AutoVu>` with `UTCDate`/`UTCTime`) is read as well. A `Timestamp` without an offset
(as the JSON sample has) is the camera's wall clock; Latitude/Longitude 0,0 means no GPS fix.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from ingest.adapters import fields as f
from ingest.adapters.base import Context, VendorAdapter
from ingest.adapters.result import Collector, put
from ingest.adapters.xml import XmlValue


class GenetecAdapter(VendorAdapter):
    name = "genetec"
    accepts_xml = True

    def record(self, record: dict[str, Any], ctx: Context, out: Collector) -> None:
        _read(record, ctx.tz, out)

    def xml(self, root: str, content: XmlValue, ctx: Context, out: Collector) -> None:
        for plate in _xml_plates(root, content, out):
            _read(plate, ctx.tz, out)


def vendor_ids(plate: dict[str, Any]) -> list[str]:
    """`genetec:<SourceUrl>:<LprCameraName>`, then `genetec:<SourceUrl>` (the Sharp's name)."""
    sharp = f.text(plate.get("SourceUrl"), max_len=128)
    camera = f.text(plate.get("LprCameraName"), max_len=128)
    if sharp is None:
        return [f"genetec:{camera}"] if camera else []
    return [f"genetec:{sharp}:{camera}", f"genetec:{sharp}"] if camera else [f"genetec:{sharp}"]


def _xml_plates(root: str, content: object, out: Collector) -> list[dict[str, Any]]:
    if root == "Plate" and isinstance(content, dict):
        return [content]
    if root == "AutoVu" and isinstance(content, dict):
        return [_from_ftp_template(content)]
    inner = f.obj(content)
    found = f.objs(inner.get("Plate")) or [
        _from_ftp_template(p) for p in f.objs(inner.get("AutoVu"))
    ]
    if not found:
        out.problem("body", f"expected a Genetec <Plate> read, got <{root[:40]}>")
    return found


def _from_ftp_template(node: dict[str, Any]) -> dict[str, Any]:
    """The SharpV FTP/XML template's fields under the HTTP extension's names."""
    date, time = f.text(node.get("UTCDate")), f.text(node.get("UTCTime"))
    stamp = f"{date.replace(':', '-')}T{time}Z" if date and time else None
    analytics = [{"Key": "Confidence Score", "Value": node.get("ConfidenceScore")}]
    analytics += [{"Key": "Relative Motion", "Value": node.get("RelativeMotion")}]
    return {
        "PlateRead": node.get("Plate"),
        "Timestamp": stamp,
        "SourceUrl": node.get("SourceName"),
        "LprCameraName": node.get("CameraName"),
        "ContextImage": node.get("ContextImage"),
        "PlateImage": node.get("PlateImage"),
        "Latitude": node.get("LatitudeY"),
        "Longitude": node.get("LongitudeX"),
        "Id": node.get("Guid"),
        "PlateAnalytics": analytics,
    }


def _read(plate_event: dict[str, Any], tz: tzinfo, out: Collector) -> None:
    index = out.take_index()
    read = out.begin(
        index,
        ("PlateRead", f.text(plate_event.get("PlateRead"), max_len=64)),
        ("Timestamp", f.captured_at(plate_event.get("Timestamp"), tz)),
    )
    if read is None:
        return
    put(read, "read_id", f.read_id(plate_event.get("Id")))
    analytics = _analytics(plate_event.get("PlateAnalytics"))
    put(read, "confidence", f.confidence(analytics.get("confidence score"), scale="percent"))
    put(read, "country", f.country(analytics.get("context")))
    put(read, "direction", _direction(analytics.get("relative motion")))
    lane = f.integer(analytics.get("lane"))
    put(read, "lane", lane if lane is not None and 0 <= lane <= 32 else None)
    vehicle = f.vehicle(
        make=analytics.get("vehicle make", analytics.get("make")),
        model=analytics.get("vehicle model", analytics.get("model")),
        color=analytics.get("vehicle color", analytics.get("color")),
        kind=analytics.get("vehicle type"),
    )
    put(read, "vehicle", vehicle)
    images = {
        "plate_jpeg_b64": f.inline_jpeg_b64(plate_event.get("PlateImage")),
        "overview_jpeg_b64": f.inline_jpeg_b64(plate_event.get("ContextImage")),
    }
    put(read, "images", {k: v for k, v in images.items() if v} or None)
    put(read, "location", f.location(plate_event.get("Latitude"), plate_event.get("Longitude")))
    out.add_read(read, vendor_ids(plate_event), index)


def _analytics(raw: object) -> dict[str, object]:
    """`PlateAnalytics` as {lower-cased key: value}, from the JSON array or the nested XML."""
    entries = f.objs(raw)
    if len(entries) == 1 and "PlateAnalytics" in entries[0]:
        entries = f.objs(entries[0]["PlateAnalytics"])
    out: dict[str, object] = {}
    for entry in entries:
        key = f.text(entry.get("Key"), max_len=64)
        if key and entry.get("Value") is not None:
            out.setdefault(key.lower(), entry["Value"])
    return out


def _direction(value: object) -> str | None:
    found = (f.text(value) or "").lower()
    if found in ("", "-"):
        return None
    if "approach" in found or "toward" in found:
        return "approaching"
    if any(word in found for word in ("away", "reced", "leav", "depart")):
        return "receding"
    return "unknown" if found == "unknown" else None
