"""Prometheus metrics of the matcher. list_id labels are bounded by the hotlists registered.

`/metrics` is served without authentication, so covert lists are left out of every series:
no label, no share of a total (`anpr_matcher_index_entries` counts the overt lists' entries),
so nothing here moves when a covert list hits or changes. An aggregate `covert` label, as
before 2026-12-02, was an oracle: push a plate from a camera, watch the counter. Supervisors
see covert lists through the API (`GET /v1/hotlists`, hits and alerts).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from anpr.batchhistogram import BatchHistogram


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
            "Hits produced, by list and match kind (covert lists' hits are not counted here).",
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
            "anpr_matcher_list_entries",
            "Live entries per hotlist (overt lists only).",
            ["list_id"],
            registry=r,
        )
        self.list_version = Gauge(
            "anpr_matcher_list_version_applied",
            "Hotlist version applied here.",
            ["list_id"],
            registry=r,
        )
        self.index_entries = Gauge(
            "anpr_matcher_index_entries",
            "Entries of the overt lists in the in-memory index (covert lists are not counted).",
            registry=r,
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
        if not hit.get("covert"):
            self.hits.labels(str(hit["list_id"]), hit["match"]["kind"]).inc()

    def update_lists(self, index: ListsView) -> None:
        """Set the per-list gauges and the index total from the index, overt lists only."""
        entries: dict[str, int] = {}
        versions: dict[str, int] = {}
        for list_id, config in index.configs.items():
            if not config.covert:
                entries[list_id] = index.entry_count(list_id)
                versions[list_id] = int(config.version)
        self.index_entries.set(sum(entries.values()))
        for gone in self._list_labels - set(entries):
            for gauge in (self.list_entries, self.list_version):
                with contextlib.suppress(KeyError):
                    gauge.remove(gone)
        for label, count in entries.items():
            self.list_entries.labels(label).set(count)
        for label, version in versions.items():
            self.list_version.labels(label).set(version)
        self._list_labels = set(entries)
