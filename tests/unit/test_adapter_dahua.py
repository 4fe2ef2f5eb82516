"""Dahua ITC: ITSAPI TollgateInfo, notifyEventStream (JSON-RPC), eventManager text events and
attachFileProc multipart with pictures; a traffic event without a plate is no read, no error."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from ingest.adapters import ADAPTERS
from tests.fixtures.vendor import ABSENT, JPEG, JPEG_B64, assert_read, load, multipart, parse

ADAPTER = ADAPTERS["dahua"]


def tollgate(**changes: Any) -> dict[str, Any]:
    """The ITSAPI fixture with `Section.Field` values replaced (None removes one)."""
    doc: dict[str, Any] = orjson.loads(load("dahua_itsapi_tollgate.json")[0])
    for path, value in changes.items():
        section, key = path.split("__")
        if value is None:
            doc["Picture"][section].pop(key, None)
        else:
            doc["Picture"][section][key] = value
    return doc


def notify(**data: Any) -> dict[str, Any]:
    """The notifyEventStream fixture with `Data` fields replaced (None removes one)."""
    doc: dict[str, Any] = orjson.loads(load("dahua_notify_eventstream.json")[0])
    event = doc["params"]["eventList"][0]["Data"]
    for key, value in data.items():
        if value is None:
            event.pop(key, None)
        else:
            event[key] = value
    return doc


def run(doc: object, camera_tz: str | None = None) -> Any:
    return ADAPTER.parse(orjson.dumps(doc), "application/json", camera_tz=camera_tz)


FIXTURE_CASES: dict[str, tuple[str, str | None, dict[str, Any], list[str]]] = {
    "ITSAPI TollgateInfo, wall clock in a DST zone (spring-forward day)": (
        "dahua_itsapi_tollgate.json",
        "Europe/Amsterdam",
        dict(
            plate="AB123CD",
            utc="2024-03-31T01:30:12.345Z",  # 03:30 CEST: the clocks went 02:00 -> 03:00
            confidence=0.91,
            country="NL",
            direction="approaching",
            lane=2,
            vehicle={"make": "Volkswagen", "model": "Golf", "color": "White", "class": "Car"},
            images={"plate_jpeg_b64", "overview_jpeg_b64"},
        ),
        ["dahua:6G0ABC1234567:0", "dahua:6G0ABC1234567"],
    ),
    "notifyEventStream with a plate: RealUTC + UTCMS": (
        "dahua_notify_eventstream.json",
        "Asia/Bangkok",
        dict(
            plate="ZK789X",
            utc="2024-01-30T07:35:10.250Z",
            confidence=0.87,
            country="NL",
            lane=1,
            direction="receding",
            images=set(),
        ),
        ["dahua:8M049B2PAJF3085:0", "dahua:8M049B2PAJF3085"],
    ),
    "eventManager text event in multipart with its picture": (
        "dahua_eventmanager_multipart.http",
        None,
        dict(
            plate="B-XY 4711",
            utc="2024-06-01T12:30:00.120Z",
            country="DE",
            direction="approaching",
            images={"overview_jpeg_b64"},
        ),
        ["dahua:ITC237-PW6M:1", "dahua:ITC237-PW6M"],
    ),
    "attachFileProc key=value lines, overview and plate pictures, wall-clock UTC field": (
        "dahua_attachfileproc_multipart.http",
        "Europe/Brussels",
        dict(
            plate="1ABC234",
            utc="2024-03-31T01:30:12.500Z",  # `UTC` 03:30:12 is Brussels wall clock (CEST)
            country="BE",
            lane=3,
            images={"overview_jpeg_b64", "plate_jpeg_b64"},
        ),
        ["dahua:ITC352-RF2D:0", "dahua:ITC352-RF2D"],
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


def test_notify_event_stream_without_a_plate_is_no_read_and_no_error() -> None:
    result = parse("dahua_notify_eventstream_noplate.json")
    assert result.reads == [] and result.problems == []
    assert [n["field"] for n in result.notices] == ["Data.TrafficCar.PlateNumber"]


def test_the_answer_tells_the_camera_to_stop_resending() -> None:
    status, media, body = ADAPTER.success_response
    assert status == 200 and media.startswith("application/json")
    assert orjson.loads(body)["result"] == "true"


TIME_CASES: dict[str, tuple[dict[str, Any], str | None, str]] = {
    "RealUTC wins over the wall clocks": (notify(), "Europe/Paris", "2024-01-30T07:35:10.250Z"),
    "LocaleTime in the camera zone (winter, +01:00)": (
        notify(RealUTC=None),
        "Europe/Paris",
        "2024-01-30T13:35:10Z",
    ),
    "only UTC: the camera's wall clock written as epoch, read in its zone": (
        notify(RealUTC=None, LocaleTime=None),
        "Asia/Bangkok",
        "2024-01-30T07:35:10.250Z",
    ),
    "autumn fall-back, ambiguous 02:30 is the first (summer) one": (
        notify(RealUTC=None, LocaleTime="2024-10-27 02:30:00"),
        "Europe/Berlin",
        "2024-10-27T00:30:00Z",
    ),
    "ITSAPI SnapTime when AccurateTime is missing, camera in UTC": (
        tollgate(SnapInfo__AccurateTime=None),
        None,
        "2024-03-31T03:30:12Z",
    ),
}


@pytest.mark.parametrize("case", TIME_CASES, ids=list(TIME_CASES))
def test_time_semantics(case: str) -> None:
    doc, camera_tz, want = TIME_CASES[case]
    result = run(doc, camera_tz)
    assert result.problems == []
    assert_read(result.reads[0], utc=want)


VARIANTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "confidence 0-100 scaled": (tollgate(Plate__Confidence=64), {"confidence": 0.64}),
    "confidence out of range: none": (tollgate(Plate__Confidence=300), {"confidence": ABSENT}),
    "alpha-3 country": (tollgate(Plate__Region="BEL"), {"country": "BE"}),
    "region name is no country": (tollgate(Plate__Region="Europe"), {"country": ABSENT}),
    "explicit Country wins": (tollgate(Plate__Country="DEU"), {"country": "DE"}),
    "direction Leave": (tollgate(SnapInfo__Direction="Leave"), {"direction": "receding"}),
    "no pictures": (
        tollgate(NormalPic__Content="", CutoutPic__Content="not a jpeg"),
        {"images": set()},
    ),
    "event: Object text when TrafficCar has no plate": (
        notify(TrafficCar={"MachineName": "X"}),
        {"plate": "ZK789X", "confidence": 0.87},
    ),
    "event: Vehicle confidence (0-255) is not the plate's": (
        notify(Object={"ObjectType": "Vehicle", "Confidence": 160}),
        {"confidence": ABSENT},
    ),
}


@pytest.mark.parametrize("case", VARIANTS, ids=list(VARIANTS))
def test_variants(case: str) -> None:
    doc, want = VARIANTS[case]
    result = run(doc)
    assert result.problems == []
    assert_read(result.reads[0], **want)


@pytest.mark.parametrize(
    ("doc", "kind", "field"),
    [
        (tollgate(Plate__PlateNumber=""), "notice", "Picture.Plate.PlateNumber"),
        (tollgate(Plate__PlateNumber="无车牌"), "notice", "Picture.Plate.PlateNumber"),
        (tollgate(Plate__IsExist=False), "notice", "Picture.Plate.PlateNumber"),
        (
            tollgate(SnapInfo__AccurateTime=None, SnapInfo__SnapTime="soon"),
            "problem",
            "Picture.SnapInfo.SnapTime",
        ),
        (notify(RealUTC=None, LocaleTime=None, UTC=None), "problem", "Data.RealUTC"),
        (
            {
                "method": "client.notifyEventStream",
                "params": {"eventList": [{"Code": "VideoMotion"}]},
            },
            "notice",
            "Code",
        ),
        ({"hello": "world"}, "problem", "body"),
    ],
    ids=[
        "empty plate",
        "no-plate placeholder",
        "IsExist false",
        "bad time",
        "event without any time",
        "another event code",
        "not dahua",
    ],
)
def test_payloads_without_a_read(doc: object, kind: str, field: str) -> None:
    result = run(doc)
    assert result.reads == []
    found = result.problems if kind == "problem" else result.notices
    assert field in [p["field"] for p in found]
    if kind == "notice":
        assert result.problems == []


def test_one_event_list_with_a_plate_and_without() -> None:
    doc = notify()
    empty = copy.deepcopy(orjson.loads(load("dahua_notify_eventstream_noplate.json")[0]))
    doc["params"]["eventList"] += empty["params"]["eventList"]
    result = run(doc)
    assert [r["plate"] for r in result.reads] == ["ZK789X"]
    assert result.problems == [] and len(result.notices) == 1


def test_a_bare_event_manager_text_event() -> None:
    body = b'Code=TrafficJunction;action=Pulse;index=0;data={"RealUTC": 1717245000, '
    body += b'"TrafficCar": {"PlateNumber": "AB12", "MachineName": "itc"}}'
    result = ADAPTER.parse(body, "text/plain")
    assert result.problems == [] and result.reads[0]["plate"] == "AB12"
    assert result.vendor_ids == [["dahua:itc:0", "dahua:itc"]]


def test_event_manager_events_without_data_are_ignored() -> None:
    result = ADAPTER.parse(b"Code=VideoMotion;action=Start;index=0\r\n", "text/plain")
    assert result.reads == [] and result.problems == [] and result.notices


def test_broken_event_data_is_a_problem_naming_the_event() -> None:
    result = ADAPTER.parse(b"Code=TrafficJunction;action=Pulse;index=0;data={oops", "text/plain")
    assert result.reads == []
    assert result.problems[0]["field"] == "data"
    assert "TrafficJunction" in result.problems[0]["message"]


def test_itsapi_json_in_multipart_with_a_jpeg_part() -> None:
    doc = tollgate(NormalPic__Content="", CutoutPic__Content="")
    body, content_type = multipart(
        ("Content-Type: application/json", orjson.dumps(doc)),
        ('Content-Disposition: form-data; name="pic"\r\nContent-Type: image/jpeg', JPEG),
    )
    read = ADAPTER.parse(body, content_type).reads[0]
    assert read["images"] == {"overview_jpeg_b64": JPEG_B64}


def test_text_that_is_no_event_is_a_problem() -> None:
    result = ADAPTER.parse(b"hello camera", "text/plain")
    assert result.reads == [] and result.problems[0]["field"] == "body"


def test_a_byte_order_mark_before_the_json() -> None:
    body = b"\xef\xbb\xbf" + load("dahua_itsapi_tollgate.json")[0]
    assert ADAPTER.parse(body, "text/plain").reads[0]["plate"] == "AB123CD"
