"""An operator's client of `GET /v1/hits/stream` for the fault tests: collects every hit event,
and when the stream ends or the connection fails (the API was killed, say) reconnects with
`Last-Event-ID` = the last hit id it saw, as a browser's EventSource would.

It counts each hit_id it is served (a hit served twice is a failure of the system) and notes
when each arrived, so a test can tell when hits flow again after a fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
import orjson

RECONNECT_DELAY_S = 0.3


@dataclass(frozen=True, slots=True)
class Served:
    hit_id: str
    read_id: str
    plate: str
    entry_id: str
    arrived: float  # time.monotonic()


def parse_events(buffer: bytes) -> tuple[list[tuple[str, str, bytes]], bytes]:
    """Complete events in `buffer` as (event, id, data), and the incomplete rest."""
    events: list[tuple[str, str, bytes]] = []
    *blocks, rest = buffer.replace(b"\r\n", b"\n").split(b"\n\n")
    for block in blocks:
        name, event_id, data = "message", "", []
        for line in block.split(b"\n"):
            if not line or line.startswith(b":"):
                continue
            key, _, value = line.partition(b":")
            value = value.removeprefix(b" ")
            if key == b"event":
                name = value.decode()
            elif key == b"id":
                event_id = value.decode()
            elif key == b"data":
                data.append(value)
        if data:
            events.append((name, event_id, b"\n".join(data)))
    return events, rest


@dataclass
class HitCollector:
    api: str
    token: str
    served: list[Served] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    connects: int = 0
    resumes: int = 0  # connects that sent Last-Event-ID
    errors: list[str] = field(default_factory=list)
    last_event_id: str | None = None
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def served_reads(self) -> dict[str, Served]:
        return {s.read_id: s for s in self.served}

    def duplicates(self) -> dict[str, int]:
        return {hit_id: n for hit_id, n in self.counts.items() if n > 1}

    async def wait_connected(self, connects: int = 1, timeout_s: float = 20) -> None:
        """Until the stream has been (re)opened `connects` times in all."""
        async with asyncio.timeout(timeout_s):
            while self.connects < connects:
                self.connected.clear()
                await self.connected.wait()

    async def _run(self) -> None:
        async with httpx.AsyncClient(timeout=httpx.Timeout(10, read=30)) as http:
            while True:
                try:
                    await self._read_once(http)
                except (httpx.HTTPError, OSError) as exc:
                    self.errors.append(f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(RECONNECT_DELAY_S)

    async def _read_once(self, http: httpx.AsyncClient) -> None:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "text/event-stream"}
        if self.last_event_id:
            headers["Last-Event-ID"] = self.last_event_id
        async with http.stream("GET", f"{self.api}/v1/hits/stream", headers=headers) as response:
            if response.status_code != 200:
                await response.aread()
                self.errors.append(f"stream answered {response.status_code}")
                return
            self.connects += 1
            self.resumes += "Last-Event-ID" in headers
            self.connected.set()
            buffer = b""
            async for chunk in response.aiter_raw():
                events, buffer = parse_events(buffer + chunk)
                for name, event_id, data in events:
                    if name != "hit":
                        continue
                    hit = orjson.loads(data)
                    self.served.append(
                        Served(
                            hit_id=event_id,
                            read_id=hit["read"]["read_id"],
                            plate=hit["read"].get("plate_norm", ""),
                            entry_id=hit["entry_id"],
                            arrived=time.monotonic(),
                        )
                    )
                    self.counts[event_id] += 1
                    self.last_event_id = event_id
