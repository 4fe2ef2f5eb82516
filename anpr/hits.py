"""The hit: its wire form on `anpr.hits.v1` and its deterministic id (contract section 5)."""

from __future__ import annotations

import hashlib
from typing import Literal, NotRequired, TypedDict

from anpr.reads import ReadRecord

MatchKind = Literal["exact", "ocr", "fuzzy", "pattern"]
MatchSource = Literal["plate", "candidate"]


class MatchInfo(TypedDict):
    kind: MatchKind
    source: MatchSource
    read_plate: str
    entry_plate: str
    distance: int


class HitLatency(TypedDict):
    ingest_to_match: int
    capture_to_match: int


class HitRecord(TypedDict):
    v: int
    hit_id: str
    read: ReadRecord
    list_id: str
    entry_id: str
    category: str
    priority: int
    covert: bool
    test: bool
    reason: str | None
    action: str | None
    match: MatchInfo
    matched_at: int
    latency_ms: HitLatency
    # Set by past-read matching: the read was archived before the entry existed.
    historical: NotRequired[bool]


def derive_hit_id(read_id: str, camera_id: str, list_id: str, entry_id: str) -> str:
    """Same (read, camera, list, entry) gives the same hit_id, however often it is processed."""
    key = "\x1f".join((read_id, camera_id, list_id, entry_id)).encode()
    return "h-" + hashlib.sha256(key).hexdigest()[:32]
