"""`anpr admin camera` and `delete-camera` refuse what the API refuses: a camera for an
integrator that is not registered, the deletion of a camera that is not (no record published,
no audit entry written). Run as an operator would, on the embedded bus of a fresh data dir."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from anpr.registry import Camera, CameraSpec, CameraState, RegistryView
from anpr_cli import _parser
from anpr_cli.admin import _run
from tests.support.cli import admin


def test_a_camera_needs_a_registered_integrator_and_a_deletion_a_registered_camera(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    refused = admin(data, "camera", "cam-1", "--integrator", "int-nope")
    assert refused.returncode == 2, refused.stderr
    assert "integrator 'int-nope' is not registered" in refused.stderr
    assert admin(data, "integrator", "int-1").returncode == 0
    made = admin(data, "camera", "cam-1", "--integrator", "int-1")
    assert made.returncode == 0, made.stderr
    unknown = admin(data, "delete-camera", "cam-nope")
    assert unknown.returncode == 2, unknown.stderr
    assert "camera 'cam-nope' is not registered" in unknown.stderr
    deleted = admin(data, "delete-camera", "cam-1")
    assert deleted.returncode == 0, deleted.stderr


class RecordingWriter:
    """Stands in for `RegistryWriter`: keeps the camera specs put."""

    def __init__(self) -> None:
        self.cameras: list[CameraSpec] = []

    async def put_camera(self, spec: CameraSpec, previous: Camera | None = None) -> None:
        self.cameras.append(spec)


def registry_with(camera: dict[str, Any]) -> RegistryView:
    view = RegistryView()
    view.apply(b"integrator/int-1", orjson.dumps({"v": 1, "kind": "integrator", "name": "I"}))
    record = {"v": 1, "kind": "camera", "updated_at": 1, **camera}
    view.apply(f"camera/{camera['camera_id']}".encode(), orjson.dumps(record))
    return view


async def test_updating_a_camera_keeps_what_the_command_does_not_name() -> None:
    # Re-running `anpr admin camera` to correct one value must not move a commissioning camera
    # to live (its test hits would become alarms, its sign-off skipped) nor reset its time zone
    # (offset-less vendor times would be read in UTC), its zones or its vendor ids.
    registered = {
        "camera_id": "cam-1", "integrator_id": "int-1", "name": "Main St", "zones": ["centre"],
        "timezone": "Europe/Brussels", "expected_reads_per_hour": 120.0,
        "external_ids": ["hikvision:44A642F32AD7:1"], "state": "commissioning",
        "location": {"lat": 50.8, "lon": 4.3},
    }  # fmt: skip
    writer = RecordingWriter()
    args = _parser().parse_args(
        ["admin", "camera", "cam-1", "--integrator", "int-1", "--expected-reads-per-hour", "200"]
    )
    await _run(args, writer, registry_with(registered))  # type: ignore[arg-type]
    [spec] = writer.cameras
    assert spec.model_dump(mode="json") == {**registered, "expected_reads_per_hour": 200.0}
    # What is named changes; a new camera still gets the defaults.
    named = _parser().parse_args(
        ["admin", "camera", "cam-1", "--integrator", "int-1", "--state", "live", "--zones", ""]
    )
    audited = await _run(named, writer, registry_with(registered))  # type: ignore[arg-type]
    assert (writer.cameras[1].state, writer.cameras[1].zones) == (CameraState.LIVE, [])
    # Taken live here, with no camera health to judge by: the auditors are told so, as the
    # API's PATCH tells them the verdict it went live on.
    assert audited.detail["commissioning_verdict"] == "not_assessed"
    assert "command line" in audited.detail["commissioning_summary"]
    already_live = registry_with({**registered, "state": "live"})
    again = await _run(named, RecordingWriter(), already_live)  # type: ignore[arg-type]
    assert "commissioning_verdict" not in again.detail
    new = _parser().parse_args(["admin", "camera", "cam-2", "--integrator", "int-1"])
    await _run(new, writer, registry_with(registered))  # type: ignore[arg-type]
    made = writer.cameras[2]
    assert (made.name, made.state, made.timezone, made.zones) == ("cam-2", CameraState.LIVE,
                                                                   "UTC", [])  # fmt: skip
