"""Topics whose settings on the cluster differ from the ones the services would create them with.

Topic settings (`anpr.topics`: retention, segment age, compaction, partitions) are applied only
when a topic is created. A retention changed later in the settings (`ANPR_READ_RETENTION_DAYS`
shortened for data protection, say) leaves the existing topic as it was, keeping reads longer
than the settings say. Each process compares the two at start and every `CHECK_INTERVAL_S`, logs
each difference and exports it as `anpr_topic_config_drift{topic, setting}` (1 per difference),
and `AnprTopicConfigDrift` fires on it. The services never change a topic themselves: in a
cluster whose topics are managed elsewhere (Strimzi's `KafkaTopic`s in `deploy/k8s`) that would
fight the manager. `topic_drift` is pure: the bus gives it what the cluster holds.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from anpr.errors import AnprError
from anpr.topics import TopicSpec

log = logging.getLogger(__name__)

CHECK_INTERVAL_S = 600.0
PARTITIONS = "partitions"


@dataclass(frozen=True, slots=True)
class TopicDrift:
    """One setting of one topic: what the services would create it with, what it has."""

    topic: str
    setting: str
    wanted: str
    found: str


def topic_drift(
    specs: Sequence[TopicSpec],
    configs: Mapping[str, Mapping[str, str]],
    partitions: Mapping[str, int],
) -> list[TopicDrift]:
    """The differences between `specs` and the topics as the cluster holds them (`configs`, by
    topic, the settings the cluster gives; `partitions`, by topic, how many). A topic missing
    from both is not compared: it is created with its spec."""
    drift: list[TopicDrift] = []
    for spec in specs:
        found_partitions = partitions.get(spec.name)
        if found_partitions is not None and found_partitions != spec.partitions:
            drift.append(
                TopicDrift(spec.name, PARTITIONS, str(spec.partitions), str(found_partitions))
            )
        found = configs.get(spec.name)
        if found is None:
            continue
        for setting, wanted in sorted(spec.config.items()):
            have = found.get(setting, "")
            if have != wanted:
                drift.append(TopicDrift(spec.name, setting, wanted, have))
    return drift


def log_drift(drift: Sequence[TopicDrift]) -> None:
    for d in drift:
        log.warning(
            "topic %s has %s=%s, the settings say %s: the services never change an existing "
            "topic; align it (kafka-configs.sh --alter, or its KafkaTopic) or the settings",
            d.topic,
            d.setting,
            d.found or "(unset)",
            d.wanted,
        )


class DriftCollector(Collector):
    """`anpr_topic_config_drift`, from the last check (`current`)."""

    def __init__(
        self, process: str, registry: CollectorRegistry, current: Callable[[], Sequence[TopicDrift]]
    ) -> None:
        self._process = process
        self._current = current
        registry.register(self)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "anpr_topic_config_drift",
            "1 for each setting of a topic that differs from what the services would create it "
            "with (checked at start and every 10 minutes).",
            labels=["process", "topic", "setting"],
        )
        for d in self._current():
            family.add_metric([self._process, d.topic, d.setting], 1.0)
        yield family


class DriftWatch:
    """The periodic check of one process; a check the cluster does not answer keeps the last."""

    def __init__(self, check: Callable[[], Awaitable[list[TopicDrift]]]) -> None:
        self._check = check
        self.drift: list[TopicDrift] = []

    async def step(self) -> None:
        try:
            drift = await self._check()
        except AnprError as exc:
            log.info("topic settings not checked: %s", exc)
            return
        if drift != self.drift:
            log_drift(drift)
        self.drift = drift
