"""One step of the matcher: a batch of read records in, the hits to publish out. Pure.

Each record is decoded with the reads codec (types checked, not just keys) and matched on its
own: a record that cannot be decoded, or whose matching raises, becomes a `Poison` for the
caller to set aside, and the other reads of the batch still give their hits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from anpr.bus.base import Record
from anpr.bus.batch import values_of
from anpr.codecs import READS
from anpr.deadletter import Poison
from anpr.errors import InvalidRecord
from anpr.hits import HitRecord
from matcher.hits import build_hit
from matcher.state import MatcherState


@dataclass(slots=True)
class BatchResult:
    hits: list[HitRecord] = field(default_factory=list)
    matched: int = 0
    overruns: int = 0
    poison: list[Poison] = field(default_factory=list)
    # received_at → matched_at of each read, for the latency histogram.
    ingest_to_match_ms: list[int] = field(default_factory=list)


def handle_batch(
    records: Sequence[Record], state: MatcherState, *, now_ms: int, budget_ms: int
) -> BatchResult:
    """Match every read of the batch; poison records are returned, never raised."""
    result = BatchResult()
    index = state.index
    for i, value in enumerate(values_of(records)):
        try:
            read = READS.decode(value)
            camera_id = read["camera_id"]
            matches = index.match(read, state.camera_zones(camera_id))
            hits = (
                [
                    build_hit(
                        read, match, matched_at_ms=now_ms, test=state.is_commissioning(camera_id)
                    )
                    for match in matches
                ]
                if matches
                else ()
            )
        except InvalidRecord as exc:
            result.poison.append(Poison(records[i], str(exc)))
            continue
        except Exception as exc:  # noqa: BLE001 - the poison policy: one read never stops the rest
            result.poison.append(
                Poison(records[i], f"matching failed: {type(exc).__name__}: {exc}")
            )
            continue
        result.hits.extend(hits)
        result.matched += 1
        latency = now_ms - read["received_at"]
        result.ingest_to_match_ms.append(latency)
        if latency > budget_ms:
            result.overruns += 1
    return result
