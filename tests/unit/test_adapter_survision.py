"""Survision HTTP push: the `anpr` message as JSON (`@` attributes) or XML, serial in a header."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from ingest.adapters import ADAPTERS
from ingest.adapters.convert import convert
from tests.fixtures.vendor import ABSENT, HERE, JPEG_B64, assert_read, load, parse

ADAPTER = ADAPTERS["survision"]
HEADERS = {"Survision-Serial-Number": "20191212-0042"}


def message(**decision: Any) -> dict[str, Any]:
    """The captured push with decision attributes replaced (None removes one)."""
    doc: dict[str, Any] = orjson.loads(load("survision_http_push.http")[0])
    for key, value in decision.items():
        name = key if key == "jpeg" else f"@{key}"
        if value is None:
            doc["anpr"]["decision"].pop(name, None)
        else:
            doc["anpr"]["decision"][name] = value
    return doc


def run(doc: object, camera_tz: str | None = None, headers: Any = HEADERS) -> Any:
    body = orjson.dumps(doc)
    return ADAPTER.parse(body, "application/json", camera_tz=camera_tz, headers=headers)


def test_the_captured_json_push() -> None:
    body, content_type = load("survision_http_push.http")
    result = ADAPTER.parse(body, content_type, headers=HEADERS)
    assert result.problems == []
    (read,) = result.reads
    assert_read(
        read,
        plate="AA123AA",
        utc="2024-10-17T23:04:50.098Z",
        confidence=0.8,
        country="FR",
        read_id="52113",
        images={"overview_jpeg_b64"},
    )
    assert read["images"]["overview_jpeg_b64"] == JPEG_B64
    assert result.vendor_ids == [["survision:20191212-0042"]]


def test_the_xml_form_gives_the_same_fields() -> None:
    result = parse("survision_anpr.xml")
    assert result.problems == []
    assert_read(
        result.reads[0],
        plate="GB12ABC",
        utc="2024-10-17T23:04:51.500Z",
        confidence=0.93,
        country="GB",
        read_id="52114",
    )
    assert result.vendor_ids == [[]]  # no header: ?camera_id= or nothing


def test_header_names_are_case_insensitive() -> None:
    result = run(message(), headers={"survision-serial-number": "S-1"})
    assert result.vendor_ids == [["survision:S-1"]]


VARIANTS: dict[str, tuple[dict[str, Any], str | None, dict[str, Any]]] = {
    "reliability 0-100 scaled": (message(reliability="55"), None, {"confidence": 0.55}),
    "reliability missing": (message(reliability=None), None, {"confidence": ABSENT}),
    "context D is Germany": (message(context="D"), None, {"country": "DE"}),
    "context NL": (message(context="NL"), None, {"country": "NL"}),
    "unknown context": (message(context="OTHERS"), None, {"country": ABSENT}),
    "epoch @date is UTC whatever the camera's zone": (
        message(),
        "America/New_York",
        {"utc": "2024-10-17T23:04:50.098Z"},
    ),
    "no picture": (message(jpeg=None), None, {"images": set()}),
}


@pytest.mark.parametrize("case", VARIANTS, ids=list(VARIANTS))
def test_variants(case: str) -> None:
    doc, camera_tz, want = VARIANTS[case]
    result = run(doc, camera_tz)
    assert result.problems == []
    assert_read(result.reads[0], **want)


DST = {
    "offset-less date, spring forward (Paris)": ("2024-03-31T03:30:00", "2024-03-31T01:30:00Z"),
    "offset-less date, winter (Paris)": ("2024-01-15T08:00:00", "2024-01-15T07:00:00Z"),
}


@pytest.mark.parametrize("case", DST, ids=list(DST))
def test_a_date_without_offset_is_the_camera_wall_clock(case: str) -> None:
    date, want = DST[case]
    doc = message()
    doc["anpr"]["@date"] = date
    assert_read(run(doc, "Europe/Paris").reads[0], utc=want)


@pytest.mark.parametrize(
    ("doc", "kind", "field"),
    [
        (message(plate=""), "problem", "anpr.decision.@plate"),
        ({"anpr": {"@date": "1729206290098"}}, "notice", "anpr.decision"),
        ({"anpr": {"@date": "x", "decision": {"@plate": "AB"}}}, "problem", "anpr.@date"),
        ({"ioState": {"@value": "1"}}, "notice", "body"),
        ({}, "problem", "anpr"),
    ],
    ids=["empty plate", "no decision", "bad date", "other message", "empty object"],
)
def test_messages_without_a_read(doc: object, kind: str, field: str) -> None:
    result = run(doc)
    assert result.reads == []
    found = result.problems if kind == "problem" else result.notices
    assert field in [p["field"] for p in found]


def test_success_is_a_plain_200() -> None:
    assert ADAPTER.success_response.status == 200


def test_an_anpr_message_inside_a_wrapper_element() -> None:
    body = load("survision_anpr.xml")[0].replace(b"<anpr ", b"<msg><anpr ")
    body = body.replace(b"</anpr>", b"</anpr></msg>")
    assert ADAPTER.parse(body, "text/xml").reads[0]["plate"] == "GB12ABC"


def test_convert_takes_the_serial_from_a_captured_request() -> None:
    result = convert("survision", (HERE / "survision_http_push.http").read_bytes())
    assert result.problems == []
    assert [line["vendor_ids"] for line in result.reads] == [["survision:20191212-0042"]]
