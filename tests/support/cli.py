"""Running the `anpr` command as an operator types it: a fresh interpreter, the embedded bus of
the data directory given, and none of the caller's `ANPR_*` settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def anpr(data: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    """`anpr ARGS...` on `data` (its `ANPR_DATA_DIR`), with `settings` as extra variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANPR_")}
    return subprocess.run(
        [sys.executable, "-m", "anpr", *args],
        env={**env, "ANPR_DATA_DIR": str(data), **settings},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def admin(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`anpr admin ARGS...` on `data`."""
    return anpr(data, "admin", *args)
