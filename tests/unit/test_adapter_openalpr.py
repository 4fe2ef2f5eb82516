"""OpenALPR / Rekor agent pushes: groups, frame results, web-server alerts, heartbeats, alprd."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from ingest.adapters import ADAPTERS
from tests.fixtures.vendor import ABSENT, JPEG_B64, assert_read, load, parse, utc

ADAPTER = ADAPTERS["openalpr"]
AGENT = "YYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYY"


def group(**changes: Any) -> dict[str, Any]:
    """The documented agent group, with top-level fields replaced (None removes one)."""
    doc: dict[str, Any] = orjson.loads(load("openalpr_agent_alpr_group_v2.json")[0])
    for key, value in changes.items():
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    return doc


def run(doc: object, camera_tz: str | None = None) -> Any:
    return ADAPTER.parse(orjson.dumps(doc), "application/json", camera_tz=camera_tz)


FIXTURE_CASES = {
    "agent alpr_group v2": (
        "openalpr_agent_alpr_group_v2.json",
        [
            dict(
                plate="D2651BF",
                utc="2019-07-09T14:05:21.504Z",
                country="US",
                confidence=0.9388,
                candidates=["D2651F", "D265BF"],
                direction=ABSENT,
                vehicle={
                    "make": "ford",
                    "model": "focus",
                    "color": "black",
                    "class": "sedan-standard",
                },
                images={"plate_jpeg_b64", "overview_jpeg_b64"},
                location={"lat": 37.635986328125, "lon": -79.2059326171875},
                read_id=f"{AGENT}-1234-1562681122676:group",
            )
        ],
    ),
    "agent alpr_results, two plates in one frame": (
        "openalpr_agent_alpr_results.json",
        [
            dict(
                plate="D2651BF",
                utc="2019-07-09T14:13:28.425Z",
                country="US",
                confidence=0.9294,
                candidates=["D2651F", "D265BF", "D251BF"],
                images={"plate_jpeg_b64"},
                read_id=f"{AGENT}-1234-1562681608425:0",
            ),
            dict(plate="CG3L5Y", confidence=0.9474, read_id=f"{AGENT}-1234-1562681608425:1"),
        ],
    ),
    "open-source alprd v1: no data_type, epoch seconds, string confidence, lower case": (
        "openalpr_alprd_results_v1.json",
        [
            dict(
                plate="ab123cd",
                utc="2017-03-27T00:29:49Z",
                confidence=0.875,
                country="FR",
                candidates=["ab123c0"],  # AB-123-CD is the plate itself once normalized
                images=set(),
                read_id="parking-cam1-1490574589596:0",
            )
        ],
    ),
    "web-server alpr_alert wrapping a group (eu region)": (
        "openalpr_web_alpr_alert.json",
        [
            dict(
                plate="BMW1234",
                utc="2018-10-07T15:01:53.527Z",
                country="DE",
                confidence=0.9025,
                candidates=["BMW1Z34"],
                images={"plate_jpeg_b64"},
                read_id="ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ-2090267338-1538924513527:group",
            )
        ],
    ),
}


@pytest.mark.parametrize("case", FIXTURE_CASES, ids=list(FIXTURE_CASES))
def test_documented_payloads(case: str) -> None:
    name, expected = FIXTURE_CASES[case]
    result = parse(name)
    assert result.problems == []
    assert len(result.reads) == len(expected)
    for read, want in zip(result.reads, expected, strict=True):
        assert_read(read, **want)


VARIANTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "epoch_start in seconds": (group(epoch_start=1562681121), {"utc": "2019-07-09T14:05:21Z"}),
    "epoch_start as a string": (
        group(epoch_start="1562681121504"),
        {"utc": "2019-07-09T14:05:21.504Z"},
    ),
    "confidence as a string": (group(best_confidence="93.5"), {"confidence": 0.935}),
    "alpha-3 country, no region": (
        group(best_region=None, country="BEL", best_plate={"plate": "1ABC123"}),
        {"country": "BE", "images": {"overview_jpeg_b64"}},
    ),
    "unknown region code": (
        group(best_region="zz-qq", country="zz", best_plate={"plate": "D2651BF"}),
        {"country": ABSENT},
    ),
    "no GPS fix (0,0)": (group(gps_latitude=0, gps_longitude=0), {"location": ABSENT}),
    "lower-case plate kept as sent": (group(best_plate_number="d2651bf"), {"plate": "d2651bf"}),
    "best_plate only": (group(best_plate_number=None), {"plate": "D2651BF"}),
    "no epoch_start: epoch_end": (group(epoch_start=None), {"utc": "2019-07-09T14:05:24.479Z"}),
}


@pytest.mark.parametrize("case", VARIANTS, ids=list(VARIANTS))
def test_variants(case: str) -> None:
    doc, want = VARIANTS[case]
    result = run(doc)
    assert result.problems == []
    assert_read(result.reads[0], **want)


def test_vendor_ids_most_specific_first() -> None:
    result = parse("openalpr_agent_alpr_group_v2.json")
    assert result.vendor_ids == [[f"openalpr:{AGENT}:1234", "openalpr:1234"]]
    assert parse("openalpr_alprd_results_v1.json").vendor_ids == [
        ["openalpr:parking:1", "openalpr:1"]
    ]


def test_heartbeat_per_video_stream_without_secrets() -> None:
    result = parse("openalpr_agent_heartbeat.json")
    assert result.reads == [] and result.problems == []
    first, second = result.heartbeats
    assert first["vendor_ids"] == [f"openalpr:{AGENT}:2090267338", "openalpr:2090267338"]
    assert first["sent_at"] == "2018-10-07T15:14:04.693Z"
    assert first["status"]["is_streaming"] is True and second["status"]["is_streaming"] is False
    assert first["status"]["camera_name"] == "h265"
    flat = orjson.dumps(result.heartbeats).decode()
    assert "SECRET-LICENSE-KEY" not in flat and "password" not in flat


def test_heartbeat_without_streams_is_the_agents() -> None:
    doc = orjson.loads(load("openalpr_agent_heartbeat.json")[0])
    doc["video_streams"] = []
    (beat,) = run(doc).heartbeats
    assert beat["vendor_ids"] == [f"openalpr:{AGENT}"]


def test_a_frame_without_plates_is_a_notice() -> None:
    result = run({"data_type": "alpr_results", "epoch_time": 1562681608425, "results": []})
    assert result.reads == [] and result.problems == []
    assert result.notices


def test_a_group_preview_is_no_read_the_final_group_is() -> None:
    """With `plate_group_enable_preview = 1` the agent sends a preview of the group while the
    vehicle is still tracked, then the final group: one vehicle, one read (the final one)."""
    result = parse("openalpr_agent_alpr_group_preview.json")
    assert result.reads == [] and result.problems == []
    assert [n["field"] for n in result.notices] == ["is_preview"]
    doc = orjson.loads(load("openalpr_agent_alpr_group_preview.json")[0])
    doc["is_preview"] = False
    (read,) = run(doc).reads
    assert_read(read, plate="D2651F", utc="2019-07-09T14:05:21.504Z")


def test_the_web_servers_test_webhook_is_not_an_error() -> None:
    result = run({"openalpr_webhook": "test"})
    assert result.reads == [] and result.problems == [] and result.notices


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        (group(best_plate_number="", best_plate={}), "best_plate_number"),
        (group(epoch_start=None, epoch_end=None), "epoch_start"),
        (group(epoch_start="yesterday", epoch_end=None), "epoch_start"),
        ({"data_type": "alpr_results", "epoch_time": 1, "results": "D2651BF"}, "results"),
        (
            {
                "data_type": "alpr_results",
                "epoch_time": 1562681608425,
                "results": [{"confidence": 90}],
            },
            "results[0].plate",
        ),
        ({"hello": "world"}, "data_type"),
        ([1, 2], "body"),
        ("D2651BF", "body"),
    ],
    ids=[
        "no plate",
        "no time",
        "bad time",
        "results not array",
        "result without plate",
        "not openalpr",
        "array of numbers",
        "string",
    ],
)
def test_unusable_payloads_are_problems_not_guesses(doc: object, field: str) -> None:
    result = run(doc)
    assert result.reads == []
    assert field in [p["field"] for p in result.problems]


def test_one_bad_result_does_not_cost_the_good_ones() -> None:
    doc = orjson.loads(load("openalpr_agent_alpr_results.json")[0])
    broken = copy.deepcopy(doc)
    broken["results"][0]["plate"] = None
    result = run(broken)
    assert [r["plate"] for r in result.reads] == ["CG3L5Y"]
    assert result.problems == [
        {
            "field": "results[0].plate",
            "message": "missing or empty: a read needs a plate",
            "index": 0,
        }
    ]


def test_an_array_of_events_is_taken_whole() -> None:
    doc = [group(), {"data_type": "heartbeat", "agent_uid": AGENT, "timestamp": 1538925244693}]
    result = run(doc)
    assert len(result.reads) == 1 and len(result.heartbeats) == 1


def test_candidates_are_capped_at_ten() -> None:
    many = [{"plate": f"D2651B{i}", "confidence": 50} for i in range(15)]
    result = run(group(candidates=many))
    assert len(result.reads[0]["candidates"]) == 10


def test_plate_crop_is_kept_as_base64_jpeg() -> None:
    assert parse("openalpr_agent_alpr_results.json").reads[0]["images"] == {
        "plate_jpeg_b64": JPEG_B64
    }


def test_success_response_is_a_plain_200() -> None:
    assert ADAPTER.success_response.status == 200


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded",
        "text/plain",
        "multipart/form-data",
        None,
        "application/octet-stream",
    ],
)
def test_json_under_a_wrong_content_type_is_still_json(content_type: str | None) -> None:
    # libcurl labels a posted body application/x-www-form-urlencoded unless told otherwise.
    body = load("openalpr_agent_alpr_group_v2.json")[0]
    result = ADAPTER.parse(body, content_type)
    assert result.problems == [] and result.reads[0]["plate"] == "D2651BF"


OWN_EPOCH = {
    "each result's own epoch_time": (
        "openalpr_agent_results_own_epoch.json",
        ["2019-07-09T14:13:27.001Z", "2019-07-09T14:13:28.102Z"],
    ),
    "results without one: the frame's epoch_time": (
        "openalpr_agent_alpr_results.json",
        ["2019-07-09T14:13:28.425Z", "2019-07-09T14:13:28.425Z"],
    ),
}


@pytest.mark.parametrize("case", OWN_EPOCH, ids=list(OWN_EPOCH))
def test_a_result_with_its_own_epoch_time_uses_it(case: str) -> None:
    name, times = OWN_EPOCH[case]
    result = parse(name)
    assert result.problems == []
    assert [utc(r["captured_at"]) for r in result.reads] == times


def test_a_result_epoch_time_in_seconds_and_a_frame_without_one() -> None:
    doc = orjson.loads(load("openalpr_agent_alpr_results.json")[0])
    del doc["epoch_time"]
    doc["results"][0]["epoch_time"] = 1562681607
    result = run(doc)
    assert [utc(r["captured_at"]) for r in result.reads] == ["2019-07-09T14:13:27Z"]
    assert [p["field"] for p in result.problems] == ["epoch_time"]  # the second has no time
