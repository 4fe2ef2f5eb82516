"""`handle_batch`, the matcher's pure step: good reads give hits, poison reads are set aside
without stopping the hits of the others in their batch."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from anpr.bus.base import Record
from matcher.batch import handle_batch
from matcher.state import MatcherState
from tests.support.factories import T0, make_config, make_entry, make_read


def state_with(*plates: str) -> MatcherState:
    state = MatcherState()
    entries = [make_entry(f"e{i}", plate) for i, plate in enumerate(plates)]
    state.index.replace_list(make_config("stolen"), entries)
    return state


def record(value: bytes | None, offset: int) -> Record:
    return Record("anpr.reads.v1", 0, offset, b"cam-1", value, T0)


def read_bytes(plate: str, read_id: str, **overrides: Any) -> bytes:
    return orjson.dumps({**make_read(plate, read_id=read_id), **overrides})


POISON = {
    "garbage bytes": b"\x00\xff garbage",
    "not json": b"{oops",
    "tombstone": None,
    "received_at as text": read_bytes("1ABC123", "p", received_at="soon"),
    "captured_at_ms missing": orjson.dumps(
        {k: v for k, v in make_read("1ABC123", read_id="p").items() if k != "captured_at_ms"}
    ),
    "plate_norm as number": read_bytes("1ABC123", "p", plate_norm=1234),
    "candidates of numbers": read_bytes("1ABC123", "p", candidates=[1, 2]),
    "wrong version": read_bytes("1ABC123", "p", v=2),
    "array": b"[1, 2, 3]",
}


@pytest.mark.parametrize("case", POISON)
def test_a_poison_read_never_stops_the_hits_of_its_batch(case: str) -> None:
    state = state_with("1ABC123", "2XYZ999")
    records = [
        record(read_bytes("1ABC123", "good-1"), 0),
        record(POISON[case], 1),
        record(read_bytes("2XYZ999", "good-2"), 2),
    ]
    result = handle_batch(records, state, now_ms=T0 + 1000, budget_ms=250)
    assert sorted(h["read"]["read_id"] for h in result.hits) == ["good-1", "good-2"]
    assert result.matched == 2
    assert [p.record.offset for p in result.poison] == [1]
    assert result.poison[0].error  # says why
    assert not result.poison[0].failed  # the record's fault, not the matcher's


def test_a_read_whose_matching_raises_is_poison_and_the_rest_match(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    state = state_with("1ABC123")
    real_zones = state.camera_zones

    def zones(camera_id: str) -> frozenset[str]:
        if camera_id == "cam-bug":
            raise TypeError("a bug in the registry view")
        return real_zones(camera_id)

    monkeypatch.setattr(state, "camera_zones", zones)
    records = [
        record(read_bytes("1ABC123", "a"), 0),
        record(read_bytes("1ABC123", "b", camera_id="cam-bug"), 1),
        record(read_bytes("1ABC123", "c"), 2),
    ]
    result = handle_batch(records, state, now_ms=T0 + 1000, budget_ms=250)
    assert [h["read"]["read_id"] for h in result.hits] == ["a", "c"]
    (poison,) = result.poison
    assert poison.record.offset == 1
    assert "TypeError" in poison.error
    assert poison.failed  # the record is fine: counted apart, it pages


def test_good_batch_counts_latency_and_overruns() -> None:
    state = state_with("1ABC123")
    records = [record(read_bytes("1ABC123", f"r{i}"), i) for i in range(3)]
    received = make_read("1ABC123")["received_at"]
    result = handle_batch(records, state, now_ms=received + 300, budget_ms=250)
    assert len(result.hits) == 3
    assert result.poison == []
    assert result.ingest_to_match_ms == [300, 300, 300]
    assert result.overruns == 3


def test_empty_batch() -> None:
    result = handle_batch([], state_with("1ABC123"), now_ms=T0, budget_ms=250)
    assert (result.hits, result.matched, result.poison) == ([], 0, [])


def test_a_wrong_field_matching_does_not_read_is_poison_only_when_the_read_hits() -> None:
    """The view decode checks the fields matching reads; the whole read is checked before it
    goes into a hit, so nothing malformed reaches the hits topic."""
    state = state_with("1ABC123")
    records = [
        record(read_bytes("1ABC123", "hit", lane="left"), 0),
        record(read_bytes("9ZZZ999", "miss", lane="left"), 1),
        record(read_bytes("1ABC123", "good"), 2),
    ]
    result = handle_batch(records, state, now_ms=T0 + 1000, budget_ms=250)
    assert [h["read"]["read_id"] for h in result.hits] == ["good"]
    assert [p.record.offset for p in result.poison] == [0]
    assert "lane" in result.poison[0].error
    assert result.matched == 2


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"country": "GB"},
        {"candidates": [{"plate": "1ABC 123", "plate_norm": "1ABC123"}]},
        {"plate_norm": "1ABC128", "candidates": [{"plate": "x", "plate_norm": "1ABC123"}]},
    ],
    ids=["plain", "country", "candidate same", "candidate differs"],
)
def test_the_view_finds_what_the_whole_read_finds(overrides: dict[str, Any]) -> None:
    from anpr.codecs.readview import decode_read_view

    state = state_with("1ABC123", "1ABC128")
    read = {**make_read("1ABC123", read_id="r"), **overrides}
    view = decode_read_view(orjson.dumps(read))
    zones = frozenset({"z1"})
    assert state.index.match_view(view, zones) == state.index.match(read, zones)  # type: ignore[arg-type]
    assert state.index.match(read, zones)  # type: ignore[arg-type]
