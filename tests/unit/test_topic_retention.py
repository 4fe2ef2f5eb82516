"""What each topic is created with, as far as personal data goes: nothing kept past its
retention by more than a segment's age, and poison records no longer than reads and hits."""

from __future__ import annotations

from anpr.settings import CommonSettings
from anpr.topics import DEADLETTER_RETENTION_MS, SEGMENT_MAX_MS, Topics

DAY_MS = 86_400_000


def specs(**settings: float) -> dict[str, dict[str, str]]:
    topics = Topics.from_prefix("t.")
    return {s.name: s.config for s in topics.specs(CommonSettings(**settings))}


def test_every_deleting_topic_rolls_its_segments_within_a_day_and_its_retention() -> None:
    for name, config in specs().items():
        if config.get("cleanup.policy") == "compact":
            continue
        retention, segment = int(config["retention.ms"]), int(config["segment.ms"])
        # Kafka's default segment.ms is 7 days: a quiet partition kept reads a week too long.
        assert segment <= min(SEGMENT_MAX_MS, retention), name


def test_poison_records_are_kept_no_longer_than_reads_and_hits() -> None:
    assert int(specs()["t.deadletter.v1"]["retention.ms"]) == DEADLETTER_RETENTION_MS
    short = specs(read_retention_days=3)
    assert int(short["t.deadletter.v1"]["retention.ms"]) == 3 * DAY_MS
    assert int(short["t.reads.v1"]["retention.ms"]) == 3 * DAY_MS
