"""Dahua ITC (traffic) cameras: the ITSAPI picture upload and the event-stream variants.

- ITSAPI `TollgateInfo` (the camera's "ITSAPI"/third-party HTTP upload, posted to
  `/NotificationInfo/TollgateInfo` by default): `{"Picture": {"Plate": {PlateNumber, Confidence
  (0-100), PlateColor, Region, Channel, ...}, "SnapInfo": {DeviceID, AccurateTime/SnapTime
  (the camera's wall clock, `YYYY-MM-DD HH:MM:SS[.fff]`), Direction, ...}, "Vehicle": {...},
  "NormalPic"/"CutoutPic": {Content (base64 JPEG), PicName}}}`.
- `client.notifyEventStream` (JSON-RPC): `{"method": "client.notifyEventStream", "params":
  {"eventList": [{"Code": "TrafficJunction", "Action": "Pulse", "Data": {...}}]}}`.
- `eventManager.cgi?action=attach` text events: `Code=TrafficJunction;action=Pulse;index=0;data=
  {...}`, one per part of a `multipart/x-mixed-replace` stream.
- `snapManager.cgi?action=attachFileProc` parts: `Events[0].TrafficCar.PlateNumber=...` lines in
  a text part, the pictures (overview, then plate cutout) as `image/jpeg` parts.

In event data the plate is `TrafficCar.PlateNumber` (or the `Text` of an `Object` of type
`Plate`). Time semantics: `RealUTC` is epoch seconds in UTC; `UTC` is the camera's wall clock
written as if it were UTC (in the sample `UTC` - `RealUTC` is the camera's +7 h offset), and
`LocaleTime` the same wall clock as text; so `RealUTC` wins, then the wall clocks are read in the
camera's registered zone; `UTCMS` adds the milliseconds. A traffic event without a plate (a
non-motor vehicle, an empty `Text`) is no read and no error; other event codes are ignored.
Sources: a `notifyEventStream` capture (github.com/YutthapoomSa/dahua-api, text.js), ITSAPI
receivers in the search corpus (field names, endpoints, and the answer the camera needs to stop
resending: a JSON body with `"result": "true"`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import orjson

from ingest.adapters import fields as f
from ingest.adapters.base import Context, VendorAdapter
from ingest.adapters.envelope import MAX_BODY_BYTES, Envelope, open_envelope, split_multipart
from ingest.adapters.errors import PayloadTooLarge
from ingest.adapters.multipart import header_params, sniff_boundary
from ingest.adapters.result import (
    MAX_READS,
    NOT_A_TIME,
    CanonicalRead,
    Collector,
    SuccessResponse,
    not_a_time,
    put,
)

_ANSWER = b'{"result":"true","status":"success","message":"OK"}'
_NO_PLATE = frozenset({"unknown", "无车牌", "车牌", "noplate", "no plate", "-", "0"})
_EVENT_HEAD = re.compile(r"(?m)^[ \t]*Code=([\w.-]{1,64});\s*action=(\w{1,32})(?:;\s*index=(\d+))?")
_KEY_VALUE = re.compile(r"(?m)^[ \t]*Events\[(\d{1,3})\]\.([\w.\[\]]{1,128})=(.*?)\r?$")


class DahuaAdapter(VendorAdapter):
    name = "dahua"
    success_response = SuccessResponse(200, "application/json; charset=utf-8", _ANSWER)

    def open(self, body: bytes, content_type: str | None, out: Collector) -> Envelope | None:
        """JSON goes the usual way; text event streams (bare or multipart) become JSON events."""
        if len(body) > MAX_BODY_BYTES:
            raise PayloadTooLarge("body", f"body over {MAX_BODY_BYTES // (1024 * 1024)} MiB")
        body = body.removeprefix(b"\xef\xbb\xbf")
        media, params = header_params(content_type) if content_type else ("", {})
        start = body.lstrip()[:1]
        boundary = params.get("boundary") or sniff_boundary(body)
        if media.startswith("multipart/") or (start not in (b"{", b"[") and boundary):
            parts = split_multipart(body, boundary, out)
            if parts is None:
                return None
            texts = [p for p in parts if not (p.content_type or "").startswith("image/")]
            pictures = [p for p in parts if p not in texts and p.data[:3] == b"\xff\xd8\xff"]
            events: list[Any] = []
            for part in texts:
                events.extend(_text_or_json(part.data, out))
            return Envelope("json", orjson.dumps(events), pictures)
        if start in (b"{", b"[", b"<") or not body.strip():
            return open_envelope(body, content_type, out)
        return Envelope("json", orjson.dumps(_text_or_json(body, out)))

    def record(self, record: dict[str, Any], ctx: Context, out: Collector) -> None:
        if isinstance(record.get("Picture"), dict):
            _tollgate(record["Picture"], ctx, out)
            return
        params = f.obj(record.get("params"))
        if "eventList" in params or "method" in record:
            method = f.text(record.get("method"), max_len=64) or ""
            if "eventList" not in params:
                out.notice("method", f"JSON-RPC call {method[:40]!r} carries no event; ignored")
            for event in f.objs(params.get("eventList")):
                _event(event, ctx, out)
        elif "Code" in record:
            _event(record, ctx, out)
        else:
            out.problem("body", "not a Dahua event: no Picture, eventList or Code")


def vendor_ids(device: object, channel: object) -> list[str]:
    """`dahua:<device>:<channel>`, then `dahua:<device>`; the device is ITSAPI's `DeviceID` or
    the event's `TrafficCar.MachineName`, the channel the event's `index` (or `Plate.Channel`)."""
    name = f.text(device, max_len=128)
    if name is None:
        return []
    number = f.text(channel, max_len=8)
    return [f"dahua:{name}:{number}", f"dahua:{name}"] if number else [f"dahua:{name}"]


def _text_or_json(data: bytes, out: Collector) -> list[Any]:
    """The events of one text part: JSON, `Code=...;data={...}` or `Events[i].k=v` lines."""
    if data.lstrip()[:1] in (b"{", b"["):
        try:
            found = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            out.problem("body", f"not valid JSON: {exc}")
            return []
        return found if isinstance(found, list) else [found]
    text = data.decode("utf-8", "replace")
    heads = list(_EVENT_HEAD.finditer(text))
    if heads:
        ends = [m.start() for m in heads[1:]] + [len(text)]
        if len(heads) > MAX_READS:  # refused before any is parsed
            raise PayloadTooLarge(
                "body", f"{len(heads)} events in one payload; at most {MAX_READS}: split it"
            )
        return [_coded(text, head, end, out) for head, end in zip(heads, ends, strict=True)]
    events: dict[int, dict[str, Any]] = {}
    for match in _KEY_VALUE.finditer(text):
        node = events.setdefault(int(match.group(1)), {})
        *path, last = match.group(2).split(".")
        for key in path:
            node = node.setdefault(key, {}) if isinstance(node.get(key, {}), dict) else {}
        node[last] = match.group(3).strip()
    if not events and text.strip():
        out.problem("body", "not a Dahua event: no JSON, Code=... or Events[i]... lines")
    return [_flatten(events[i]) for i in sorted(events)]


def _coded(text: str, head: re.Match[str], end: int, out: Collector) -> dict[str, Any]:
    event: dict[str, Any] = {"Code": head.group(1), "Action": head.group(2)}
    if head.group(3) is not None:
        event["Index"] = head.group(3)
    rest = text[head.end() : end].strip()
    if rest.startswith(";data="):
        try:
            event["Data"] = orjson.loads(rest[len(";data=") :].strip())
        except orjson.JSONDecodeError as exc:
            out.problem("data", f"event {head.group(1)!r}: data is not valid JSON: {exc}")
    return event


def _flatten(event: dict[str, Any]) -> dict[str, Any]:
    """attachFileProc's `EventBaseInfo.Code` etc. next to the event's data, as Code/Action/Data."""
    base = f.obj(event.pop("EventBaseInfo", None))
    code = base.get("Code", event.pop("Code", None))
    return {"Code": code, "Action": base.get("Action"), "Index": base.get("Index"), "Data": event}


def _event(event: dict[str, Any], ctx: Context, out: Collector) -> None:
    code = f.text(event.get("Code"), max_len=64) or ""
    data = f.obj(event.get("Data"))
    car = f.obj(data.get("TrafficCar"))
    thing = f.obj(data.get("Object"))
    raw = car.get("PlateNumber")
    if not _plate(raw) and (f.text(thing.get("ObjectType")) or "").lower() == "plate":
        raw = thing.get("Text")
    plate = _plate(raw)
    if plate is None:
        if code.startswith("Traffic") or car or thing:
            out.notice("Data.TrafficCar.PlateNumber", f"{code or 'event'} without a plate; no read")
        else:
            out.notice("Code", f"event {code[:40]!r} carries no plate read; ignored")
        return
    index = out.take_index()
    when = _event_time(data, ctx)
    if when is None:
        out.problem("Data.RealUTC", not_a_time("RealUTC, LocaleTime or UTC"), index)
        return
    read: CanonicalRead = {"captured_at": when, "plate": plate}
    is_plate = (f.text(thing.get("ObjectType")) or "").lower() == "plate"
    if is_plate and f.number(thing.get("Confidence")):  # 0 there means "not computed"
        put(read, "confidence", f.confidence(thing.get("Confidence"), scale="percent"))
    country = car.get("Country") or f.obj(data.get("CommInfo")).get("Country")
    put(read, "country", f.country(country))
    put(read, "lane", f.lane(data.get("Lane", car.get("Lane"))))
    driving = car.get("DrivingDirection", car.get("DrivingDirection[0]"))
    put(
        read,
        "direction",
        f.direction(driving[0] if isinstance(driving, list) and driving else driving),
    )
    kind = f.obj(data.get("Vehicle")).get("Category")
    put(
        read,
        "vehicle",
        f.vehicle(make=car.get("VehicleSign"), color=car.get("VehicleColor"), kind=kind),
    )
    put(read, "images", _stream_pictures(ctx, out, index))
    channel = event.get("Index", data.get("Index"))
    out.add_read(read, vendor_ids(car.get("MachineName"), channel), index)


def _tollgate(picture: dict[str, Any], ctx: Context, out: Collector) -> None:
    index = out.take_index()
    plate_info = f.obj(picture.get("Plate"))
    snap = f.obj(picture.get("SnapInfo"))
    plate = _plate(plate_info.get("PlateNumber"))
    if plate is None or plate_info.get("IsExist") is False:
        out.notice(
            "Picture.Plate.PlateNumber", "a vehicle without a readable plate; no read", index
        )
        return
    when = f.first_time(snap, ("AccurateTime", "SnapTime"), ctx.tz)
    if when is None:
        field = f.time_field(snap, ("SnapTime", "AccurateTime"), "Picture.SnapInfo.")
        out.problem(field, NOT_A_TIME, index)
        return
    read: CanonicalRead = {"captured_at": when, "plate": plate}
    put(read, "confidence", f.confidence(plate_info.get("Confidence"), scale="percent"))
    put(
        read, "country", f.country(plate_info.get("Country")) or f.country(plate_info.get("Region"))
    )
    put(read, "direction", f.direction(snap.get("Direction")))
    put(read, "lane", f.lane(snap.get("LanNo", snap.get("LaneNo"))))
    car = f.obj(picture.get("Vehicle"))
    vehicle = f.vehicle(
        make=car.get("VehicleSign"),
        model=car.get("VehicleSeries"),
        color=car.get("VehicleColor"),
        kind=car.get("VehicleType"),
    )
    put(read, "vehicle", vehicle)
    images = f.pictures(
        plate_jpeg_b64=f.inline_jpeg_b64(f.obj(picture.get("CutoutPic")).get("Content")),
        overview_jpeg_b64=f.inline_jpeg_b64(f.obj(picture.get("NormalPic")).get("Content")),
    )
    put(read, "images", images or _stream_pictures(ctx, out, index))
    out.add_read(read, vendor_ids(snap.get("DeviceID"), plate_info.get("Channel")), index)


def _plate(value: object) -> str | None:
    found = f.text(value, max_len=64)
    return None if found is None or found.lower() in _NO_PLATE else found


def _event_time(data: dict[str, Any], ctx: Context) -> str | None:
    millis = f.integer(data.get("UTCMS")) or 0
    real = f.number(data.get("RealUTC"))
    if real is not None and real > 0:
        return f.captured_at(real * 1000 + millis, UTC)
    local = f.captured_at(data.get("LocaleTime"), ctx.tz)
    if local is not None:
        return local
    wall = f.number(data.get("UTC"))
    if wall is None or not 0 < wall < 1e11:
        return None
    naive = datetime.fromtimestamp(wall, UTC).replace(tzinfo=None)
    return f.captured_at(f"{naive.isoformat(timespec='seconds')}.{millis:03d}", ctx.tz)


def _stream_pictures(ctx: Context, out: Collector, index: int) -> dict[str, str] | None:
    """attachFileProc's JPEG parts: the overview first, then the plate cutout."""
    encoded = [f.jpeg_b64(p.data) for p in ctx.pictures]
    if index > 0 and encoded:
        out.notice(
            "multipart", "pictures of a body with several events are kept on the first", index
        )
        return None
    return f.pictures(
        overview_jpeg_b64=encoded[0] if encoded else None,
        plate_jpeg_b64=encoded[1] if len(encoded) > 1 else None,
    )
