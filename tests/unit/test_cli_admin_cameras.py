"""`anpr admin camera` and `delete-camera` refuse what the API refuses: a camera for an
integrator that is not registered, the deletion of a camera that is not (no record published,
no audit entry written). Run as an operator would, on the embedded bus of a fresh data dir."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def admin(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANPR_")}
    return subprocess.run(  # an outside run, as an operator types it
        [sys.executable, "-m", "anpr", "admin", *args],
        env={**env, "ANPR_DATA_DIR": str(data)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


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
