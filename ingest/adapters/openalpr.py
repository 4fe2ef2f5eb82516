"""Rekor (OpenALPR) agent and web-server pushes, and the open-source `alprd` output.

The agent POSTs one JSON object per event to its `upload_address` (alprd.conf `upload_data = 1`),
told apart by `data_type`:

- `alpr_results`: one video frame; one read per entry of `results` (`epoch_time` in ms; a
  result's own `epoch_time`, when it has one, is that plate's time).
- `alpr_group`: one vehicle, best plate of several frames (`epoch_start` in ms). With
  `plate_group_enable_preview = 1` the agent also sends a preview of the group (`is_preview`
  true) while it still tracks the vehicle, then the final group: the preview is no read, or
  every such vehicle would be read twice, the second time under another `best_uuid`
  (help.rekor.ai/how-do-i-set-up-real-time-group-results).
- `alpr_alert`: a web-server alert; the vehicle's group is in `group`.
- `heartbeat`: agent health every minute; one camera heartbeat per entry of `video_streams`.

Confidences are 0-100. The open-source `alprd` sends `alpr_results` without the agent fields
(and, before version 2, without `data_type`). The agent only checks for a 2xx; anything else stays
on its local beanstalkd queue and is sent again.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from ingest.adapters import fields as f
from ingest.adapters.base import Context, VendorAdapter
from ingest.adapters.result import CanonicalRead, Collector, put

# Heartbeat fields kept as camera status: health figures only, never the licence key or the
# stream URL (which may hold the camera's credentials).
_AGENT_STATUS = (
    "agent_hostname", "agent_version", "license_valid", "cpu_usage_percent", "cpu_cores",
    "daemon_uptime_seconds", "beanstalk_queue_size", "processing_threads_active",
    "recording_enabled", "disk_quota_consumed_bytes", "disk_quota_total_bytes",
)  # fmt: skip
_STREAM_STATUS = ("camera_name", "is_streaming", "fps")
_NO_READ_TYPES = frozenset({"vehicle", "vehicle_group", "search"})
_GROUP_TIME_KEYS = ("epoch_start", "epoch_end", "epoch_time")


class OpenAlprAdapter(VendorAdapter):
    name = "openalpr"

    def record(self, record: dict[str, Any], ctx: Context, out: Collector) -> None:
        _record(record, ctx.tz, out)


def vendor_ids(record: dict[str, Any]) -> list[str]:
    """Most specific first: `openalpr:<agent_uid>:<camera_id>`, `openalpr:<site_id>:<camera_id>`,
    then `openalpr:<camera_id>`; an agent heartbeat without streams is `openalpr:<agent_uid>`."""
    camera, agent, site = (f.text(record.get(k)) for k in ("camera_id", "agent_uid", "site_id"))
    if camera is None:
        return [f"openalpr:{agent}"] if agent else []
    ids = [f"openalpr:{owner}:{camera}" for owner in (agent, site) if owner]
    return [*dict.fromkeys(ids), f"openalpr:{camera}"]


def _record(record: dict[str, Any], tz: tzinfo, out: Collector) -> None:
    kind = record.get("data_type")
    if kind == "alpr_results" or (kind is None and isinstance(record.get("results"), list)):
        _results(record, tz, out)
    elif kind == "alpr_group" and record.get("is_preview") in (True, "true", "True"):
        out.notice("is_preview", "a group preview; the vehicle's final group follows")
    elif kind == "alpr_group" or (kind is None and "best_plate_number" in record):
        _group(record, tz, out, out.take_index())
    elif kind == "alpr_alert":
        _alert(record, tz, out)
    elif kind == "heartbeat":
        _heartbeat(record, tz, out)
    elif record.get("openalpr_webhook") == "test":
        out.notice(
            "openalpr_webhook", "a test webhook from the OpenALPR web server; nothing to take"
        )
    elif isinstance(kind, str) and kind in _NO_READ_TYPES:
        out.notice("data_type", f"data_type {kind!r} carries no plate read; ignored")
    elif isinstance(kind, str):
        out.notice("data_type", f"unknown data_type {kind[:40]!r}; ignored")
    else:
        out.problem(
            "data_type", "not an OpenALPR event: no data_type, results or best_plate_number"
        )


def _results(record: dict[str, Any], tz: tzinfo, out: Collector) -> None:
    results = record.get("results")
    if not isinstance(results, list):
        out.problem("results", "must be an array of plate results")
        return
    if not results:
        out.notice("results", "a frame without plates; nothing to take")
    when = f.captured_at(record.get("epoch_time"), tz)
    for position, item in enumerate(results):
        index = out.take_index()
        where = f"results[{position}]"
        if not isinstance(item, dict):
            out.problem(where, "must be an object", index)
            continue
        plate = f.text(item.get("plate"), max_len=64)
        if plate is None:
            out.problem(f"{where}.plate", "missing or empty: a read needs a plate", index)
            continue
        # A result may carry its own `epoch_time` (a frame of a batch); it wins over the frame's.
        own = f.captured_at(item.get("epoch_time"), tz) or when
        if own is None:
            out.problem("epoch_time", "missing or not an epoch time", index)
            continue
        read: CanonicalRead = {"captured_at": own, "plate": plate}
        put(read, "read_id", f.read_id(record.get("uuid"), item.get("plate_index", position)))
        put(read, "confidence", f.confidence(item.get("confidence"), scale="percent"))
        put(read, "country", f.country(item.get("region")) or f.country(record.get("country")))
        _candidates(read, plate, item.get("candidates"))
        crop = f.inline_jpeg_b64(item.get("plate_crop_jpeg"))
        if crop:
            read["images"] = {"plate_jpeg_b64": crop}
        out.add_read(read, vendor_ids(record), index)


def _group(record: dict[str, Any], tz: tzinfo, out: Collector, index: int) -> None:
    best = f.obj(record.get("best_plate"))
    plate = f.text(record.get("best_plate_number"), max_len=64) or f.text(best.get("plate"))
    if plate is None:
        out.problem("best_plate_number", "missing or empty: a read needs a plate", index)
        return
    when = f.first_time(record, _GROUP_TIME_KEYS, tz)
    if when is None:
        out.problem(f.time_field(record, _GROUP_TIME_KEYS), "missing or not an epoch time", index)
        return
    read: CanonicalRead = {"captured_at": when, "plate": plate}
    put(read, "read_id", f.read_id(record.get("best_uuid"), "group"))
    conf = f.confidence(record.get("best_confidence"), scale="percent")
    put(read, "confidence", conf or f.confidence(best.get("confidence"), scale="percent"))
    region = f.country(record.get("best_region")) or f.country(best.get("region"))
    put(read, "country", region or f.country(record.get("country")))
    top = record.get("candidates")
    _candidates(read, plate, top if isinstance(top, list) and top else best.get("candidates"))
    put(read, "vehicle", _vehicle(record.get("vehicle")))
    images = {
        "plate_jpeg_b64": f.inline_jpeg_b64(best.get("plate_crop_jpeg")),
        "overview_jpeg_b64": f.inline_jpeg_b64(record.get("vehicle_crop_jpeg")),
    }
    put(read, "images", {k: v for k, v in images.items() if v} or None)
    put(read, "location", f.location(record.get("gps_latitude"), record.get("gps_longitude")))
    out.add_read(read, vendor_ids(record), index)


def _alert(record: dict[str, Any], tz: tzinfo, out: Collector) -> None:
    group = record.get("group")
    # The group is the vehicle; the alert's own fields fill what the group lacks.
    merged: dict[str, Any] = {
        "agent_uid": record.get("agent_uid"),
        "camera_id": record.get("camera_id", record.get("camera_number")),
        "best_plate_number": record.get("plate_number"),
        "epoch_time": record.get("epoch_time"),
    }
    if isinstance(group, dict):
        merged.update({k: v for k, v in group.items() if v is not None})
    _group(merged, tz, out, out.take_index())


def _heartbeat(record: dict[str, Any], tz: tzinfo, out: Collector) -> None:
    sent = f.moment(record.get("timestamp"), tz)
    if sent is None:
        out.problem("timestamp", "a heartbeat needs its epoch time (ms)")
        return
    agent_status = {k: record[k] for k in _AGENT_STATUS if _scalar(record.get(k))}
    streams = f.objs(record.get("video_streams"))
    if not streams:
        out.result.heartbeats.append(
            {"vendor_ids": vendor_ids(record), "sent_at": f.rfc3339(sent), "status": agent_status}
        )
    for stream in streams:
        status = {
            **agent_status,
            **{k: stream[k] for k in _STREAM_STATUS if _scalar(stream.get(k))},
        }
        last = f.moment(stream.get("last_update"), tz)
        if last is not None:
            status["last_update"] = f.rfc3339(last)
        ids = vendor_ids({**record, "camera_id": stream.get("camera_id")})
        out.result.heartbeats.append(
            {"vendor_ids": ids, "sent_at": f.rfc3339(sent), "status": status}
        )


def _candidates(read: CanonicalRead, plate: str, raw: object) -> None:
    options = [
        (c.get("plate"), f.confidence(c.get("confidence"), scale="percent")) for c in f.objs(raw)
    ]
    put(read, "candidates", f.candidates(plate, options) or None)


def _vehicle(raw: object) -> dict[str, str] | None:
    if not isinstance(raw, dict):
        return None
    make = _top(raw.get("make"))
    model = _top(raw.get("make_model"))
    if model and make and model.lower().startswith(make.lower() + "_"):
        model = model[len(make) + 1 :]
    return f.vehicle(
        make=make, model=model, color=_top(raw.get("color")), kind=_top(raw.get("body_type"))
    )


def _top(options: object) -> str | None:
    """The name of the most confident option of an OpenALPR vehicle attribute."""
    scored = [
        (f.number(o.get("confidence")) or 0.0, f.label(o.get("name"))) for o in f.objs(options)
    ]
    named = [(score, name) for score, name in scored if name]
    return max(named)[1] if named else None


def _scalar(value: object) -> bool:
    return isinstance(value, str | int | float | bool)
