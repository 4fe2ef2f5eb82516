"""The typed fast path of read validation (`anpr.readshape`) against the hand-written validator:
for any submitted read, the same record or the same errors, byte for byte on the wire."""

from __future__ import annotations

import base64
import enum
from typing import Any

import orjson
from hypothesis import example, given, settings
from hypothesis import strategies as st

from anpr.clock import ms_to_rfc3339
from anpr.reads import ReadLimits, _validate_by_hand, validate_read
from anpr.readshape import ReadShape, decode_reads, submitted_read
from ingest.body import split_body

NOW = 1_795_247_470_000
LIMITS = ReadLimits(now_ms=NOW, retention_ms=30 * 86_400_000)
HOUR = 3_600_000
MISSING = object()
JPEG = base64.b64encode(b"\xff\xd8\xff\xe0" + b"\x00" * 12).decode()


class Lane(enum.IntEnum):
    TWO = 2


def both(raw: object) -> tuple[Any, Any]:
    kwargs: dict[str, Any] = {"integrator_id": "int-1", "received_at_ms": NOW, "limits": LIMITS}
    return validate_read(raw, **kwargs), _validate_by_hand(raw, **kwargs)


json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=8)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


def field(*good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A field's value: usually plausible, sometimes anything JSON holds, sometimes absent."""
    return st.one_of(*good, json_values, st.just(MISSING))


ids = st.sampled_from(["cam-1", "r.1:x_Y-2", "cam 1", "", "a" * 128, "a" * 129, "cam-1\n", "é"])
times = st.one_of(
    st.integers(NOW - 31 * 24 * HOUR, NOW + 25 * HOUR),
    st.integers(NOW - 31 * 24 * HOUR, NOW + 25 * HOUR).map(float),
    st.floats(NOW - 10 * HOUR, NOW + 10 * HOUR),
    st.integers(NOW - 20 * HOUR, NOW + 20 * HOUR).map(ms_to_rfc3339),
    st.integers(NOW - 20 * HOUR, NOW + 20 * HOUR).map(
        lambda ms: ms_to_rfc3339(ms).replace("Z", "+02:00").replace("T", "t")
    ),
    st.sampled_from(
        ["2026-11-21T07:51:10", "2026-11-21T07:51:10z", "2026-11-21 07:51:10+0000", "10000-01-01"]
    ),
    st.sampled_from([-1, 10**20, 2**70, float("inf"), float("nan"), True]),
)
plates = st.one_of(
    st.sampled_from(["AB12 CDE", "1-abc-123", "--- ...", "A" * 16, "A" * 17, "กข 1234", "ΑΒ12"]),
    st.text(max_size=20),
)
confidences = st.one_of(
    st.floats(-0.5, 1.5), st.sampled_from([0, 1, 2, -1, True, "0.9", float("nan")])
)
candidates = st.one_of(
    st.lists(
        st.fixed_dictionaries({"plate": plates}, optional={"confidence": confidences}),
        max_size=12,
    ),
    st.lists(st.fixed_dictionaries({"plate": plates}), max_size=2).map(tuple),
)
vehicle_texts = st.one_of(st.sampled_from(["Ford", "x" * 64, "x" * 65, "a\tb", ""]), json_values)
vehicles = st.fixed_dictionaries(
    {}, optional={k: vehicle_texts for k in ("make", "model", "color", "class", "trim")}
)
image_texts = st.sampled_from(
    [JPEG, "bm90IGEganBlZw==", "not base64!", "https://cam.example/p.jpg", "javascript:x()", ""]
)
images = st.fixed_dictionaries(
    {},
    optional={
        k: st.one_of(image_texts, json_values)
        for k in ("plate_jpeg_b64", "overview_jpeg_b64", "plate_url", "overview_url", "x")
    },
)
locations = st.fixed_dictionaries(
    {},
    optional={
        "lat": st.one_of(st.floats(-100, 100), st.integers(-100, 100), json_values),
        "lon": st.one_of(st.floats(-200, 200), st.integers(-200, 200), json_values),
    },
)
reads = st.fixed_dictionaries({
    "camera_id": field(ids),
    "read_id": field(ids),
    "captured_at": field(times),
    "plate": field(plates),
    "country": field(st.sampled_from(["GB", "gb", "XX", "GBR", "de"])),
    "confidence": field(confidences),
    "candidates": field(candidates),
    "direction": field(st.sampled_from(["approaching", "receding", "unknown", "north"])),
    "lane": field(st.integers(-2, 40), st.just(Lane.TWO), st.just(1.0)),
    "vehicle": field(vehicles),
    "images": field(images),
    "location": field(locations),
    "extra": field(json_values),
}).map(lambda read: {k: v for k, v in read.items() if v is not MISSING})  # fmt: skip

GOOD: dict[str, Any] = {
    "read_id": "r-1",
    "camera_id": "cam-1",
    "captured_at": ms_to_rfc3339(NOW - 500),
    "plate": "AB12 CDE",
    "country": "gb",
    "confidence": 1,
    "candidates": [{"plate": "AB12 COE", "confidence": 0.6}, {"plate": "AB12 C0E"}],
    "direction": "approaching",
    "lane": 2,
    "vehicle": {"make": "Ford", "class": "car"},
    "images": {"plate_jpeg_b64": JPEG, "plate_url": "https://cam.example/p.jpg"},
    "location": {"lat": 51, "lon": -0.1276},
}
# Fields the shape does not know (ignored by the validator): such a read takes its way.
WITH_UNKNOWN = {
    **GOOD,
    "vehicle": {"make": "Ford", "trim": 5},
    "location": {"lat": 1, "lon": 2, "alt": 3},
}

# Mostly good reads, one or two fields from `reads`: most of these take the typed path.
near_good = reads.flatmap(
    lambda read: st.sets(st.sampled_from(sorted(read) or ["extra"]), max_size=2).map(
        lambda keys: {**GOOD, **{k: read[k] for k in keys if k in read}}
    )
)


@settings(max_examples=1000, deadline=None)
@given(st.one_of(reads, near_good))
@example(GOOD)
@example(WITH_UNKNOWN)
@example({**GOOD, "candidates": [], "vehicle": {}, "images": {}})
@example({**GOOD, "lane": Lane.TWO})
@example({**GOOD, "plate": "AB123" + "-" * 60})
@example({**GOOD, "plate": "AB123" + "-" * 59, "candidates": [{"plate": "A" + " " * 64}]})
@example({**GOOD, "candidates": ({"plate": "AB1"},)})
@example({**GOOD, "captured_at": float(NOW)})
def test_the_typed_path_answers_as_the_hand_written_validator(raw: dict[str, Any]) -> None:
    fast, by_hand = both(raw)
    assert fast == by_hand
    assert orjson.dumps(fast, default=lambda e: e.as_dict()) == orjson.dumps(
        by_hand, default=lambda e: e.as_dict()
    )


def test_a_good_read_with_every_field_takes_the_typed_path() -> None:
    shaped = submitted_read(GOOD)
    assert shaped is not None
    assert shaped.vehicle is not None and shaped.vehicle.class_ == "car"
    fast, by_hand = both(GOOD)
    assert fast == by_hand
    assert fast["country"] == "GB" and fast["confidence"] == 1.0


def test_values_the_hand_written_validator_refuses_do_not_fit_the_shape() -> None:
    assert submitted_read({**GOOD, "lane": Lane.TWO}) is None
    assert submitted_read({**GOOD, "candidates": ({"plate": "AB1"},)}) is None
    assert submitted_read({**GOOD, "confidence": True}) is None
    assert submitted_read([GOOD]) is None
    assert submitted_read(WITH_UNKNOWN) is None


def test_ids_outside_the_alphabet_leave_the_typed_path_for_the_validator() -> None:
    for bad in ({"camera_id": "cam-1\n"}, {"read_id": "r 1"}, {"read_id": "r" * 129}):
        raw = {**GOOD, **bad}
        assert submitted_read(raw) is not None
        fast, by_hand = both(raw)
        assert isinstance(fast, list) and fast == by_hand
        assert [e.field for e in fast] == [next(iter(bad))]


def test_a_retention_reaching_before_1970_still_refuses_times_before_it() -> None:
    limits = ReadLimits(now_ms=NOW, retention_ms=2 * NOW)
    kwargs: dict[str, Any] = {"integrator_id": "int-1", "received_at_ms": NOW, "limits": limits}
    raw = {**GOOD, "captured_at": -1}
    fast = validate_read(raw, **kwargs)
    assert fast == _validate_by_hand(raw, **kwargs)
    assert isinstance(fast, list) and [e.field for e in fast] == ["captured_at"]


def checked(items: list[object]) -> bytes:
    kwargs: dict[str, Any] = {"integrator_id": "int-1", "received_at_ms": NOW, "limits": LIMITS}
    results = [validate_read(item, **kwargs) for item in items]
    return orjson.dumps(results, default=lambda e: e.as_dict())


def json_read(read: dict[str, Any]) -> bool:
    """Whether orjson can write it (not an integer over 64 bits, for one)."""
    try:
        orjson.dumps(read)
    except orjson.JSONEncodeError:
        return False
    return True


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(reads, near_good).filter(json_read), min_size=1, max_size=4))
def test_a_body_decoded_straight_into_shapes_answers_as_one_parsed_by_orjson(
    batch: list[dict[str, Any]],
) -> None:
    body = orjson.dumps(batch)
    split = split_body(body, "application/json", max_items=1000)
    assert checked(split.items) == checked(orjson.loads(body))


def test_a_body_of_good_reads_is_decoded_straight_into_shapes() -> None:
    split = split_body(orjson.dumps([GOOD, {**GOOD, "read_id": "r-2"}]), None, max_items=10)
    assert [type(item) for item in split.items] == [ReadShape, ReadShape]
    single = split_body(orjson.dumps(GOOD), "application/json", max_items=10)
    assert [type(item) for item in single.items] == [ReadShape]


BODIES_ORJSON_REFUSES = [
    b'[{"camera_id":"cam-1","captured_at":1,"plate":"AB1","vehicle":{"make":"\xff"}}]',
    b'[{"camera_id":"cam-1","captured_at":1,"plate":"AB1","vehicle":{"make":1e400}}]',
    b'[{"camera_id":"cam-1","captured_at":1e400,"plate":"AB1"}]',
    b'[{"camera_id":"cam-1","captured_at":1,"plate":"AB1","note":"\xff"}]',
    b'[{"camera_id":"cam-1","captured_at":1,"plate":"AB1","note":1e400}]',
]


def test_no_body_orjson_refuses_is_decoded_into_shapes() -> None:
    for body in BODIES_ORJSON_REFUSES:
        try:
            orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
        else:
            raise AssertionError(f"orjson took {body!r}")
        assert decode_reads(body) is None


def test_a_read_with_a_field_the_shape_does_not_know_is_parsed_as_before() -> None:
    body = orjson.dumps([GOOD, {**GOOD, "read_id": "r-2", "note": "x"}])
    assert decode_reads(body) is None
    assert [type(item) for item in split_body(body, None, max_items=10).items] == [dict, dict]
