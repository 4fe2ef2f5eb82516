"""The archive's pure parts: decoding reads off the topic (each refusal names the field), the
positions rule of OCR search, and the opaque read cursor."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from anpr.ids import ID_PATTERN
from api.archive.base import ReadKey
from api.archive.cursor import decode_read_cursor, encode_read_cursor
from api.archive.records import DAY_MS, BadRead, decode_read, positions_differ
from api.errors import ApiError
from tests.support.factories import make_read


def _raw(payload: object) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")


GOOD: dict[str, Any] = dict(
    make_read(
        "1-ABC-123",
        captured_at_ms=1_790_000_123_456,
        received_after_ms=544,
        country="BE",
        confidence=0.9,
    )
)


def test_a_read_keeps_its_bytes_and_gets_its_skeleton_and_day() -> None:
    raw = orjson.dumps({**GOOD, "images": {"plate_url": "u"}})
    read = decode_read(raw)
    assert read.raw == raw
    assert read.plate_skeleton == "1A8C12" + "3"
    assert read.day == GOOD["captured_at_ms"] - GOOD["captured_at_ms"] % DAY_MS
    assert (read.country, read.confidence) == ("BE", 0.9)
    assert read.body["images"] == {"plate_url": "u"}


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        pytest.param(None, "value", id="tombstone"),
        pytest.param(b"{not json", "value", id="not-json"),
        pytest.param(b"[1, 2]", "value", id="not-an-object"),
        pytest.param(orjson.dumps({**GOOD, "read_id": ""}), "read_id", id="empty-read-id"),
        pytest.param(orjson.dumps({**GOOD, "camera_id": 7}), "camera_id", id="camera-not-str"),
        pytest.param(
            orjson.dumps({**GOOD, "captured_at_ms": "soon"}), "captured_at_ms", id="time-str"
        ),
        pytest.param(
            orjson.dumps({**GOOD, "captured_at_ms": True}), "captured_at_ms", id="time-bool"
        ),
        pytest.param(
            orjson.dumps({k: v for k, v in GOOD.items() if k != "received_at"}),
            "received_at",
            id="no-received-at",
        ),
        pytest.param(orjson.dumps({**GOOD, "plate_norm": None}), "plate_norm", id="no-norm"),
    ],
)
def test_bad_records_name_the_field(raw: bytes | None, field: str) -> None:
    with pytest.raises(BadRead, match=f"^{field}:"):
        decode_read(raw)


def test_optional_fields_of_the_wrong_type_are_dropped_not_fatal() -> None:
    read = decode_read(orjson.dumps({**GOOD, "country": 3, "confidence": "high"}))
    assert (read.country, read.confidence) == (None, None)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        pytest.param("1ABC123", "1ABC123", 0, id="same"),
        pytest.param("1ABC123", "IABC123", 1, id="one"),
        pytest.param("1ABC123", "IABCIZ3", 3, id="three"),
        pytest.param("1ABC123", "1ABC1234", 1, id="longer-counts"),
        pytest.param("", "AB", 2, id="empty"),
    ],
)
def test_positions_differ(a: str, b: str, expected: int) -> None:
    assert positions_differ(a, b) == expected
    assert positions_differ(b, a) == expected


@given(
    st.integers(-(10**13), 10**13),
    st.from_regex(ID_PATTERN, fullmatch=True),
    st.from_regex(ID_PATTERN, fullmatch=True),
)
def test_read_cursor_round_trips(captured_at: int, read_id: str, camera_id: str) -> None:
    key = ReadKey(captured_at, read_id, camera_id)
    assert decode_read_cursor(encode_read_cursor(key)) == key


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("%%%", id="not-base64"),
        pytest.param("WyJoMSIsMSwiaCJd", id="a-hit-cursor"),
        pytest.param("WyJyMSIsdHJ1ZSwiciJd", id="bool-time"),
        pytest.param(_raw(["r1", 5, "r-1\x00", "cam-1"]), id="read-id-with-a-nul"),
        pytest.param(_raw(["r1", 5, "r-1", "cam 1"]), id="camera-id-outside-the-pattern"),
    ],
)
def test_foreign_cursors_are_refused_on_cursor(cursor: str) -> None:
    with pytest.raises(ApiError) as info:
        decode_read_cursor(cursor)
    assert info.value.errors[0]["field"] == "cursor"
