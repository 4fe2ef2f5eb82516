"""Plate Recognizer Stream and Snapshot webhooks: JSON, multipart with image, urlencoded."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import orjson
import pytest

from ingest.adapters import ADAPTERS
from tests.fixtures.vendor import ABSENT, JPEG, JPEG_B64, assert_read, load, multipart, parse

ADAPTER = ADAPTERS["platerecognizer"]


def stream(**data_changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = orjson.loads(load("platerecognizer_stream_webhook.json")[0])
    for key, value in data_changes.items():
        if value is None:
            doc["data"].pop(key, None)
        else:
            doc["data"][key] = value
    return doc


def result_with(**changes: Any) -> dict[str, Any]:
    doc = stream()
    doc["data"]["results"][0].update(changes)
    return doc


def run(
    doc: object, content_type: str | None = "application/json", camera_tz: str | None = None
) -> Any:
    return ADAPTER.parse(orjson.dumps(doc), content_type, camera_tz=camera_tz)


STREAM_READ = dict(
    plate="ab123cd",
    utc="2025-03-14T16:42:09.512Z",
    country="FR",
    confidence=0.902,
    candidates=["ab123co"],
    direction="approaching",
    vehicle={"make": "Porsche", "model": "911", "color": "red", "class": "Sedan"},
)

FIXTURE_CASES: dict[str, tuple[str, str | None, list[dict[str, Any]]]] = {
    "stream webhook, JSON": (
        "platerecognizer_stream_webhook.json",
        None,
        [{**STREAM_READ, "images": set()}],
    ),
    "stream webhook with image, multipart": (
        "platerecognizer_stream_multipart.http",
        None,
        [{**STREAM_READ, "images": {"overview_jpeg_b64"}}],
    ),
    "snapshot webhook: naive timestamp is UTC, no camera": (
        "platerecognizer_snapshot_webhook.json",
        "Europe/Paris",
        [
            dict(
                plate="fm046sc",
                utc="2025-09-09T23:22:38.030Z",
                country="FR",
                confidence=0.999,
                candidates=["fmo46sc"],
                vehicle={"class": "Sedan"},
                direction=ABSENT,
            )
        ],
    ),
    "detection_mode=vehicle": (
        "platerecognizer_vehicle_mode.json",
        None,
        [
            dict(
                plate="nhk552",
                country="GB",
                confidence=0.9,
                candidates=["nhk55z"],
                direction="receding",
                vehicle={"make": "Riley", "model": "RMF", "color": "black", "class": "Sedan"},
            )
        ],
    ),
}


@pytest.mark.parametrize("case", FIXTURE_CASES, ids=list(FIXTURE_CASES))
def test_documented_payloads(case: str) -> None:
    name, camera_tz, expected = FIXTURE_CASES[case]
    result = parse(name, camera_tz=camera_tz)
    assert result.problems == []
    assert len(result.reads) == len(expected)
    for read, want in zip(result.reads, expected, strict=True):
        assert_read(read, **want)


def test_vendor_ids() -> None:
    assert parse("platerecognizer_stream_webhook.json").vendor_ids == [
        ["platerecognizer:gate-north"]
    ]
    assert parse("platerecognizer_snapshot_webhook.json").vendor_ids == [[]]


def test_the_uploaded_picture_is_the_overview() -> None:
    read = parse("platerecognizer_stream_multipart.http").reads[0]
    assert read["images"] == {"overview_jpeg_b64": JPEG_B64}


VARIANTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "score as a percentage": (result_with(score=90.2), {"confidence": 0.902}),
    "score as a string": (result_with(score="0.5"), {"confidence": 0.5}),
    "us state region": (result_with(region={"code": "us-ca", "score": 0.9}), {"country": "US"}),
    "empty region": (result_with(region={"code": "", "score": 0}), {"country": ABSENT}),
    "unknown orientation": (
        result_with(orientation=[{"orientation": "Unknown", "score": 0.9}]),
        {"direction": "unknown"},
    ),
    "no timestamp: timestamp_local with offset": (
        stream(timestamp=None),
        {"utc": "2025-03-14T16:42:09.512Z"},
    ),
    "timestamp in epoch seconds": (stream(timestamp=1741970529), {"utc": "2025-03-14T16:42:09Z"}),
}


@pytest.mark.parametrize("case", VARIANTS, ids=list(VARIANTS))
def test_variants(case: str) -> None:
    doc, want = VARIANTS[case]
    result = run(doc)
    assert result.problems == []
    assert_read(result.reads[0], **want)


def test_timestamp_camera_without_offset_is_in_the_camera_zone() -> None:
    doc = stream(timestamp=None, timestamp_local=None, timestamp_camera="2025-03-14 17:42:09.512")
    read = run(doc, camera_tz="Europe/Brussels").reads[0]
    assert read["captured_at"] == "2025-03-14T17:42:09.512+01:00"


def test_urlencoded_json_field() -> None:
    body = ("json=" + quote(orjson.dumps(stream()).decode())).encode()
    result = ADAPTER.parse(body, "application/x-www-form-urlencoded")
    assert_read(result.reads[0], **STREAM_READ)


def test_multipart_without_picture() -> None:
    body, content_type = multipart(
        ('Content-Disposition: form-data; name="json"', orjson.dumps(stream()))
    )
    result = ADAPTER.parse(body, content_type)
    assert result.problems == [] and "images" not in result.reads[0]


def test_a_non_jpeg_upload_is_dropped_with_a_notice() -> None:
    body, content_type = multipart(
        ('Content-Disposition: form-data; name="json"', orjson.dumps(stream())),
        ('Content-Disposition: form-data; name="upload"; filename="a.png"', b"\x89PNG\r\n\x1a\n"),
    )
    result = ADAPTER.parse(body, content_type)
    assert "images" not in result.reads[0]
    assert any("not a JPEG" in n["message"] for n in result.notices)


def test_a_recognition_without_plates_is_not_an_error() -> None:
    # Snapshot sends a webhook for every image, plates or not; answering an error gets the
    # webhook removed.
    result = run(stream(results=[]))
    assert result.reads == [] and result.problems == [] and result.notices


def test_a_vehicle_without_plate_is_a_notice_and_the_plate_a_read() -> None:
    result = parse("platerecognizer_vehicle_mode.json")
    assert len(result.reads) == 1 and result.problems == []
    assert result.notices[0]["index"] == 1


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        (result_with(plate=""), "data.results[0].plate"),
        (stream(timestamp=None, timestamp_local=None), "data.timestamp"),
        (stream(results="ab123cd"), "data.results"),
        ({"hook": {"event": "recognition"}}, "data"),
    ],
    ids=["empty plate", "no time", "results not an array", "no data"],
)
def test_unusable_payloads_are_problems(doc: object, field: str) -> None:
    result = run(doc)
    assert result.reads == []
    assert field in [p["field"] for p in result.problems]


def test_success_response_is_200() -> None:
    assert ADAPTER.success_response.status == 200
    assert JPEG.startswith(b"\xff\xd8")
