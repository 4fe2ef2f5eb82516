"""`api.hits.body` against what it replaces, the response model run over the codec's output:
for any record on the hits topic, the same body byte for byte (key order included), or both
refuse it."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from anpr.bus.base import Record
from anpr.codecs import HITS
from anpr.errors import InvalidRecord
from anpr.ids import ID_PATTERN
from api.hits.body import hit_body
from api.hits.ingest import decode_hit
from api.hits.schemas import HitBody
from tests.unit.api_fixtures import make_hit

MISSING = object()
REFUSED = "refused"

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(), st.text(max_size=6)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=5,
)


def maybe(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A field the record may leave out."""
    return st.one_of(good, st.just(MISSING))


ids = st.sampled_from(["e-1", "stolen", "a" * 128, "é" * 3])
texts = st.text(max_size=8)
floats = st.one_of(st.floats(0, 1), st.integers(0, 1))
candidate = st.fixed_dictionaries(
    {"plate": texts, "plate_norm": texts},
    optional={"confidence": floats, "extra": json_values},
)
read_fields = {
    "v": st.just(1),
    "read_id": ids,
    "camera_id": ids,
    "integrator_id": ids,
    "captured_at": texts,
    "captured_at_ms": st.integers(0, 2**45),
    "received_at": st.integers(0, 2**45),
    "plate": texts,
    "plate_norm": texts,
    "country": maybe(st.sampled_from(["GB", "DE"])),
    "confidence": maybe(floats),
    "candidates": maybe(st.lists(candidate, max_size=3)),
    "direction": maybe(st.sampled_from(["approaching", "receding"])),
    "lane": maybe(st.integers(0, 32)),
    "vehicle": maybe(st.dictionaries(st.sampled_from(["make", "model", "color"]), texts)),
    "images": maybe(st.dictionaries(st.sampled_from(["plate_url", "overview_url"]), texts)),
    "location": maybe(st.fixed_dictionaries({"lat": floats, "lon": floats})),
    "unknown": maybe(json_values),
}
hit_fields = {
    "v": st.just(1),
    "hit_id": ids,
    "list_id": ids,
    "entry_id": ids,
    "category": texts,
    "priority": st.integers(1, 5),
    "covert": st.booleans(),
    "test": st.booleans(),
    "historical": maybe(st.booleans()),
    "reason": st.one_of(texts, st.none()),
    "action": st.one_of(texts, st.none()),
    "match": st.fixed_dictionaries(
        {
            "kind": st.sampled_from(["exact", "ocr", "fuzzy", "pattern"]),
            "source": st.sampled_from(["plate", "candidate"]),
            "read_plate": texts,
            "entry_plate": texts,
            "distance": st.integers(0, 2),
        }
    ),
    "matched_at": st.integers(0, 2**45),
    "latency_ms": st.fixed_dictionaries(
        {"ingest_to_match": st.integers(-5, 500), "capture_to_match": st.integers(-5, 500)}
    ),
    "unknown": maybe(json_values),
}
# What a spoiled field is set to: anything JSON holds, an id out of bounds, or nothing.
spoilers = st.one_of(json_values, st.sampled_from(["", "a" * 129, "other", 2]), st.just(MISSING))


def present(value: Any) -> Any:
    """`value` without the fields drawn as absent, at any depth."""
    if isinstance(value, dict):
        return {k: present(v) for k, v in value.items() if v is not MISSING}
    if isinstance(value, list):
        return [present(v) for v in value]
    return value


def paths(hit: dict[str, Any]) -> list[tuple[str, ...]]:
    """Every field of the record, nested ones included (candidates' first one)."""
    out: list[tuple[str, ...]] = []
    for key, value in hit.items():
        out.append((key,))
        if isinstance(value, dict):
            out.extend((key, *rest) for rest in paths(value))
        elif key == "candidates" and isinstance(value, list) and value:
            out.extend((key, 0, *rest) for rest in paths(value[0]))  # type: ignore[misc]
    return out


@st.composite
def hits(draw: st.DrawFn) -> dict[str, Any]:
    """A valid hit record, or one with one field spoiled (half of them)."""
    read = present(draw(st.fixed_dictionaries(read_fields)))
    hit = present({**draw(st.fixed_dictionaries(hit_fields)), "read": read})
    if draw(st.booleans()):
        *parents, last = draw(st.sampled_from(paths(hit)))
        holder: Any = hit
        for key in parents:
            holder = holder[key]
        value = draw(spoilers)
        if value is MISSING:
            del holder[last]
        else:
            holder[last] = value
    return hit


def through_model(value: bytes) -> object:
    """What the API did before: the codec, then `HitBody` validated and dumped; and a hit_id
    outside the id pattern refused (it is written raw on the stream's `id:` line)."""
    try:
        decoded = HITS.decode(value)
        body = HitBody.model_validate(decoded).model_dump(mode="json", exclude_none=False)
    except (InvalidRecord, ValidationError):
        return REFUSED
    return body if ID_PATTERN.fullmatch(decoded["hit_id"]) else REFUSED


def built(value: bytes) -> object:
    try:
        return hit_body(HITS.decode(value))
    except InvalidRecord:
        return REFUSED


def same(value: bytes) -> None:
    expected, got = through_model(value), built(value)
    assert orjson.dumps(got) == orjson.dumps(expected)
    assert got == expected


@settings(max_examples=600, deadline=None)
@given(hits())
@example(make_hit())
@example(make_hit(historical=True, reason=None, entry_id="a" * 129))
def test_the_same_body_as_the_response_model(hit: dict[str, Any]) -> None:
    same(orjson.dumps(hit))


@pytest.mark.parametrize(
    "change",
    [
        {},
        {"historical": True},
        {"hit_id": ""},
        {"list_id": "x" * 129},
        {
            "match": {
                "kind": "other",
                "source": "plate",
                "read_plate": "A",
                "entry_plate": "A",
                "distance": 0,
            }
        },
    ],
)
def test_plausible_hits_either_way(change: dict[str, Any]) -> None:
    hit = make_hit(**change)
    hit["read"].update(
        candidates=[
            {"plate": "AB1", "plate_norm": "AB1"},
            {"plate": "A81", "plate_norm": "A81", "confidence": 1},
        ],
        location={"lat": 51, "lon": -0.5},
        vehicle={"make": "Ford"},
    )
    same(orjson.dumps(hit))


def test_a_stored_hit_is_in_the_models_shape() -> None:
    hit = make_hit(extra_field="kept out")
    new = decode_hit(Record("hits", 0, 0, None, orjson.dumps(hit), 1))
    assert list(new.body) == list(HitBody.model_fields)
    assert list(new.body["read"]) == list(HitBody.model_fields["read"].annotation.model_fields)  # type: ignore[union-attr]
    assert new.body["historical"] is False
    assert (new.hit_id, new.camera_id, new.list_id, new.plate_norm) == (
        hit["hit_id"], hit["read"]["camera_id"], hit["list_id"], hit["read"]["plate_norm"]
    )  # fmt: skip


@pytest.mark.parametrize("hit_id", ["h-1\nevent: hit", "h-1\r", "h 1", "h-é"])
def test_a_hit_id_that_could_forge_stream_lines_is_refused(hit_id: str) -> None:
    with pytest.raises(InvalidRecord, match="hit_id"):
        decode_hit(Record("hits", 0, 0, None, orjson.dumps(make_hit(hit_id=hit_id)), 1))


def test_an_id_out_of_bounds_is_refused_naming_it() -> None:
    hit = make_hit(entry_id="e" * 129)
    with pytest.raises(InvalidRecord, match="entry_id"):
        decode_hit(Record("hits", 0, 0, None, orjson.dumps(hit), 1))
