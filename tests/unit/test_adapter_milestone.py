"""Milestone XProtect analytics events with a licence plate (XML, or the same as JSON)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from ingest.adapters import ADAPTERS
from tests.fixtures.vendor import ABSENT, JPEG_B64, assert_read, load, parse

ADAPTER = ADAPTERS["milestone"]
GUID = "0D3E58F7-1B2C-4D5E-8F90-A1B2C3D4E5F6"


def event(old: str, new: str) -> bytes:
    """The fixture with one piece of text replaced (it must be there)."""
    text = load("milestone_lpr_analytics_event.xml")[0].decode()
    assert old in text, old
    return text.replace(old, new).encode()


def test_the_documented_event() -> None:
    result = parse("milestone_lpr_analytics_event.xml")
    assert result.problems == []
    (read,) = result.reads
    assert_read(
        read,
        plate="WX 4821A",
        utc="2024-06-01T10:15:30.250Z",
        confidence=0.87,
        country="PL",
        read_id="6f1c2a4e-9b0d-4f57-8a3e-1d2c3b4a5f60",
        images={"overview_jpeg_b64"},
    )
    assert read["images"]["overview_jpeg_b64"] == JPEG_B64
    assert result.vendor_ids == [[f"milestone:{GUID}", "milestone:192.168.0.199,0"]]


VARIANTS: dict[str, tuple[bytes, str | None, dict[str, Any]]] = {
    "timestamp without offset: camera wall clock, summer (Warsaw +02:00)": (
        event("2024-06-01T10:15:30.250Z", "2024-06-01T10:15:30.250"),
        "Europe/Warsaw",
        {"utc": "2024-06-01T08:15:30.250Z"},
    ),
    "timestamp without offset on the autumn fall-back hour (first, +02:00)": (
        event("2024-06-01T10:15:30.250Z", "2024-10-27T02:15:00"),
        "Europe/Warsaw",
        {"utc": "2024-10-27T00:15:00Z"},
    ),
    "timestamp with an offset ignores the zone": (
        event("2024-06-01T10:15:30.250Z", "2024-06-01T10:15:30+03:00"),
        "Europe/Warsaw",
        {"utc": "2024-06-01T07:15:30Z"},
    ),
    "confidence as a percentage": (
        event("<Confidence>0.87", "<Confidence>87"),
        None,
        {"confidence": 0.87},
    ),
    "alpha-3 country object": (
        event("<Value>PL</Value>", "<Value>POL</Value>"),
        None,
        {"country": "PL"},
    ),
    "no country object": (
        event("<Type>Country</Type>", "<Type>Speed</Type>").replace(b"<Value>PL", b"<Value>55"),
        None,
        {"country": ABSENT, "plate": "WX 4821A"},
    ),
    "zero GUID is no read id": (
        event("6f1c2a4e-9b0d-4f57-8a3e-1d2c3b4a5f60", "00000000-0000-0000-0000-000000000000"),
        None,
        {"read_id": ABSENT},
    ),
    "the plate object found by Name when Type is generic": (
        event("<Type>LicensePlate</Type>", "<Type>Object</Type>"),
        None,
        {"plate": "WX 4821A"},
    ),
}


@pytest.mark.parametrize("case", VARIANTS, ids=list(VARIANTS))
def test_variants(case: str) -> None:
    body, camera_tz, want = VARIANTS[case]
    result = ADAPTER.parse(body, "text/xml", camera_tz=camera_tz)
    assert result.problems == []
    assert_read(result.reads[0], **want)


def test_a_camera_named_only_by_uri() -> None:
    body = event(f"<ObjectId>{GUID}</ObjectId>", "")
    assert ADAPTER.parse(body, "text/xml").vendor_ids == [["milestone:192.168.0.199,0"]]


def test_the_same_event_as_json() -> None:
    doc = {"AnalyticsEvent": {
        "EventHeader": {"Timestamp": "2024-06-01T10:15:30Z", "Source": {"Name": "cam-7"}},
        "ObjectList": {"Object": [{"Type": "LicensePlate", "Value": "AB1", "Confidence": 0.5}]},
    }}  # fmt: skip
    result = ADAPTER.parse(orjson.dumps(doc), "application/json")
    assert_read(result.reads[0], plate="AB1", confidence=0.5)
    assert result.vendor_ids == [["milestone:cam-7"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            event("<Value>WX 4821A</Value>", "<Value></Value>").replace(b"<Value>PL", b"<Value>"),
            "ObjectList.Object.Value",
        ),
        (event("<Timestamp>2024-06-01T10:15:30.250Z</Timestamp>", ""), "EventHeader.Timestamp"),
        (b"<Alarm><Name>x</Name></Alarm>", "body"),
        (b"<AnalyticsEvent>text</AnalyticsEvent>", "body"),
    ],
    ids=["no plate", "no time", "another document", "no elements"],
)
def test_unusable_events_are_problems(body: bytes, field: str) -> None:
    result = ADAPTER.parse(body, "text/xml")
    assert result.reads == []
    assert field in [p["field"] for p in result.problems]
