"""Running `anpr run` (embedded mode: one process, the in-process bus) as a subprocess in tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.ports import free_port

ADMIN = "embedded-admin-" + "q" * 40


@dataclass
class Embedded:
    proc: subprocess.Popen[bytes]
    ports: dict[str, int]
    data_dir: Path
    log: Path

    def url(self, process: str) -> str:
        return f"http://127.0.0.1:{self.ports[process]}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def embedded_run(
    tmp_path: Path, *, command: str = "run", timeout_s: float = 60, **env_extra: str
) -> Iterator[Embedded]:
    """`anpr COMMAND` with free ports, an admin token and its data under `tmp_path`, ready."""
    ports = {name: free_port() for name in ("ingest", "api", "matcher", "notify", "archive")}
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANPR_")}
    env.update(
        {
            "ANPR_DATA_DIR": str(tmp_path / "data"),
            "ANPR_ADMIN_TOKEN": ADMIN,
            "ANPR_INGEST_PORT": str(ports["ingest"]),
            "ANPR_API_PORT": str(ports["api"]),
            "ANPR_MATCHER_PORT": str(ports["matcher"]),
            "ANPR_NOTIFY_PORT": str(ports["notify"]),
            "ANPR_ARCHIVE_PORT": str(ports["archive"]),
            **env_extra,
        }
    )
    log = tmp_path / f"{command}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "anpr", command], env=env, stdout=out, stderr=out
        )
    running = Embedded(proc, ports, tmp_path / "data", log)
    try:
        wanted = {
            "run": ("ingest", "api", "matcher"),
            "ingest": ("ingest",),
            "api": ("api",),
            "matcher": ("matcher",),
        }[command]
        deadline = time.monotonic() + timeout_s
        ready: set[str] = set()
        while len(ready) < len(wanted):
            assert proc.poll() is None, running.output()
            assert time.monotonic() < deadline, running.output()
            for name in wanted:
                try:
                    if httpx.get(f"{running.url(name)}/readyz", timeout=1).status_code == 200:
                        ready.add(name)
                except httpx.HTTPError:
                    pass
            time.sleep(0.2)
        yield running
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
