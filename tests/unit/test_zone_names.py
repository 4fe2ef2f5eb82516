"""A zone is the same zone on a camera and on a hotlist entry: names are trimmed on both sides,
and blank names never make an entry valid everywhere (contract section 6: an entry applies when
its zones, if any, share one with the camera's)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
import pytest

from anpr.hotlists import EntrySpec
from anpr.hotlists.parse import parse_entry_obj
from anpr.hotlists.wire import encode_entry, encode_list_config
from matcher.state import MatcherState
from tests.support.factories import make_config, make_read
from tests.unit.api_fixtures import ApiHarness, running_api


def _camera(state: MatcherState, zones: list[str]) -> None:
    record = {"camera_id": "cam-1", "integrator_id": "int-1", "name": "c", "zones": zones}
    state.registry.apply(b"camera/cam-1", orjson.dumps(record))


def _entry(state: MatcherState, zones: object) -> None:
    spec = parse_entry_obj({"entry_id": "e1", "plate": "1ABC123", "zones": zones})
    assert isinstance(spec, EntrySpec), spec
    for key, value in (
        (b"l/e1", encode_entry(spec, list_id="l", version=1)),
        (b"l", encode_list_config(make_config("l"))),
    ):
        for change in state.hotlist_changes(key, value):
            state.apply_change(change)


def _hits(state: MatcherState) -> list[str]:
    matches = state.index.match(make_read("1ABC123"), state.camera_zones("cam-1"))
    return [m.entry_id for m in matches]


@pytest.mark.parametrize(
    ("camera", "entry"),
    [
        (["ring "], ["ring "]),
        ([" ring"], "ring"),
        (["ring"], " ring ;"),
        # Composed and decomposed accents, full-width letters: typed differently, one zone.
        (["Li\u00e8ge-centre"], ["Lie\u0300ge-centre"]),
        (["\uff2c\uff25\uff3a"], "LEZ"),
        # A camera zone was at most 64 characters, an entry's 128: a longer one never applied.
        (["z" * 128], ["z" * 128]),
    ],
    ids=repr,
)
def test_the_same_zone_text_on_a_camera_and_an_entry_matches(
    camera: list[str], entry: object
) -> None:
    state = MatcherState()
    _camera(state, camera)
    _entry(state, entry)
    assert _hits(state) == ["e1"]


def test_an_entry_record_written_before_zones_were_normalized_still_applies() -> None:
    state = MatcherState()
    _camera(state, ["Li\u00e8ge"])
    spec = parse_entry_obj({"entry_id": "e1", "plate": "1ABC123"})
    assert isinstance(spec, EntrySpec), spec
    record = orjson.loads(encode_entry(spec, list_id="l", version=1) or b"")
    record["zones"] = ["Lie\u0300ge "]  # as an older writer put it on the topic
    for key, value in (
        (b"l/e1", orjson.dumps(record)),
        (b"l", encode_list_config(make_config("l"))),
    ):
        for change in state.hotlist_changes(key, value):
            state.apply_change(change)
    assert _hits(state) == ["e1"]


def test_an_old_camera_record_with_a_blank_zone_keeps_the_camera() -> None:
    state = MatcherState()
    _camera(state, [" ", "ring"])
    assert state.camera_zones("cam-1") == frozenset({"ring"})


@pytest.fixture
async def api() -> AsyncIterator[ApiHarness]:
    async with running_api() as harness:
        yield harness


async def test_a_blank_camera_zone_is_refused_naming_it(api: ApiHarness) -> None:
    body = {"camera_id": "cam-z", "integrator_id": "int-1", "name": "c", "zones": ["ring", " "]}
    response = await api.client.post("/v1/cameras", json=body, headers=api.auth())
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["zones.1"]
    body["zones"] = ["ring "]
    created = await api.client.post("/v1/cameras", json=body, headers=api.auth())
    assert created.status_code == 201, created.text
    assert created.json()["zones"] == ["ring"]
