"""Coercion of vendor values: numbers, times, confidences, countries, MACs, candidates, images."""

from __future__ import annotations

from datetime import UTC
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.adapters import AdapterError
from ingest.adapters import fields as f
from ingest.adapters.result import AdapterResult, Collector
from tests.fixtures.vendor import JPEG, JPEG_B64

BANGKOK = ZoneInfo("Asia/Bangkok")


@pytest.mark.parametrize(
    ("value", "tz", "expected"),
    [
        ("2024-05-07T17:48:03.847+07:00", UTC, "2024-05-07T17:48:03.847+07:00"),
        ("2024-05-07T10:48:03Z", BANGKOK, "2024-05-07T10:48:03.000Z"),
        ("2024-05-07 10:48:03.5+0200", UTC, "2024-05-07T10:48:03.500+02:00"),
        ("2024-05-07T10:48:03", BANGKOK, "2024-05-07T10:48:03.000+07:00"),
        ("2024-05-07T10:48:03", UTC, "2024-05-07T10:48:03.000Z"),
        ("2016-10-21T21:35:04.8627622+00:00", UTC, "2016-10-21T21:35:04.862Z"),
        ("20240507174803847", BANGKOK, "2024-05-07T17:48:03.847+07:00"),
        ("20210611 130538252", UTC, "2021-06-11T13:05:38.252Z"),
        (1562681121504, BANGKOK, "2019-07-09T14:05:21.504Z"),
        (1562681121, UTC, "2019-07-09T14:05:21.000Z"),
        ("2009-11-14T15:27Z", BANGKOK, "2009-11-14T15:27:00.000Z"),
        ("2026-11-30T10:15+01:00", UTC, "2026-11-30T10:15:00.000+01:00"),
        ("2026-11-30T10:15", BANGKOK, "2026-11-30T10:15:00.000+07:00"),
        ("20261130T1015+0100", UTC, "2026-11-30T10:15:00.000+01:00"),
        ("20261130T101500+0100", UTC, "2026-11-30T10:15:00.000+01:00"),
        ("20261130101500", BANGKOK, "2026-11-30T10:15:00.000+07:00"),
        ("1562681121", UTC, "2019-07-09T14:05:21.000Z"),
        (1562681121.5, UTC, "2019-07-09T14:05:21.500Z"),
        ("1623405938252000000", UTC, "2021-06-11T10:05:38.252Z"),
        (1623405938252000, UTC, "2021-06-11T10:05:38.252Z"),
        # Compact wall-clock times of 12, 14 and 17 digits, as strings or JSON numbers: they
        # were read as epoch ms (1976), ms (2611) and µs (2611), and the read refused.
        ("202611301015", BANGKOK, "2026-11-30T10:15:00.000+07:00"),
        (" 202611301015 ", UTC, "2026-11-30T10:15:00.000Z"),
        (20261130101500, BANGKOK, "2026-11-30T10:15:00.000+07:00"),
        (20240507174803847, BANGKOK, "2024-05-07T17:48:03.847+07:00"),
        # Epoch values of the other lengths are still epochs: 13 digits ms, 16 µs.
        ("1562681121504", UTC, "2019-07-09T14:05:21.504Z"),
        ("1623405938252000", UTC, "2021-06-11T10:05:38.252Z"),
    ],
)
def test_times_are_rfc3339_with_offset(value: object, tz: object, expected: str) -> None:
    assert f.captured_at(value, tz) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "now",
        "2024-13-01T00:00:00Z",
        "2024-05-07T10:48:03+25:00",
        "2024-05-07T10:48.5Z",  # a fraction of a minute, not of a second
        "2024-05-07T10Z",
        # 12, 14 or 17 digits that are no calendar time: no epoch of these lengths is a time
        # a camera reads today (12 digits: ms before 2001; 14: µs before 2001 or ms after
        # 2286; 17: ns before 2001 or µs after 2286), so they are refused, not read as one.
        "202613301015",
        "999999999999",
        20241301000000,
        "20240507250000000",
        0,
        -1,
        1e30,
        True,
        [],
        {},
    ],
)
def test_not_times(value: object) -> None:
    assert f.captured_at(value, UTC) is None


@pytest.mark.parametrize(
    ("wall_clock", "expected"),
    [
        # 02:30 never happens on 2024-03-31 in Brussels (02:00 CET -> 03:00 CEST): it is read
        # with the offset before the change (fold=0), the instant 01:30Z.
        pytest.param("2024-03-31T02:30:00", "2024-03-31T02:30:00.000+01:00", id="gap"),
        # 02:30 happens twice on 2024-10-27 (03:00 CEST -> 02:00 CET): the first one is taken
        # (fold=0, still CEST), the instant 00:30Z.
        pytest.param("2024-10-27T02:30:00", "2024-10-27T02:30:00.000+02:00", id="fold"),
    ],
)
def test_dst_gap_and_fold_take_the_offset_before_the_change(wall_clock: str, expected: str) -> None:
    assert f.captured_at(wall_clock, ZoneInfo("Europe/Brussels")) == expected


@pytest.mark.parametrize(
    ("value", "scale", "expected"),
    [
        (93.877067565918, "percent", 0.9388),
        ("98", "percent", 0.98),
        (0, "percent", 0.0),
        (100, "percent", 1.0),
        (0.719034, "unit", 0.719),
        ("0.719034", "unit", 0.719),
        ("0,72", "unit", 0.72),
        (72, "unit", 0.72),  # a 0-1 field sent as a percentage
        (-1.0, "percent", None),
        (101, "percent", None),
        ("high", "unit", None),
        (True, "unit", None),
        (float("nan"), "unit", None),
    ],
)
def test_confidence(value: object, scale: str, expected: float | None) -> None:
    assert f.confidence(value, scale=scale) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("be", "BE"),
        ("BE", "BE"),
        ("BEL", "BE"),
        ("bel", "BE"),
        ("POL", "PL"),
        ("us-ca", "US"),
        ("us_mo", "US"),
        ("eu-de", "DE"),
        ("eu", None),
        ("UK", "GB"),
        ("D", "DE"),
        ("FL", "LI"),
        (" fr ", "FR"),
        ("64", None),
        (64, None),
        ("XX", None),
        ("", None),
        (None, None),
    ],
)
def test_country(value: object, expected: str | None) -> None:
    assert f.country(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("44:a6:42:f3:2a:d7", "44A642F32AD7"),
        ("44-A6-42-F3-2A-D7", "44A642F32AD7"),
        ("44a642f32ad7", "44A642F32AD7"),
        ("00:00:00:00:00:00", None),
        ("44:a6:42", None),
        (None, None),
    ],
)
def test_mac(value: object, expected: str | None) -> None:
    assert f.mac12(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, 1.0),
        ("1", 1.0),
        (" 2.5 ", 2.5),
        ("1e3", 1000.0),
        ("0x10", None),
        ("", None),
        (2**70, None),
    ],
)
def test_numbers_sent_as_strings(value: object, expected: float | None) -> None:
    assert f.number(value) == expected


def test_candidates_leave_out_the_plate_and_repeats_and_stop_at_ten() -> None:
    options: list[tuple[object, float | None]] = [
        ("1-ABC-123", 0.9),
        ("1ABC123", 0.8),
        ("1ABC128", 0.7),
        ("1abc128", 0.6),
        ("", 0.5),
    ]
    options += [(f"ZZ{i}", None) for i in range(20)]
    found = f.candidates("1ABC123", options)
    assert found[0] == {"plate": "1ABC128", "confidence": 0.7}
    assert len(found) == 10 and "confidence" not in found[1]


def test_images() -> None:
    assert f.jpeg_b64(JPEG) == JPEG_B64
    assert f.jpeg_b64(b"\x89PNG\r\n") is None
    assert f.inline_jpeg_b64(JPEG_B64[:10] + "\n" + JPEG_B64[10:]) == JPEG_B64
    assert f.inline_jpeg_b64("data:image/jpeg;base64," + JPEG_B64) == JPEG_B64
    assert f.inline_jpeg_b64("not base64 at all!") is None
    assert f.inline_jpeg_b64("") is None


def test_location_treats_zero_zero_as_no_fix() -> None:
    assert f.location("50.1", 4) == {"lat": 50.1, "lon": 4.0}
    assert f.location(0, 0) is None
    assert f.location(91, 0) is None


def test_read_ids_only_in_the_contract_alphabet() -> None:
    assert f.read_id("abc-1", 0) == "abc-1:0"
    assert f.read_id("has space") is None
    assert f.read_id(None) is None
    assert f.read_id("x" * 200) is None


def test_unknown_camera_zone_is_refused() -> None:
    with pytest.raises(AdapterError) as caught:
        f.zone("Mars/Olympus_Mons")
    assert caught.value.field == "camera_tz"
    with pytest.raises(AdapterError):
        f.zone("../../etc/passwd")
    assert f.zone(None) is UTC


def test_pictures_over_the_read_limit_are_dropped_overview_first() -> None:
    out = Collector(AdapterResult().success_response)
    big = "/9j/" + "A" * (400 * 1024)
    out.add_read(
        {
            "plate": "A",
            "captured_at": "x",
            "images": {"plate_jpeg_b64": big, "overview_jpeg_b64": big},
        },
        [],
        0,
    )
    assert set(out.result.reads[0]["images"]) == {"plate_jpeg_b64"}
    assert out.result.notices[0]["field"] == "images.overview_jpeg_b64"


WALL_CLOCK = {
    "ISO date, colon time": ("2024-03-21", "15:42:10", "2024-03-21T15:42:10.000+01:00"),
    "compact date": ("20240321", "15:42:10", "2024-03-21T15:42:10.000+01:00"),
    "day first, Vega time with ms": ("21/03/2024", "15-42-10-250", "2024-03-21T15:42:10.250+01:00"),
    "summer": ("2024-07-01", "08:00:00", "2024-07-01T08:00:00.000+02:00"),
    "no time": ("2024-03-21", None, None),
    "not a date": ("21 March", "15:42:10", None),
    "impossible day": ("2024-02-30", "10:00:00", None),
    "two-part time": ("2024-03-21", "15:42", None),
}


@pytest.mark.parametrize("case", WALL_CLOCK, ids=list(WALL_CLOCK))
def test_wall_clock_reads_separate_date_and_time_in_the_zone(case: str) -> None:
    date, time, want = WALL_CLOCK[case]
    assert f.wall_clock(date, time, ZoneInfo("Europe/Brussels")) == want


DIRECTIONS = {
    "GOAWAY": "receding",
    "Approach": "approaching",
    "Leave": "receding",
    "car come in": None,  # a phrase, not a direction word
    "in": "approaching",
    "Unknown": "unknown",
    "undefined": "unknown",
    "-": None,
    "sideways": None,
}


@pytest.mark.parametrize("word", DIRECTIONS, ids=list(DIRECTIONS))
def test_direction_words(word: str) -> None:
    assert f.direction(word) == DIRECTIONS[word]


@settings(max_examples=200, deadline=None, database=None)
@given(date=st.text(max_size=20), time=st.text(max_size=20), value=st.text(max_size=20))
def test_wall_clock_and_direction_never_raise(date: str, time: str, value: str) -> None:
    found = f.wall_clock(date, time, UTC)
    assert found is None or found.endswith("Z")
    assert f.direction(value) in (None, "approaching", "receding", "unknown")


def test_lane_url_and_pictures() -> None:
    assert [f.lane(v) for v in ("3", 0, 32, 33, -1, "x", 2.5)] == [3, 0, 32, None, None, None, None]
    assert f.http_url("https://x/y.jpg") == "https://x/y.jpg"
    assert f.http_url("ftp://x") is None and f.http_url("IMAGE_URL") is None
    assert f.pictures(plate_jpeg_b64=None, overview_url="") is None
    assert f.pictures(plate_jpeg_b64="a", overview_url=None) == {"plate_jpeg_b64": "a"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(" red ", "red", id="trimmed"),
        pytest.param("N/A", None, id="placeholder"),
        pytest.param("red\x00", None, id="control-character"),
        pytest.param("r" * 65, None, id="too-long"),
        pytest.param(42, "42", id="integer"),
        pytest.param(10**70, None, id="integer-too-long"),
    ],
)
def test_vehicle_labels_the_gateway_would_refuse_are_left_out(
    value: object, expected: str | None
) -> None:
    assert f.label(value) == expected
    assert f.vehicle(color=value) == (None if expected is None else {"color": expected})
