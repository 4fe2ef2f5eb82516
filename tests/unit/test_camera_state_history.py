"""A camera's state at the time a read was received: `Camera.state_at` and the record fields
the writer keeps for it (`lifecycle_fields`)."""

from __future__ import annotations

import orjson

from anpr.registry import Camera, CameraState, RegistryView, lifecycle_fields


def camera(**fields: object) -> Camera:
    view = RegistryView()
    view.apply(b"integrator/int-1", orjson.dumps({"v": 1, "kind": "integrator", "name": "I"}))
    record = {"v": 1, "kind": "camera", "camera_id": "cam-1", "integrator_id": "int-1"}
    view.apply(b"camera/cam-1", orjson.dumps({**record, "name": "C", "updated_at": 1, **fields}))
    return view.cameras["cam-1"]


def test_a_record_written_before_the_history_was_kept_answers_its_state_at_any_time() -> None:
    old = camera(state="commissioning")
    assert (old.state_since, old.state_before) == (None, None)
    assert old.state_at(0) is CameraState.COMMISSIONING


def test_reads_received_before_the_last_change_belong_to_the_state_before() -> None:
    live = camera(state="live", state_since=1_000, state_before="commissioning")
    assert live.state_at(999) is CameraState.COMMISSIONING
    assert live.state_at(1_000) is CameraState.LIVE
    created = camera(state="live", state_since=1_000)  # no state before its creation
    assert created.state_at(999) is CameraState.LIVE


def test_a_bad_history_field_is_ignored_not_fatal() -> None:
    odd = camera(state="live", state_since="yesterday", state_before="paused")
    assert (odd.state_since, odd.state_before) == (None, None)
    assert odd.state_at(0) is CameraState.LIVE


def test_the_writer_keeps_the_registration_and_the_state_start_until_the_state_changes() -> None:
    assert lifecycle_fields(CameraState.LIVE, None, 5) == {"registered_at": 5, "state_since": 5}
    testing = camera(state="commissioning", state_since=3, registered_at=3)
    assert lifecycle_fields(CameraState.COMMISSIONING, testing, 9) == {
        "registered_at": 3,
        "state_since": 3,
    }
    assert lifecycle_fields(CameraState.LIVE, testing, 9) == {
        "registered_at": 3,
        "state_since": 9,
        "state_before": "commissioning",
    }
    switched = camera(state="live", state_since=9, state_before="commissioning")
    assert lifecycle_fields(CameraState.LIVE, switched, 12) == {
        "state_since": 9,
        "state_before": "commissioning",
    }
    assert lifecycle_fields(CameraState.LIVE, camera(state="live"), 12) == {}
