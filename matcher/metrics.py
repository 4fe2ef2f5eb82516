"""Prometheus metrics of the matcher. list_id labels are bounded by the hotlists registered.

`/metrics` is served without authentication, so a covert list is never named here nor counted
on its own: every covert list is folded into the one label value `list_id="covert"` (hits and
entries summed; no version, which would tell one covert list's changes from another's).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from anpr.batchhistogram import BatchHistogram

COVERT_LABEL = "covert"


def list_label(list_id: str, covert: bool) -> str:
    """The `list_id` label value of a list: its id, or `covert` for every covert list."""
    return COVERT_LABEL if covert else list_id


def hit_label(hit: Mapping[str, Any]) -> str:
    return list_label(str(hit["list_id"]), bool(hit.get("covert")))


class ListsView(Protocol):
    """What the list gauges read from the matcher's index."""

    @property
    def configs(self) -> dict[str, Any]: ...

    def entry_count(self, list_id: str) -> int: ...


BATCH_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class MatcherMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        r = registry
        self.reads_matched = Counter(
            "anpr_matcher_reads_matched_total", "Reads matched against the hotlists.", registry=r
        )
        self.hits = Counter(
            "anpr_matcher_hits_total",
            "Hits produced, by list and match kind.",
            ["list_id", "kind"],
            registry=r,
        )
        self.batch_seconds = Histogram(
            "anpr_matcher_batch_seconds",
            "Time to match one batch of reads (CPU, no I/O).",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        # Fed a batch at a time in milliseconds (one lock-free update per batch, not per read).
        self.ingest_to_match_seconds = BatchHistogram(
            "anpr_matcher_ingest_to_match_seconds",
            "From a read's received_at at the gateway to its match.",
            buckets=LATENCY_BUCKETS,
            registry=r,
            scale=1 / 1000,
        )
        self.budget_overruns = Counter(
            "anpr_matcher_budget_overruns_total",
            "Reads matched later than ANPR_MATCH_BUDGET_MS after they were received.",
            registry=r,
        )
        self.lag = Gauge(
            "anpr_matcher_consumer_lag",
            "Reads on the topic not yet matched by this matcher.",
            registry=r,
        )
        self.oldest_unmatched_age = Gauge(
            "anpr_matcher_oldest_unmatched_age_seconds",
            "Age of the oldest read of the latest batch when it was picked up (0 when idle).",
            registry=r,
        )
        self.list_entries = Gauge(
            "anpr_matcher_list_entries", "Live entries per hotlist.", ["list_id"], registry=r
        )
        self.list_version = Gauge(
            "anpr_matcher_list_version_applied",
            "Hotlist version applied here.",
            ["list_id"],
            registry=r,
        )
        self.index_entries = Gauge(
            "anpr_matcher_index_entries", "Entries in the in-memory index, all lists.", registry=r
        )
        self.memory_rss = Gauge(
            "anpr_matcher_memory_rss_bytes",
            "Resident memory of the matcher process (the index dominates it).",
            registry=r,
        )
        self.publish_retries = Counter(
            "anpr_matcher_hit_publish_retries_total",
            "Times publishing a batch's hits failed; the batch is redone by a new consumer.",
            registry=r,
        )
        self._list_labels: set[str] = set()
        self.ready = Gauge(
            "anpr_matcher_ready",
            "1 once hotlists and registry are loaded and reads consumed.",
            registry=r,
        )

    def count_hit(self, hit: Mapping[str, Any]) -> None:
        self.hits.labels(hit_label(hit), hit["match"]["kind"]).inc()

    def update_lists(self, index: ListsView) -> None:
        """Set the per-list gauges from the index: overt lists by id, covert ones summed."""
        entries: dict[str, int] = {}
        versions: dict[str, int] = {}
        for list_id, config in index.configs.items():
            label = list_label(list_id, bool(config.covert))
            entries[label] = entries.get(label, 0) + index.entry_count(list_id)
            if label != COVERT_LABEL:
                versions[label] = int(config.version)
        for gone in self._list_labels - set(entries):
            for gauge in (self.list_entries, self.list_version):
                with contextlib.suppress(KeyError):
                    gauge.remove(gone)
        for label, count in entries.items():
            self.list_entries.labels(label).set(count)
        for label, version in versions.items():
            self.list_version.labels(label).set(version)
        self._list_labels = set(entries)
