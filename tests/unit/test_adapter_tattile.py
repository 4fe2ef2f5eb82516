"""Tattile Vega transits over HTTP: XML (`<Msg>`/`<MESSAGE>`) or the same fields as JSON."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from ingest.adapters import ADAPTERS
from tests.fixtures.vendor import ABSENT, assert_read, load, parse

ADAPTER = ADAPTERS["tattile"]


def transit(**fields: str | None) -> bytes:
    """The first fixture as XML with elements replaced (None removes one)."""
    text = load("tattile_vega_transit.xml")[0].decode()
    for key, value in fields.items():
        start, end = text.index(f"<{key}>"), text.index(f"</{key}>") + len(key) + 3
        text = text[:start] + ("" if value is None else f"<{key}>{value}</{key}>") + text[end:]
    return text.encode()


FIXTURE_CASES: dict[str, tuple[str, str | None, dict[str, Any], list[str]]] = {
    "Vega transit, Madrid wall clock (winter +01:00)": (
        "tattile_vega_transit.xml",
        "Europe/Madrid",
        dict(
            plate="7459MTL",
            utc="2024-03-21T14:42:10Z",
            confidence=0.925,
            country="ES",
            direction="receding",
            lane=1,
            images={"plate_jpeg_b64", "overview_jpeg_b64"},
        ),
        ["tattile:TAT1234567"],
    ),
    "MESSAGE root, HH-MM-SS-mmm time, zero-padded score, picture not a JPEG": (
        "tattile_vega_transit_ms.xml",
        "Europe/Madrid",
        dict(
            plate="1234ABC",
            utc="2024-04-30T10:34:56.789Z",
            confidence=0.93,
            country="ES",
            direction="approaching",
            lane=2,
            images=set(),
        ),
        ["tattile:TAT-XYZ-01"],
    ),
}


@pytest.mark.parametrize("case", FIXTURE_CASES, ids=list(FIXTURE_CASES))
def test_documented_payloads(case: str) -> None:
    name, camera_tz, want, ids = FIXTURE_CASES[case]
    result = parse(name, camera_tz=camera_tz)
    assert result.problems == []
    (read,) = result.reads
    assert_read(read, **want)
    assert result.vendor_ids == [ids]


DST: dict[str, tuple[str, str, str]] = {
    "spring forward: 03:30 is CEST": ("2024-03-31", "03:30:00", "2024-03-31T01:30:00Z"),
    "the day before: CET": ("2024-03-30", "03:30:00", "2024-03-30T02:30:00Z"),
    "fall back: ambiguous 02:30 is the first": ("2024-10-27", "02:30:00", "2024-10-27T00:30:00Z"),
    "day-first date, Vega time": ("31/03/2024", "12-00-00-500", "2024-03-31T10:00:00.500Z"),
}


@pytest.mark.parametrize("case", DST, ids=list(DST))
def test_wall_clock_in_the_camera_zone(case: str) -> None:
    date, time, want = DST[case]
    read = ADAPTER.parse(transit(DATE=date, TIME=time), "text/xml", camera_tz="Europe/Rome").reads[
        0
    ]
    assert not read["captured_at"].endswith("Z")  # kept in the camera's own offset
    assert_read(read, utc=want)


VARIANTS: dict[str, tuple[bytes, dict[str, Any]]] = {
    "score 0-100": (transit(OCRSCORE="64"), {"confidence": 0.64}),
    "no score": (transit(OCRSCORE=None), {"confidence": ABSENT}),
    "alpha-3 DEU": (transit(PLATE_COUNTRY_CODE="DEU"), {"country": "DE"}),
    "country only as a name": (transit(PLATE_COUNTRY_CODE=None), {"country": ABSENT}),
    "lane out of range": (transit(LANE_ID="99"), {"lane": ABSENT}),
    "unknown direction word": (transit(DIRECTION="SIDEWAYS"), {"direction": ABSENT}),
}


@pytest.mark.parametrize("case", VARIANTS, ids=list(VARIANTS))
def test_variants(case: str) -> None:
    body, want = VARIANTS[case]
    result = ADAPTER.parse(body, "application/xml")
    assert result.problems == []
    assert_read(result.reads[0], **want)


def test_the_same_fields_as_json() -> None:
    doc = {"Msg": {"PLATE_STRING": "AB123", "DATE": "2024-01-02", "TIME": "03:04:05",
                   "DEVICE_SN": "T1", "OCRSCORE": "80"}}  # fmt: skip
    result = ADAPTER.parse(orjson.dumps(doc), "application/json")
    assert_read(result.reads[0], plate="AB123", utc="2024-01-02T03:04:05Z", confidence=0.8)
    assert result.vendor_ids == [["tattile:T1"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (transit(PLATE_STRING=""), "PLATE_STRING"),
        (transit(PLATE_STRING=None), "PLATE_STRING"),
        (transit(TIME=None), "DATE"),
        (transit(DATE="yesterday"), "DATE"),
        (transit(TIME="25:61:00"), "DATE"),
        (b"<Msg>just text</Msg>", "body"),
    ],
    ids=["empty plate", "no plate", "no time", "bad date", "impossible time", "no elements"],
)
def test_unusable_transits_are_problems(body: bytes, field: str) -> None:
    result = ADAPTER.parse(body, "text/xml")
    assert result.reads == []
    assert field in [p["field"] for p in result.problems]
