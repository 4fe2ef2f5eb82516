"""One codec per topic: good records round-trip; wrong types, missing fields, other versions
and garbage bytes are refused with `InvalidRecord` naming what is wrong, never the value."""

from __future__ import annotations

import contextlib
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from anpr.codecs import DEADLETTER, GATEWAY_EVENTS, HEARTBEATS, HITS, MATCHER_STATUS, READS, Codec
from anpr.errors import InvalidRecord
from matcher.hits import build_hit
from matcher.index import HotlistIndex
from tests.support.factories import T0, make_config, make_entry, make_read


def a_hit() -> dict[str, Any]:
    index = HotlistIndex()
    index.replace_list(make_config("stolen"), [make_entry("e1", "1ABC123")])
    read = make_read("1ABC123")
    (match,) = index.match(read, frozenset())
    return dict(build_hit(read, match, matched_at_ms=T0 + 200))


GOOD: dict[str, tuple[Codec[Any], dict[str, Any]]] = {
    "read": (READS, dict(make_read("1ABC123", candidates=["1ABC128"], confidence=0.9))),
    "heartbeat": (
        HEARTBEATS,
        {
            "v": 1,
            "camera_id": "cam-1",
            "integrator_id": "acme",
            "sent_at": "2026-01-01T00:00:00.000Z",
            "sent_at_ms": T0,
            "received_at": T0 + 5,
            "status": {"temp_c": 41},
        },
    ),
    "gateway event": (
        GATEWAY_EVENTS,
        {
            "v": 1,
            "camera_id": "cam-1",
            "at": T0,
            "rejected": 2,
            "rejected_by_reason": {"captured_at": 2},
            "duplicates": 1,
        },
    ),
    "hit": (HITS, a_hit()),
    "matcher status": (
        MATCHER_STATUS,
        {
            "v": 1,
            "kind": "matcher_status",
            "matcher_id": "m-1",
            "applied": {"stolen": 3},
            "ready": True,
            "at": T0,
        },
    ),
    "dead letter": (
        DEADLETTER,
        {
            "v": 1,
            "topic": "anpr.reads.v1",
            "partition": 0,
            "offset": 7,
            "timestamp_ms": T0,
            "key_b64": None,
            "value_b64": "e30=",
            "error": "read: not valid JSON",
            "process": "matcher",
            "at": T0,
        },
    ),
}


@pytest.mark.parametrize("name", GOOD)
def test_good_records_round_trip(name: str) -> None:
    codec, record = GOOD[name]
    assert codec.decode(codec.encode(record)) == record
    assert codec.decode(orjson.dumps(record)) == record


@pytest.mark.parametrize("name", GOOD)
def test_unknown_fields_are_ignored(name: str) -> None:
    codec, record = GOOD[name]
    assert codec.decode(orjson.dumps({**record, "added_later": [1, 2]})) == record


# (codec, field, bad value, what the error must name)
WRONG_TYPES = {
    "read received_at as text": (READS, "received_at", "soon", "$.received_at"),
    "read camera_id as number": (READS, "camera_id", 5, "$.camera_id"),
    "read lane as bool": (READS, "lane", True, "$.lane"),
    "read candidates not a list": (READS, "candidates", "1ABC", "$.candidates"),
    "heartbeat received_at as float": (HEARTBEATS, "received_at", 1.5, "$.received_at"),
    "event rejected as text": (GATEWAY_EVENTS, "rejected", "2", "$.rejected"),
    "event reasons as list": (GATEWAY_EVENTS, "rejected_by_reason", [1], "$.rejected_by_reason"),
    "hit priority as text": (HITS, "priority", "high", "$.priority"),
    "hit read as text": (HITS, "read", "r-1", "$.read"),
    "hit match kind unknown": (HITS, "match", {"kind": "magic"}, "$.match"),
    "status applied versions as text": (MATCHER_STATUS, "applied", {"l": "3"}, "$.applied"),
}


@pytest.mark.parametrize("case", WRONG_TYPES)
def test_wrong_types_are_refused_naming_the_field(case: str) -> None:
    codec, field, value, path = WRONG_TYPES[case]
    name = next(n for n, (c, _) in GOOD.items() if c is codec)
    record = {**GOOD[name][1], field: value}
    with pytest.raises(InvalidRecord) as raised:
        codec.decode(orjson.dumps(record))
    assert path in str(raised.value)
    assert repr(value) not in str(raised.value) or isinstance(value, bool | int)


@pytest.mark.parametrize("name", GOOD)
def test_missing_fields_are_refused(name: str) -> None:
    codec, record = GOOD[name]
    for field in record:
        if field in {"candidates", "confidence", "status", "country"} or (
            codec is GATEWAY_EVENTS and field not in {"v", "camera_id", "at"}
        ):
            continue  # optional fields
        partial = {k: v for k, v in record.items() if k != field}
        with pytest.raises(InvalidRecord, match=f"missing required field `{field}`"):
            codec.decode(orjson.dumps(partial))


@pytest.mark.parametrize("name", GOOD)
@pytest.mark.parametrize(
    "raw",
    [None, b"", b"{not json", b"[]", b'"text"', b"\xff\xfe", b'{"v": 2}', b"null"],
    ids=["tombstone", "empty", "broken", "array", "string", "binary", "v2", "null"],
)
def test_garbage_is_refused(name: str, raw: bytes | None) -> None:
    codec, _ = GOOD[name]
    with pytest.raises(InvalidRecord):
        codec.decode(raw)


@given(st.binary(max_size=200))
def test_any_bytes_decode_or_raise_invalid_record(raw: bytes) -> None:
    for codec, _ in GOOD.values():
        with contextlib.suppress(InvalidRecord):
            codec.decode(raw)
