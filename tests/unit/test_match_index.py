"""The index under change: upsert, delete, replace (built aside), config changes, removal."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anpr.hotlists import EntriesChanged, ListConfigChanged, ListRemoved, ListReplaced, MatchMode
from matcher.fuzzy import is_distance_one, segment_keys
from matcher.index import HotlistIndex
from matcher.ocr import differing_positions, plate_of, skeleton_of, variant_code
from matcher.patterns import PatternSet, anchor_of
from tests.support.factories import make_config, make_entry, make_read

NOWHERE: frozenset[str] = frozenset()


def kinds(index: HotlistIndex, plate: str) -> set[tuple[str, str, str]]:
    return {(m.list_id, m.entry_id, m.kind) for m in index.match(make_read(plate), NOWHERE)}


@pytest.fixture(params=[100_000, 0], ids=["purge-at-once", "purge-later"])
def index(request: pytest.FixtureRequest) -> HotlistIndex:
    return HotlistIndex(purge_at_once=request.param)


def test_upsert_overwrites_and_delete_removes(index: HotlistIndex) -> None:
    index.replace_list(make_config("l", match="fuzzy"), [make_entry("a", "AB1234", list_id="l")])
    assert kinds(index, "AB1234") == {("l", "a", "exact")}
    assert index.upsert("l", [make_entry("a", "XY9876", list_id="l")]) == 1
    assert kinds(index, "AB1234") == set() and kinds(index, "AB123") == set()
    assert kinds(index, "XY987") == {("l", "a", "fuzzy")}
    assert index.delete("l", ["a", "missing"]) == 1
    assert kinds(index, "XY9876") == set() and index.entry_count("l") == 0
    assert index.entries_of("l") == {}


def test_upsert_switches_between_plate_and_pattern(index: HotlistIndex) -> None:
    index.replace_list(make_config("l"), [make_entry("a", "1ABC123", list_id="l")])
    index.upsert("l", [make_entry("a", list_id="l", pattern="1AB*")])
    assert kinds(index, "1ABX") == {("l", "a", "pattern")}
    index.upsert("l", [make_entry("a", "ZZZ9", list_id="l")])
    assert kinds(index, "1ABX") == set() and kinds(index, "ZZZ9") == {("l", "a", "exact")}
    assert index.entries_of("l") == {"a": "ZZZ9"}


def test_entries_of_other_lists_are_untouched(index: HotlistIndex) -> None:
    index.replace_list(make_config("a"), [make_entry("e", "1ABC123", list_id="a")])
    index.replace_list(make_config("b"), [make_entry("e", "1ABC123", list_id="b")])
    index.delete("a", ["e"])
    assert kinds(index, "1ABC123") == {("b", "e", "exact")}
    index.replace_list(make_config("b"), [])
    assert kinds(index, "1ABC123") == set()


def test_replacement_is_invisible_until_installed(index: HotlistIndex) -> None:
    index.replace_list(make_config("l"), [make_entry("old", "OLD1", list_id="l")])
    builder = index.begin_replace(make_config("l", version=2, epoch=2, match="ocr"))
    builder.add(
        [make_entry("new", "NEW1", list_id="l"), make_entry("p", list_id="l", pattern="NE*")]
    )
    assert len(builder) == 2
    assert kinds(index, "OLD1") == {("l", "old", "exact")} and kinds(index, "NEW1") == set()
    index.install(builder)
    assert kinds(index, "OLD1") == set()
    assert kinds(index, "NEWI") == {("l", "new", "ocr"), ("l", "p", "pattern")}
    assert index.versions() == {"l": 2} and len(index) == 2


def test_builder_keeps_the_last_of_a_repeated_entry_id() -> None:
    index = HotlistIndex()
    builder = index.begin_replace(make_config("l", match="fuzzy"))
    builder.add([make_entry("a", "AAAAA", list_id="l"), make_entry("a", "BBBBB", list_id="l")])
    index.install(builder)
    assert index.entries_of("l") == {"a": "BBBBB"} and kinds(index, "AAAAB") == set()


def test_config_change_turns_fuzzy_on_and_off(index: HotlistIndex) -> None:
    index.replace_list(make_config("l"), [make_entry("a", "AB1234", list_id="l")])
    index.replace_list(make_config("m", match="fuzzy"), [make_entry("b", "AB1234", list_id="m")])
    assert kinds(index, "AB123") == {("m", "b", "fuzzy")}
    index.set_config(make_config("l", match="fuzzy", version=2))
    assert kinds(index, "AB123") == {("m", "b", "fuzzy"), ("l", "a", "fuzzy")}
    index.set_config(make_config("m", match="ocr", version=2))
    assert kinds(index, "AB123") == {("l", "a", "fuzzy")}
    assert kinds(index, "A81234") == {("l", "a", "ocr"), ("m", "b", "ocr")}
    index.set_config(make_config("l", match="exact", version=3))
    assert kinds(index, "AB123") == set() and kinds(index, "A81234") == {("m", "b", "ocr")}


def test_remove_list(index: HotlistIndex) -> None:
    index.replace_list(
        make_config("l", match="fuzzy"),
        [make_entry("a", "AB1234", list_id="l"), make_entry("p", list_id="l", pattern="AB*")],
    )
    index.remove_list("l")
    assert kinds(index, "AB1234") == set() and kinds(index, "AB123") == set()
    assert index.configs == {} and len(index) == 0
    index.remove_list("l")


def test_unknown_lists_are_ignored() -> None:
    index = HotlistIndex()
    assert index.upsert("nope", [make_entry("a", list_id="nope")]) == 0
    assert index.delete("nope", ["a"]) == 0 and index.entry_count("nope") == 0


def test_set_config_creates_an_empty_list() -> None:
    index = HotlistIndex()
    index.set_config(make_config("l"))
    index.upsert("l", [make_entry("a", "1ABC123", list_id="l")])
    assert kinds(index, "1ABC123") == {("l", "a", "exact")}


def test_apply_book_changes() -> None:
    index = HotlistIndex()
    config = make_config("l", match="ocr")
    index.apply(ListReplaced(config, [make_entry("a", "AAA1", list_id="l")]))
    index.apply(EntriesChanged("l", upserts=[make_entry("b", "BBB1", list_id="l")], deletes=["a"]))
    index.apply(ListConfigChanged(make_config("l", match="exact", version=2)))
    assert index.entries_of("l") == {"b": "BBB1"} and kinds(index, "BBBI") == set()
    index.apply(ListRemoved("l"))
    assert index.configs == {}


def test_retired_generations_are_invisible_and_purged_by_budget() -> None:
    index = HotlistIndex(purge_at_once=2)
    big = [make_entry(f"e{i}", f"{c}{c}1234", list_id="l") for i, c in enumerate("KLM")]
    index.replace_list(make_config("l", match="fuzzy"), big)
    index.replace_list(make_config("s", match="fuzzy"), [make_entry("x", "XY1234", list_id="s")])
    assert kinds(index, "KK123") == {("l", "e0", "fuzzy")}
    index.replace_list(make_config("l", match="ocr", version=2, epoch=2), big[:1], purge=False)
    assert index.purge_pending == 3
    assert kinds(index, "KK123") == set() and kinds(index, "LL1234") == set()
    assert kinds(index, "KK1Z34") == {("l", "e0", "ocr")}
    assert index.purge(budget=2) == 1 and index.purge() == 0
    assert kinds(index, "KK1Z34") == {("l", "e0", "ocr")} and kinds(index, "XY123") == {
        ("s", "x", "fuzzy")
    }
    assert index.entries_of("l") == {"e0": "KK1234"}


def test_a_discarded_build_leaves_no_trace() -> None:
    index = HotlistIndex(purge_at_once=0)
    index.replace_list(make_config("l"), [make_entry("a", "AAA1", list_id="l")])
    builder = index.begin_replace(make_config("l", version=2, epoch=2))
    builder.add([make_entry("b", "BBB1", list_id="l")])
    index.discard(builder)
    assert index.purge() == 0
    assert kinds(index, "BBB1") == set() and index.entries_of("l") == {"a": "AAA1"}


def test_removed_list_is_invisible_before_its_purge() -> None:
    index = HotlistIndex(purge_at_once=0)
    index.replace_list(make_config("l"), [make_entry("a", "AAA1", list_id="l")])
    index.remove_list("l")
    assert kinds(index, "AAA1") == set() and index.purge_pending == 1
    index.replace_list(make_config("l"), [make_entry("a", "AAA1", list_id="l")])
    assert kinds(index, "AAA1") == {("l", "a", "exact")}
    assert index.purge() == 0 and kinds(index, "AAA1") == {("l", "a", "exact")}


def test_patterns_are_found_after_each_change() -> None:
    patterns = PatternSet()
    patterns.add("l", "a", "AB?1*", ("l", None, (), None, None, None, None, None))
    assert [e.entry_id for e in patterns.matches("ABX1")] == ["a"]
    patterns.add("l", "b", "*X1", ("l", None, (), None, None, None, None, None))
    assert {e.entry_id for e in patterns.matches("ABX1")} == {"a", "b"}
    assert patterns.remove("l", "a") and not patterns.remove("l", "a")
    assert [e.entry_id for e in patterns.matches("ABX1")] == ["b"]
    patterns.remove("l", "b")
    assert list(patterns.matches("ABX1")) == [] and len(patterns) == 0


@pytest.mark.parametrize(
    ("pattern", "anchor"),
    [("1AB*", "1AB"), ("A?BC*D", "BC"), ("*12345?", "12345"), ("A?B?C", "A")],
)
def test_anchor_is_the_longest_literal_fragment(pattern: str, anchor: str) -> None:
    assert anchor_of(pattern) == anchor


# --- helpers of the hot path -------------------------------------------------------------------

plates = st.text(alphabet="0ODQ1I2Z5S6G8BAXY", min_size=1, max_size=16)


@given(plates, plates)
def test_variant_codes_count_differing_positions(a: str, b: str) -> None:
    b = (b * 16)[: len(a)]
    code_a, code_b = variant_code(a.encode()), variant_code(b.encode())
    assert plate_of(skeleton_of(a), code_a) == a
    if skeleton_of(a) == skeleton_of(b):
        expected = sum(x != y for x, y in zip(a, b, strict=True))
        assert differing_positions(code_a, code_b) == expected


def levenshtein(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
    return row[-1]


@given(st.text("ABC", max_size=7), st.text("ABC", max_size=7))
def test_is_distance_one(a: str, b: str) -> None:
    assert is_distance_one(a, b) == (levenshtein(a, b) == 1)


@given(
    st.text("ABกع", min_size=5, max_size=12),
    st.sampled_from(("same", "replace", "insert", "delete")),
    st.integers(min_value=0, max_value=12),
    st.sampled_from("ABCกع"),
)
def test_a_string_at_distance_one_shares_a_segment_key(
    read: str, edit: str, at: int, letter: str
) -> None:
    i = at % (len(read) + 1)
    entry = {
        "same": read,
        "replace": read[:i] + letter + read[i + 1 :],
        "insert": read[:i] + letter + read[i:],
        "delete": read[:i] + read[i + 1 :],
    }[edit]
    assert levenshtein(read, entry) <= 1
    mine, its = segment_keys(read, len(read)), segment_keys(entry, len(read))
    assert [len(key) for key in mine] == [len(key) for key in its]
    assert any(a == b for a, b in zip(mine, its, strict=True)), (read, entry, mine, its)


def test_match_mode_values() -> None:
    assert [m.value for m in MatchMode] == ["exact", "ocr", "fuzzy"]
