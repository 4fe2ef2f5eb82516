"""Milestone XProtect analytics events carrying a licence plate (`<AnalyticsEvent>`, XML).

The event as XProtect's analytics-event interface defines it (namespace `urn:milestone-systems`):
`EventHeader` (`ID`, `Timestamp`, `Type`, `Message`, `Source` with `Name` (the camera's URI,
`,<channel>` for multichannel devices) and/or `FQID/ObjectId` (the camera's GUID)), then
`ObjectList/Object` (`Type`, `Name`, `Value`, `Confidence` 0-1, `Description`) and
`SnapshotList/Snapshot` (`Image`, base64 JPEG). The plate is the `Value` of the object whose
`Type` or `Name` says plate (`LicensePlate`, `Plate`, `LPR`, `ANPR`), else of the first object
with a value; an object typed `Country` (or `CountryCode`) gives the country. A `Timestamp`
without an offset is the camera's wall clock. Sources: Milestone's analytics-event samples and
the MIP SDK schema classes (`AnalyticsObject`, `EventHeader`) in the search corpus.
"""

from __future__ import annotations

from typing import Any

from ingest.adapters import fields as f
from ingest.adapters.base import Context, VendorAdapter
from ingest.adapters.result import Collector, put
from ingest.adapters.xml import XmlValue

_PLATE_TYPES = ("licenseplate", "numberplate", "plate", "lpr", "anpr", "alpr", "registration")
_COUNTRY_TYPES = frozenset({"country", "countrycode", "nationality", "platecountry"})
_NO_ID = "00000000-0000-0000-0000-000000000000"


class MilestoneAdapter(VendorAdapter):
    name = "milestone"
    accepts_xml = True

    def xml(self, root: str, content: XmlValue, ctx: Context, out: Collector) -> None:
        if root != "AnalyticsEvent" or not isinstance(content, dict):
            out.problem("body", f"expected a Milestone <AnalyticsEvent>, got <{root[:40]}>")
            return
        _event(content, ctx, out)

    def record(self, record: dict[str, Any], ctx: Context, out: Collector) -> None:
        event = record.get("AnalyticsEvent", record)  # the same event as JSON
        if not isinstance(event, dict) or "EventHeader" not in event:
            out.problem("EventHeader", "not a Milestone analytics event")
            return
        _event(event, ctx, out)


def vendor_ids(header: dict[str, Any]) -> list[str]:
    """`milestone:<camera GUID>` (`Source/FQID/ObjectId`), then `milestone:<Source/Name>`."""
    source = f.obj(header.get("Source"))
    guid = f.text(f.obj(source.get("FQID")).get("ObjectId"), max_len=64)
    name = f.text(source.get("Name"), max_len=128)
    ids = [f"milestone:{guid}"] if guid and guid != _NO_ID else []
    return ids + ([f"milestone:{name}"] if name else [])


def _event(event: dict[str, Any], ctx: Context, out: Collector) -> None:
    index = out.take_index()
    header = f.obj(event.get("EventHeader"))
    objects = f.objs(f.obj(event.get("ObjectList")).get("Object"))
    plate_object = _plate_object(objects)
    read = out.begin(
        index,
        ("ObjectList.Object.Value", f.text(plate_object.get("Value"), max_len=64)),
        ("EventHeader.Timestamp", f.captured_at(header.get("Timestamp"), ctx.tz)),
    )
    if read is None:
        return
    event_id = f.text(header.get("ID"), max_len=64)
    put(read, "read_id", f.read_id(event_id) if event_id != _NO_ID else None)
    put(read, "confidence", f.confidence(plate_object.get("Confidence"), scale="unit"))
    country = next((o.get("Value") for o in objects if _word(o) in _COUNTRY_TYPES), None)
    put(read, "country", f.country(country))
    snapshots = f.objs(f.obj(event.get("SnapshotList")).get("Snapshot"))
    overview = next(filter(None, (f.inline_jpeg_b64(s.get("Image")) for s in snapshots)), None)
    put(read, "images", f.pictures(overview_jpeg_b64=overview))
    out.add_read(read, vendor_ids(header), index)


def _plate_object(objects: list[dict[str, Any]]) -> dict[str, Any]:
    for item in objects:
        if _word(item).startswith(_PLATE_TYPES) and f.text(item.get("Value")):
            return item
    valued = [o for o in objects if f.text(o.get("Value")) and _word(o) not in _COUNTRY_TYPES]
    return valued[0] if valued else {}


def _word(item: dict[str, Any]) -> str:
    kind = f.text(item.get("Type"), max_len=64) or f.text(item.get("Name"), max_len=64) or ""
    return kind.lower().replace(" ", "").replace("_", "")
