"""What a result was measured on: the machine, the software versions, the code revision."""

from __future__ import annotations

import contextlib
import os
import platform
import socket
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.stack import ROOT, kafka_version

PACKAGES = (
    "anpr-hitstream", "fastapi", "starlette", "uvicorn", "uvloop", "httptools", "aiokafka",
    "orjson", "pydantic", "pydantic-settings", "pyahocorasick", "prometheus-client", "httpx",
)  # fmt: skip


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _mem_total_gib() -> float | None:
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    return None


def _run(*cmd: str) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT)  # noqa: S603
    except OSError:
        return ""
    return (done.stdout or done.stderr).strip()


def machine() -> dict[str, Any]:
    return {
        "host": socket.gethostname(),
        "nproc": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gib": _mem_total_gib(),
        "kernel": platform.release(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def versions() -> dict[str, Any]:
    packages = {}
    for name in PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            packages[name] = metadata.version(name)
    java = _run("java", "-version").splitlines()
    return {
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "kafka": kafka_version(),
        "java": java[0] if java else "unknown",
        "packages": packages,
        "git_commit": _run("git", "rev-parse", "HEAD") or "unknown",
        "git_dirty": bool(_run("git", "status", "--porcelain", "--untracked-files=no")),
    }
