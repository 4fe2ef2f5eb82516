"""`utc_canonical`, the fast path for times sent as `ms_to_rfc3339` writes them: the same epoch
milliseconds as `rfc3339_to_ms` and the same text as `ms_to_rfc3339`, or None (then the general
parser decides)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anpr.clock import MAX_MS, ms_to_rfc3339, rfc3339_to_ms, utc_canonical


def slow(text: str) -> tuple[int, str] | None:
    ms = rfc3339_to_ms(text)
    return None if ms is None else (ms, ms_to_rfc3339(ms))


@given(st.integers(min_value=0, max_value=MAX_MS))
def test_every_time_written_by_ms_to_rfc3339_takes_the_fast_path(ms: int) -> None:
    text = ms_to_rfc3339(ms)
    assert utc_canonical(text) == (ms, text) == slow(text)


@given(st.integers(min_value=0, max_value=MAX_MS // 1000))
def test_whole_seconds_with_zero_millis_are_written_without_them(second: int) -> None:
    text = ms_to_rfc3339(second * 1000)[:-1] + ".000Z"
    assert utc_canonical(text) == (second * 1000, text[:19] + "Z") == slow(text)


@given(
    st.integers(min_value=0, max_value=MAX_MS),
    st.integers(min_value=0, max_value=23),
    st.characters(codec="utf-8"),
)
def test_an_altered_time_is_left_to_the_parser_or_read_alike(ms: int, at: int, char: str) -> None:
    text = ms_to_rfc3339(ms)
    altered = text[:at] + char + text[at + 1 :]
    fast = utc_canonical(altered)
    assert fast is None or fast == slow(altered)


@pytest.mark.parametrize(
    "text",
    [
        "2026-12-01t18:56:46.300Z",  # lower-case separator: accepted, by the general parser
        "2026-12-01T18:56:46.300z",
        "2026-12-01 18:56:46.300Z",
        "2026-12-01T18:56:46.300+00:00",
        "2026-12-01T18:56:46.3Z",
        "2026-12-01T18:56:46.30Z",
        "2026-12-01T18:56:60Z",  # no leap seconds
        "2026-02-30T00:00:00Z",
        "2026-12-01T18:56:46.３００Z",  # non-ASCII digits
        "20261201T185646.300Z",
        "0999-12-01T18:56:46.300Z",  # before 1970: out of range
    ],
)
def test_other_forms_are_left_to_the_general_parser(text: str) -> None:
    assert utc_canonical(text) is None
