"""The gateway's per-camera aggregates for camera health (`ingest.camerastats`, `ingest.events`):
what one record carries, how records split by minute, what a failed publish keeps, and that the
API's tracker reads from them the same health as it did from the reads themselves."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
import pytest

from anpr.bus.base import LandedLate, Message, Record
from anpr.bus.local import LocalBus
from anpr.errors import BusUnavailable
from anpr.settings import CommonSettings
from anpr.topics import Topics
from api.health.state import CameraMonitor
from api.health.tracker import HealthTopics, HealthTracker
from ingest import events as events_module
from ingest.camerastats import SKEW_SAMPLES, CameraAggregates
from ingest.events import GatewayEvents
from tests.conftest import MakeRead
from tests.support import records
from tests.support.factories import recent_read as topic_read
from tests.support.gateway import read_topic, running_gateway, values

S = 1000
MIN = 60 * S
HOUR = 60 * MIN
T0 = 1_750_000_000_000 - (1_750_000_000_000 % HOUR)


def fold(reads: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [orjson.loads(value) for _, value in records.read_aggregates(reads)]


@pytest.mark.parametrize(
    ("case", "fields", "expected"),
    [
        ("confidence high", {"confidence": 0.95}, {"with_confidence": 1, "low_confidence": 0}),
        ("confidence low", {"confidence": 0.3}, {"with_confidence": 1, "low_confidence": 1}),
        ("0.5 is not low", {"confidence": 0.5}, {"with_confidence": 1, "low_confidence": 0}),
        ("own read_id", {"read_id": "r-1"}, {"own_read_ids": 1}),
        ("derived read_id", {"read_id": "d-00ff"}, {"own_read_ids": 0}),
        ("images", {"images": {"plate_url": "https://x/1.jpg"}}, {"with_images": 1}),
        ("no images", {"images": {}}, {"with_images": 0}),
        ("skew", {"captured_at_ms": T0 - 1500}, {"skews": [1500]}),
    ],
)
def test_one_read_folded(case: str, fields: dict[str, Any], expected: dict[str, Any]) -> None:
    read = topic_read(camera_id="cam", received_at=T0, captured_at_ms=T0 - 100)
    read.pop("confidence", None)
    read.update(fields)
    (record,) = fold([read])
    assert record["reads"] == 1
    assert (record["first_at"], record["last_at"], record["at"]) == (T0, T0, T0)
    assert {key: record.get(key, 0) for key in expected} == expected, case


def test_confidence_bins_are_the_apis_tenths() -> None:
    confidences = [0.0, 0.09, 0.1, 0.49, 0.5, 0.7, 0.99, 1.0]
    reads = [topic_read(camera_id="c", received_at=T0, confidence=c) for c in confidences]
    (record,) = fold(reads)
    assert record["confidence_bins"] == [2, 1, 0, 0, 1, 1, 0, 1, 0, 2]
    mon = CameraMonitor(observed_since=T0)
    for read in reads:
        mon.observe_read(received_at=T0, captured_at=None, confidence=read["confidence"], now=T0)
    assert mon.ledger.totals(T0, 1).confidence.counts == tuple(record["confidence_bins"])


def test_records_split_by_camera_and_minute_and_keep_the_last_skews() -> None:
    reads = [
        topic_read(camera_id="a", received_at=T0 + i * S, captured_at_ms=T0 + i * S - i)
        for i in range(200)
    ]
    reads.append(topic_read(camera_id="b", received_at=T0, captured_at_ms=T0))
    found = fold(reads)
    assert [(r["camera_id"], r["reads"]) for r in found] == [("a", 60), ("a", 60), ("a", 60),
                                                            ("a", 20), ("b", 1)]  # fmt: skip
    for record in found:
        assert record["first_at"] // MIN == record["last_at"] // MIN == record["at"] // MIN
    assert found[0]["skews"] == list(range(60))
    many = [topic_read(camera_id="a", received_at=T0, captured_at_ms=T0 - i) for i in range(300)]
    (record,) = fold(many)
    assert record["skews"] == list(range(300 - SKEW_SAMPLES, 300))


class FlakyBus:
    """Refuses the first publish, takes the next."""

    def __init__(self) -> None:
        self.refuse = True
        self.published: list[Message] = []

    async def publish(
        self,
        messages: Sequence[Message],
        *,
        timeout_s: float,
        landed_late: LandedLate | None = None,
    ) -> None:
        if self.refuse:
            self.refuse = False
            raise BusUnavailable("broker away")
        self.published.extend(messages)


async def test_counts_not_published_are_kept_for_the_next_flush() -> None:
    bus = FlakyBus()
    events = GatewayEvents(bus, "events")  # type: ignore[arg-type]
    first = topic_read(camera_id="cam", read_id="r-1", confidence=0.2, captured_at_ms=1)
    events.accepted([first])
    events.rejected("cam", "plate")
    with pytest.raises(BusUnavailable):
        await events.flush()
    events.accepted([topic_read(camera_id="cam", read_id="r-2", received_at=first["received_at"])])
    events.duplicate("cam")
    await events.flush()
    decoded = [orjson.loads(m.value or b"") for m in bus.published]
    counts = [r for r in decoded if r.get("kind") is None]
    assert sum(r.get("reads", 0) for r in counts) == 2
    assert sum(r["rejected"] for r in counts) == 1
    assert sum(r["duplicates"] for r in counts) == 1
    assert sum(r.get("low_confidence", 0) for r in counts) == 1
    assert not events._counts  # everything was published
    await events.flush()  # nothing new: nothing published
    assert len(bus.published) == len(decoded)


class FailsOnce:
    """Takes the first publish, refuses the second, takes the rest."""

    def __init__(self) -> None:
        self.calls = 0
        self.published: list[Message] = []

    async def publish(
        self,
        messages: Sequence[Message],
        *,
        timeout_s: float,
        landed_late: LandedLate | None = None,
    ) -> None:
        self.calls += 1
        if self.calls == 2:
            raise BusUnavailable("broker away")
        self.published.extend(messages)


async def test_a_flush_in_parts_publishes_each_count_once_through_a_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(events_module, "FLUSH_PART", 2)
    bus = FailsOnce()
    events = GatewayEvents(bus, "events")  # type: ignore[arg-type]
    cameras = [f"cam-{n}" for n in range(5)]
    for n, camera_id in enumerate(cameras):
        events.accepted([topic_read(camera_id=camera_id, read_id=f"r-{k}") for k in range(n + 1)])
        events.contact(camera_id, "int-1", refused=False)
    with pytest.raises(BusUnavailable):
        await events.flush()  # part 1 published, part 2 refused, the rest kept
    assert len(bus.published) == 2
    await events.flush()
    decoded = [orjson.loads(m.value or b"") for m in bus.published]
    counts = {r["camera_id"]: r["reads"] for r in decoded if r.get("kind") is None}
    contacts = sorted(r["camera_id"] for r in decoded if r.get("kind") == "contact")
    assert counts == {camera_id: n + 1 for n, camera_id in enumerate(cameras)}
    assert len([r for r in decoded if r.get("kind") is None]) == len(cameras)  # none twice
    assert contacts == cameras
    assert bus.calls == 2 + 5  # then 3 cameras' counts in 2 parts, 5 contacts in 3


def test_tracker_sees_the_same_health_from_aggregates_as_from_reads() -> None:
    """Property of the change: over an hour of varied reads, the report from one gateway's
    aggregates, or two gateways' halves, equals the one from the reads themselves."""
    topics = HealthTopics("heartbeats", "events")
    reads = [
        topic_read(
            camera_id="cam",
            read_id=f"r-{i}" if i % 3 else f"d-{i}",
            received_at=T0 + i * 7 * S,
            captured_at_ms=T0 + i * 7 * S - (400 + 37 * (i % 11)),
            confidence=(i % 10) / 10 + 0.05,
            images={"plate_url": "https://x/1.jpg"} if i % 4 == 0 else {},
        )
        for i in range(512)
    ]
    now = T0 + 512 * 7 * S
    direct = CameraMonitor(observed_since=T0)
    for read in reads:
        direct.observe_read(
            received_at=read["received_at"],
            captured_at=read["captured_at_ms"],
            confidence=read["confidence"],
            now=read["received_at"],
            has_images=bool(read.get("images")),
            own_read_id=not read["read_id"].startswith("d-"),
        )
    expected = direct.evaluate(now)
    for gateways in (1, 2):
        tracker = HealthTracker(topics, started_at=T0)
        # Each gateway flushes every 8 reads; the last 64 skews are then the same reads.
        for start in range(0, len(reads), 8):
            chunk = reads[start : start + 8]
            for g in range(gateways):
                for _, value in records.read_aggregates(chunk[g::gateways]):
                    record = Record("events", 0, 0, b"cam", value, chunk[-1]["received_at"])
                    tracker.apply(record, chunk[-1]["received_at"])
        mon = tracker.monitor("cam")
        assert mon.evaluate(now) == expected, gateways
        assert mon.ledger.totals(now, 24) == direct.ledger.totals(now, 24), gateways


async def test_gateway_publishes_what_it_accepted_rejected_and_dropped(
    make_read: MakeRead,
) -> None:
    bus = LocalBus(None, Topics.from_prefix("anpr.").specs(CommonSettings()))
    await bus.start()
    try:
        async with running_gateway(bus) as gw:
            batch = [
                make_read(read_id="a1", confidence=0.2),
                make_read(read_id="a2", confidence=0.9),
                make_read(read_id="a1", confidence=0.2),  # a resend in the same batch
                make_read(read_id="a3", plate=""),  # rejected
            ]
            response = await gw.client.post("/v1/reads", json=batch, headers=gw.auth())
            assert response.json()["accepted"] == 2
            await gw.app.state.service.events.flush()
            found = values(await read_topic(gw.bus, gw.topics.gateway_events, timeout_s=0.5))
    finally:
        await bus.stop()
    counts = [r for r in found if r["camera_id"] == "cam-1" and r.get("kind") is None]
    assert len(counts) == 1
    (record,) = counts
    assert (record["reads"], record["duplicates"], record["rejected"]) == (2, 1, 1)
    assert (record["with_confidence"], record["low_confidence"]) == (2, 1)
    assert record["rejected_by_reason"] == {"plate": 1}
    assert record["first_at"] <= record["last_at"] == record["at"]
    assert len(record["skews"]) == 2


def test_one_requests_reads_fold_as_they_would_one_by_one() -> None:
    reads = [
        topic_read(
            camera_id=("a", "b", "c")[i % 3],
            read_id=f"r-{i}" if i % 4 else f"d-{i:04x}",
            received_at=T0,
            captured_at_ms=T0 - 7 * i,
            confidence=(i % 11) / 10,
            **({"images": {"plate_url": "https://x/1.jpg"}} if i % 5 == 0 else {}),
        )
        for i in range(250)
    ]
    together = CameraAggregates()
    together.add_reads(reads)
    one_by_one = CameraAggregates()
    for read in reads:
        one_by_one.add_reads([read])
    assert {k: c.fields() for k, c in together.counts.items()} == {
        k: c.fields() for k, c in one_by_one.counts.items()
    }
