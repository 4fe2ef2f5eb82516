"""Verkada Command's LPR webhook (`webhook_type` `lpr`), one JSON object per plate.

`data.camera_id` is the camera, `data.license_plate_number` the plate, `data.confidence` 0-1,
`data.detected` the detection time in epoch ms (`data.created`, epoch seconds, is kept for
payloads without it), `data.license_plate_state` a region code (`us-ca`) and `data.image_url`
the frame the plate was read in (`data.crop` is the plate's box in it). Source:
apidocs.verkada.com/v1/reference/lpr. Verkada wants a 2xx JSON answer within 2 s, else it tries
again once (apidocs.verkada.com/v1/reference/securing-webhooks).
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from ingest.adapters import fields as f
from ingest.adapters.base import Context, VendorAdapter
from ingest.adapters.result import Collector, SuccessResponse, put


class VerkadaAdapter(VendorAdapter):
    name = "verkada"
    success_response = SuccessResponse(200, "application/json", b'{"status":"ok"}')

    def record(self, record: dict[str, Any], ctx: Context, out: Collector) -> None:
        kind = f.text(record.get("webhook_type"), max_len=64)
        if kind is not None and kind.lower() != "lpr":
            out.notice("webhook_type", f"webhook type {kind[:40]!r} carries no plate read; ignored")
            return
        data = record.get("data")
        if not isinstance(data, dict):
            out.problem("data", "not a Verkada LPR webhook: no data object")
            return
        index = out.take_index()
        read = out.begin(
            index,
            ("data.license_plate_number", f.text(data.get("license_plate_number"), max_len=64)),
            # Epoch numbers: the camera's zone plays no part.
            ("data.detected", f.first_time(data, ("detected", "created"), UTC)),
            time_message="missing or not an epoch time",
        )
        if read is None:
            return
        put(read, "confidence", f.confidence(data.get("confidence"), scale="unit"))
        put(read, "country", f.country(data.get("license_plate_state")))
        put(read, "images", f.pictures(overview_url=f.http_url(data.get("image_url"))))
        out.add_read(read, vendor_ids(record), index)


def vendor_ids(record: dict[str, Any]) -> list[str]:
    """`verkada:<org_id>:<camera_id>`, then `verkada:<camera_id>`."""
    camera = f.text(f.obj(record.get("data")).get("camera_id"))
    org = f.text(record.get("org_id"))
    if camera is None:
        return []
    return [f"verkada:{org}:{camera}", f"verkada:{camera}"] if org else [f"verkada:{camera}"]
