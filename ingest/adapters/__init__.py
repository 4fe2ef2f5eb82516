"""Vendor push adapters: a camera's own payload in, canonical reads (contract section 3) out.

`ADAPTERS[format].parse(body, content_type, camera_tz=...)` is pure: no I/O, no awaits, no clock.
It returns an `AdapterResult` (reads in the canonical input shape of `POST /v1/reads`, each with
the vendor identities of its camera, heartbeats, problems, notices, and the answer the device
expects on success) and raises nothing but `AdapterError`. The gateway resolves each read's camera
(`?camera_id=` first, else the first of its `vendor_ids` registered in a camera's `external_ids`)
and validates the read exactly as `/v1/reads` does.

Vendor identities (`vendor_ids`, most specific first; register one of them in `external_ids`):

- `openalpr`: `openalpr:<agent_uid>:<camera_id>`, `openalpr:<site_id>:<camera_id>`,
  `openalpr:<camera_id>`; an agent heartbeat without video streams: `openalpr:<agent_uid>`.
- `platerecognizer`: `platerecognizer:<camera_id>` (Stream's camera section, Snapshot's camera_id).
- `hikvision`: `hikvision:<MAC>:<channelID>`, `hikvision:<MAC>`.
- `axis`: `axis:<SerialNumber>` (on Axis devices the MAC's 12 hex digits), `axis:<MAC>`.
- `genetec`: `genetec:<SourceUrl>:<LprCameraName>`, `genetec:<SourceUrl>` (the Sharp's name).
- `dahua`: `dahua:<DeviceID>:<channel>`, `dahua:<DeviceID>` (ITSAPI); event streams name the
  device by `TrafficCar.MachineName` in its place.
- `survision`: `survision:<serial>` (the `Survision-Serial-Number` request header).
- `tattile`: `tattile:<DEVICE_SN>`.
- `milestone`: `milestone:<camera GUID>` (`Source/FQID/ObjectId`), `milestone:<Source/Name>`.
- `frigate`: `frigate:<topic prefix>:<camera>` (when the bridge forwards the topic),
  `frigate:<camera>`.
- `verkada`: `verkada:<org_id>:<camera_id>`, `verkada:<camera_id>`.

A MAC is always written as 12 upper-case hex digits without separators (`44A642F32AD7`); other
parts are the vendor's text as sent (case kept).
"""

from __future__ import annotations

from ingest.adapters.axis import AxisAdapter
from ingest.adapters.dahua import DahuaAdapter
from ingest.adapters.errors import AdapterError, PayloadTooLarge, UnsafePayload
from ingest.adapters.frigate import FrigateAdapter
from ingest.adapters.genetec import GenetecAdapter
from ingest.adapters.hikvision import HikvisionAdapter
from ingest.adapters.milestone import MilestoneAdapter
from ingest.adapters.openalpr import OpenAlprAdapter
from ingest.adapters.platerecognizer import PlateRecognizerAdapter
from ingest.adapters.result import (
    Adapter,
    AdapterResult,
    CanonicalRead,
    Problem,
    SuccessResponse,
    VendorHeartbeat,
)
from ingest.adapters.survision import SurvisionAdapter
from ingest.adapters.tattile import TattileAdapter
from ingest.adapters.verkada import VerkadaAdapter

ADAPTERS: dict[str, Adapter] = {
    adapter.name: adapter
    for adapter in (
        OpenAlprAdapter(),
        PlateRecognizerAdapter(),
        HikvisionAdapter(),
        AxisAdapter(),
        GenetecAdapter(),
        DahuaAdapter(),
        SurvisionAdapter(),
        TattileAdapter(),
        MilestoneAdapter(),
        FrigateAdapter(),
        VerkadaAdapter(),
    )
}

__all__ = [
    "ADAPTERS",
    "Adapter",
    "AdapterError",
    "AdapterResult",
    "CanonicalRead",
    "PayloadTooLarge",
    "Problem",
    "SuccessResponse",
    "UnsafePayload",
    "VendorHeartbeat",
]
