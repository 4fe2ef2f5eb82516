"""Hikvision ISAPI EventNotificationAlert: XML across firmware namespaces, multipart, JSON."""

from __future__ import annotations

from typing import Any

import pytest

from ingest.adapters import ADAPTERS
from tests.fixtures.vendor import ABSENT, JPEG, JPEG_B64, assert_read, load, multipart, parse

ADAPTER = ADAPTERS["hikvision"]
SAMPLE_XML = load("hikvision_anpr_ver10_plain.xml")[0]

FIXTURE_CASES: dict[str, tuple[str, str | None, dict[str, Any], list[str]]] = {
    "documented multipart/form-data, isapi.org namespace, Thai plate": (
        "hikvision_isapi_anpr_multipart.http",
        None,
        dict(
            plate="กข1234",
            utc="2024-05-07T10:48:03.847Z",
            confidence=0.98,
            direction="approaching",
            lane=1,
            country=ABSENT,  # Hikvision's own country index (64), not an ISO code
            images={"plate_jpeg_b64", "overview_jpeg_b64"},
            read_id="a0fe72d4-3652-464a-aebd-3f9190010236",
            vehicle={"class": "SUVMPV"},
        ),
        ["hikvision:44A642F32AD7:1", "hikvision:44A642F32AD7"],
    ),
    "older firmware: ver10 namespace, no offset, alpha-3 country, lower case": (
        "hikvision_anpr_ver10_plain.xml",
        "Asia/Shanghai",
        dict(
            plate="1abc123",
            utc="2019-06-11T04:09:01Z",
            confidence=0.76,
            country="BE",
            direction="receding",
            lane=2,
            images=set(),
            read_id=ABSENT,
            vehicle={"color": "blue", "class": "vehicle"},
        ),
        ["hikvision:C056E3AABBCC:1", "hikvision:C056E3AABBCC"],
    ),
    "multipart/mixed, LF line ends, hikvision.com ver20 namespace": (
        "hikvision_mixed_lf.http",
        None,
        dict(
            plate="1abc123",
            utc="2019-06-11T04:09:01Z",
            images={"plate_jpeg_b64", "overview_jpeg_b64"},
        ),
        ["hikvision:C056E3AABBCC:1", "hikvision:C056E3AABBCC"],
    ),
    "vehicleDetection without namespace, pictures as URLs, GPS": (
        "hikvision_vehicledetection_urls.xml",
        None,
        dict(
            plate="MUC4711",
            utc="2023-11-02T07:15:30Z",
            confidence=0.91,
            direction="approaching",
            images={"plate_url", "overview_url"},
            location={"lat": 48.1375, "lon": 11.575},
        ),
        ["hikvision:BCBAC2001122:3", "hikvision:BCBAC2001122"],
    ),
    "JSON alert (parameterFormatType=JSON)": (
        "hikvision_anpr.json",
        None,
        dict(plate="WA12345", confidence=0.88, country="PL", direction="unknown"),
        ["hikvision:44A642F32AD7:1", "hikvision:44A642F32AD7"],
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


def test_the_pictures_are_the_parts_named_in_the_xml() -> None:
    read = parse("hikvision_isapi_anpr_multipart.http").reads[0]
    assert read["images"] == {"plate_jpeg_b64": JPEG_B64, "overview_jpeg_b64": JPEG_B64}


def variant(old: bytes, new: bytes) -> bytes:
    assert old in SAMPLE_XML
    return SAMPLE_XML.replace(old, new)


VARIANTS: dict[str, tuple[bytes, dict[str, Any]]] = {
    "no namespace": (
        variant(b' xmlns="http://www.hikvision.com/ver10/XMLSchema"', b""),
        {"plate": "1abc123"},
    ),
    "prefixed namespace": (
        variant(
            b'<EventNotificationAlert version="1.0" xmlns="http://www.hikvision.com/ver10/XMLSchema">',
            b'<EventNotificationAlert xmlns:hik="x">',
        ).replace(
            b"<licensePlate>1abc123</licensePlate>", b"<hik:licensePlate>1abc123</hik:licensePlate>"
        ),
        {"plate": "1abc123"},
    ),
    "offset in dateTime": (
        variant(b"2019-06-11T12:09:01<", b"2019-06-11T12:09:01+03:00<"),
        {"utc": "2019-06-11T09:09:01Z"},
    ),
    # ISO 8601 lets the seconds go; Hikvision's ISAPI guide gives `2009-11-14T15:27Z` as its
    # example dateTime, and such reads were refused as having no time.
    "dateTime without seconds, with offset": (
        variant(b"2019-06-11T12:09:01<", b"2019-06-11T12:09+03:00<"),
        {"utc": "2019-06-11T09:09:00Z"},
    ),
    "dateTime without seconds, UTC": (
        variant(b"2019-06-11T12:09:01<", b"2019-06-11T12:09Z<"),
        {"utc": "2019-06-11T12:09:00Z"},
    ),
    "numeric country index": (
        variant(b"<country>BEL</country>", b"<country>3</country>"),
        {"country": ABSENT},
    ),
    "confidence with decimals": (
        variant(
            b"<confidenceLevel>76</confidenceLevel>", b"<confidenceLevel> 76.5 </confidenceLevel>"
        ),
        {"confidence": 0.765},
    ),
    "lane out of range": (variant(b"<line>2</line>", b"<line>99</line>"), {"lane": ABSENT}),
    "no dateTime: picture absTime": (
        variant(b"<dateTime>2019-06-11T12:09:01</dateTime>", b"").replace(
            b"</ANPR>",
            b"<pictureInfoList><pictureInfo><absTime>20190611120901500</absTime></pictureInfo></pictureInfoList></ANPR>",
        ),
        {"utc": "2019-06-11T12:09:01.500Z"},
    ),
    "UTF-8 BOM": (b"\xef\xbb\xbf" + SAMPLE_XML, {"plate": "1abc123"}),
}


@pytest.mark.parametrize("case", VARIANTS, ids=list(VARIANTS))
def test_variants(case: str) -> None:
    body, want = VARIANTS[case]
    result = ADAPTER.parse(body, "application/xml")
    assert result.problems == []
    assert_read(result.reads[0], **want)


def test_dateTime_without_seconds_or_offset_is_the_cameras_wall_clock() -> None:
    body = variant(b"2019-06-11T12:09:01<", b"2019-06-11T12:09<")
    result = ADAPTER.parse(body, "application/xml", camera_tz="Asia/Shanghai")
    assert result.problems == []
    assert_read(result.reads[0], utc="2019-06-11T04:09:00Z")


def test_heartbeat_keepalive() -> None:
    result = parse("hikvision_videoloss_keepalive.xml")
    assert result.reads == [] and result.problems == []
    (beat,) = result.heartbeats
    assert beat["vendor_ids"] == ["hikvision:44A642F32AD7:1", "hikvision:44A642F32AD7"]
    assert beat["sent_at"] == "2024-05-07T17:50:00.000+07:00"


def test_other_events_are_ignored_with_a_notice() -> None:
    body = variant(b"<eventType>ANPR</eventType>", b"<eventType>VMD</eventType>")
    result = ADAPTER.parse(body, "text/xml")
    assert result.reads == [] and result.problems == [] and result.notices


@pytest.mark.parametrize("marker", ["无车牌", "unknown"])
def test_a_vehicle_without_plate_is_a_notice(marker: str) -> None:
    body = variant(b"1abc123", marker.encode())
    result = ADAPTER.parse(body, "text/xml")
    assert result.reads == [] and result.problems == []
    assert result.notices[0]["field"] == "ANPR.licensePlate"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (variant(b"<licensePlate>1abc123</licensePlate>", b""), "ANPR.licensePlate"),
        (
            variant(b"<dateTime>2019-06-11T12:09:01</dateTime>", b"<dateTime>soon</dateTime>"),
            "dateTime",
        ),
        (b"<ResponseStatus><statusCode>1</statusCode></ResponseStatus>", "body"),
        (SAMPLE_XML[:200], "body"),
        (b"", "body"),
    ],
    ids=["no plate", "bad time", "other document", "truncated", "empty"],
)
def test_unusable_payloads_are_problems(body: bytes, field: str) -> None:
    result = ADAPTER.parse(body, "application/xml")
    assert result.reads == []
    assert field in [p["field"] for p in result.problems]


def test_multipart_without_the_pictures() -> None:
    part = ('Content-Disposition: form-data; name="anpr.xml"\r\nContent-Type: text/xml', SAMPLE_XML)
    body, content_type = multipart(part)
    result = ADAPTER.parse(body, content_type)
    assert result.problems == [] and "images" not in result.reads[0]


def test_a_truncated_multipart_keeps_the_xml_and_says_so() -> None:
    body, content_type = multipart(
        ("Content-Type: text/xml", SAMPLE_XML),
        ('Content-Disposition: form-data; filename="licensePlatePicture.jpg"', JPEG),
    )
    result = ADAPTER.parse(body[: body.index(JPEG) + 10], content_type)
    assert result.reads[0]["plate"] == "1abc123"
    assert "images" not in result.reads[0]
    assert any("closing boundary" in n["message"] for n in result.notices)


def test_boundary_missing_from_content_type_is_sniffed() -> None:
    body = b"--MIME\r\nContent-Type: text/xml\r\n\r\n" + SAMPLE_XML + b"\r\n--MIME--\r\n"
    assert ADAPTER.parse(body, "multipart/mixed").reads[0]["plate"] == "1abc123"
    assert ADAPTER.parse(body, None).reads[0]["plate"] == "1abc123"


def test_success_response_is_an_isapi_response_status() -> None:
    status, content_type, body = ADAPTER.success_response
    assert status == 200 and content_type.startswith("application/xml")
    assert b"<statusString>OK</statusString>" in body


def test_pictures_named_only_by_content_id() -> None:
    body, content_type = multipart(
        ("Content-Type: text/xml", SAMPLE_XML),
        ("Content-Type: image/jpeg\r\nContent-ID: <licensePlatePicture>", JPEG),
    )
    assert set(ADAPTER.parse(body, content_type).reads[0]["images"]) == {"plate_jpeg_b64"}


def test_a_wrapped_json_alert() -> None:
    body = b'{"EventNotificationAlert": ' + load("hikvision_anpr.json")[0] + b"}"
    assert ADAPTER.parse(body, "application/json").reads[0]["plate"] == "WA12345"
