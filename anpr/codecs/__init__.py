"""One codec per topic: each topic's record type is defined once in the kernel, with an encode
and a decode that checks types, not just keys. Every producer and every consumer of a topic
uses its codec; nothing else turns a topic's bytes into a record.

| topic | codec |
|---|---|
| reads | `READS` (`anpr.reads.ReadRecord`); the matcher's fast view: `anpr.codecs.readview` |
| heartbeats | `HEARTBEATS` (`anpr.codecs.records.HeartbeatRecord`) |
| gateway events | `GATEWAY_EVENTS` (`anpr.codecs.records.GatewayEventRecord`) |
| hits | `HITS` (`anpr.hits.HitRecord`) |
| matcher status | `MATCHER_STATUS` (`anpr.codecs.records.MatcherStatusRecord`) |
| dead letters | `DEADLETTER` (`anpr.codecs.records.DeadLetterRecord`) |
| reads replay (past-read matching) | `REPLAY` (`anpr.codecs.pastmatch.ReplayRecord`) |
| past-match jobs | `PAST_MATCH` (`anpr.codecs.pastmatch.PastMatchJobRecord`) |
| dedup keys | `DEDUP_KEYS` (`anpr.codecs.records.DedupKeysRecord`) |
| registry | `anpr.registry` (`RegistryView.apply` decodes and checks each kind) |
| hotlists | `anpr.hotlists.wire` (`decode_list_config`, `decode_entry`) |
| audit (CLI writes) | `anpr.audit_wire.AuditRecord` (`encode`, `decode`) |
| notify deliveries | `anpr.deliveries` (`encode_result`, `decode_result`) |
"""

from anpr.codecs.codec import Codec
from anpr.codecs.pastmatch import PastMatchJobRecord, ReplayRecord
from anpr.codecs.records import (
    DeadLetterRecord,
    DedupKeysRecord,
    GatewayEventRecord,
    HeartbeatRecord,
    MatcherStatusRecord,
)
from anpr.hits import HitRecord
from anpr.reads import ReadRecord

READS: Codec[ReadRecord] = Codec("read", ReadRecord)
HEARTBEATS: Codec[HeartbeatRecord] = Codec("heartbeat", HeartbeatRecord)
GATEWAY_EVENTS: Codec[GatewayEventRecord] = Codec("gateway event", GatewayEventRecord)
HITS: Codec[HitRecord] = Codec("hit", HitRecord)
MATCHER_STATUS: Codec[MatcherStatusRecord] = Codec("matcher status", MatcherStatusRecord)
DEADLETTER: Codec[DeadLetterRecord] = Codec("dead letter", DeadLetterRecord)
REPLAY: Codec[ReplayRecord] = Codec("replayed read", ReplayRecord)
PAST_MATCH: Codec[PastMatchJobRecord] = Codec("past-match job", PastMatchJobRecord)
DEDUP_KEYS: Codec[DedupKeysRecord] = Codec("dedup keys", DedupKeysRecord)

__all__ = [
    "DEADLETTER",
    "DEDUP_KEYS",
    "GATEWAY_EVENTS",
    "HEARTBEATS",
    "HITS",
    "MATCHER_STATUS",
    "PAST_MATCH",
    "READS",
    "REPLAY",
    "Codec",
]
