"""Frigate NVR plates as an MQTT bridge forwards them: `events` and `tracked_object_update`."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from ingest.adapters import ADAPTERS
from tests.fixtures.vendor import ABSENT, JPEG_B64, assert_read, load, parse

ADAPTER = ADAPTERS["frigate"]
OBJECT_ID = "1717236930.481962-9mu3fe"


def fixture(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = orjson.loads(load(name)[0])
    return doc


def run(doc: object, camera_tz: str | None = None) -> Any:
    return ADAPTER.parse(orjson.dumps(doc), "application/json", camera_tz=camera_tz)


FIXTURE_CASES: dict[str, tuple[str, dict[str, Any], list[str]]] = {
    "events update with a recognized plate": (
        "frigate_events_update.json",
        dict(
            plate="AB12CDE",
            utc="2024-06-01T10:15:32.625Z",
            confidence=0.942,
            read_id=f"{OBJECT_ID}:AB12CDE",
            vehicle={"class": "car"},
        ),
        ["frigate:gate_lpr"],
    ),
    "tracked_object_update lpr": (
        "frigate_tracked_object_update_lpr.json",
        dict(
            plate="AB12CDE",
            utc="2024-06-01T10:15:32.100Z",
            confidence=0.951,
            read_id=f"{OBJECT_ID}:AB12CDE",
            country=ABSENT,
        ),
        ["frigate:gate_lpr"],
    ),
    "bridge envelope: topic and a JSON-string payload": (
        "frigate_bridge_envelope.json",
        dict(plate="XY98ZZZ", utc="2024-06-01T11:06:41.500Z"),
        ["frigate:frigate_site2:lane_2", "frigate:lane_2"],
    ),
}


@pytest.mark.parametrize("case", FIXTURE_CASES, ids=list(FIXTURE_CASES))
def test_documented_payloads(case: str) -> None:
    name, want, ids = FIXTURE_CASES[case]
    result = parse(name, camera_tz="Europe/Oslo")  # epoch seconds: the zone plays no part
    assert result.problems == []
    (read,) = result.reads
    assert_read(read, **want)
    assert result.vendor_ids == [ids]


def test_both_topics_give_the_same_read_id_for_one_car() -> None:
    names = ("frigate_events_update.json", "frigate_tracked_object_update_lpr.json")
    ids = {parse(name).reads[0]["read_id"] for name in names}
    assert ids == {f"{OBJECT_ID}:AB12CDE"}


def event(**after: Any) -> dict[str, Any]:
    doc = copy.deepcopy(fixture("frigate_events_update.json"))
    for key, value in after.items():
        if value is None:
            doc["after"].pop(key, None)
        else:
            doc["after"][key] = value
    return doc


VARIANTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "score as a percentage": (event(recognized_license_plate_score=94.2), {"confidence": 0.942}),
    "no score": (event(recognized_license_plate_score=None), {"confidence": ABSENT}),
    "no frame_time: start_time": (event(frame_time=None), {"utc": "2024-06-01T10:15:30.482Z"}),
    "end message": ({**event(), "type": "end"}, {"plate": "AB12CDE"}),
    "base64 thumbnail is the overview": (
        event(thumbnail=JPEG_B64),
        {"images": {"overview_jpeg_b64"}},
    ),
    "plate and score as a [plate, score] pair": (
        event(recognized_license_plate=["AB12CDE", 0.9], recognized_license_plate_score=None),
        {"plate": "AB12CDE", "confidence": 0.9},
    ),
    "plate with a space keeps a valid read id": (
        event(recognized_license_plate="AB12 CDE"),
        {"read_id": f"{OBJECT_ID}:AB12CDE"},
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
        (event(recognized_license_plate=None), "notice", "after.recognized_license_plate"),
        ({"type": "lpr", "name": None, "plate": None, "camera": "gate_lpr"}, "notice", "plate"),
        ({"type": "face", "id": "x", "camera": "door", "name": "bob"}, "notice", "type"),
        (event(frame_time=None, start_time=None), "problem", "after.frame_time"),
        (
            {**fixture("frigate_tracked_object_update_lpr.json"), "timestamp": "now"},
            "problem",
            "timestamp",
        ),
        ({"topic": "frigate/events", "payload": "{not json"}, "problem", "payload"),
        ({"topic": "frigate/events", "payload": [1]}, "problem", "payload"),
        ({"hello": "world"}, "problem", "type"),
    ],
    ids=[
        "tracked object without a plate",
        "plate cleared",
        "face update",
        "no time",
        "bad timestamp",
        "broken bridge payload",
        "payload not an object",
        "not frigate",
    ],
)
def test_messages_without_a_read(doc: object, kind: str, field: str) -> None:
    result = run(doc)
    assert result.reads == []
    found = result.problems if kind == "problem" else result.notices
    assert field in [p["field"] for p in found]
    if kind == "notice":
        assert result.problems == []
