"""One benchmark module run in a process of its own, its JSON result read back (`make bench`
runs its parts this way so that each has its own interpreter, heap and cores)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def run_module(module: str, args: list[str]) -> dict[str, Any]:
    """`python -m module *args --json FILE`; its result with the `command`, or `{"error"}`."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        command = [sys.executable, "-m", module, *args, "--json", out.name]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)  # noqa: S603
        if done.returncode != 0:
            return {"error": f"exit {done.returncode}: {done.stderr.strip()[-500:]}"}
        data: dict[str, Any] = json.loads(Path(out.name).read_text())
        data["command"] = " ".join(["python", *command[1:-2]])
        return data
