"""Topic settings on the cluster against the specs (`anpr.bus.drift`): what is reported, what is
exported, and a check the cluster does not answer."""

from __future__ import annotations

import logging

import pytest
from prometheus_client import CollectorRegistry

from anpr.bus.drift import DriftCollector, DriftWatch, TopicDrift, topic_drift
from anpr.errors import BusUnavailable
from anpr.settings import CommonSettings
from anpr.topics import Topics, deleting

TOPICS = Topics.from_prefix("t.")


def specs(**settings: object) -> list:  # type: ignore[type-arg]
    return TOPICS.specs(CommonSettings(topic_partitions=6, **settings))  # type: ignore[arg-type]


def cluster(settings: CommonSettings) -> tuple[dict[str, dict[str, str]], dict[str, int]]:
    """The topics as a cluster holds them after the services created them with `settings`,
    each with a few broker defaults besides."""
    made = TOPICS.specs(settings)
    defaults = {"min.insync.replicas": "1", "max.message.bytes": "1048588"}
    configs = {s.name: {**defaults, **s.config} for s in made}
    return configs, {s.name: s.partitions for s in made}


def test_topics_as_created_have_no_drift() -> None:
    configs, partitions = cluster(CommonSettings(topic_partitions=6))
    assert topic_drift(specs(), configs, partitions) == []


def test_a_retention_shortened_in_the_settings_is_reported_with_both_values() -> None:
    configs, partitions = cluster(CommonSettings(topic_partitions=6, read_retention_days=30))
    drift = topic_drift(specs(read_retention_days=7), configs, partitions)
    week = 7 * 86_400_000
    assert TopicDrift(TOPICS.reads, "retention.ms", str(week), str(30 * 86_400_000)) in drift
    # The poison records (whole reads) are kept no longer than the reads: shortened too.
    assert {d.topic for d in drift} == {TOPICS.reads, TOPICS.deadletter}
    # Segments roll at a quarter of the retention, capped at a day: the same for both.
    assert deleting(week)["segment.ms"] == configs[TOPICS.reads]["segment.ms"]


def test_partitions_compaction_and_settings_removed_on_the_cluster() -> None:
    configs, partitions = cluster(CommonSettings(topic_partitions=6))
    partitions[TOPICS.hits] = 12
    configs[TOPICS.registry]["cleanup.policy"] = "delete"
    del configs[TOPICS.hits]["retention.ms"]
    drift = {
        (d.topic, d.setting): (d.wanted, d.found) for d in topic_drift(specs(), configs, partitions)
    }
    assert drift[(TOPICS.hits, "partitions")] == ("6", "12")
    assert drift[(TOPICS.registry, "cleanup.policy")] == ("compact", "delete")
    assert drift[(TOPICS.hits, "retention.ms")][1] == ""


def test_a_topic_the_cluster_does_not_have_is_not_compared() -> None:
    configs, partitions = cluster(CommonSettings(topic_partitions=6))
    del configs[TOPICS.reads], partitions[TOPICS.reads]
    drift = topic_drift(specs(read_retention_days=1), configs, partitions)
    assert TOPICS.reads not in {d.topic for d in drift}


async def test_the_watch_exports_each_difference_and_keeps_it_while_the_cluster_is_away(
    caplog: pytest.LogCaptureFixture,
) -> None:
    answers: list[list[TopicDrift] | Exception] = [
        [TopicDrift(TOPICS.reads, "retention.ms", "604800000", "2592000000")],
        BusUnavailable("no broker"),
        [],
    ]

    async def check() -> list[TopicDrift]:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    registry = CollectorRegistry()
    watch = DriftWatch(check)
    DriftCollector("api", registry, lambda: watch.drift)

    def exported() -> float | None:
        return registry.get_sample_value(
            "anpr_topic_config_drift",
            {"process": "api", "topic": TOPICS.reads, "setting": "retention.ms"},
        )

    with caplog.at_level(logging.WARNING, logger="anpr.bus.drift"):
        await watch.step()
    assert exported() == 1.0
    assert "t.reads.v1 has retention.ms=2592000000, the settings say 604800000" in caplog.text
    await watch.step()  # not answered: the last check stands
    assert exported() == 1.0
    await watch.step()
    assert exported() is None
