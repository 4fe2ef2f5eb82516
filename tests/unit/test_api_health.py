"""Camera health: the pure state machine on a fake clock, the minute buckets, the tracker fed
with records, and the health object over HTTP from heartbeats and the gateways' aggregates."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anpr.bus.base import Record
from anpr.clock import now_ms
from anpr.errors import IllegalTransition
from api.health.state import (
    TRANSITIONS,
    CameraMonitor,
    CameraStatus,
    Thresholds,
    advance,
)
from api.health.tracker import HealthTopics, HealthTracker, Sweep
from api.health.window import Counter, MinuteBuckets
from api.store.base import StoreUnavailable
from tests.support import records
from tests.support.factories import recent_read, unique
from tests.support.ticker import Ticker
from tests.unit.api_fixtures import ApiHarness, running_api

S = 1000
MIN = 60 * S
HOUR = 60 * MIN
T0 = 1_750_000_000_000 - (1_750_000_000_000 % HOUR)


def read(mon: CameraMonitor, at: int, *, skew: int = 300, confidence: float | None = 0.9) -> None:
    mon.observe_read(received_at=at, captured_at=at - skew, confidence=confidence, now=at)


def test_lifecycle_never_seen_online_degraded_offline_online() -> None:
    mon = CameraMonitor(observed_since=T0, expected_reads_per_hour=60)
    assert mon.evaluate(T0).status is CameraStatus.NEVER_SEEN
    read(mon, T0 + MIN)
    report = mon.evaluate(T0 + MIN)
    assert report.status is CameraStatus.ONLINE
    assert report.status_since == T0 + MIN
    assert report.last_read_at == T0 + MIN
    assert report.reads_last_5m == 1
    # Heartbeats keep coming but reads stop: degraded after 5 min (> 3 x the 1-minute gap).
    for minute in range(2, 9):
        mon.observe_heartbeat(received_at=T0 + minute * MIN)
    report = mon.evaluate(T0 + 7 * MIN)
    assert report.status is CameraStatus.DEGRADED
    assert "no reads" in report.reasons[0]
    # Then silence: offline 15 min after the last heartbeat.
    assert mon.evaluate(T0 + 8 * MIN + 15 * MIN).status is CameraStatus.DEGRADED
    report = mon.evaluate(T0 + 8 * MIN + 15 * MIN + 1)
    assert report.status is CameraStatus.OFFLINE
    assert report.status_since == T0 + 23 * MIN + 1
    # A read brings it back.
    back = T0 + 40 * MIN
    read(mon, back)
    assert mon.evaluate(back).status is CameraStatus.ONLINE


def test_offline_waits_for_three_expected_gaps_on_quiet_cameras() -> None:
    mon = CameraMonitor(observed_since=T0, expected_reads_per_hour=2)  # a read every 30 min
    read(mon, T0)
    assert mon.evaluate(T0 + 20 * MIN).status is CameraStatus.ONLINE
    assert mon.evaluate(T0 + 89 * MIN).status is CameraStatus.ONLINE
    assert mon.evaluate(T0 + 91 * MIN).status is CameraStatus.OFFLINE


def test_heartbeat_only_camera_gets_a_grace_period() -> None:
    mon = CameraMonitor(observed_since=T0)
    mon.observe_heartbeat(received_at=T0)
    assert mon.evaluate(T0 + 4 * MIN).status is CameraStatus.ONLINE
    mon.observe_heartbeat(received_at=T0 + 5 * MIN)
    assert mon.evaluate(T0 + 6 * MIN).status is CameraStatus.DEGRADED


@pytest.mark.parametrize(
    ("case", "feed", "reason"),
    [
        ("clock skew", {"skew": 8000}, "clock skew"),
        ("negative skew", {"skew": -6000}, "clock skew"),
        ("low confidence", {"confidence": 0.2}, "below confidence"),
    ],
)
def test_degraded_by_read_quality(case: str, feed: dict[str, float], reason: str) -> None:
    mon = CameraMonitor(observed_since=T0)
    for i in range(12):
        read(mon, T0 + i * S, **feed)  # type: ignore[arg-type]
    report = mon.evaluate(T0 + 12 * S)
    assert report.status is CameraStatus.DEGRADED, case
    assert reason in report.reasons[0]


def test_quality_thresholds_need_enough_samples() -> None:
    mon = CameraMonitor(observed_since=T0)
    for i in range(3):
        read(mon, T0 + i * S, skew=9000, confidence=0.1)
    report = mon.evaluate(T0 + 3 * S)
    assert report.status is CameraStatus.ONLINE
    assert report.clock_skew_ms == 9000
    assert report.low_confidence_ratio == 1.0


def test_low_rate_only_after_a_full_hour_of_watching() -> None:
    mon = CameraMonitor(observed_since=T0, expected_reads_per_hour=600)
    for i in range(0, 70):
        read(mon, T0 + i * MIN)  # one a minute: 60 an hour, 10 % of expected
    assert mon.evaluate(T0 + 59 * MIN).status is CameraStatus.ONLINE
    report = mon.evaluate(T0 + 69 * MIN)
    assert report.status is CameraStatus.DEGRADED
    assert "expected about 600" in report.reasons[0]
    assert report.reads_last_1h == 60


def test_rejections_degrade_duplicates_only_reported() -> None:
    mon = CameraMonitor(observed_since=T0)
    for i in range(10):
        read(mon, T0 + i * S)
    mon.observe_gateway(at=T0 + 10 * S, rejected=0, duplicates=10, now=T0 + 10 * S)
    report = mon.evaluate(T0 + 11 * S)
    assert report.status is CameraStatus.ONLINE
    assert report.duplicate_ratio == 0.5
    mon.observe_gateway(at=T0 + 12 * S, rejected=5, duplicates=0, now=T0 + 12 * S)
    report = mon.evaluate(T0 + 13 * S)
    assert report.status is CameraStatus.DEGRADED
    assert report.rejected_last_1h == 5
    assert "rejected" in report.reasons[0]


def test_transitions_are_written_down_and_never_return_to_never_seen() -> None:
    for status, targets in TRANSITIONS.items():
        assert CameraStatus.NEVER_SEEN not in targets
        assert status not in targets
        for other in CameraStatus:
            if other is status or other in targets:
                assert advance(status, other) is other
            else:
                with pytest.raises(IllegalTransition, match=f"{status} -> {other}"):
                    advance(status, other)


def test_minute_buckets_window_and_late_events() -> None:
    buckets = MinuteBuckets()
    now = T0 + 90 * MIN
    buckets.add(now, Counter.READS, now, 3)
    buckets.add(now - 4 * MIN, Counter.READS, now)
    buckets.add(now - 5 * MIN, Counter.READS, now)
    buckets.add(now - 59 * MIN, Counter.READS, now)
    buckets.add(now - 60 * MIN, Counter.READS, now)  # older than an hour: ignored
    buckets.add(now + MIN, Counter.READS, now)  # in the future: ignored
    assert buckets.total(now, 5, Counter.READS) == 4
    assert buckets.total(now, 60, Counter.READS) == 6
    assert buckets.total(now + 61 * MIN, 60, Counter.READS) == 0


@settings(max_examples=200, deadline=None)
@given(
    adds=st.lists(
        st.tuples(st.integers(-70, 3), st.sampled_from(list(Counter)), st.integers(1, 5)),
        max_size=80,
    ),
    later=st.integers(0, 70),
    minutes=st.sampled_from([1, 5, 60, 90]),
)
def test_all_totals_at_once_are_each_total(
    adds: list[tuple[int, Counter, int]], later: int, minutes: int
) -> None:
    buckets = MinuteBuckets()
    now = T0 + 90 * MIN
    for offset, counter, n in adds:
        buckets.add(now + offset * MIN + 7 * S, counter, now, n)
    at = now + later * MIN
    totals = buckets.totals(at, minutes)
    assert totals[1:] == [buckets.total(at, minutes, counter) for counter in Counter]


def test_thresholds_scale_with_expected_rate() -> None:
    t = Thresholds()
    assert t.scaled(15 * MIN, None) == 15 * MIN
    assert t.scaled(15 * MIN, 120) == 15 * MIN
    assert t.scaled(15 * MIN, 6) == 30 * MIN


def _record(topic: str, value: bytes | None, ts: int = T0) -> Record:
    return Record(topic, 0, 0, b"k", value, ts)


def test_tracker_applies_records_and_sweeps_unregistered_cameras() -> None:
    from anpr.errors import InvalidRecord
    from anpr.registry import Camera, CameraState

    topics = HealthTopics("heartbeats", "events")
    tracker = HealthTracker(topics, started_at=T0)
    read = recent_read(camera_id="a", received_at=T0 + S, captured_at_ms=T0)
    ((_, aggregate),) = records.read_aggregates([read])
    tracker.apply(_record("events", aggregate), T0 + S)
    tracker.apply(_record("heartbeats", records.heartbeat(camera_id="b", received_at=T0)), T0 + S)
    event = records.gateway_event(camera_id="a", at=T0, rejected=2)
    tracker.apply(_record("events", event), T0 + S)
    counts = orjson.loads(aggregate)
    wrong_type = orjson.dumps({**counts, "reads": "many"})
    negative = orjson.dumps({**counts, "low_confidence": -1})
    backwards = orjson.dumps({**counts, "first_at": counts["last_at"] + 1})
    for bad in (None, b"[]", b"{oops", b'{"camera_id": 5}', wrong_type, negative, backwards):
        with pytest.raises(InvalidRecord):
            tracker.apply(_record("events", bad), T0 + S)
    with pytest.raises(InvalidRecord):
        tracker.apply(_record("reads", orjson.dumps(read)), T0 + S)  # not followed any more
    assert tracker.monitor("a").last_read_at == T0 + S
    camera = Camera("a", "i", "A", frozenset(), "UTC", CameraState.LIVE, None, (), {})
    sweep = tracker.sweep([camera], T0 + 2 * S)
    assert sweep.by_status[CameraStatus.ONLINE] == 1
    assert sweep.forgotten == ["b"]
    assert sweep.last_seen_age_s == {"a": 1.0}
    assert [row.camera_id for row in tracker.activity()] == ["a"]


# Records made up by a test carry a partition the bus does not have, so that the offsets the
# service remembers as applied never hide the records the running service consumes itself.
SYNTHETIC_PARTITION = 1000


@pytest.fixture(scope="module")
async def api() -> AsyncIterator[ApiHarness]:
    async with running_api() as harness:
        yield harness


async def test_a_large_batch_of_aggregates_hands_the_loop_back(api: ApiHarness) -> None:
    """Hits are streamed from the loop that folds the aggregates (20,000 records a second at
    10,000 cameras): other tasks run while a batch is applied, not only after it."""
    at = now_ms()
    batch = [  # on a partition of its own: the service remembers what it applied per partition
        Record(api.topics.gateway_events, SYNTHETIC_PARTITION, n, f"cam-{n}".encode(), raw, at)
        for n, (_, raw) in enumerate(
            records.read_aggregates(
                recent_read(camera_id=f"{unique('cam')}-{n}", received_at=at) for n in range(4000)
            )
        )
    ]
    service = api.service
    seen: list[int] = []
    apply = service.health.apply
    async with Ticker() as ticker:

        def counted(record: Record, now: int) -> object:
            seen.append(ticker.ticks)
            return apply(record, now)

        service.health.apply = counted  # type: ignore[method-assign,assignment]
        try:
            assert await service._handle_health(batch) == []
        finally:
            del service.health.apply
    assert len(seen) == len(batch)
    assert seen[-1] - seen[0] >= 2  # the loop ran other tasks at least twice mid-batch


async def test_a_redone_batch_applies_each_aggregate_once(api: ApiHarness) -> None:
    """The health topics are followed without a group: a batch whose flush failed is redone
    from its first record (whole when the error is retriable, record by record when not), and
    an aggregate applied twice would count its camera's reads twice."""
    at = now_ms()
    batch = [  # on a partition of its own: the service remembers what it applied per partition
        Record(api.topics.gateway_events, SYNTHETIC_PARTITION + 1, n, f"cam-{n}".encode(), raw, at)
        for n, (_, raw) in enumerate(
            records.read_aggregates(
                recent_read(camera_id=f"{unique('cam')}-{n}", received_at=at) for n in range(3)
            )
        )
    ]
    service = api.service
    applied: list[int] = []
    apply, flush = service.health.apply, service.rollout.flush
    failures = [StoreUnavailable("the store is away"), RuntimeError("a bug")]

    def counted(record: Record, now: int) -> object:
        applied.append(record.offset)
        return apply(record, now)

    async def failing(store: object) -> None:
        if failures:
            raise failures.pop(0)
        await flush(store)  # type: ignore[arg-type]

    service.health.apply = counted  # type: ignore[method-assign,assignment]
    service.rollout.flush = failing  # type: ignore[method-assign]
    try:
        for _ in range(2):
            with pytest.raises((StoreUnavailable, RuntimeError)):
                await service._handle_health(batch)
        for record in batch:  # the loop's record by record redo
            assert await service._handle_health([record]) == []
    finally:
        del service.health.apply
        del service.rollout.flush
    assert applied == [r.offset for r in batch]


async def test_health_over_http_from_heartbeats_and_gateway_aggregates(api: ApiHarness) -> None:
    camera_id = unique("cam")
    await api.register_camera(camera_id, expected_reads_per_hour=3600)
    t = now_ms()
    reads = [
        recent_read(
            camera_id=camera_id,
            captured_at_ms=t - 1200,
            received_at=t,
            confidence=0.3 if i < 2 else 0.95,
        )
        for i in range(10)
    ]
    # Two gateways took five reads each: the API adds up their aggregates.
    for half in (reads[:5], reads[5:]):
        ((_, aggregate),) = records.read_aggregates(half)
        await api.publish(api.topics.gateway_events, camera_id, aggregate)
    await api.publish(
        api.topics.heartbeats, camera_id, records.heartbeat(camera_id=camera_id, received_at=t)
    )
    await api.publish(
        api.topics.gateway_events,
        camera_id,
        {
            "v": 1,
            "camera_id": camera_id,
            "at": t,
            "rejected": 1,
            "duplicates": 2,
            "rejected_by_reason": {"plate": 1},
        },
    )

    def applied() -> bool:
        mon = api.service.health.monitors.get(camera_id)
        return mon is not None and mon.last_heartbeat_at is not None

    await api.until(applied)
    await api.until(
        lambda: (
            api.service.health.report(
                api.service.registry.cameras[camera_id], now_ms()
            ).rejected_last_1h
            == 1
        )
    )
    response = await api.client.get(f"/v1/cameras/{camera_id}/health", headers=api.auth("operator"))
    assert response.status_code == 200
    health = response.json()
    assert health["status"] == "online"
    assert health["reads_last_5m"] == 10
    assert health["reads_last_1h"] == 10
    assert health["clock_skew_ms"] == 1200
    assert health["low_confidence_ratio"] == 0.2
    assert health["rejected_last_1h"] == 1
    assert health["duplicate_ratio"] == round(2 / 12, 4)
    assert health["last_read_at"].endswith("Z")
    assert health["last_heartbeat_at"].endswith("Z")
    metrics = (await api.client.get("/metrics")).text
    assert 'anpr_api_cameras{status="online"}' in metrics
    assert f'anpr_api_camera_last_seen_age_seconds{{camera_id="{camera_id}"}}' in metrics


async def test_camera_activity_survives_a_restart(api: ApiHarness) -> None:
    camera_id = unique("cam")
    await api.register_camera(camera_id)
    t = now_ms()
    await api.publish(
        api.topics.heartbeats, camera_id, records.heartbeat(camera_id=camera_id, received_at=t)
    )
    await api.until(lambda: api.service.health.monitor(camera_id).last_heartbeat_at == t)
    await api.service.save_activity()
    rows = {row.camera_id: row for row in await api.service.store.load_activity()}
    assert rows[camera_id].last_heartbeat_at == t
    fresh = HealthTracker(HealthTopics("h", "g"), started_at=t)
    fresh.restore(list(rows.values()))
    report = fresh.report(api.service.registry.cameras[camera_id], t + 20 * MIN)
    assert report.status is CameraStatus.OFFLINE


async def test_a_camera_without_reads_in_the_hour_has_no_clock_skew_series(api: ApiHarness) -> None:
    """Its skew is unknown, not the last one measured: a camera that stopped reading would
    otherwise keep its clock alert for good."""
    camera_id = unique("cam")

    def skew() -> float | None:
        return api.service.metrics.registry.get_sample_value(
            "anpr_api_camera_clock_skew_seconds", {"camera_id": camera_id}
        )

    sweep = Sweep(now=T0, forgotten=[])
    sweep.status_of[camera_id] = (CameraStatus.DEGRADED, "live")
    sweep.clock_skew_ms[camera_id] = 120_000
    await api.service._camera_status_series(sweep)
    assert skew() == 120.0
    sweep.clock_skew_ms[camera_id] = None
    await api.service._camera_status_series(sweep)
    assert skew() is None


async def test_a_camera_deleted_and_registered_again_starts_never_seen(api: ApiHarness) -> None:
    """The deleted camera's evidence goes with it: its monitor at once, its last-seen series at
    the next sweep, its activity row at the next save, even when a scrape swept first."""
    camera_id = unique("cam")
    await api.register_camera(camera_id)
    t = now_ms()
    await api.publish(
        api.topics.heartbeats, camera_id, records.heartbeat(camera_id=camera_id, received_at=t)
    )
    await api.until(lambda: api.service.health.monitor(camera_id).last_heartbeat_at == t)
    await api.service.save_activity()
    assert f'camera_id="{camera_id}"' in (await api.client.get("/metrics")).text

    deleted = await api.client.delete(f"/v1/cameras/{camera_id}", headers=api.auth())
    assert deleted.status_code == 204
    await api.register_camera(camera_id)
    health = await api.client.get(f"/v1/cameras/{camera_id}/health", headers=api.auth("operator"))
    assert health.json()["status"] == "never_seen"
    assert health.json()["last_heartbeat_at"] is None
    metrics = (await api.client.get("/metrics")).text
    assert f'anpr_api_camera_last_seen_age_seconds{{camera_id="{camera_id}"}}' not in metrics
    await api.service.save_activity()
    rows = await api.service.store.load_activity()
    assert camera_id not in {row.camera_id for row in rows}, "a restart would bring it back"


async def test_the_hotlists_follower_shows_no_lag_or_progress_time() -> None:
    """/metrics and /readyz need no token: the hotlists follower's lag counted the entries of a
    covert list being written, and its last-progress time moved on every covert write, while
    no overt series moved. Its stall and readiness still show; other loops keep their lag."""
    async with running_api() as api:
        metrics = (await api.client.get("/metrics")).text
        loops = (await api.client.get("/readyz")).json()["loops"]
    assert 'anpr_consumer_ready{loop="api-hotlists",process="api"} 1.0' in metrics
    assert not [
        line
        for line in metrics.splitlines()
        if 'loop="api-hotlists"' in line
        and line.startswith(("anpr_consumer_lag", "anpr_consumer_last_progress"))
    ]
    assert "lag" not in loops["api-hotlists"]
    assert "lag" in loops["api-hits"]
