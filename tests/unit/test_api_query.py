"""`api.query`: the listings' cursors (one mechanism, a kind per listing), page sizes and time
bounds. Pure: a table of named cases, and round trips as properties."""

from __future__ import annotations

import base64
from collections.abc import Callable

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from anpr.clock import MAX_MS
from anpr.ids import ID_PATTERN
from api.errors import ApiError
from api.query import (
    decode_alert_cursor,
    decode_audit_cursor,
    decode_hit_cursor,
    encode_alert_cursor,
    encode_audit_cursor,
    encode_hit_cursor,
    page_size,
    time_range,
)
from api.settings import ApiSettings
from api.store.alerts import AlertPageKey
from api.store.base import PageKey


def _raw(payload: object) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")


millis = st.integers(-MAX_MS, MAX_MS)
ids = st.from_regex(ID_PATTERN, fullmatch=True)  # what a cursor's ids are


@given(millis, ids)
def test_hit_cursor_round_trip(at: int, hit_id: str) -> None:
    assert decode_hit_cursor(encode_hit_cursor(PageKey(at, hit_id))) == PageKey(at, hit_id)


@given(millis, ids)
def test_alert_cursor_round_trip(at: int, alert_id: str) -> None:
    key = AlertPageKey(at, alert_id)
    assert decode_alert_cursor(encode_alert_cursor(key)) == key


@given(st.integers(0, 2**62))
def test_audit_cursor_round_trip(seq: int) -> None:
    assert decode_audit_cursor(encode_audit_cursor(seq)) == seq


@pytest.mark.parametrize("decode", [decode_hit_cursor, decode_alert_cursor, decode_audit_cursor])
def test_no_cursor_is_the_first_page(decode: Callable[[str | None], object]) -> None:
    assert decode(None) is None


FOREIGN = [
    pytest.param(decode_hit_cursor, "not base64 at all!", id="hit-not-base64"),
    pytest.param(decode_hit_cursor, _raw({"h1": 1}), id="hit-not-a-list"),
    pytest.param(decode_hit_cursor, "bm90IGpzb24", id="hit-not-json"),
    pytest.param(decode_hit_cursor, _raw(["h1", 5]), id="hit-too-short"),
    pytest.param(decode_hit_cursor, _raw(["h1", 5, "x", 1]), id="hit-too-long"),
    pytest.param(decode_hit_cursor, _raw(["h1", True, "x"]), id="hit-bool-time"),
    pytest.param(decode_hit_cursor, _raw(["h1", 1.5, "x"]), id="hit-float-time"),
    pytest.param(decode_hit_cursor, _raw(["h1", MAX_MS + 1, "x"]), id="hit-time-out-of-range"),
    pytest.param(decode_hit_cursor, _raw(["h1", 5, 7]), id="hit-id-not-text"),
    pytest.param(decode_hit_cursor, _raw(["h1", 5, "h-1\x00"]), id="hit-id-with-a-nul"),
    pytest.param(decode_hit_cursor, _raw(["al1", 5, "x"]), id="hit-given-an-alert-cursor"),
    pytest.param(decode_alert_cursor, _raw(["h1", 5, "x"]), id="alert-given-a-hit-cursor"),
    pytest.param(decode_alert_cursor, _raw(["al1", False, "x"]), id="alert-bool-time"),
    pytest.param(decode_alert_cursor, _raw(["al1", 5, None]), id="alert-id-not-text"),
    pytest.param(decode_alert_cursor, _raw(["al1", 5, ""]), id="alert-id-empty"),
    pytest.param(decode_audit_cursor, _raw(["a1", -1]), id="audit-negative-seq"),
    pytest.param(decode_audit_cursor, _raw(["a1", 2**62 + 1]), id="audit-seq-too-large"),
    pytest.param(decode_audit_cursor, _raw(["a1", True]), id="audit-bool-seq"),
    pytest.param(decode_audit_cursor, _raw(["a1", "3"]), id="audit-text-seq"),
    pytest.param(decode_audit_cursor, _raw(["h1", 3]), id="audit-given-another-kind"),
]


@pytest.mark.parametrize(("decode", "cursor"), FOREIGN)
def test_a_cursor_this_api_did_not_return_is_422_on_cursor(
    decode: Callable[[str | None], object], cursor: str
) -> None:
    with pytest.raises(ApiError) as raised:
        decode(cursor)
    assert raised.value.status == 422
    assert raised.value.errors == [{"field": "cursor", "message": "not a cursor this API returned"}]


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        pytest.param(None, 50, id="default"),
        pytest.param(7, 7, id="asked"),
        pytest.param(500, 500, id="the-maximum"),
    ],
)
def test_page_size(limit: int | None, expected: int) -> None:
    settings = ApiSettings(page_limit_default=50, page_limit_max=500)
    assert page_size(limit, settings) == expected


def test_page_size_over_the_maximum_is_422_on_limit() -> None:
    with pytest.raises(ApiError) as raised:
        page_size(501, ApiSettings(page_limit_default=50, page_limit_max=500))
    assert raised.value.errors == [{"field": "limit", "message": "must be at most 500"}]


@pytest.mark.parametrize(
    ("since", "until", "expected"),
    [
        pytest.param(None, None, (None, None), id="unbounded"),
        pytest.param("1000", None, (1000, None), id="epoch-ms"),
        pytest.param("1970-01-01T00:00:01Z", "2000", (1000, 2000), id="rfc3339-and-ms"),
        # Rows are whole milliseconds: a bound between two is the next one up, so a row at
        # 1.000 s is before an `until` of 1.0005 s, and one at 0.999 s is not after a `since`
        # of 0.9995 s (Python's isoformat() sends microseconds).
        pytest.param(
            "1970-01-01T00:00:00.9995Z",
            "1970-01-01T00:00:01.0005+00:00",
            (1000, 1001),
            id="sub-millisecond-bounds-round-up",
        ),
        pytest.param(
            "1970-01-01T00:00:01.000000Z", "1970-01-01T00:00:02.0000001Z", (1000, 2001), id="zeros"
        ),
        pytest.param(
            "2026-12-02T10:00:00.123456+01:00", None, (1_796_202_000_124, None), id="offset"
        ),
    ],
)
def test_time_range(
    since: str | None, until: str | None, expected: tuple[int | None, int | None]
) -> None:
    assert time_range(since, until) == expected


@pytest.mark.parametrize(
    ("since", "until", "field"),
    [
        pytest.param("2000", "2000", "until", id="empty-range"),
        pytest.param("2000", "1000", "until", id="reversed"),
        pytest.param("yesterday", None, "since", id="since-not-a-time"),
        pytest.param(None, "2020-01-01T00:00:00", "until", id="until-without-offset"),
    ],
)
def test_time_range_refusals_name_the_field(
    since: str | None, until: str | None, field: str
) -> None:
    with pytest.raises(ApiError) as raised:
        time_range(since, until)
    assert raised.value.status == 422
    assert raised.value.errors[0]["field"] == field
