"""The archive's Prometheus metrics (one registry per process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class ArchiveMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.reads = Counter(
            "anpr_archive_reads_total",
            "Records of the reads topic handled by the archive, by outcome "
            "(stored, duplicate, invalid, expired).",
            ["outcome"],
            registry=registry,
        )
        self.batch_seconds = Histogram(
            "anpr_archive_batch_seconds",
            "Time to write one consumed batch of reads to the store.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=registry,
        )
        self.retention_removed = Counter(
            "anpr_archive_retention_removed_total",
            "Partitions (PostgreSQL) or rows (SQLite) removed by read retention.",
            registry=registry,
        )
        self.ready = Gauge(
            "anpr_archive_ready",
            "1 when the archive has caught up with the reads topic.",
            registry=registry,
        )
