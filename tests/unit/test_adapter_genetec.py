"""Genetec AutoVu SharpV HTTP extension: JSON, XML (any namespace), and the FTP XML template."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from ingest.adapters import ADAPTERS
from tests.fixtures.vendor import ABSENT, JPEG_B64, assert_read, load, parse

ADAPTER = ADAPTERS["genetec"]


def plate_event(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = orjson.loads(load("genetec_sharpv_http_extension.json")[0])
    doc.update(changes)
    return doc


def analytics(*entries: tuple[str, object]) -> list[dict[str, object]]:
    return [{"Key": key, "Score": 1.0, "Value": value} for key, value in entries]


def run(doc: object, camera_tz: str | None = None) -> Any:
    return ADAPTER.parse(orjson.dumps(doc), "application/json", camera_tz=camera_tz)


FIXTURE_CASES: dict[str, tuple[str, str | None, dict[str, Any], list[str]]] = {
    "documented JSON: naive Timestamp in the camera zone": (
        "genetec_sharpv_http_extension.json",
        "America/Toronto",
        dict(
            plate="AA7D2",
            utc="2016-08-29T12:42:45.797Z",
            country="US",
            confidence=ABSENT,
            direction=ABSENT,
            vehicle=ABSENT,
            images=set(),
            location=ABSENT,
            read_id="32cf870a-46aa-4cfd-914b-00062d98e93a",
        ),
        ["genetec:SHARPV12345:Lpr Camera", "genetec:SHARPV12345"],
    ),
    "documented XML with a namespace, wrapped base64 image, 7-digit fraction": (
        "genetec_sharpv_http_extension.xml",
        None,
        dict(
            plate="AA7D2",
            utc="2016-10-21T21:35:04.862Z",
            confidence=0.87,
            country="CA",
            direction="receding",
            images={"overview_jpeg_b64"},
            location={"lat": 45.5017, "lon": -73.5673},
        ),
        ["genetec:SHARPV12345:Lpr Camera", "genetec:SHARPV12345"],
    ),
    "SharpV FTP XML template": (
        "genetec_ftp_template.xml",
        "America/Toronto",
        dict(
            plate="XYZ789",
            utc="2022-04-11T14:03:22.125Z",
            confidence=0.93,
            images={"plate_jpeg_b64"},
            location=ABSENT,
            read_id="6ee17b00-82c1-466b-9fd6-003417bc82c4",
        ),
        ["genetec:Sharp12345:Lane 1", "genetec:Sharp12345"],
    ),
}


@pytest.mark.parametrize("case", FIXTURE_CASES, ids=list(FIXTURE_CASES))
def test_documented_payloads(case: str) -> None:
    name, camera_tz, want, vendor_ids = FIXTURE_CASES[case]
    result = parse(name, camera_tz=camera_tz)
    assert result.problems == []
    (read,) = result.reads
    assert_read(read, **want)
    assert result.vendor_ids == [vendor_ids]


def test_wrapped_base64_is_joined() -> None:
    read = parse("genetec_sharpv_http_extension.xml").reads[0]
    assert read["images"] == {"overview_jpeg_b64": JPEG_B64}


VARIANTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "confidence score as a string": (
        plate_event(PlateAnalytics=analytics(("Confidence Score", "72"))),
        {"confidence": 0.72},
    ),
    "approaching": (
        plate_event(PlateAnalytics=analytics(("Relative Motion", "Approaching"))),
        {"direction": "approaching"},
    ),
    "context alpha-3": (
        plate_event(PlateAnalytics=analytics(("Context", "MEX"))),
        {"country": "MX"},
    ),
    "context not a country": (
        plate_event(PlateAnalytics=analytics(("Context", "Ontario"))),
        {"country": ABSENT},
    ),
    "vehicle type": (
        plate_event(PlateAnalytics=analytics(("Vehicle Type", "Truck"))),
        {"vehicle": {"class": "Truck"}},
    ),
    "timestamp with offset": (
        plate_event(Timestamp="2016-08-29T08:42:45.797-04:00"),
        {"utc": "2016-08-29T12:42:45.797Z"},
    ),
    "inline plate image with data: prefix": (
        plate_event(PlateImage="data:image/jpeg;base64," + JPEG_B64),
        {"images": {"plate_jpeg_b64"}},
    ),
    "an image that is not a JPEG is dropped": (
        plate_event(PlateImage="iVBORw0KGgo="),
        {"images": set()},
    ),
    "no analytics at all": (
        plate_event(PlateAnalytics=None),
        {"confidence": ABSENT, "country": ABSENT},
    ),
}


@pytest.mark.parametrize("case", VARIANTS, ids=list(VARIANTS))
def test_variants(case: str) -> None:
    doc, want = VARIANTS[case]
    result = run(doc)
    assert result.problems == []
    assert_read(result.reads[0], **want)


def test_an_array_of_reads() -> None:
    result = run([plate_event(), plate_event(PlateRead="BB8E3")])
    assert [r["plate"] for r in result.reads] == ["AA7D2", "BB8E3"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (orjson.dumps(plate_event(PlateRead="")), "PlateRead"),
        (orjson.dumps(plate_event(Timestamp=None)), "Timestamp"),
        (b"<Hit><PlateRead>AA7D2</PlateRead></Hit>", "body"),
        (b'{"PlateRead": "AA7D2", "Timestamp": ', "body"),
    ],
    ids=["no plate", "no time", "not a Plate", "truncated JSON"],
)
def test_unusable_payloads_are_problems(body: bytes, field: str) -> None:
    result = ADAPTER.parse(body, None)
    assert result.reads == []
    assert field in [p["field"] for p in result.problems]


def test_success_response_is_200() -> None:
    assert ADAPTER.success_response.status == 200


def test_a_utf8_bom_before_json_is_tolerated() -> None:
    body = b"\xef\xbb\xbf" + load("genetec_sharpv_http_extension.json")[0]
    for content_type in (None, "application/json; charset=utf-8"):
        assert ADAPTER.parse(body, content_type).reads[0]["plate"] == "AA7D2"
