"""Parsing hotlist uploads: CSV and NDJSON, line numbers, and every rejection reason."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anpr.hotlists import (
    EntrySpec,
    iter_entries_csv,
    parse_entries_csv,
    parse_entries_ndjson,
    parse_entry_list,
    parse_entry_obj,
    split_lines,
)
from anpr.hotlists import parse as parse_module
from anpr.hotlists.parse_csv import _fast_plate
from anpr.normalize import normalize_plate

HEADER = "entry_id,plate,country,zones,valid_from,valid_until,reason,action\n"


def errors_of(result: object) -> list[tuple[str, str]]:
    assert isinstance(result, list), result
    return [(e.field, e.message) for e in result]


def test_csv_full_row() -> None:
    text = HEADER + (
        "e1, 1-abc-123 ,be,north; south ;,2026-01-01T00:00:00Z,1767312000000,stolen,stop it\n"
    )
    entries, rejected = parse_entries_csv(text)
    assert rejected == []
    assert entries == [
        EntrySpec(
            entry_id="e1",
            plate="1ABC123",
            country="BE",
            zones=("north", "south"),
            valid_from_ms=1_767_225_600_000,
            valid_until_ms=1_767_312_000_000,
            reason="stolen",
            action="stop it",
        )
    ]


def test_csv_empty_cells_are_absent_and_optional_columns_accepted() -> None:
    text = "entry_id,pattern,plate,priority\ne1,,1ABC123,\ne2,1-AB*,,5\n"
    entries, rejected = parse_entries_csv(text)
    assert rejected == []
    assert entries == [
        EntrySpec(entry_id="e1", plate="1ABC123"),
        EntrySpec(entry_id="e2", pattern="1AB*", priority=5),
    ]


def test_csv_header_is_case_insensitive_and_tolerates_a_bom() -> None:
    entries, rejected = parse_entries_csv("\ufeffEntry_ID, Plate\ne1,AB12CD\n")
    assert rejected == [] and entries == [EntrySpec(entry_id="e1", plate="AB12CD")]


def test_csv_line_numbers_are_physical_lines() -> None:
    text = HEADER + "\ne1,1ABC123\n" + 'e2,,,,,,"two\nlines"\n' + "e3,1ABC124,XX\n"
    entries, rejected = parse_entries_csv(text)
    assert [e.entry_id for e in entries] == ["e1"]
    assert [(r.line, [e.field for e in r.errors]) for r in rejected] == [
        (4, ["plate"]),
        (6, ["country"]),
    ]


def test_csv_short_rows_mean_empty_cells_and_long_rows_are_rejected() -> None:
    entries, rejected = parse_entries_csv(HEADER + "e1,1ABC123\ne2,1ABC124,BE,,,,,,extra\n")
    assert [e.entry_id for e in entries] == ["e1"]
    assert rejected[0].line == 3
    assert rejected[0].errors[0].field == "line"


@pytest.mark.parametrize(
    ("header", "message"),
    [
        pytest.param("plate,country\n", "needs an entry_id column", id="no-entry-id"),
        pytest.param("entry_id,country\n", "needs a plate or a pattern column", id="no-plate"),
        pytest.param("entry_id,plate,colour\n", "unknown column 'colour'", id="unknown-column"),
        pytest.param("entry_id,plate,plate\n", "a column appears twice", id="repeated-column"),
    ],
)
def test_csv_bad_header_rejects_line_one(header: str, message: str) -> None:
    entries, rejected = parse_entries_csv(header + "e1,1ABC123\n")
    assert entries == []
    assert len(rejected) == 1 and rejected[0].line == 1
    assert any(message in e.message for e in rejected[0].errors)


def test_csv_empty_upload_reports_missing_header() -> None:
    assert parse_entries_csv("")[1][0].errors[0].field == "header"


@pytest.mark.parametrize(
    ("row", "field", "message"),
    [
        pytest.param(",1ABC123", "entry_id", "required", id="entry-id-missing"),
        pytest.param("e 1,1ABC123", "entry_id", "required", id="entry-id-bad-char"),
        pytest.param("e1,", "plate", "required", id="plate-missing"),
        pytest.param("e1,---", "plate", "1 to 16", id="plate-empty-once-normalized"),
        pytest.param("e1,ABCDEFGHIJ12345678", "plate", "1 to 16", id="plate-too-long"),
        pytest.param("e1,1ABC123,BEL", "country", "alpha-2", id="country-alpha-3"),
        pytest.param("e1,1ABC123,XX", "country", "alpha-2", id="country-unassigned"),
        pytest.param("e1,1ABC123,,,tomorrow", "valid_from", "RFC 3339", id="valid-from-bad"),
        pytest.param(
            "e1,1ABC123,,,2026-01-01T00:00:00,", "valid_from", "RFC 3339", id="time-without-offset"
        ),
        pytest.param("e1,1ABC123,,,,1.5", "valid_until", "RFC 3339", id="valid-until-bad"),
        pytest.param("e1,1ABC123,,,2000,2000", "valid_until", "after", id="empty-window"),
        pytest.param("e1,1ABC123,,,2001,2000", "valid_until", "after", id="reversed-window"),
        pytest.param("e1,1ABC123,,,,,," + "x" * 1025, "action", "1024", id="action-too-long"),
    ],
)
def test_csv_rejections_name_the_field(row: str, field: str, message: str) -> None:
    entries, rejected = parse_entries_csv(HEADER + row + "\n")
    assert entries == []
    assert rejected[0].line == 2
    assert any(e.field == field and message in e.message for e in rejected[0].errors), rejected


@pytest.mark.parametrize(
    ("plate", "pattern", "priority", "field", "message"),
    [
        pytest.param("1ABC123", "1AB*", "", "pattern", "exactly one", id="both"),
        pytest.param("", "", "", "plate", "required", id="neither"),
        pytest.param("", "A?*B", "", "pattern", "at least 3", id="pattern-two-literals"),
        pytest.param("", "-a-?b*", "", "pattern", "at least 3", id="separators-not-literals"),
        pytest.param("", "A" * 17 + "*", "", "pattern", "never match", id="pattern-too-long"),
        pytest.param("1ABC123", "", "0", "priority", "1 to 5", id="priority-zero"),
        pytest.param("1ABC123", "", "6", "priority", "1 to 5", id="priority-six"),
        pytest.param("1ABC123", "", "high", "priority", "1 to 5", id="priority-text"),
    ],
)
def test_csv_plate_pattern_priority_rejections(
    plate: str, pattern: str, priority: str, field: str, message: str
) -> None:
    text = f"entry_id,plate,pattern,priority\ne1,{plate},{pattern},{priority}\n"
    _, rejected = parse_entries_csv(text)
    assert any(e.field == field and message in e.message for e in rejected[0].errors), rejected


def test_csv_duplicate_entry_id_rejects_the_later_line() -> None:
    entries, rejected = parse_entries_csv(HEADER + "e1,1ABC123\ne2,1ABC124\ne1,1ABC125\n")
    assert [e.plate for e in entries] == ["1ABC123", "1ABC124"]
    assert rejected[0].line == 4 and rejected[0].errors[0].field == "entry_id"
    assert "duplicate" in rejected[0].errors[0].message


def test_csv_a_rejected_line_does_not_reserve_its_entry_id() -> None:
    entries, rejected = parse_entries_csv(HEADER + "e1,---\ne1,1ABC123\n")
    assert [e.entry_id for e in entries] == ["e1"] and rejected[0].line == 2


def test_csv_every_error_of_a_line_is_reported() -> None:
    _, rejected = parse_entries_csv(HEADER + ",---,XX,,x,y\n")
    fields = {e.field for e in rejected[0].errors}
    assert fields == {"entry_id", "plate", "country", "valid_from", "valid_until"}


def test_csv_malformed_quoting_is_a_line_error() -> None:
    _, rejected = parse_entries_csv(HEADER + 'e1,"1ABC"123"\ne2,1ABC124\n')
    assert rejected[0].line == 2 and rejected[0].errors[0].field == "line"


def test_iter_entries_csv_streams_from_a_file() -> None:
    handle = io.StringIO(HEADER + "".join(f"e{i},1ABC{i:03d}\n" for i in range(1000)), newline="")
    parsed = iter_entries_csv(handle)
    first = next(parsed)
    assert first == (2, EntrySpec(entry_id="e0", plate="1ABC000"))
    assert sum(1 for _ in parsed) == 999


# --- JSON and NDJSON ---------------------------------------------------------------------------


def test_entry_obj_full() -> None:
    result = parse_entry_obj(
        {
            "entry_id": "e1",
            "pattern": "1-ab*",
            "country": "nl",
            "zones": ["b", "a", "a"],
            "valid_from": 1000,
            "valid_until": "1970-01-01T00:00:02+00:00",
            "reason": "case 42",
            "action": "call",
            "priority": 1,
            "unknown": "ignored",
        }
    )
    assert result == EntrySpec(
        entry_id="e1",
        pattern="1AB*",
        country="NL",
        zones=("a", "b"),
        valid_from_ms=1000,
        valid_until_ms=2000,
        reason="case 42",
        action="call",
        priority=1,
    )


@pytest.mark.parametrize(
    ("obj", "field"),
    [
        pytest.param([], "entry", id="not-an-object"),
        pytest.param({"plate": "1ABC123"}, "entry_id", id="no-entry-id"),
        pytest.param({"entry_id": 7, "plate": "1ABC123"}, "entry_id", id="entry-id-number"),
        pytest.param({"entry_id": "e1", "plate": 123}, "plate", id="plate-number"),
        pytest.param({"entry_id": "e1", "pattern": ["A"]}, "pattern", id="pattern-list"),
        pytest.param({"entry_id": "e1", "plate": "A1", "country": 1}, "country", id="country-int"),
        pytest.param({"entry_id": "e1", "plate": "A1", "zones": [1]}, "zones", id="zones-ints"),
        pytest.param({"entry_id": "e1", "plate": "A1", "zones": {}}, "zones", id="zones-object"),
        pytest.param({"entry_id": "e1", "plate": "A1", "valid_from": 1.5}, "valid_from", id="t"),
        pytest.param({"entry_id": "e1", "plate": "A1", "valid_until": True}, "valid_until", id="b"),
        pytest.param({"entry_id": "e1", "plate": "A1", "priority": True}, "priority", id="p-bool"),
        pytest.param({"entry_id": "e1", "plate": "A1", "priority": "1"}, "priority", id="p-str"),
        pytest.param({"entry_id": "e1", "plate": "A1", "reason": 5}, "reason", id="reason-int"),
        pytest.param({"entry_id": "e1", "plate": "A1", "zones": ["z"] * 0 + ["x" * 129]}, "zones"),
    ],
)
def test_entry_obj_rejections(obj: object, field: str) -> None:
    assert field in [f for f, _ in errors_of(parse_entry_obj(obj))]


def test_entry_obj_zones_may_be_a_semicolon_string() -> None:
    result = parse_entry_obj({"entry_id": "e1", "plate": "A1", "zones": "a; b"})
    assert isinstance(result, EntrySpec) and result.zones == ("a", "b")


def test_ndjson_line_numbers_skip_nothing() -> None:
    text = '{"entry_id":"e1","plate":"1ABC123"}\n\n{bad json\n[1]\n{"entry_id":"e1","plate":"X1"}\n'
    entries, rejected = parse_entries_ndjson(text)
    assert [e.entry_id for e in entries] == ["e1"]
    assert [(r.line, r.errors[0].field) for r in rejected] == [
        (3, "entry"),
        (4, "entry"),
        (5, "entry_id"),
    ]


def test_ndjson_accepts_bytes() -> None:
    entries, rejected = parse_entries_ndjson(b'{"entry_id":"e1","plate":"1abc123"}\r\n')
    assert rejected == [] and entries[0].plate == "1ABC123"


def test_ndjson_tolerates_a_bom_as_csv_does() -> None:
    """A file saved by Windows tools (PowerShell 5's `-Encoding UTF8`) starts with a BOM: its
    first entry is as good as the others."""
    lines = '\ufeff{"entry_id":"e1","plate":"X1"}\n{"entry_id":"e2","plate":"X2"}\n'
    for text in (lines, lines.encode()):
        entries, rejected = parse_entries_ndjson(text)
        assert rejected == []
        assert [e.entry_id for e in entries] == ["e1", "e2"]


def test_entry_list_numbers_items_from_one() -> None:
    entries, rejected = parse_entry_list([{"entry_id": "a", "plate": "X1"}, {"entry_id": "b"}])
    assert [e.entry_id for e in entries] == ["a"]
    assert rejected[0].line == 2
    assert rejected[0].as_dict() == {
        "line": 2,
        "errors": [{"field": "plate", "message": "required (or a pattern)"}],
    }


@given(st.text(max_size=300))
def test_csv_parser_never_raises(text: str) -> None:
    parse_entries_csv(HEADER + text)


@given(st.text(max_size=300))
def test_ndjson_parser_never_raises(text: str) -> None:
    parse_entries_ndjson(text)


@given(st.text(alphabet=st.sampled_from("aB1-. _/Ö0Ж"), max_size=12) | st.text(max_size=12))
def test_csv_plate_fast_path_equals_normalize_plate(raw: str) -> None:
    assert _fast_plate(raw) == normalize_plate(raw)


@pytest.mark.parametrize("zones", [[""], [" "], ["", " "], ";", " ; "], ids=repr)
def test_zones_given_but_all_blank_are_refused_not_every_zone(zones: object) -> None:
    # No zones means every zone: an entry meant for some zones must not match everywhere.
    assert "zones" in [
        f for f, _ in errors_of(parse_entry_obj({"entry_id": "e1", "plate": "A1", "zones": zones}))
    ]


def test_csv_zones_cell_of_separators_only_is_refused() -> None:
    entries, rejected = parse_entries_csv(HEADER + "e1,1ABC123,,;,,,,\ne2,1ABC124,,,,,,\n")
    assert [e.entry_id for e in entries] == ["e2"] and entries[0].zones == ()
    assert [f.field for r in rejected for f in r.errors] == ["zones"]


@pytest.mark.parametrize(
    ("zones", "expected"),
    [(["ring ", " ring"], ("ring",)), ("ring;", ("ring",)), ("", ()), ([], ()), (" ", ())],
    ids=repr,
)
def test_zone_names_are_trimmed_and_stray_separators_ignored(
    zones: object, expected: tuple[str, ...]
) -> None:
    result = parse_entry_obj({"entry_id": "e1", "plate": "A1", "zones": zones})
    assert isinstance(result, EntrySpec) and result.zones == expected


LINE_ENDS = st.sampled_from(["\n", "\r", "\r\n", "\x0b", "\x1c", "\u2028", "\n\n", ""])


@given(
    st.lists(st.text(max_size=6) | LINE_ENDS, max_size=40),
    st.integers(min_value=1, max_value=8),
    st.booleans(),
)
def test_lines_split_a_piece_at_a_time_are_the_same(
    parts: list[str], piece: int, keepends: bool
) -> None:
    text = "".join(parts)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parse_module, "LINES_PIECE", piece)
        assert list(split_lines(text, keepends=keepends)) == text.splitlines(keepends)
        raw = text.encode()
        assert list(split_lines(raw, keepends=keepends)) == raw.splitlines(keepends)


# Values orjson refuses (the whole document with them) but that are JSON, or that Python's JSON
# reads: the entry holding one is rejected naming its field, the others are kept.
UNREADABLE_VALUES = {
    "integer of 5,000 digits": "1" * 5000,
    "number over a double": "1e400",
    "NaN": "NaN",
    "lone surrogate": '"\\ud800x"',
}


@pytest.mark.parametrize("value", UNREADABLE_VALUES.values(), ids=UNREADABLE_VALUES.keys())
@pytest.mark.parametrize("field", ["plate", "priority", "valid_from", "reason"])
def test_ndjson_a_value_orjson_refuses_names_its_field(value: str, field: str) -> None:
    if field == "plate" and "ud800" in value:
        value = '"\\ud800"'  # a lone surrogate beside a letter would leave a plate of one letter
    bad = '{"entry_id":"b","plate":"BBB222",' if field != "plate" else '{"entry_id":"b",'
    text = '{"entry_id":"a","plate":"AAA111"}\n' + bad + f'"{field}":{value}}}\n'
    entries, rejected = parse_entries_ndjson(text)
    assert [e.entry_id for e in entries] == ["a"]
    assert [(r.line, [e.field for e in r.errors]) for r in rejected] == [(2, [field])]


def test_ndjson_a_value_orjson_refuses_in_an_unknown_field_is_ignored() -> None:
    entries, rejected = parse_entries_ndjson(
        '{"entry_id":"a","plate":"AAA111","n":' + "9" * 5000 + "}"
    )
    assert rejected == []
    assert [e.entry_id for e in entries] == ["a"]


def test_ndjson_a_line_that_is_not_json_still_is_one() -> None:
    entries, rejected = parse_entries_ndjson('{"entry_id":"a","plate":1e400\n')
    assert entries == []
    assert errors_of(list(rejected[0].errors)) == [("entry", "not valid JSON")]
