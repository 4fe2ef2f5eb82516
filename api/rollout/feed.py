"""The rollout's I/O shell in the API: what the API already consumes, turned into lifecycle events.

- registry records (the API's registry follower): `registered`, `moved_live`/`moved_commissioning`;
- heartbeats and the gateways' read aggregates (the health loop): `first_valid_read`,
  `first_heartbeat`;
- gateway events: `"kind": "contact"` records give `first_contact` (refusals are tallied
  against the caller), `rejected_by_detail` the wording of rejected reads;
- the periodic health refresh: commissioning verdicts of cameras in commissioning, and
  `went_silent`/`came_back` from each camera's health status.

Events are stored (`Store.add_lifecycle`) by `flush`, called after each consumed batch and each
refresh. Gauges of cameras by stage and integrator are set from the report at each refresh.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import cast

from anpr.bus.base import Record
from anpr.clock import ms_to_rfc3339
from anpr.codecs.records import GatewayEventRecord, HeartbeatRecord
from anpr.registry import Camera, CameraState, RegistryView
from api.commissioning.gather import assess
from api.commissioning.model import Verdict
from api.health.state import CameraStatus
from api.health.tracker import HealthTopics, HealthTracker
from api.metrics import ApiMetrics
from api.rollout import reasons
from api.rollout.lifecycle import CameraLife, LifecycleBook
from api.rollout.reasons import Reason
from api.rollout.report import CameraFacts, RolloutReport, Stage, build, position
from api.store.base import Store

DAY_HOURS = 24


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, float) and math.isfinite(value) else None


class RolloutFeed:
    def __init__(
        self,
        registry: RegistryView,
        health: HealthTracker,
        topics: HealthTopics,
        metrics: ApiMetrics,
        *,
        stuck_after_days: float,
        weeks: int,
    ) -> None:
        self.registry = registry
        self.health = health
        self.topics = topics
        self.metrics = metrics
        self.stuck_after_days = stuck_after_days
        self.weeks = weeks
        self.book = LifecycleBook()
        self._forget: list[str] = []

    async def restore(self, store: Store) -> None:
        self.book.restore(await store.load_lifecycle())

    async def flush(self, store: Store) -> None:
        """Write what happened since the last flush: the rows of deleted cameras go first, so
        that a camera registered again under the same id keeps the events of its new
        registration. A write that fails gives its work back for the next flush (the batch is
        redone, but the book already holds the events: drained and lost, they would never
        reach the store, and a restart would forget them)."""
        if self._forget:
            forget, self._forget = self._forget, []
            try:
                await store.forget_lifecycle(forget)
            except BaseException:
                self._forget[:0] = forget
                raise
        events = self.book.drain()
        if events:
            try:
                await store.add_lifecycle(events)
            except BaseException:
                self.book.pending[:0] = events
                raise
            for event in events:
                self.metrics.lifecycle_events.labels(event.kind).inc()

    # -- observations --------------------------------------------------------------------------

    def on_registry(self, record: Record) -> None:
        """After the registry view applied `record`: camera registrations and state changes."""
        kind, _, ident = (record.key or b"").decode("utf-8", "replace").partition("/")
        if kind != "camera":
            return
        camera = self.registry.cameras.get(ident)
        if camera is None:
            if self.book.on_deleted(ident):
                self._forget.append(ident)
            return
        stamp = _int(camera.record.get("updated_at")) or record.timestamp_ms
        self.book.on_camera(camera, stamp)

    def observe(self, topic: str, decoded: GatewayEventRecord | HeartbeatRecord) -> None:
        """A record of the heartbeats or gateway-events topic, as the health tracker decoded
        it (it applied the record first and raised on anything unreadable)."""
        if topic == self.topics.heartbeats:
            beat = cast(HeartbeatRecord, decoded)
            self.book.on_heartbeat(beat["camera_id"], beat["received_at"])
        elif topic == self.topics.gateway_events:
            event = cast(GatewayEventRecord, decoded)
            if event.get("kind") == "contact":
                self.book.on_contact(
                    event["camera_id"],
                    event["at"],
                    caller=event.get("caller", ""),
                    refused=max(0, event.get("refused", 0)),
                    requests=max(0, event.get("requests", 0)),
                )
            else:
                if event.get("reads", 0) > 0:
                    self.book.on_read(event["camera_id"], event.get("first_at", event["at"]))
                details = event.get("rejected_by_detail", {})
                counts = {k: n for k, n in details.items() if n > 0}
                if counts:
                    self.book.on_rejected(event["camera_id"], counts)

    def evaluate(self, now: int, statuses: Mapping[str, CameraStatus] | None = None) -> None:
        """Periodic: silence from health statuses, verdicts of cameras in commissioning; the
        events of cameras no longer registered (deleted while this replica was down) dropped.
        `statuses`: each camera's health status now, when a sweep just evaluated them.
        Call it only once the registry is loaded."""
        self.forget_deleted()
        for camera in list(self.registry.cameras.values()):
            self.evaluate_camera(camera, now, (statuses or {}).get(camera.camera_id))

    def forget_deleted(self) -> None:
        for camera_id in [c for c in self.book.lives if c not in self.registry.cameras]:
            self.book.on_deleted(camera_id)
            self._forget.append(camera_id)

    def evaluate_camera(self, camera: Camera, now: int, status: CameraStatus | None = None) -> None:
        """`evaluate` for one camera (the API cuts the loop into slices, `anpr.timeslice`)."""
        if camera.camera_id in self.book.lives:
            if status is None:
                status = self.health.report(camera, now).status
            self.book.on_status(camera.camera_id, now, status.value)
        if camera.state is not CameraState.COMMISSIONING:
            return
        life = self.book.lives.get(camera.camera_id)
        if life is None or not life.events:
            return
        _, report = assess(self.health, camera, now)
        if report.verdict is Verdict.PASS:
            self.book.on_verdict(camera.camera_id, now, passed=True)
        elif report.verdict is Verdict.FAIL:
            found = reasons.failures(report, life.rejected_details)
            listed = [{"code": r.code, "text": r.text} for r in found]
            self.book.on_verdict(camera.camera_id, now, passed=False, reasons=listed)

    # -- the report ----------------------------------------------------------------------------

    def blocking(self, camera: Camera, life: CameraLife, stage: Stage, now: int) -> Reason | None:
        """What keeps the camera in its stage, from the evidence this replica holds."""
        if stage is Stage.REGISTERED:
            return reasons.NO_CONTACT
        if stage is Stage.CONTACTED:
            if life.refused_by_caller:
                total = sum(life.refused_by_caller.values())
                return reasons.refused(total, life.refused_by_caller)
            totals = self.health.monitor(camera.camera_id).ledger.totals(now, DAY_HOURS)
            found = reasons.rejected(totals.reads, totals.rejected, life.rejected_details)
            return found or reasons.NO_VALID_READ
        if stage is Stage.READING:
            _, report = assess(self.health, camera, now)
            return reasons.commissioning(report, life.rejected_details) or reasons.AWAITING_LIVE
        if stage is Stage.COMMISSIONED:
            return reasons.AWAITING_LIVE
        if stage is Stage.SILENT:
            seen = self.health.report(camera, now)
            last = max(seen.last_read_at or 0, seen.last_heartbeat_at or 0)
            since = f" since {ms_to_rfc3339(last)[:16]}Z" if last else ""
            return Reason("silent", f"no read or heartbeat{since}")
        return None

    def cameras_in_order(self) -> list[Camera]:
        return sorted(self.registry.cameras.values(), key=lambda c: c.camera_id)

    def fact(self, camera: Camera, now: int) -> CameraFacts | None:
        """Where the camera stands and why; None before its first event."""
        life = self.book.lives.get(camera.camera_id)
        if life is None or not life.events:
            return None
        pos = position(life.events)
        reason = self.blocking(camera, life, pos.stage, now)
        return CameraFacts(camera.camera_id, camera.integrator_id, pos, reason)

    def facts(self, now: int) -> list[CameraFacts]:
        return [f for c in self.cameras_in_order() if (f := self.fact(c, now)) is not None]

    def report(self, now: int) -> RolloutReport:
        return self.build_report(self.facts(now), self.integrator_names(), now)

    def integrator_names(self) -> dict[str, str]:
        return {i: g.name or i for i, g in self.registry.integrators.items()}

    def build_report(
        self, facts: Sequence[CameraFacts], names: Mapping[str, str], now: int
    ) -> RolloutReport:
        """Pure (it reads only its arguments): the API runs it on a worker thread."""
        return build(
            facts, names, now=now, stuck_after_days=self.stuck_after_days, weeks=self.weeks
        )

    def update_metrics(self, now: int) -> None:
        self.set_metrics(self.report(now))

    def set_metrics(self, report: RolloutReport) -> None:
        self.metrics.rollout_cameras.clear()
        self.metrics.rollout_stuck.clear()
        for group in report.integrators:
            integrator = group.integrator_id or ""
            for stat in group.stages:
                self.metrics.rollout_cameras.labels(stat.stage.value, integrator).set(stat.cameras)
            self.metrics.rollout_stuck.labels(integrator).set(len(group.stuck))
