"""The system under test, started for one benchmark run and stopped after it: a local Kafka
broker (deploy/kafka/kafka.sh, own port and temp data dir), then `anpr ingest`, `anpr matcher`
and `anpr api` as separate processes on free ports, sharing a temp `ANPR_DATA_DIR`.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

ROOT = Path(__file__).resolve().parent.parent
KAFKA_SH = ROOT / "deploy" / "kafka" / "kafka.sh"
SERVICES = ("api", "ingest", "matcher")


class StackError(Exception):
    """The system under test could not be started."""


def kafka_version() -> str:
    match = re.search(r"^KAFKA_VERSION=(\S+)", KAFKA_SH.read_text(), re.MULTILINE)
    return match.group(1) if match else "unknown"


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_kafka_port(first: int, last: int = 19998) -> int:
    """The first port in [first, last] free together with the next one (the controller's)."""
    for port in range(first, last, 2):
        if port_free(port) and port_free(port + 1):
            return port
    raise StackError(f"no free port pair for Kafka in {first}-{last}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(slots=True)
class Stack:
    workdir: Path
    kafka_port: int
    settings: dict[str, str] = field(default_factory=dict)  # extra ANPR_* for the services
    admin_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    ports: dict[str, int] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: dict[str, IO[bytes]] = field(default_factory=dict)
    kafka_up_s: float | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def kafka_dir(self) -> Path:
        return self.workdir / "kafka"

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def _kafka(self, action: str) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, KAFKA_PORT=str(self.kafka_port), KAFKA_DATA_DIR=str(self.kafka_dir))
        return subprocess.run(  # noqa: S603 - our own script
            ["bash", str(KAFKA_SH), action],  # noqa: S607
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )

    def kafka_pid(self) -> int | None:
        with contextlib.suppress(OSError, ValueError):
            return int((self.kafka_dir / "kafka.pid").read_text().strip())
        return None

    def start_kafka(self) -> None:
        started = time.perf_counter()
        done = self._kafka("up")
        if done.returncode != 0:
            raise StackError(f"kafka.sh up failed:\n{done.stdout}\n{done.stderr}")
        self.kafka_up_s = round(time.perf_counter() - started, 1)

    def stop_kafka(self) -> None:
        self._kafka("down")

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANPR_")}
        env.update(
            ANPR_KAFKA_BOOTSTRAP=self.bootstrap,
            ANPR_DATA_DIR=str(self.workdir / "data"),
            ANPR_ADMIN_TOKEN=self.admin_token,
            ANPR_INGEST_PORT=str(self.ports["ingest"]),
            ANPR_API_PORT=str(self.ports["api"]),
            ANPR_MATCHER_PORT=str(self.ports["matcher"]),
            ANPR_MATCHER_ID="bench-matcher",
        )
        env.update(self.settings)
        return env

    def start_services(self) -> None:
        for name in SERVICES:
            self.ports.setdefault(name, free_port())
        (self.workdir / "logs").mkdir(parents=True, exist_ok=True)
        for name in SERVICES:
            log = (self.workdir / "logs" / f"{name}.log").open("wb")
            self.logs[name] = log
            self.procs[name] = subprocess.Popen(  # noqa: S603 - our own command
                [sys.executable, "-m", "anpr", name],
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )

    def wait_ready(self, timeout_s: float = 120.0) -> float:
        """Seconds until every service answers 200 on /readyz."""
        started = time.perf_counter()
        pending = set(SERVICES)
        with httpx.Client(timeout=2.0) as client:
            while pending:
                for name in sorted(pending):
                    proc = self.procs[name]
                    if proc.poll() is not None:
                        raise StackError(f"{name} exited with {proc.returncode}; {self.tail(name)}")
                    with contextlib.suppress(httpx.HTTPError):
                        if client.get(self.url(name) + "/readyz").status_code == 200:
                            pending.discard(name)
                if time.perf_counter() - started > timeout_s:
                    raise StackError(f"not ready after {timeout_s:.0f} s: {sorted(pending)}")
                time.sleep(0.3)
        return time.perf_counter() - started

    def tail(self, name: str, lines: int = 20) -> str:
        path = self.workdir / "logs" / f"{name}.log"
        with contextlib.suppress(OSError):
            return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def pids(self) -> dict[str, int]:
        pids = {name: proc.pid for name, proc in self.procs.items() if proc.poll() is None}
        kafka = self.kafka_pid()
        if kafka is not None:
            pids["kafka"] = kafka
        return pids

    def stop_services(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for name, proc in self.procs.items():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                print(f"  {name} ignored SIGTERM for 15 s; killing it", file=sys.stderr)
                proc.kill()
                proc.wait()
        for log in self.logs.values():
            log.close()
