"""Building the hit record for a match (contract section 5)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from anpr.hits import derive_hit_id
from matcher.hits import build_hit
from matcher.index import HotlistIndex
from matcher.matches import Match
from tests.support.factories import T0, make_config, make_entry, make_read


def ocr_match(**entry_fields: object) -> Match:
    index = HotlistIndex()
    config = make_config("wanted", match="ocr", covert=True, priority=2, category="wanted")
    index.replace_list(config, [make_entry("e7", "1ABC123", list_id="wanted", **entry_fields)])
    (match,) = index.match(make_read("IABC123"), frozenset())
    return match


def test_hit_record() -> None:
    read = make_read("IABC123", read_id="r-9", camera_id="cam-3")
    hit = build_hit(read, ocr_match(reason="case 12", action="stop"), matched_at_ms=T0 + 400)
    assert hit == {
        "v": 1,
        "hit_id": derive_hit_id("r-9", "cam-3", "wanted", "e7"),
        "read": read,
        "list_id": "wanted",
        "entry_id": "e7",
        "category": "wanted",
        "priority": 2,
        "covert": True,
        "test": False,
        "reason": "case 12",
        "action": "stop",
        "match": {
            "kind": "ocr",
            "source": "plate",
            "read_plate": "IABC123",
            "entry_plate": "1ABC123",
            "distance": 1,
        },
        "matched_at": T0 + 400,
        "latency_ms": {"ingest_to_match": 250, "capture_to_match": 400},
    }


def test_entry_priority_overrides_the_list_and_test_flag_is_passed() -> None:
    hit = build_hit(make_read("IABC123"), ocr_match(priority=5), matched_at_ms=T0, test=True)
    assert hit["priority"] == 5 and hit["test"] is True


ids = st.text(alphabet="abc-:.0", min_size=1, max_size=8)


@given(ids, ids, ids, ids)
def test_hit_id_is_stable_and_depends_on_all_four_ids(
    read_id: str, camera_id: str, list_id: str, entry_id: str
) -> None:
    first = derive_hit_id(read_id, camera_id, list_id, entry_id)
    assert first == derive_hit_id(read_id, camera_id, list_id, entry_id)
    assert first != derive_hit_id(read_id + "x", camera_id, list_id, entry_id)
    assert first != derive_hit_id(read_id, camera_id, list_id, entry_id + "x")


def test_processing_a_read_twice_gives_the_same_hit_ids() -> None:
    index = HotlistIndex()
    index.replace_list(make_config("a"), [make_entry("e1", list_id="a")])
    index.replace_list(make_config("b"), [make_entry("e1", list_id="b")])
    read = make_read()
    first = {build_hit(read, m, matched_at_ms=1)["hit_id"] for m in index.match(read, frozenset())}
    again = {build_hit(read, m, matched_at_ms=2)["hit_id"] for m in index.match(read, frozenset())}
    assert first == again and len(first) == 2
