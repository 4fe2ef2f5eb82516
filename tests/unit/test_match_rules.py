"""Matching rules of contract section 6, one named case per rule and combination."""

from __future__ import annotations

from typing import Any

import pytest

from anpr.hotlists import Entry
from matcher.index import HotlistIndex
from tests.support.factories import T0, make_config, make_entry, make_read

MODES = {"x": "exact", "o": "ocr", "f": "fuzzy"}
Hit = tuple[str, str, str, str, str, str, int]


def build(entries: list[Entry], *, over_old_generation: bool = False) -> HotlistIndex:
    """The lists of `entries`; optionally replacing a generation with the same plates, unpurged."""
    index = HotlistIndex(purge_at_once=0)
    by_list = {list_id: [e for e in entries if e.list_id == list_id] for list_id in MODES}
    if over_old_generation:
        for list_id, mine in by_list.items():
            index.replace_list(make_config(list_id, match="fuzzy"), mine, purge=False)
    for list_id, mine in by_list.items():
        index.replace_list(make_config(list_id, match=MODES[list_id]), mine, purge=False)
    plates = sum(e.plate is not None for e in entries)
    assert index.purge_pending == (plates if over_old_generation else 0)
    return index


def hits(
    index: HotlistIndex, read_plate: str, zones: tuple[str, ...] = (), **read: Any
) -> set[Hit]:
    found = index.match(make_read(read_plate, **read), frozenset(zones))
    return {
        (m.list_id, m.entry_id, m.kind, m.source, m.read_plate, m.entry_plate, m.distance)
        for m in found
    }


def entry(list_id: str, plate: str | None = None, entry_id: str = "e1", **kw: Any) -> Entry:
    return make_entry(entry_id, plate, list_id=list_id, **kw)


def exact(list_id: str, plate: str, entry_id: str = "e1") -> Hit:
    return (list_id, entry_id, "exact", "plate", plate, plate, 0)


# (entries, read plate, camera zones, read overrides, expected hits)
RULES = [
    # zones
    pytest.param(
        [entry("x", "1ABC123", zones=("north",))],
        "1ABC123",
        ("south",),
        {},
        set(),
        id="zone-camera-outside",
    ),
    pytest.param(
        [entry("x", "1ABC123", zones=("north", "port"))],
        "1ABC123",
        ("port", "x"),
        {},
        {exact("x", "1ABC123")},
        id="zone-camera-inside",
    ),
    pytest.param(
        [entry("x", "1ABC123", zones=("north",))],
        "1ABC123",
        (),
        {},
        set(),
        id="zone-camera-without-zones",
    ),
    pytest.param(
        [entry("x", "1ABC123")],
        "1ABC123",
        ("anywhere",),
        {},
        {exact("x", "1ABC123")},
        id="no-zones-everywhere",
    ),
    # validity, captured at T0
    pytest.param(
        [entry("x", "1ABC123", valid_from_ms=T0 + 1)], "1ABC123", (), {}, set(), id="not-yet-valid"
    ),
    pytest.param(
        [entry("x", "1ABC123", valid_from_ms=T0)],
        "1ABC123",
        (),
        {},
        {exact("x", "1ABC123")},
        id="valid-from-boundary-included",
    ),
    pytest.param(
        [entry("x", "1ABC123", valid_until_ms=T0)],
        "1ABC123",
        (),
        {},
        set(),
        id="valid-until-boundary-excluded",
    ),
    pytest.param(
        [entry("x", "1ABC123", valid_until_ms=T0 + 1)],
        "1ABC123",
        (),
        {},
        {exact("x", "1ABC123")},
        id="valid-until-just-after",
    ),
    pytest.param(
        [entry("x", "1ABC123", valid_from_ms=T0 - 10, valid_until_ms=T0 - 1)],
        "1ABC123",
        (),
        {},
        set(),
        id="expired",
    ),
    # country
    pytest.param(
        [entry("x", "1ABC123", country="BE")],
        "1ABC123",
        (),
        {"country": "NL"},
        set(),
        id="country-mismatch",
    ),
    pytest.param(
        [entry("x", "1ABC123", country="BE")],
        "1ABC123",
        (),
        {"country": "BE"},
        {exact("x", "1ABC123")},
        id="country-same",
    ),
    pytest.param(
        [entry("x", "1ABC123", country="BE")],
        "1ABC123",
        (),
        {},
        {exact("x", "1ABC123")},
        id="country-read-unset",
    ),
    pytest.param(
        [entry("x", "1ABC123")],
        "1ABC123",
        (),
        {"country": "NL"},
        {exact("x", "1ABC123")},
        id="country-entry-unset",
    ),
    # combinations of conditions
    pytest.param(
        [entry("o", "1ABC123", country="BE", zones=("a",), valid_until_ms=T0 + 1)],
        "IABC123",
        ("a",),
        {"country": "BE"},
        {("o", "e1", "ocr", "plate", "IABC123", "1ABC123", 1)},
        id="ocr-with-all-conditions-met",
    ),
    pytest.param(
        [entry("o", "1ABC123", country="BE", zones=("a",), valid_until_ms=T0)],
        "IABC123",
        ("a",),
        {"country": "BE"},
        set(),
        id="ocr-expired-with-other-conditions-met",
    ),
    # OCR
    pytest.param(
        [entry("o", "1ABC123")],
        "IA8C123",
        (),
        {},
        {("o", "e1", "ocr", "plate", "IA8C123", "1ABC123", 2)},
        id="ocr-two-differences",
    ),
    pytest.param([entry("o", "1ABC123")], "IA8C12Z", (), {}, set(), id="ocr-three-differences"),
    pytest.param([entry("o", "1ABC12")], "1ABC120", (), {}, set(), id="ocr-different-length"),
    pytest.param([entry("x", "1ABC123")], "IABC123", (), {}, set(), id="exact-list-ignores-ocr"),
    pytest.param(
        [entry("f", "1ABC123")],
        "IABC123",
        (),
        {},
        {("f", "e1", "ocr", "plate", "IABC123", "1ABC123", 1)},
        id="fuzzy-list-does-ocr",
    ),
    pytest.param([entry("o", "D0Q5")], "Q0DS", (), {}, set(), id="ocr-three-in-one-class"),
    # fuzzy
    pytest.param(
        [entry("f", "AB123")],
        "AB124",
        (),
        {},
        {("f", "e1", "fuzzy", "plate", "AB124", "AB123", 1)},
        id="fuzzy-substitution-length-5",
    ),
    pytest.param([entry("f", "AB12")], "AB13", (), {}, set(), id="fuzzy-length-4-no"),
    pytest.param([entry("f", "AB123")], "AB12", (), {}, set(), id="fuzzy-read-length-4-no"),
    pytest.param([entry("f", "AB12")], "AB123", (), {}, set(), id="fuzzy-entry-length-4-no"),
    pytest.param(
        [entry("f", "AB123")],
        "AB1234",
        (),
        {},
        {("f", "e1", "fuzzy", "plate", "AB1234", "AB123", 1)},
        id="fuzzy-insertion",
    ),
    pytest.param(
        [entry("f", "AB1234")],
        "AB124",
        (),
        {},
        {("f", "e1", "fuzzy", "plate", "AB124", "AB1234", 1)},
        id="fuzzy-deletion",
    ),
    pytest.param([entry("f", "AB123")], "AB145", (), {}, set(), id="fuzzy-distance-two"),
    pytest.param([entry("f", "AB123")], "AB132", (), {}, set(), id="fuzzy-transposition-is-two"),
    pytest.param(
        [entry("f", "AB123")],
        "A8I24",
        (),
        {},
        {("f", "e1", "fuzzy", "plate", "A8I24", "AB123", 1)},
        id="fuzzy-on-skeletons",
    ),
    pytest.param(
        [entry("f", "OIZAB")], "01ZA8", (), {}, set(), id="same-skeleton-three-differences-neither"
    ),
    pytest.param([entry("o", "AB123")], "AB124", (), {}, set(), id="ocr-list-ignores-fuzzy"),
    pytest.param(
        [entry("f", "XAB123")],
        "AB123",
        (),
        {},
        {("f", "e1", "fuzzy", "plate", "AB123", "XAB123", 1)},
        id="fuzzy-entry-one-longer",
    ),
    # patterns (any list mode)
    pytest.param(
        [entry("x", pattern="1AB*")],
        "1AB123",
        (),
        {},
        {("x", "e1", "pattern", "plate", "1AB123", "1AB*", 0)},
        id="pattern-star-suffix",
    ),
    pytest.param(
        [entry("x", pattern="1AB*")],
        "1AB",
        (),
        {},
        {("x", "e1", "pattern", "plate", "1AB", "1AB*", 0)},
        id="pattern-star-empty",
    ),
    pytest.param([entry("x", pattern="1AB*")], "X1AB12", (), {}, set(), id="pattern-whole-plate"),
    pytest.param(
        [entry("o", pattern="AB?12?")],
        "ABX12Y",
        (),
        {},
        {("o", "e1", "pattern", "plate", "ABX12Y", "AB?12?", 0)},
        id="pattern-question-marks",
    ),
    pytest.param(
        [entry("o", pattern="AB?12?")], "ABX12", (), {}, set(), id="pattern-question-needs-a-char"
    ),
    pytest.param(
        [entry("f", pattern="*12*3")],
        "X123",
        (),
        {},
        {("f", "e1", "pattern", "plate", "X123", "*12*3", 0)},
        id="pattern-two-stars",
    ),
    pytest.param(
        [entry("x", pattern="A?C")],
        "A1C",
        (),
        {"country": "BE"},
        {("x", "e1", "pattern", "plate", "A1C", "A?C", 0)},
        id="pattern-short-anchor",
    ),
    pytest.param(
        [entry("x", pattern="1AB*", country="NL")],
        "1AB123",
        (),
        {"country": "BE"},
        set(),
        id="pattern-country-mismatch",
    ),
    pytest.param(
        [entry("x", pattern="1AB*")],
        "XYZ",
        (),
        {"candidates": ["1AB123"]},
        set(),
        id="pattern-not-tried-on-candidates",
    ),
    # candidates
    pytest.param(
        [entry("x", "1ABC123")],
        "1A8C123",
        (),
        {"candidates": ["1-abc-123"]},
        {("x", "e1", "exact", "candidate", "1ABC123", "1ABC123", 0)},
        id="candidate-exact",
    ),
    pytest.param(
        [entry("o", "1ABC123")],
        "ZZZ",
        (),
        {"candidates": ["IABC123"]},
        set(),
        id="candidate-not-ocr",
    ),
    pytest.param(
        [entry("o", "1ABC123")],
        "IABC123",
        (),
        {"candidates": ["1ABC123"]},
        {("o", "e1", "ocr", "plate", "IABC123", "1ABC123", 1)},
        id="plate-ocr-beats-candidate-exact",
    ),
    pytest.param(
        [entry("f", "AB123")],
        "AB124",
        (),
        {"candidates": ["AB123"]},
        {("f", "e1", "fuzzy", "plate", "AB124", "AB123", 1)},
        id="plate-fuzzy-beats-candidate-exact",
    ),
    pytest.param(
        [entry("x", "1ABC123")],
        "1ABC123",
        (),
        {"candidates": ["1ABC123", "1ABC123"]},
        {exact("x", "1ABC123")},
        id="candidate-equal-to-plate",
    ),
    pytest.param(
        [entry("x", "1ABC123", country="NL")],
        "ZZZ",
        (),
        {"candidates": ["1ABC123"], "country": "BE"},
        set(),
        id="candidate-country-mismatch",
    ),
    pytest.param(
        [entry("x", "AAA", "a"), entry("x", "BBB", "b")],
        "ZZZ",
        (),
        {"candidates": ["AAA", "BBB"]},
        {
            ("x", "a", "exact", "candidate", "AAA", "AAA", 0),
            ("x", "b", "exact", "candidate", "BBB", "BBB", 0),
        },
        id="two-candidates-two-entries",
    ),
    # several lists and entries
    pytest.param(
        [entry("x", "1ABC123"), entry("o", "1ABC123"), entry("f", "1ABC123")],
        "1ABC123",
        (),
        {},
        {exact("x", "1ABC123"), exact("o", "1ABC123"), exact("f", "1ABC123")},
        id="one-hit-per-list",
    ),
    pytest.param(
        [entry("x", "1ABC123", "a"), entry("x", "1ABC123", "b")],
        "1ABC123",
        (),
        {},
        {exact("x", "1ABC123", "a"), exact("x", "1ABC123", "b")},
        id="one-hit-per-entry",
    ),
    pytest.param(
        [entry("f", "1ABC123")],
        "1ABC123",
        (),
        {},
        {exact("f", "1ABC123")},
        id="strongest-kind-exact",
    ),
    pytest.param(
        [
            entry("o", "1ABC123", "a"),
            entry("o", "IABC123", "b"),
            entry("x", pattern="?ABC*", entry_id="c"),
        ],
        "1ABC123",
        (),
        {},
        {
            exact("o", "1ABC123", "a"),
            ("o", "b", "ocr", "plate", "1ABC123", "IABC123", 1),
            ("x", "c", "pattern", "plate", "1ABC123", "?ABC*", 0),
        },
        id="each-entry-its-own-kind",
    ),
    pytest.param(
        [entry("x", "1ABC123", zones=("a",)), entry("o", "1ABC123")],
        "1ABC123",
        ("b",),
        {},
        {exact("o", "1ABC123")},
        id="conditions-per-entry",
    ),
]


@pytest.mark.parametrize("old", [pytest.param(False, id="new"), pytest.param(True, id="replaced")])
@pytest.mark.parametrize(("entries", "plate", "zones", "read", "expected"), RULES)
def test_rule(
    entries: list[Entry],
    plate: str,
    zones: tuple[str, ...],
    read: dict[str, Any],
    expected: set[Hit],
    old: bool,
) -> None:
    assert hits(build(entries, over_old_generation=old), plate, zones, **read) == expected


def test_match_details_carry_list_and_entry_facts() -> None:
    index = build([entry("o", "1ABC123", reason="stolen", action="stop", priority=1)])
    (match,) = index.match(make_read("IABC123"), frozenset())
    assert (match.reason, match.action, match.priority) == ("stolen", "stop", 1)
    assert match.config.list_id == "o" and match.config.category == "o"
    (match,) = build([entry("o", "1ABC123")]).match(make_read("1ABC123"), frozenset())
    assert match.priority == 3 and match.reason is None
