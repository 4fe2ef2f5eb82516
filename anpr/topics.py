"""Kafka topic names (from `ANPR_TOPIC_PREFIX`) and the configuration each is created with."""

from __future__ import annotations

from dataclasses import dataclass, field

from anpr.settings import CommonSettings

HEARTBEAT_RETENTION_MS = 24 * 3600 * 1000
GATEWAY_EVENT_RETENTION_MS = 7 * 24 * 3600 * 1000
DEADLETTER_RETENTION_MS = 14 * 24 * 3600 * 1000
REPLAY_RETENTION_MS = 24 * 3600 * 1000
DEDUP_KEYS_RETENTION_MS = 24 * 3600 * 1000
HOUR_MS = 3600 * 1000
# Kafka deletes whole segments, and never the one being written: a partition keeps a record up
# to its retention plus the segment's age, and by default a segment rolls only after 7 days, so
# a quiet partition kept reads a week past their retention. Segments roll at a quarter of the
# retention, between an hour and a day.
SEGMENT_MAX_MS = 24 * HOUR_MS
SEGMENT_MIN_MS = HOUR_MS


def deleting(retention_ms: int) -> dict[str, str]:
    """The config of a topic whose records go after `retention_ms`, and no later than a
    segment's age after that."""
    segment = max(SEGMENT_MIN_MS, min(SEGMENT_MAX_MS, retention_ms // 4))
    return {"retention.ms": str(retention_ms), "segment.ms": str(segment)}


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    replication: int
    config: dict[str, str] = field(default_factory=dict)

    @property
    def compacted(self) -> bool:
        return self.config.get("cleanup.policy") == "compact"


@dataclass(frozen=True, slots=True)
class Topics:
    """The topics of contract section 5, plus the gateway's per-camera event counts, the
    hotlist versions each matcher has applied, the records set aside as poison, the webhook
    delivery outcomes of `anpr notify` (for the API's delivery log), the audit records of CLI
    writes, past-read matching's replayed reads and job states, and the keys of the reads each
    gateway published (for the others' dedup)."""

    reads: str
    heartbeats: str
    hits: str
    hotlists: str
    registry: str
    gateway_events: str
    matcher_status: str
    deadletter: str
    deliveries: str
    audit: str
    reads_replay: str
    past_match: str
    dedup_keys: str

    @classmethod
    def from_prefix(cls, prefix: str) -> Topics:
        return cls(
            reads=f"{prefix}reads.v1",
            heartbeats=f"{prefix}heartbeats.v1",
            hits=f"{prefix}hits.v1",
            hotlists=f"{prefix}hotlists.v1",
            registry=f"{prefix}registry.v1",
            gateway_events=f"{prefix}gateway-events.v1",
            matcher_status=f"{prefix}matcher-status.v1",
            deadletter=f"{prefix}deadletter.v1",
            deliveries=f"{prefix}notify-deliveries.v1",
            audit=f"{prefix}audit.v1",
            reads_replay=f"{prefix}reads-replay.v1",
            past_match=f"{prefix}past-match.v1",
            dedup_keys=f"{prefix}dedup-keys.v1",
        )

    def specs(self, settings: CommonSettings) -> list[TopicSpec]:
        parts, repl = settings.topic_partitions, settings.topic_replication
        compact = {"cleanup.policy": "compact", "min.compaction.lag.ms": "0"}
        # Poison records are whole reads and hits, pictures included: never kept longer than
        # the reads and hits themselves.
        deadletter_ms = min(
            DEADLETTER_RETENTION_MS, settings.read_retention_ms, settings.hit_retention_ms
        )
        return [
            TopicSpec(self.reads, parts, repl, deleting(settings.read_retention_ms)),
            TopicSpec(self.heartbeats, parts, repl, deleting(HEARTBEAT_RETENTION_MS)),
            TopicSpec(self.hits, parts, repl, deleting(settings.hit_retention_ms)),
            TopicSpec(self.hotlists, 1, repl, dict(compact)),
            TopicSpec(self.registry, 1, repl, dict(compact)),
            TopicSpec(self.gateway_events, parts, repl, deleting(GATEWAY_EVENT_RETENTION_MS)),
            TopicSpec(self.matcher_status, 1, repl, dict(compact)),
            TopicSpec(self.deadletter, parts, repl, deleting(deadletter_ms)),
            TopicSpec(self.deliveries, parts, repl, deleting(settings.hit_retention_ms)),
            # Audit records of CLI writes (anpr/audit_wire.py), kept as long as the audit log.
            TopicSpec(self.audit, 1, repl, deleting(settings.audit_retention_ms)),
            # Past-read matching (api/archive/pastmatch.py -> matcher/replay.py): archived reads
            # replayed for new entries, keyed by job; and each job's state, compacted.
            TopicSpec(self.reads_replay, parts, repl, deleting(REPLAY_RETENTION_MS)),
            TopicSpec(self.past_match, 1, repl, dict(compact)),
            # The (camera_id, read_id) keys of each publish of reads, for the other gateways'
            # duplicate memory (ingest/peers.py): read back at most `dedup_warm_s` at start.
            TopicSpec(self.dedup_keys, parts, repl, deleting(DEDUP_KEYS_RETENTION_MS)),
        ]
