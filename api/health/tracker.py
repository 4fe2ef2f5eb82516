"""Every camera's monitor, fed one batch of records at a time. Pure apart from the clock passed in.

Fed from `anpr.heartbeats.v1` and `anpr.gateway-events.v1`, consumed without a group from the
latest offset: each replica watches every camera, the counters fill over the first hour after
start-up, and the last read and heartbeat times survive restarts through `CameraActivity` rows
saved in the store. The reads topic is not decoded here: every gateway publishes, each second,
per-camera aggregates of the reads it accepted, rejected and dropped as duplicates (counts
records of the gateway-events topic, `ingest.camerastats`), and the tracker adds up the
records of all gateways.

Monitors exist for registered cameras only: records for other ids are counted and dropped by
`sweep`, so memory is bounded by the registry (~9 KB a camera: the last hour in minute buckets
and the commissioning ledger of the last 24 hours). A deleted camera's monitor goes at once
(`forget`): re-registered under the same id, it is a new camera, `never_seen`. The ids
forgotten are named to the next sweep (its metric series go) and kept until the store has
forgotten their activity rows too (`unsaved_forgets`), whichever sweep forgot them.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from anpr.bus.base import Record
from anpr.codecs import GATEWAY_EVENTS, HEARTBEATS
from anpr.codecs.records import GatewayEventRecord, HeartbeatRecord
from anpr.errors import InvalidRecord
from anpr.registry import Camera
from api.health.state import (
    DEFAULT_THRESHOLDS,
    CameraMonitor,
    CameraStatus,
    HealthReport,
    ReadAggregate,
    Thresholds,
)
from api.store.base import CameraActivity

# The most skew samples one record may add (the monitor keeps the last 64 anyway).
SKEW_SAMPLES = 64


@dataclass(frozen=True, slots=True)
class HealthTopics:
    heartbeats: str
    gateway_events: str


@dataclass(slots=True)
class Sweep:
    """Every registered camera's status at one time, filled camera by camera (`add`)."""

    now: int
    forgotten: list[str]
    by_status: dict[CameraStatus, int] = field(
        default_factory=lambda: dict.fromkeys(CameraStatus, 0)
    )
    last_seen_age_s: dict[str, float] = field(default_factory=dict)
    # camera_id -> (status, lifecycle state) and clock skew in ms (None: too few reads).
    status_of: dict[str, tuple[CameraStatus, str]] = field(default_factory=dict)
    clock_skew_ms: dict[str, int | None] = field(default_factory=dict)

    def add(self, camera: Camera, report: HealthReport) -> None:
        self.by_status[report.status] += 1
        self.status_of[camera.camera_id] = (report.status, camera.state.value)
        self.clock_skew_ms[camera.camera_id] = report.clock_skew_ms
        last = max(report.last_read_at or 0, report.last_heartbeat_at or 0)
        if last:
            self.last_seen_age_s[camera.camera_id] = max(0.0, (self.now - last) / 1000)


class HealthTracker:
    def __init__(
        self, topics: HealthTopics, *, started_at: int, thresholds: Thresholds = DEFAULT_THRESHOLDS
    ) -> None:
        self._topics = topics
        self._started_at = started_at
        self._thresholds = thresholds
        self.monitors: dict[str, CameraMonitor] = {}
        self._forgotten_since_sweep: set[str] = set()
        self.unsaved_forgets: set[str] = set()

    def monitor(self, camera_id: str) -> CameraMonitor:
        mon = self.monitors.get(camera_id)
        if mon is None:
            mon = CameraMonitor(observed_since=self._started_at, thresholds=self._thresholds)
            self.monitors[camera_id] = mon
        return mon

    def apply(self, record: Record, now: int) -> GatewayEventRecord | HeartbeatRecord:
        """Apply one record, decoded with its topic's codec, and give it back decoded (the
        rollout feed reads the same records); `InvalidRecord` when it cannot be read (nothing
        changes)."""
        if record.topic == self._topics.gateway_events:
            event = GATEWAY_EVENTS.decode(record.value)
            if event.get("kind", "counts") != "counts":
                return event  # first contacts are the rollout report's, never the camera's health
            monitor = self.monitor(event["camera_id"])
            reads = read_aggregate(event)
            if reads is not None:
                monitor.observe_reads(reads, now)
            monitor.observe_gateway(
                at=event["at"],
                rejected=max(0, event.get("rejected", 0)),
                duplicates=max(0, event.get("duplicates", 0)),
                now=now,
                rejected_by_reason=event.get("rejected_by_reason", {}),
            )
            return event
        if record.topic == self._topics.heartbeats:
            beat = HEARTBEATS.decode(record.value)
            self.monitor(beat["camera_id"]).observe_heartbeat(
                received_at=beat["received_at"], now=now
            )
            return beat
        raise InvalidRecord(f"unexpected topic {record.topic}")

    def forget(self, camera_id: str) -> None:
        """The camera was deleted: its evidence goes with it."""
        self.monitors.pop(camera_id, None)
        self._forgotten_since_sweep.add(camera_id)
        self.unsaved_forgets.add(camera_id)

    def restart_commissioning(self, camera_id: str) -> None:
        """The camera moved from `live` back to `commissioning`: its evidence starts again."""
        mon = self.monitors.get(camera_id)
        if mon is not None:
            mon.restart_commissioning()

    def report(self, camera: Camera, now: int) -> HealthReport:
        mon = self.monitor(camera.camera_id)
        mon.expected_reads_per_hour = camera.expected_reads_per_hour
        return mon.evaluate(now)

    def sweep(self, cameras: Collection[Camera], now: int) -> Sweep:
        """Evaluate every registered camera; forget monitors of cameras no longer registered."""
        sweep = self.begin_sweep(cameras, now)
        for camera in cameras:
            sweep.add(camera, self.report(camera, now))
        return sweep

    def begin_sweep(self, cameras: Collection[Camera], now: int) -> Sweep:
        """A sweep to fill camera by camera (the API's is cut into slices, `anpr.timeslice`);
        monitors of cameras no longer registered are forgotten now."""
        registered = {camera.camera_id for camera in cameras}
        for cid in [cid for cid in self.monitors if cid not in registered]:
            self.forget(cid)
        forgotten = sorted(self._forgotten_since_sweep)
        self._forgotten_since_sweep.clear()
        return Sweep(now, forgotten)

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


def read_aggregate(event: GatewayEventRecord) -> ReadAggregate | None:
    """The reads part of a counts record; None when it has none. `InvalidRecord` when its
    counts are negative or its times out of order (nothing is applied then)."""
    reads = event.get("reads", 0)
    if reads <= 0:
        return None
    first_at = event.get("first_at", event["at"])
    last_at = event.get("last_at", event["at"])
    counts = (
        event.get("with_confidence", 0),
        event.get("low_confidence", 0),
        event.get("with_images", 0),
        event.get("own_read_ids", 0),
        *event.get("confidence_bins", ()),
    )
    if first_at > last_at or any(n < 0 for n in counts):
        raise InvalidRecord("gateway event: negative counts or first_at after last_at")
    return ReadAggregate(
        reads=reads,
        first_at=first_at,
        last_at=last_at,
        with_confidence=event.get("with_confidence", 0),
        low_confidence=event.get("low_confidence", 0),
        confidence_bins=event.get("confidence_bins", ()),
        with_images=event.get("with_images", 0),
        own_read_ids=event.get("own_read_ids", 0),
        skews=event.get("skews", ())[-SKEW_SAMPLES:],
    )
