"""The rollout feed on the API's real inputs with a fake clock: registry records, reads,
heartbeats and gateway events go through the health tracker and the feed exactly as the API's
consumers pass them, and the periodic evaluation records verdicts and silences."""

from __future__ import annotations

import itertools
from typing import Any

import orjson
from prometheus_client import CollectorRegistry

from anpr.bus.base import Record
from anpr.registry import RegistryView
from api.health.tracker import HealthTopics, HealthTracker
from api.metrics import ApiMetrics
from api.rollout.feed import RolloutFeed
from api.rollout.report import Stage
from api.store.base import LifecycleEvent
from api.store.sqlite import SqliteStore
from tests.support import records
from tests.support.factories import recent_read

TOPICS = HealthTopics("heartbeats", "gateway-events")
MIN = 60_000
DAY = 24 * 60 * MIN
T0 = 1_780_000_000_000
_offsets = itertools.count()


def record(topic: str, key: str, value: dict[str, Any] | None, at: int) -> Record:
    raw = None if value is None else orjson.dumps(value)
    return Record(topic, 0, next(_offsets), key.encode(), raw, at)


class Rig:
    def __init__(self) -> None:
        self.registry = RegistryView()
        self.health = HealthTracker(TOPICS, started_at=T0)
        self.metrics = ApiMetrics(CollectorRegistry())
        self.feed = RolloutFeed(
            self.registry, self.health, TOPICS, self.metrics, stuck_after_days=14, weeks=2
        )

    def registry_record(self, camera_id: str, at: int, **fields: Any) -> None:
        value = {"v": 1, "kind": "camera", "camera_id": camera_id, "integrator_id": "int-1",
                 "name": camera_id, "updated_at": at, **fields}  # fmt: skip
        rec = record("registry", f"camera/{camera_id}", value, at)
        self.registry.apply(rec.key, rec.value)
        self.feed.on_registry(rec)

    def consume(self, rec: Record, now: int) -> None:
        self.feed.observe(rec.topic, self.health.apply(rec, now))

    def read(self, camera_id: str, at: int, n: int) -> None:
        value = recent_read(
            camera_id=camera_id, read_id=f"r{n}", captured_at_ms=at - 400, received_at=at
        )
        # As the gateway reports it: a per-camera aggregate on the gateway-events topic.
        ((_, raw),) = records.read_aggregates([value])
        rec = Record(TOPICS.gateway_events, 0, next(_offsets), camera_id.encode(), raw, at)
        self.consume(rec, at)

    def heartbeat(self, camera_id: str, at: int) -> None:
        raw = records.heartbeat(camera_id=camera_id, received_at=at)
        self.consume(Record(TOPICS.heartbeats, 0, next(_offsets), camera_id.encode(), raw, at), at)

    def kinds(self, camera_id: str) -> list[str]:
        return [e.kind for e in self.feed.book.lives[camera_id].events]


def test_a_camera_through_every_stage_on_real_evidence() -> None:
    rig = Rig()
    rig.registry_record("cam-1", T0, state="commissioning")
    rig.registry_record("cam-2", T0)  # registered live, never heard of: not connected
    contact = {"v": 1, "kind": "contact", "camera_id": "cam-1", "caller": "int-1",
               "at": T0 + MIN, "requests": 1, "refused": 0}  # fmt: skip
    rig.consume(record(TOPICS.gateway_events, "cam-1", contact, T0 + MIN), T0 + MIN)
    # Two hours of a camera doing everything right: 2 reads and a heartbeat every minute.
    for minute in range(2, 125):
        at = T0 + minute * MIN
        rig.read("cam-1", at, 2 * minute)
        rig.read("cam-1", at + 30_000, 2 * minute + 1)
        rig.heartbeat("cam-1", at + 1_000)
        if minute == 30:  # half an hour in: not enough evidence, no verdict yet
            rig.feed.evaluate(at + 2_000)
            assert rig.kinds("cam-1")[-1] == "first_heartbeat"
            reason = rig.feed.facts(at + 2_000)[0].reason
            assert reason is not None and reason.code == "observation_window"
    now = T0 + 125 * MIN
    rig.feed.evaluate(now)
    assert rig.kinds("cam-1") == [
        "registered",
        "moved_commissioning",
        "first_contact",
        "first_valid_read",
        "first_heartbeat",
        "commissioning_passed",
    ]
    facts = {f.camera_id: f for f in rig.feed.facts(now)}
    assert facts["cam-1"].position.stage is Stage.COMMISSIONED
    assert facts["cam-2"].position.stage is Stage.REGISTERED  # live in the registry only
    assert facts["cam-2"].reason is not None and facts["cam-2"].reason.code == "no_contact"
    # The administrator moves it to live; then it goes quiet for 20 minutes, then comes back.
    rig.registry_record("cam-1", now + MIN, state="live")
    assert rig.feed.facts(now + MIN)[0].position.stage is Stage.LIVE
    quiet = now + 21 * MIN
    rig.feed.evaluate(quiet)
    assert rig.kinds("cam-1")[-2:] == ["moved_live", "went_silent"]
    silent = rig.feed.facts(quiet)[0]
    assert silent.position.stage is Stage.SILENT
    assert silent.reason is not None and silent.reason.text.startswith("no read or heartbeat since")
    rig.read("cam-1", quiet + MIN, 9999)
    rig.feed.evaluate(quiet + MIN)
    assert rig.kinds("cam-1")[-1] == "came_back"
    assert rig.feed.facts(quiet + MIN)[0].position.stage is Stage.LIVE
    rig.feed.update_metrics(quiet + MIN)
    live = rig.metrics.rollout_cameras.labels("live", "int-1")._value.get()
    registered = rig.metrics.rollout_cameras.labels("registered", "int-1")._value.get()
    assert (live, registered) == (1.0, 1.0)
    # Every event is waiting to be stored, in order, once.
    assert [e.kind for e in rig.feed.book.drain() if e.camera_id == "cam-1"] == rig.kinds("cam-1")


def test_rejections_and_refusals_become_the_reason_of_a_contacted_camera() -> None:
    rig = Rig()
    rig.registry_record("cam-1", T0, state="commissioning")
    now = T0 + 10 * MIN
    details = {"captured_at without offset": 70, "plate empty": 3}
    events = {"v": 1, "camera_id": "cam-1", "at": now, "rejected": 73, "duplicates": 0,
              "rejected_by_reason": {"captured_at": 73}, "rejected_by_detail": details}  # fmt: skip
    contact = {"v": 1, "kind": "contact", "camera_id": "cam-1", "caller": "int-1", "at": now,
               "requests": 73, "refused": 0}  # fmt: skip
    rig.consume(record(TOPICS.gateway_events, "cam-1", events, now), now)
    rig.consume(record(TOPICS.gateway_events, "cam-1", contact, now), now)
    reason = rig.feed.facts(now)[0].reason
    assert reason is not None
    assert (reason.code, reason.text) == (
        "reads_rejected",
        "100% reads rejected: captured_at without offset",
    )
    refused = {**contact, "caller": "int-9", "refused": 5, "requests": 5}
    rig.consume(record(TOPICS.gateway_events, "cam-1", refused, now + 1), now + 1)
    reason = rig.feed.facts(now + 1)[0].reason
    assert reason is not None
    assert reason.text == "5 requests refused: the camera is not registered to int-9"
    # Health was not degraded by the refusal: the contact record carries no rejection.
    report = rig.health.report(rig.registry.cameras["cam-1"], now + 1)
    assert report.rejected_last_1h == 73


def test_a_deleted_camera_is_forgotten() -> None:
    rig = Rig()
    rig.registry_record("cam-1", T0)
    tombstone = record("registry", "camera/cam-1", None, T0 + 1)
    rig.registry.apply(tombstone.key, tombstone.value)
    rig.feed.on_registry(tombstone)
    assert "cam-1" not in rig.feed.book.lives
    assert rig.feed._forget == ["cam-1"]


def test_events_of_a_camera_deleted_while_down_are_dropped_at_the_next_evaluation() -> None:
    rig = Rig()
    rig.registry_record("cam-1", T0)
    rig.feed.book.on_camera(rig.registry.cameras["cam-1"], T0)
    rig.feed.book.restore([LifecycleEvent("gone", "registered", T0 - 5, {})])  # from the store
    rig.feed.evaluate(T0 + MIN)
    assert set(rig.feed.book.lives) == {"cam-1"}
    assert rig.feed._forget == ["gone"]


async def test_a_camera_deleted_and_registered_again_keeps_its_new_events_in_the_store() -> None:
    """The deleted camera's rows go, the new camera's stay: events of the new registration
    flushed together with the deletion are stored after it, and the deleted camera's events
    still waiting for the store are dropped."""
    rig = Rig()
    store = SqliteStore(None)
    await store.open()
    try:
        rig.registry_record("cam-1", T0, state="commissioning")
        await rig.feed.flush(store)
        rig.heartbeat("cam-1", T0 + MIN)  # the old camera's, not yet stored
        tombstone = record("registry", "camera/cam-1", None, T0 + 2 * MIN)
        rig.registry.apply(tombstone.key, tombstone.value)
        rig.feed.on_registry(tombstone)
        rig.registry_record("cam-1", T0 + 3 * MIN)
        await rig.feed.flush(store)
        stored = sorted((e.kind, e.at) for e in await store.load_lifecycle())
        assert stored == [("moved_live", T0 + 3 * MIN), ("registered", T0 + 3 * MIN)]
    finally:
        await store.close()


def test_a_rebuild_from_the_latest_record_dates_registration_and_go_live_by_the_record() -> None:
    """A new store rebuilds the rollout from the compacted registry: only each camera's latest
    record, written long after the camera came (a rename). It was dated by that write, so
    the report showed a camera registered months ago as registered and moved live today."""
    rig = Rig()
    registered, live = T0 - 90 * DAY, T0 - 60 * DAY
    rig.registry_record(
        "cam-1",
        T0,
        state="live",
        registered_at=registered,
        state_since=live,
        state_before="commissioning",
    )
    events = {e.kind: e.at for e in rig.feed.book.lives["cam-1"].events}
    assert events == {"registered": registered, "moved_live": live}
