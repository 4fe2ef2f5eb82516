"""Following `GET /v1/hits/stream` (server-sent events) and timing each hit's arrival.

`follow_hits` reconnects with `Last-Event-ID` when the stream ends or the API drops a slow
client, so no hit is missed; each hit is handed over with the wall-clock instant (epoch ms) its
event was read off the socket, before it is decoded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

log = logging.getLogger(__name__)

OnHit = Callable[[dict[str, Any], float], None]  # (hit, arrived epoch ms)
RECONNECT_DELAY_S = 0.2


@dataclass(slots=True)
class StreamState:
    events: int = 0
    connects: int = 0
    errors: int = 0
    last_event_id: str | None = None
    connected: asyncio.Event | None = None


def parse_events(buffer: bytes) -> tuple[list[tuple[str, str, bytes]], bytes]:
    """Complete events of `buffer` as (event, id, data) and the incomplete rest. Pure."""
    events: list[tuple[str, str, bytes]] = []
    buffer = buffer.replace(b"\r\n", b"\n")
    *blocks, rest = buffer.split(b"\n\n")
    for block in blocks:
        name, event_id, data = "message", "", []
        for line in block.split(b"\n"):
            if not line or line.startswith(b":"):
                continue
            field, _, value = line.partition(b":")
            value = value.removeprefix(b" ")
            if field == b"event":
                name = value.decode()
            elif field == b"id":
                event_id = value.decode()
            elif field == b"data":
                data.append(value)
        if data or event_id:
            events.append((name, event_id, b"\n".join(data)))
    return events, rest


async def _read_once(
    client: httpx.AsyncClient, url: str, token: str, on_hit: OnHit, state: StreamState
) -> None:
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    if state.last_event_id:
        headers["Last-Event-ID"] = state.last_event_id
    async with client.stream("GET", url, headers=headers, timeout=None) as response:
        if response.status_code != 200:
            await response.aread()
            raise httpx.HTTPStatusError(
                f"hit stream answered {response.status_code}: {response.text[:200]}",
                request=response.request,
                response=response,
            )
        state.connects += 1
        if state.connected is not None:
            state.connected.set()
        buffer = b""
        async for chunk in response.aiter_raw():
            arrived = time.time() * 1000
            events, buffer = parse_events(buffer + chunk)
            for name, event_id, data in events:
                if name != "hit":
                    continue
                state.events += 1
                state.last_event_id = event_id
                on_hit(orjson.loads(data), arrived)


async def follow_hits(
    client: httpx.AsyncClient,
    api: str,
    token: str,
    on_hit: OnHit,
    *,
    stop: asyncio.Event,
    state: StreamState | None = None,
) -> StreamState:
    """Follow the stream until `stop` is set; reconnects (resuming) on any failure."""
    state = state or StreamState()
    url = api.rstrip("/") + "/v1/hits/stream"
    while not stop.is_set():
        reader = asyncio.create_task(_read_once(client, url, token, on_hit, state))
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({reader, stopper}, return_when=asyncio.FIRST_COMPLETED)
        for task in (reader, stopper):
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if reader in done and reader.exception() is not None:
            state.errors += 1
            exc = reader.exception()
            if isinstance(exc, httpx.HTTPStatusError) and exc.response.status_code in (401, 403):
                raise exc
            log.warning("hit stream: %s; reconnecting", exc)
        if not stop.is_set():
            await asyncio.sleep(RECONNECT_DELAY_S)
    return state
