"""Past-read matching, the archive's pure part: which entries a commit added or changed, which
skeleton keys and pattern scans find their candidates, and the bound on fuzzy keys."""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from anpr.hotlists import (
    EntriesChanged,
    Entry,
    ListChange,
    ListConfigChanged,
    ListRemoved,
    ListReplaced,
    MatchMode,
)
from anpr.normalize import skeleton
from api.archive.pastmatch_plan import (
    SKELETON_ALPHABET,
    EntryDiff,
    fuzzy_skeletons,
    like_of,
    plan_candidates,
)
from matcher.fuzzy import is_distance_one
from matcher.testing import make_config, make_entry

CONFIG = make_config("stolen", version=5)
A = make_entry("a", "AB123CD")
B = make_entry("b", "XY999ZZ")
C = make_entry("c", pattern="AB*")


@dataclass
class DiffCase:
    name: str
    before: list[ListChange]
    change: list[ListChange]
    fresh: list[str] = field(default_factory=list)


DIFF_CASES = [
    DiffCase("a new list: all its entries", [], [ListReplaced(CONFIG, [A, B])], ["a", "b"]),
    DiffCase(
        "a replacement that re-sends the same entries: none",
        [ListReplaced(CONFIG, [A, B])],
        [ListReplaced(CONFIG, [A, B])],
    ),
    DiffCase(
        "a replacement with one changed plate and one new pattern",
        [ListReplaced(CONFIG, [A, B])],
        [ListReplaced(CONFIG, [make_entry("a", "AB123CE"), B, C])],
        ["a", "c"],
    ),
    DiffCase(
        "an upsert that changes only reason and priority: none",
        [ListReplaced(CONFIG, [A])],
        [
            ListConfigChanged(CONFIG),
            EntriesChanged("stolen", [make_entry("a", "AB123CD", reason="x", priority=1)]),
        ],
    ),
    DiffCase(
        "an upsert that adds zones",
        [ListReplaced(CONFIG, [A])],
        [EntriesChanged("stolen", [make_entry("a", "AB123CD", zones=("north",))])],
        ["a"],
    ),
    DiffCase(
        "an upsert that widens validity",
        [ListReplaced(CONFIG, [A])],
        [EntriesChanged("stolen", [make_entry("a", "AB123CD", valid_until_ms=99)])],
        ["a"],
    ),
    DiffCase(
        "an entry deleted, then added again",
        [ListReplaced(CONFIG, [A]), EntriesChanged("stolen", deletes=["a"])],
        [EntriesChanged("stolen", [A])],
        ["a"],
    ),
    DiffCase(
        "a list removed and created again: all new",
        [ListReplaced(CONFIG, [A]), ListRemoved("stolen")],
        [ListReplaced(CONFIG, [A])],
        ["a"],
    ),
    DiffCase(
        "entries of a list never committed: none",
        [],
        [EntriesChanged("stolen", [A])],
    ),
]


@pytest.mark.parametrize("case", DIFF_CASES, ids=lambda c: c.name)
def test_entry_diff(case: DiffCase) -> None:
    diff = EntryDiff()
    diff.apply(case.before)
    committed = diff.apply(case.change)
    got = sorted(e.entry_id for c in committed for e in c.entries)
    assert got == sorted(case.fresh)
    assert all(c.config.list_id == "stolen" for c in committed)


@dataclass
class PlanCase:
    name: str
    mode: MatchMode
    entries: list[Entry]
    keys: int
    patterns: int = 0
    left_out: int = 0


PLAN_CASES = [
    PlanCase("exact: one skeleton key per plate", MatchMode.EXACT, [A, B], 2),
    PlanCase(
        "ocr: one key; look-alike plates share it",
        MatchMode.OCR,
        [A, make_entry("x", "A8123C0")],
        1,
    ),
    PlanCase(
        "fuzzy: the plate's key and its distance-1 neighbours",
        MatchMode.FUZZY,
        [A],
        1 + len(fuzzy_skeletons(skeleton("AB123CD"))),
    ),
    PlanCase(
        "fuzzy: a plate under 5 characters keeps one key",
        MatchMode.FUZZY,
        [make_entry("s", "AB12")],
        1,
    ),
    PlanCase("patterns become scans, not keys", MatchMode.EXACT, [C, A], 1, patterns=1),
    PlanCase(
        "patterns over the bound are left out",
        MatchMode.EXACT,
        [make_entry(f"p{i}", pattern=f"AB{i}*") for i in range(5)],
        0,
        patterns=3,
        left_out=2,
    ),
]


@pytest.mark.parametrize("case", PLAN_CASES, ids=lambda c: c.name)
def test_plan_candidates(case: PlanCase) -> None:
    plan = plan_candidates(case.mode, case.entries, max_patterns=3)
    assert len(plan.by_skeleton) == case.keys
    assert len(plan.patterns) == case.patterns
    assert plan.left_out == case.left_out
    assert plan.truncated == (case.left_out > 0)


def test_a_candidate_is_tried_against_the_entries_of_its_skeleton_and_the_patterns() -> None:
    plan = plan_candidates(MatchMode.OCR, [A, B, C], max_patterns=10)
    assert plan.entries_for(skeleton("A8123CD"), by_pattern=False) == {"a"}
    assert plan.entries_for(skeleton("AB123CD"), by_pattern=True) == {"a", "c"}
    assert plan.entries_for("NOTHING", by_pattern=False) == set()
    assert like_of("1AB?C*") == "1AB_C%"


plates = st.text(alphabet=string.ascii_uppercase + string.digits, min_size=5, max_size=10)


@given(plates)
def test_every_fuzzy_key_is_at_distance_one(plate: str) -> None:
    skel = skeleton(plate)
    keys = fuzzy_skeletons(skel)
    assert all(is_distance_one(skel, k) and len(k) >= 5 for k in keys)
    # The bound stated in docs/matching.md: at most 28(2L + 1) + L keys for a plate of length L.
    assert len(SKELETON_ALPHABET) == 28
    assert len(keys) <= 28 * (2 * len(skel) + 1) + len(skel)


@given(
    plates,
    st.integers(min_value=0, max_value=10),
    st.sampled_from(string.ascii_uppercase + string.digits),
    st.sampled_from(["sub", "ins", "del"]),
)
def test_no_read_at_fuzzy_distance_is_missed(plate: str, at: int, ch: str, edit: str) -> None:
    """Any read plate whose skeleton is at distance 1 from the entry's is a candidate."""
    at = min(at, len(plate))
    if edit == "sub" and at < len(plate):
        read = plate[:at] + ch + plate[at + 1 :]
    elif edit == "del" and at < len(plate):
        read = plate[:at] + plate[at + 1 :]
    else:
        read = plate[:at] + ch + plate[at:]
    skel, read_skel = skeleton(plate), skeleton(read)
    if len(read) >= 5 and is_distance_one(skel, read_skel):
        assert read_skel in fuzzy_skeletons(skel)


def test_a_lists_window_survives_the_wire_and_later_changes() -> None:
    from anpr.errors import InvalidRecord
    from anpr.hotlists import decode_list_config, encode_list_config, plan_put_config

    def put(current: Any, hours: int | None) -> Any:
        plan = plan_put_config(
            current,
            list_id="stolen",
            name="Stolen",
            category="stolen",
            priority=1,
            match=MatchMode.OCR,
            covert=False,
            now_ms=1000,
            past_match_hours=hours,
        )
        return plan.config

    new = put(None, None)
    assert new.past_match_hours is None
    assert b"past_match_hours" not in encode_list_config(new)  # older readers see no change
    six = put(new, 6)
    assert decode_list_config(encode_list_config(six)).past_match_hours == 6
    assert put(six, None).past_match_hours == 6  # absent: unchanged
    bad = orjson.loads(encode_list_config(six))
    bad["past_match_hours"] = 0
    with pytest.raises(InvalidRecord, match="past_match_hours"):
        decode_list_config(orjson.dumps(bad))
