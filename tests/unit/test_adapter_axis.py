"""AXIS License Plate Verifier push events: JSON, multipart with the picture, chunked capture."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from ingest.adapters import ADAPTERS
from tests.fixtures.vendor import ABSENT, JPEG, JPEG_B64, assert_read, load, multipart, parse

ADAPTER = ADAPTERS["axis"]


def event(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = orjson.loads(load("axis_lpv_event.json")[0])
    for key, value in changes.items():
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    return doc


def run(doc: object, camera_tz: str | None = None) -> Any:
    return ADAPTER.parse(orjson.dumps(doc), "application/json", camera_tz=camera_tz)


LOST_EVENT = dict(
    plate="RLE11684",
    utc="2021-06-11T10:05:38.252Z",
    country="PL",
    confidence=0.719,
    direction="approaching",
    location={"lat": 50.418114, "lon": 30.476213},
    candidates=ABSENT,
)

FIXTURE_CASES: dict[str, tuple[str, str | None, dict[str, Any]]] = {
    "documented lost event, JSON": ("axis_lpv_event.json", None, {**LOST_EVENT, "images": set()}),
    "multipart with the plate picture, chunked capture": (
        "axis_lpv_multipart_chunked.http",
        None,
        {**LOST_EVENT, "images": {"plate_jpeg_b64"}},
    ),
    "new event: no epoch, camera wall clock, percent confidence, lower-case alpha-3": (
        "axis_lpv_new_event.json",
        "Europe/Kyiv",
        dict(
            plate="rle11684",
            utc="2021-06-11T10:05:37.100Z",
            country="PL",
            confidence=0.719,
            direction="unknown",
        ),
    ),
}


@pytest.mark.parametrize("case", FIXTURE_CASES, ids=list(FIXTURE_CASES))
def test_documented_payloads(case: str) -> None:
    name, camera_tz, want = FIXTURE_CASES[case]
    result = parse(name, camera_tz=camera_tz)
    assert result.problems == []
    (read,) = result.reads
    assert_read(read, **want)
    assert result.vendor_ids == [["axis:ACCC8ED3290D"]]


def test_the_picture_part_is_base64_jpeg() -> None:
    read = parse("axis_lpv_multipart_chunked.http").reads[0]
    assert read["images"] == {"plate_jpeg_b64": JPEG_B64}


VARIANTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "direction out": (event(carMoveDirection="out"), {"direction": "receding"}),
    "capture_timestamp as a number in seconds": (
        event(capture_timestamp=1623405938),
        {"utc": "2021-06-11T10:05:38Z"},
    ),
    "only capture_ts in nanoseconds": (
        event(capture_timestamp=None),
        {"utc": "2021-06-11T10:05:38.252Z"},
    ),
    "alpha-2 country": (event(plateCountry="de"), {"country": "DE"}),
    "unknown country": (event(plateCountry="???"), {"country": ABSENT}),
    "only plateASCII": (
        event(plateText=None, plateUnicode=None, plateUTF8=None, plateASCII="ab 123"),
        {"plate": "ab 123"},
    ),
    "no geotag": (event(geotag=None), {"location": ABSENT}),
    "confidence as a number": (event(plateConfidence=0.5), {"confidence": 0.5}),
}


@pytest.mark.parametrize("case", VARIANTS, ids=list(VARIANTS))
def test_variants(case: str) -> None:
    doc, want = VARIANTS[case]
    result = run(doc)
    assert result.problems == []
    assert_read(result.reads[0], **want)


def test_vendor_id_from_the_mac_when_there_is_no_serial() -> None:
    doc = event(camera_info={"MACAddress": "ac:cc:8e:d3:29:0d"})
    assert run(doc).vendor_ids == [["axis:ACCC8ED3290D"]]


def test_roi_picture_is_the_overview() -> None:
    body, content_type = multipart(
        ("Content-Type: application/json", orjson.dumps(event(imageType="roi"))),
        ('Content-Disposition: form-data; name="image"\r\nContent-Type: image/jpeg', JPEG),
    )
    read = ADAPTER.parse(body, content_type).reads[0]
    assert set(read["images"]) == {"overview_jpeg_b64"}


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        (event(plateText="", plateUnicode="", plateUTF8="", plateASCII=""), "plateText"),
        (event(capture_timestamp="0", capture_ts=None, datetime=None), "capture_timestamp"),
        (
            event(datetime="20211311 250000000", capture_timestamp=None, capture_ts=None),
            "datetime",  # the field that held the bad value, not the first one looked for
        ),
        # 12 digits, no calendar time: not taken for epoch ms of 1976 (then refused downstream
        # as too old, naming no vendor field).
        (
            event(capture_timestamp="202613301015", capture_ts=None, datetime=None),
            "capture_timestamp",
        ),
    ],
    ids=["no plate", "no time", "impossible wall clock", "12 digits, no calendar time"],
)
def test_unusable_events_are_problems(doc: object, field: str) -> None:
    result = run(doc)
    assert result.reads == []
    assert [p["field"] for p in result.problems] == [field]


def test_success_response_is_200() -> None:
    assert ADAPTER.success_response.status == 200


def test_a_time_that_cannot_be_read_is_named_with_the_forms_that_are_read() -> None:
    """ "missing or not a time" left the integrator guessing which forms the gateway reads."""
    result = run(event(capture_timestamp="yesterday at noon", capture_ts=None, datetime=None))
    (problem,) = result.problems
    assert problem["field"] == "capture_timestamp"
    assert (
        "ISO 8601" in problem["message"] and "epoch seconds or milliseconds" in problem["message"]
    )
