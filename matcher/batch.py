"""One step of the matcher: a batch of read records in, the hits to publish out. Pure.

Each record is decoded as the matcher's view of a read (`anpr.codecs.readview`: the fields
matching looks at, types checked) and matched on its own; a read that matches is decoded whole
with the reads codec for its hits. A record that cannot be decoded, or whose matching raises,
becomes a `Poison` for the caller to set aside, and the other reads of the batch still give
their hits. Latencies are gathered in one list and counted once per batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from anpr.bus.base import Record
from anpr.bus.batch import values_of
from anpr.codecs import READS
from anpr.codecs.readview import decode_read_view
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
    latencies = result.ingest_to_match_ms
    for i, value in enumerate(values_of(records)):
        try:
            view = decode_read_view(value)
            camera_id = view.camera_id
            matches = index.match_view(view, state.camera_zones(camera_id))
            if matches:
                # The whole read, every field's type checked, for the hits that carry it.
                read = READS.decode(value)
                test = state.is_commissioning(camera_id, view.received_at)
                result.hits.extend(
                    build_hit(read, match, matched_at_ms=now_ms, test=test) for match in matches
                )
        except InvalidRecord as exc:
            result.poison.append(Poison(records[i], str(exc)))
            continue
        except Exception as exc:  # noqa: BLE001 - the poison policy: one read never stops the rest
            result.poison.append(
                Poison(records[i], f"matching failed: {type(exc).__name__}: {exc}", failed=True)
            )
            continue
        latencies.append(now_ms - view.received_at)
    result.matched = len(latencies)
    if latencies and max(latencies) > budget_ms:
        result.overruns = sum(latency > budget_ms for latency in latencies)
    return result
