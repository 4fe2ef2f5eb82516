"""Building the hit record (contract section 5) for a match of a read."""

from __future__ import annotations

from anpr.hits import HitRecord, derive_hit_id
from anpr.ids import EntryId
from anpr.reads import ReadRecord
from matcher.matches import Match


def build_hit(
    read: ReadRecord, match: Match, *, matched_at_ms: int, test: bool = False
) -> HitRecord:
    """The hit for `match`; `test` is set by the caller for reads of commissioning cameras."""
    config = match.config
    entry_id = EntryId(match.entry_id)  # the matching core keeps ids as it found them: str
    return {
        "v": 1,
        "hit_id": derive_hit_id(read["read_id"], read["camera_id"], config.list_id, entry_id),
        "read": read,
        "list_id": config.list_id,
        "entry_id": entry_id,
        "category": config.category,
        "priority": match.priority,
        "covert": config.covert,
        "test": test,
        "reason": match.reason,
        "action": match.action,
        "match": {
            "kind": match.kind,
            "source": match.source,
            "read_plate": match.read_plate,
            "entry_plate": match.entry_plate,
            "distance": match.distance,
        },
        "matched_at": matched_at_ms,
        "latency_ms": {
            "ingest_to_match": matched_at_ms - read["received_at"],
            "capture_to_match": matched_at_ms - read["captured_at_ms"],
        },
    }
