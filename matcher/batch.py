"""One step of the matcher: a batch of read records in, the hits to publish out. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import orjson

from anpr.bus.base import Record
from anpr.hits import HitRecord
from anpr.reads import ReadRecord
from matcher.hits import build_hit
from matcher.state import MatcherState

REQUIRED_READ_FIELDS = ("read_id", "camera_id", "plate_norm", "received_at", "captured_at_ms")


@dataclass(slots=True)
class BatchResult:
    hits: list[HitRecord] = field(default_factory=list)
    matched: int = 0
    invalid: int = 0
    overruns: int = 0
    # received_at → matched_at of each read, for the latency histogram.
    ingest_to_match_ms: list[int] = field(default_factory=list)


def decode_read(value: bytes | None) -> ReadRecord | None:
    if value is None:
        return None
    try:
        read = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(read, dict) or any(k not in read for k in REQUIRED_READ_FIELDS):
        return None
    return read  # type: ignore[return-value]


def handle_batch(
    records: Sequence[Record], state: MatcherState, *, now_ms: int, budget_ms: int
) -> BatchResult:
    """Match every read of the batch; malformed records are counted and skipped."""
    result = BatchResult()
    index = state.index
    for record in records:
        read = decode_read(record.value)
        if read is None:
            result.invalid += 1
            continue
        camera_id = read["camera_id"]
        matches = index.match(read, state.camera_zones(camera_id))
        result.matched += 1
        latency = now_ms - read["received_at"]
        result.ingest_to_match_ms.append(latency)
        if latency > budget_ms:
            result.overruns += 1
        if matches:
            test = state.is_commissioning(camera_id)
            result.hits.extend(
                build_hit(read, match, matched_at_ms=now_ms, test=test) for match in matches
            )
    return result
