"""The system under a fault test: 1 gateway, 2 matchers (one group), 1 API as separate
processes (`python -m anpr ingest|matcher|api`) on a real broker, provisioned through the API
with an integrator, cameras, an operator token and a hotlist both matchers have applied.

Processes can be killed (SIGKILL), stopped (SIGSTOP/SIGCONT) and restarted with the same
settings and data dir, which is what a fault test needs. Every wait has a deadline.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.ports import free_port

ADMIN = "faults-admin-" + "k" * 40
LIST_ID = "faults-stolen"
# Keys on different partitions of a 2-partition topic (Kafka's murmur2 partitioner), so that
# both matchers of the group have reads to match: cam-f1 -> 1, cam-f4 -> 0.
CAMERAS = ("cam-f1", "cam-f4")
# Plates on the hotlist (exact match); reads with other plates give no hit.
HIT_PLATES = tuple(f"HOT{n:03d}" for n in range(20))
MATCHERS = ("matcher-a", "matcher-b")


class StackError(AssertionError):
    """The stack did not reach the state a test waits for within its deadline."""


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Proc:
    """One service process; `start()` again after a kill restarts it with the same settings."""

    name: str
    command: str
    env: dict[str, str]
    url: str
    log: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            out.write(f"\n===== start {time.strftime('%H:%M:%S')} =====\n".encode())
            out.flush()
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "anpr", self.command],
                env=self.env,
                stdout=out,
                stderr=out,
            )

    @property
    def pid(self) -> int:
        assert self.popen is not None, f"{self.name} was never started"
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL, and reap it: nothing of it runs afterwards."""
        os.kill(self.pid, signal.SIGKILL)
        assert self.popen is not None
        self.popen.wait(timeout=10)

    def stop(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.terminate()
        try:
            self.popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=5)

    def tail(self, chars: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"


@dataclass
class Stack:
    bootstrap: str
    prefix: str
    data_dir: Path
    procs: dict[str, Proc] = field(default_factory=dict)
    integrator_token: str = ""
    operator_token: str = ""
    supervisor_token: str = ""
    list_version: int = 0

    @property
    def gateway(self) -> str:
        return self.procs["ingest"].url

    @property
    def api(self) -> str:
        return self.procs["api"].url

    def logs(self, chars: int = 3000) -> str:
        return "\n".join(f"--- {p.name} ---\n{p.tail(chars)}" for p in self.procs.values())

    # --- lifecycle ------------------------------------------------------------------------------

    @classmethod
    def create(cls, bootstrap: str, prefix: str, data_dir: Path, **extra_env: str) -> Stack:
        stack = cls(bootstrap=bootstrap, prefix=prefix, data_dir=data_dir)
        base = {
            **os.environ,
            "ANPR_KAFKA_BOOTSTRAP": bootstrap,
            "ANPR_TOPIC_PREFIX": prefix,
            "ANPR_ADMIN_TOKEN": ADMIN,
            "ANPR_DATA_DIR": str(data_dir),
            "ANPR_TOPIC_PARTITIONS": "2",
            "ANPR_MATCHER_STATUS_INTERVAL_S": "1",
            "PYTHONUNBUFFERED": "1",
            **extra_env,
        }
        for name, command, port_var in (
            ("api", "api", "ANPR_API_PORT"),
            ("ingest", "ingest", "ANPR_INGEST_PORT"),
            *((m, "matcher", "ANPR_MATCHER_PORT") for m in MATCHERS),
        ):
            port = free_port()
            env = {**base, port_var: str(port)}
            if command == "matcher":
                env["ANPR_MATCHER_ID"] = name
            stack.procs[name] = Proc(
                name, command, env, f"http://127.0.0.1:{port}", data_dir / f"{name}.log"
            )
        return stack

    def start_all(self) -> None:
        for proc in self.procs.values():
            proc.start()

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.alive():
                assert proc.popen is not None
                proc.popen.terminate()
        for proc in self.procs.values():
            proc.stop()

    async def wait_ready(self, *names: str, timeout_s: float = 60) -> None:
        """Until `/readyz` answers 200 on each named process (all when none named)."""
        deadline = time.monotonic() + timeout_s
        async with httpx.AsyncClient(timeout=2) as http:
            for name in names or tuple(self.procs):
                proc = self.procs[name]
                while True:
                    if not proc.alive():
                        raise StackError(f"{name} exited:\n{proc.tail()}")
                    try:
                        if (await http.get(f"{proc.url}/readyz")).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    if time.monotonic() > deadline:
                        raise StackError(f"{name} not ready in {timeout_s} s:\n{proc.tail()}")
                    await asyncio.sleep(0.2)

    # --- provisioning ---------------------------------------------------------------------------

    async def provision(self, timeout_s: float = 60) -> None:
        """Integrator, cameras, tokens and the hotlist; returns once both matchers applied the
        list and the gateway knows the cameras."""
        async with httpx.AsyncClient(timeout=10) as http:
            admin = bearer(ADMIN)

            async def created(path: str, body: dict[str, object]) -> dict[str, object]:
                response = await http.post(f"{self.api}{path}", headers=admin, json=body)
                if response.status_code != 201:
                    raise StackError(f"POST {path}: {response.status_code} {response.text}")
                answer: dict[str, object] = response.json()
                return answer

            made = await created("/v1/integrators", {"integrator_id": "int-f", "name": "Faults"})
            self.integrator_token = str(made["token"])
            for camera in CAMERAS:
                await created(
                    "/v1/cameras",
                    {"camera_id": camera, "integrator_id": "int-f", "name": camera, "zones": []},
                )
            self.operator_token = str(
                (await created("/v1/tokens", {"role": "operator", "name": "op"}))["token"]
            )
            self.supervisor_token = str(
                (await created("/v1/tokens", {"role": "supervisor", "name": "sup"}))["token"]
            )
            put = await http.put(
                f"{self.api}/v1/hotlists/{LIST_ID}",
                headers=bearer(self.supervisor_token),
                json={
                    "name": "Stolen",
                    "category": "stolen",
                    "priority": 1,
                    "match": "exact",
                    "covert": False,
                },
            )
            if put.status_code not in (200, 201):
                raise StackError(f"PUT hotlist: {put.status_code} {put.text}")
        await self.upload_entries(HIT_PLATES)
        await self.wait_list_applied(timeout_s=timeout_s)

    async def upload_entries(self, plates: tuple[str, ...]) -> None:
        """Replace the hotlist's entries (a new version) with one entry per plate."""
        csv = "entry_id,plate,country,zones,valid_from,valid_until,reason,action\n" + "".join(
            f"e{n},{plate},,,,,test,stop\n" for n, plate in enumerate(plates)
        )
        async with httpx.AsyncClient(timeout=30) as http:
            upload = await http.put(
                f"{self.api}/v1/hotlists/{LIST_ID}/entries",
                headers={**bearer(self.supervisor_token), "Content-Type": "text/csv"},
                content=csv,
            )
        if upload.status_code != 200:
            raise StackError(f"upload: {upload.status_code} {upload.text}")
        self.list_version = int(upload.json()["version"])

    async def add_camera(self, camera_id: str) -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            made = await http.post(
                f"{self.api}/v1/cameras",
                headers=bearer(ADMIN),
                json={"camera_id": camera_id, "integrator_id": "int-f", "name": camera_id},
            )
        if made.status_code != 201:
            raise StackError(f"POST /v1/cameras: {made.status_code} {made.text}")

    async def wait_list_applied(
        self, *, timeout_s: float, matchers: tuple[str, ...] = MATCHERS
    ) -> None:
        """Until `GET /v1/hotlists/{id}` shows each of `matchers` at the uploaded version."""
        deadline = time.monotonic() + timeout_s
        status: object = None
        async with httpx.AsyncClient(timeout=5) as http:
            while time.monotonic() < deadline:
                response = await http.get(
                    f"{self.api}/v1/hotlists/{LIST_ID}", headers=bearer(self.supervisor_token)
                )
                if response.status_code == 200:
                    status = response.json()
                    applied = {
                        m["matcher_id"]: m["applied_version"] for m in response.json()["matchers"]
                    }
                    if all(applied.get(m) == self.list_version for m in matchers):
                        return
                await asyncio.sleep(0.3)
        raise StackError(f"matchers did not apply v{self.list_version}: {status}\n{self.logs()}")
