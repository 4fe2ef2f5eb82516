"""The reads topic seen by the matcher: only the fields matching looks at, decoded fast.

A read that matches nothing, 99 % of them, needs its plate, candidates, country, camera and
times, never its images, vehicle or location. msgspec decodes those fields straight into a
small `Struct` (no dict, not tracked by the garbage collector), checking each one's type, and
skips the rest: measured about 2-3x faster than decoding the whole read into a `ReadRecord`
(docs/performance.md). A read that matches is decoded again whole with `READS`, so every field
of a read that reaches the hits topic is still checked; a read with a wrong-typed field that
matching does not look at, and that matches nothing, is passed over like any other non-match.
"""

from __future__ import annotations

import msgspec

from anpr.codecs.codec import WIRE_VERSION
from anpr.errors import InvalidRecord
from anpr.reads import Candidate


class ReadView(msgspec.Struct, gc=False, frozen=True):
    v: int
    read_id: str
    camera_id: str
    captured_at_ms: int
    received_at: int
    plate_norm: str
    country: str | None = None
    candidates: list[Candidate] | None = None


_DECODER = msgspec.json.Decoder(ReadView)


def decode_read_view(value: bytes | None) -> ReadView:
    """The matching fields of a read, or `InvalidRecord` naming what is wrong (never values)."""
    if value is None:
        raise InvalidRecord("read: a tombstone where a record was expected")
    try:
        view = _DECODER.decode(value)
    except msgspec.ValidationError as exc:
        raise InvalidRecord(f"read: {exc}") from None
    except msgspec.DecodeError:
        raise InvalidRecord("read: not valid JSON") from None
    if view.v != WIRE_VERSION:
        raise InvalidRecord(f"read: not a v{WIRE_VERSION} record")
    return view
