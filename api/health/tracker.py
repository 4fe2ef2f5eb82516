"""Every camera's monitor, fed one batch of records at a time. Pure apart from the clock passed in.

Fed from `anpr.reads.v1`, `anpr.heartbeats.v1` and `anpr.gateway-events.v1`, consumed without a
group from the latest offset (the Bus interface has no seek-by-time): each replica watches every
camera, the counters fill over the first hour after start-up, and the last read and heartbeat
times survive restarts through `CameraActivity` rows saved in the store.

Monitors exist for registered cameras only: records for other ids are counted and dropped by
`sweep`, so memory is bounded by the registry (~9 KB a camera: the last hour in minute buckets
and the commissioning ledger of the last 24 hours).
"""

from __future__ import annotations

import math
from collections import Counter as Tally
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import orjson

from anpr.bus.base import Record
from anpr.errors import InvalidRecord
from anpr.registry import Camera
from api.health.state import (
    DEFAULT_THRESHOLDS,
    CameraMonitor,
    CameraStatus,
    HealthReport,
    Thresholds,
)
from api.store.base import CameraActivity

# `anpr.reads.derive_read_id` ids: a read the camera sent without a `read_id` of its own.
DERIVED_PREFIX = "d-"


@dataclass(frozen=True, slots=True)
class HealthTopics:
    reads: str
    heartbeats: str
    gateway_events: str


@dataclass(frozen=True, slots=True)
class Sweep:
    by_status: dict[CameraStatus, int]
    last_seen_age_s: dict[str, float]
    forgotten: list[str]
    # camera_id -> (status, lifecycle state) and clock skew in ms (None: too few reads).
    status_of: dict[str, tuple[CameraStatus, str]] = field(default_factory=dict)
    clock_skew_ms: dict[str, int | None] = field(default_factory=dict)


def _int(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    return None


def _decode(record: Record) -> dict[str, object]:
    if record.value is None:
        raise InvalidRecord(f"tombstone on {record.topic}")
    try:
        data = orjson.loads(record.value)
    except orjson.JSONDecodeError as exc:
        raise InvalidRecord(f"not JSON on {record.topic}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("camera_id"), str):
        raise InvalidRecord(f"no camera_id on {record.topic}")
    return data


class HealthTracker:
    def __init__(
        self, topics: HealthTopics, *, started_at: int, thresholds: Thresholds = DEFAULT_THRESHOLDS
    ) -> None:
        self._topics = topics
        self._started_at = started_at
        self._thresholds = thresholds
        self.monitors: dict[str, CameraMonitor] = {}

    def monitor(self, camera_id: str) -> CameraMonitor:
        mon = self.monitors.get(camera_id)
        if mon is None:
            mon = CameraMonitor(observed_since=self._started_at, thresholds=self._thresholds)
            self.monitors[camera_id] = mon
        return mon

    def apply(self, record: Record, now: int) -> None:
        """Apply one record; `InvalidRecord` when it cannot be read (nothing changes)."""
        data = _decode(record)
        mon = self.monitor(str(data["camera_id"]))
        if record.topic == self._topics.reads:
            received = _int(data.get("received_at")) or record.timestamp_ms
            conf = data.get("confidence")
            read_id = data.get("read_id")
            mon.observe_read(
                received_at=received,
                captured_at=_int(data.get("captured_at_ms")),
                confidence=float(conf) if isinstance(conf, int | float) else None,
                now=now,
                has_images=bool(data.get("images")),
                own_read_id=isinstance(read_id, str) and not read_id.startswith(DERIVED_PREFIX),
            )
        elif record.topic == self._topics.heartbeats:
            received = _int(data.get("received_at")) or record.timestamp_ms
            mon.observe_heartbeat(received_at=received, now=now)
        elif record.topic == self._topics.gateway_events:
            reasons = data.get("rejected_by_reason")
            mon.observe_gateway(
                at=_int(data.get("at")) or record.timestamp_ms,
                rejected=max(0, _int(data.get("rejected")) or 0),
                duplicates=max(0, _int(data.get("duplicates")) or 0),
                now=now,
                rejected_by_reason=reasons if isinstance(reasons, dict) else None,
            )
        else:
            raise InvalidRecord(f"unexpected topic {record.topic}")

    def report(self, camera: Camera, now: int) -> HealthReport:
        mon = self.monitor(camera.camera_id)
        mon.expected_reads_per_hour = camera.expected_reads_per_hour
        return mon.evaluate(now)

    def sweep(self, cameras: Collection[Camera], now: int) -> Sweep:
        """Evaluate every registered camera; forget monitors of cameras no longer registered."""
        registered = {camera.camera_id for camera in cameras}
        forgotten = [cid for cid in self.monitors if cid not in registered]
        for cid in forgotten:
            del self.monitors[cid]
        by_status: Tally[CameraStatus] = Tally({status: 0 for status in CameraStatus})
        ages: dict[str, float] = {}
        status_of: dict[str, tuple[CameraStatus, str]] = {}
        skews: dict[str, int | None] = {}
        for camera in cameras:
            report = self.report(camera, now)
            by_status[report.status] += 1
            status_of[camera.camera_id] = (report.status, camera.state.value)
            skews[camera.camera_id] = report.clock_skew_ms
            last = max(report.last_read_at or 0, report.last_heartbeat_at or 0)
            if last:
                ages[camera.camera_id] = max(0.0, (now - last) / 1000)
        return Sweep(dict(by_status), ages, forgotten, status_of, skews)

    def activity(self) -> list[CameraActivity]:
        return [
            CameraActivity(cid, mon.first_seen, mon.last_read_at, mon.last_heartbeat_at)
            for cid, mon in self.monitors.items()
            if mon.first_seen is not None
        ]

    def restore(self, rows: Sequence[CameraActivity]) -> None:
        for row in rows:
            self.monitor(row.camera_id).restore(
                first_seen=row.first_seen,
                last_read_at=row.last_read_at,
                last_heartbeat_at=row.last_heartbeat_at,
            )
