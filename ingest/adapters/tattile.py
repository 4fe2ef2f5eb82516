"""Tattile Vega (Vega Basic/Smart, Vega1) transit messages pushed over HTTP, XML or JSON.

One transit per message, fields as upper-case elements of the root (`<Msg>` or `<MESSAGE>`):
`PLATE_STRING`, `DATE` (`YYYY-MM-DD`) and `TIME` (`HH:MM:SS` or `HH-MM-SS-mmm`), the camera's wall
clock and so read in its registered zone; `DEVICE_SN`, `DEVICE_NAME`, `OCRSCORE` (0-100),
`DIRECTION` (`APPROACH`, `GOAWAY`), `LANE_ID`, `PLATE_COUNTRY_CODE` (ISO alpha-3), `PLATE_COUNTRY`
(a name), `IMAGE_OCR` (the plate crop) and `IMAGE_CTX` (the context picture), both base64 JPEG.
Sources: Tattile Vega integrations in the search corpus (an ALPR ingest with its payload samples
and a parser's tests). The camera takes any 2xx as delivered.
"""

from __future__ import annotations

from typing import Any

from ingest.adapters import fields as f
from ingest.adapters.base import Context, VendorAdapter
from ingest.adapters.result import Collector, not_a_time, put
from ingest.adapters.xml import XmlValue


class TattileAdapter(VendorAdapter):
    name = "tattile"
    accepts_xml = True

    def record(self, record: dict[str, Any], ctx: Context, out: Collector) -> None:
        transit = {str(k).upper(): v for k, v in record.items()}
        if "PLATE_STRING" not in transit and len(record) == 1:
            inner = next(iter(record.values()))  # `{"Msg": {...}}`
            transit = {str(k).upper(): v for k, v in f.obj(inner).items()}
        _transit(transit, ctx, out)

    def xml(self, root: str, content: XmlValue, ctx: Context, out: Collector) -> None:
        if not isinstance(content, dict):
            out.problem("body", f"expected a Tattile transit message, got <{root[:40]}>")
            return
        self.record(content, ctx, out)


def vendor_ids(transit: dict[str, Any]) -> list[str]:
    """`tattile:<DEVICE_SN>`."""
    serial = f.text(transit.get("DEVICE_SN"), max_len=64)
    return [f"tattile:{serial}"] if serial else []


def _transit(transit: dict[str, Any], ctx: Context, out: Collector) -> None:
    index = out.take_index()
    read = out.begin(
        index,
        ("PLATE_STRING", f.label(transit.get("PLATE_STRING"))),
        ("DATE", f.wall_clock(transit.get("DATE"), transit.get("TIME"), ctx.tz)),
        time_message=not_a_time("DATE and TIME"),
    )
    if read is None:
        return
    put(read, "confidence", f.confidence(transit.get("OCRSCORE"), scale="percent"))
    put(read, "country", f.country(transit.get("PLATE_COUNTRY_CODE")))
    put(read, "direction", f.direction(transit.get("DIRECTION")))
    put(read, "lane", f.lane(transit.get("LANE_ID")))
    images = f.pictures(
        plate_jpeg_b64=f.inline_jpeg_b64(transit.get("IMAGE_OCR")),
        overview_jpeg_b64=f.inline_jpeg_b64(transit.get("IMAGE_CTX")),
    )
    put(read, "images", images)
    out.add_read(read, vendor_ids(transit), index)
