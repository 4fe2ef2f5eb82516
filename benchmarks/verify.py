"""Checks that a benchmark run lost nothing: every accepted read is on the reads topic once, the
matcher has matched everything on it, and the API holds every hit the stream showed.

A run that fails a check is a failed run, not a figure.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

MAX_LISTED = 10


@dataclass(frozen=True, slots=True)
class Sent:
    """What one load phase got accepted, from its summary."""

    prefix: str
    requests: int
    batch: int
    failed_requests: frozenset[int]
    rejected_reads: frozenset[int]

    @classmethod
    def of(cls, summary: dict[str, Any]) -> Sent:
        return cls(
            summary["read_id_prefix"],
            int(summary["requests"]),
            int(summary["batch"]),
            frozenset(summary["failed_requests"]),
            frozenset(summary["rejected_reads"]),
        )

    def refused(self) -> Iterable[str]:
        """Reads of requests answered with an error (503: not stored as far as the client knows)."""
        for k in sorted(self.failed_requests):
            for s in range(k * self.batch, (k + 1) * self.batch):
                yield f"{self.prefix}{s}"

    def accepted(self) -> Iterable[str]:
        for k in range(self.requests):
            if k in self.failed_requests:
                continue
            for s in range(k * self.batch, (k + 1) * self.batch):
                if s not in self.rejected_reads:
                    yield f"{self.prefix}{s}"


async def topic_size(bootstrap: str, topic: str) -> int:
    """Records on a topic (end - beginning offsets, every partition)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        if not parts:
            await consumer._client.force_metadata_update()
            parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        ends = await consumer.end_offsets(parts)
        starts = await consumer.beginning_offsets(parts)
        return sum(ends[tp] - starts[tp] for tp in parts)
    finally:
        await consumer.stop()


async def read_ids_on_topic(bootstrap: str, topic: str) -> tuple[Counter[str], float]:
    """How many times each read_id (record header) is on the topic; and seconds it took."""
    started = time.perf_counter()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        max_partition_fetch_bytes=8 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
    )
    await consumer.start()
    ids: Counter[str] = Counter()
    try:
        await consumer._client.force_metadata_update()
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        remaining = {tp for tp in parts if ends[tp] > 0}
        while remaining:
            batches = await consumer.getmany(timeout_ms=1000, max_records=50_000)
            for tp, records in batches.items():
                for record in records:
                    for key, value in record.headers or ():
                        if key == "read_id":
                            ids[value.decode()] += 1
                if records and records[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()
    return ids, time.perf_counter() - started


def compare_reads(sent: list[Sent], on_topic: Counter[str]) -> dict[str, Any]:
    """Every accepted read_id exactly once on the topic, and nothing else of ours there.

    A request answered 503 may still have reached Kafka (the records were in flight when the
    gateway gave up waiting): such reads are counted apart, not as a failure; a camera would
    resend them, so they are stored at least once either way.
    """
    accepted: set[str] = set()
    refused: set[str] = set()
    for phase in sent:
        accepted.update(phase.accepted())
        refused.update(phase.refused())
    missing = [rid for rid in accepted if on_topic[rid] == 0]
    repeated = [rid for rid, n in on_topic.items() if n > 1]
    prefixes = tuple(phase.prefix for phase in sent)
    ours = [rid for rid in on_topic if rid.startswith(prefixes)]
    stored_refused = [rid for rid in ours if rid in refused]
    unexpected = [rid for rid in ours if rid not in accepted and rid not in refused]
    return {
        "ok": not missing and not repeated and not unexpected,
        "accepted": len(accepted),
        "on_topic": sum(on_topic[rid] for rid in ours),
        "stored_though_refused": len(stored_refused),
        "missing": len(missing),
        "missing_examples": sorted(missing)[:MAX_LISTED],
        "repeated": len(repeated),
        "repeated_examples": sorted(repeated)[:MAX_LISTED],
        "unexpected": len(unexpected),
        "unexpected_examples": sorted(unexpected)[:MAX_LISTED],
    }


def metric_value(text: str, name: str) -> float | None:
    """The value of an unlabelled sample in Prometheus text."""
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{}"):
            return float(line.rsplit(" ", 1)[1])
    return None


def matcher_matched(client: httpx.Client, matcher_url: str) -> float | None:
    try:
        text = client.get(matcher_url + "/metrics").text
    except httpx.HTTPError:
        return None
    return metric_value(text, "anpr_matcher_reads_matched_total")


def api_hit_count(client: httpx.Client, api_url: str, admin_token: str) -> int:
    response = client.get(
        api_url + "/v1/hits/counts", headers={"Authorization": f"Bearer {admin_token}"}
    )
    response.raise_for_status()
    return int(response.json()["total"])
