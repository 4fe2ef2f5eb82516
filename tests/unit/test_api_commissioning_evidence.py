"""Commissioning evidence: the hourly ledger, what the health monitor and tracker put in it, and
the stats snapshot gathered from them (on a fake clock)."""

from __future__ import annotations

from typing import Any

import pytest

from anpr.bus.base import Record
from anpr.registry import Camera, CameraState
from api.commissioning.gather import assess, gather
from api.commissioning.model import Verdict
from api.health.ledger import HourlyLedger, Tally
from api.health.state import CameraMonitor
from api.health.tracker import HealthTopics, HealthTracker
from tests.support import records
from tests.support.factories import recent_read

S = 1000
MIN = 60 * S
HOUR = 60 * MIN
T0 = 1_750_000_000_000 - (1_750_000_000_000 % HOUR)
TOPICS = HealthTopics("heartbeats", "events")


def camera(camera_id: str = "cam", rate: float | None = 120.0) -> Camera:
    return Camera(
        camera_id, "int", "Cam", frozenset(), "UTC", CameraState.COMMISSIONING, rate, (), {}
    )


def record(topic: str, value: dict[str, Any]) -> Record:
    """A valid record of `topic` with `value`'s fields; a read as the gateway reports it, in a
    gateway-events aggregate."""
    if topic == "reads":
        read = recent_read(**value)
        if "confidence" not in value:
            del read["confidence"]
        ((_, raw),) = records.read_aggregates([read])
        topic = "events"
    elif topic == "heartbeats":
        raw = records.heartbeat(**value)
    else:
        raw = records.gateway_event(**value)
    return Record(topic, 0, 0, b"cam", raw, T0)


def test_ledger_sums_whole_hours_and_ignores_old_and_future_evidence() -> None:
    ledger = HourlyLedger()
    now = T0 + 30 * HOUR + 10 * MIN
    ledger.add(now, Tally.REJECTED, now, 3)
    ledger.add(now - HOUR, Tally.REJECTED, now)
    ledger.add(now - 23 * HOUR, Tally.REJECTED, now)
    ledger.add(now - 24 * HOUR, Tally.REJECTED, now)  # older than 24 slots: ignored
    ledger.add(now + S, Tally.REJECTED, now)  # after now: ignored
    ledger.add(now, Tally.DUPLICATES, now, 0)  # nothing to add: not evidence either
    assert ledger.totals(now, 1).rejected == 3
    assert ledger.totals(now, 2).rejected == 4
    assert ledger.totals(now, 24).rejected == 5
    assert ledger.totals(now, 99).rejected == 5
    assert ledger.first_at == now - 23 * HOUR
    assert ledger.totals(now + 24 * HOUR, 24).rejected == 0  # every slot has expired


def test_ledger_counts_rejections_by_bounded_reason() -> None:
    ledger = HourlyLedger()
    now = T0 + 2 * HOUR
    ledger.add_rejected(now - HOUR, now, count=3, by_reason={"plate": 2, "captured_at": 1})
    reasons: dict[str, object] = {"plate": 4, "Bad Reason!": 2, "lane": True, "country": -1}
    ledger.add_rejected(now, now, count=6, by_reason=reasons)
    ledger.add_rejected(now, now, count=0, by_reason={"plate": 9})  # nothing rejected
    many = {f"reason_{chr(97 + i)}{chr(97 + j)}": 1 for i in range(5) for j in range(6)}
    ledger.add_rejected(now, now, count=30, by_reason=many)
    totals = ledger.totals(now, 2)
    assert totals.rejected == 39
    assert totals.rejected_by_reason["plate"] == 6
    assert totals.rejected_by_reason["captured_at"] == 1
    assert totals.rejected_by_reason["other"] == 2 + 30 - (24 - 2)  # past the first 24 reasons
    assert "lane" not in totals.rejected_by_reason and "country" not in totals.rejected_by_reason
    assert next(iter(totals.rejected_by_reason)) == "other"  # most frequent first
    assert ledger.totals(now, 1).rejected_by_reason.get("captured_at") is None


def test_ledger_reads_confidence_images_and_own_ids() -> None:
    ledger = HourlyLedger()
    for i, (conf, images, own) in enumerate(
        [(0.95, True, True), (0.3, False, True), (None, False, False), (0.5, True, False)]
    ):
        ledger.add_read(
            T0 + i * S, T0 + HOUR - 1, confidence=conf, has_images=images, own_read_id=own
        )
    totals = ledger.totals(T0 + HOUR - 1, 1)
    assert (totals.reads, totals.with_confidence, totals.with_images, totals.own_read_ids) == (
        4,
        3,
        2,
        2,
    )
    assert totals.confidence.counts[3] == 1 and totals.confidence.counts[5] == 1
    assert totals.confidence.counts[9] == 1
    assert totals.confidence.share_below(0.5) == pytest.approx(1 / 3)


def test_monitor_records_heartbeat_gaps_seen_by_this_replica_only() -> None:
    mon = CameraMonitor(observed_since=T0)
    mon.restore(first_seen=T0 - HOUR, last_read_at=None, last_heartbeat_at=T0 - 10 * MIN)
    for minute in range(1, 6):
        mon.observe_heartbeat(received_at=T0 + minute * MIN, now=T0 + 6 * MIN)
    mon.observe_heartbeat(received_at=T0 + 9 * MIN, now=T0 + 9 * MIN)
    mon.observe_heartbeat(received_at=T0 + 8 * MIN, now=T0 + 9 * MIN)  # late: no gap
    totals = mon.ledger.totals(T0 + 9 * MIN, 1)
    assert totals.heartbeats == 7
    # 4 gaps of 60 s and one of 240 s; the gap from the remembered heartbeat is not evidence.
    assert totals.heartbeat_gaps.total == 5
    assert totals.heartbeat_gaps.quantile(0.5) == pytest.approx(45 + 15 * 2.5 / 4)
    assert mon.last_heartbeat_at == T0 + 9 * MIN


def test_tracker_tells_own_read_ids_and_images_and_counts_gateway_events() -> None:
    tracker = HealthTracker(TOPICS, started_at=T0)
    now = T0 + MIN
    reads: list[dict[str, Any]] = [
        {"read_id": "cam-1", "confidence": 0.9, "images": {"plate_url": "http://x/1.jpg"}},
        {"read_id": "d-0123456789abcdef", "confidence": 0.4},
        {"read_id": "cam-3", "images": {}},
    ]
    for read in reads:
        tracker.apply(
            record(
                "reads",
                {"camera_id": "cam", "received_at": now, "captured_at_ms": now - 700, **read},
            ),
            now,
        )
    tracker.apply(
        record("events", {"camera_id": "cam", "at": now, "rejected": 2, "duplicates": 1}), now
    )
    tracker.apply(record("heartbeats", {"camera_id": "cam", "received_at": now}), now)
    stats = gather(tracker, camera(), now, hours=24)
    assert (stats.reads, stats.own_read_ids, stats.with_images, stats.with_confidence) == (
        3,
        2,
        1,
        2,
    )
    assert (stats.rejected, stats.duplicates, stats.heartbeats) == (2, 1, 1)
    assert (stats.clock_skew_ms, stats.skew_samples) == (700, 3)
    assert stats.window_start == now  # the first evidence
    assert stats.expected_reads_per_hour == 120.0


def test_window_starts_at_the_latest_of_watch_start_first_evidence_and_oldest_hour() -> None:
    tracker = HealthTracker(TOPICS, started_at=T0 + 10 * MIN)
    mon = tracker.monitor("cam")
    now = T0 + 5 * HOUR + 20 * MIN
    assert gather(tracker, camera(), now, hours=24).window_start == now  # no evidence yet
    mon.observe_heartbeat(received_at=T0 + 30 * MIN, now=now)
    assert gather(tracker, camera(), now, hours=24).window_start == T0 + 30 * MIN
    assert gather(tracker, camera(), now, hours=2).window_start == T0 + 4 * HOUR
    assert gather(tracker, camera(), now, hours=0).window_start == T0 + 5 * HOUR  # at least 1
    late = HealthTracker(TOPICS, started_at=T0 + 2 * HOUR)
    late.monitor("cam").ledger.add(T0 + HOUR, Tally.REJECTED, now)
    assert gather(late, camera(), now, hours=24).window_start == T0 + 2 * HOUR


def test_two_good_hours_fed_through_the_tracker_pass() -> None:
    tracker = HealthTracker(TOPICS, started_at=T0)
    start = T0 + 5 * MIN
    for second in range(0, 2 * 3600, 30):  # a read every 30 s: 120 an hour
        at = start + second * S
        tracker.apply(
            record(
                "reads",
                {
                    "camera_id": "cam",
                    "read_id": f"r-{second}",
                    "received_at": at,
                    "captured_at_ms": at - 400,
                    "confidence": 0.9,
                },
            ),
            at,
        )
        if second % 60 == 0:
            tracker.apply(record("heartbeats", {"camera_id": "cam", "received_at": at}), at)
    now = start + 2 * HOUR
    stats, report = assess(tracker, camera(), now)
    assert stats.reads == 240
    assert stats.heartbeats == 120
    assert report.verdict is Verdict.PASS, report.summary
    # The same evidence for a camera registered at 600 an hour: the rate fails.
    _, fast = assess(tracker, camera(rate=600.0), now)
    assert fast.verdict is Verdict.FAIL
    assert fast.summary == "fails read_rate"
