"""Sending reads to the gateway over HTTP/1.1 keep-alive connections: httpx (the default of
`anpr simulate`) or the lean client of `simulator.rawhttp` (the benchmark's load generator).

`open_loop` keeps the schedule whatever the server does (see `simulator.schedule`): each due
request takes one of `connections` slots; when none is free it waits, is counted late, and its
latency still runs from its due instant. `closed_loop` is the other model, for a throughput
ceiling only: `connections` workers each send the next request as soon as the previous answer
came back, so its latencies are service times under saturation, not what a camera would see.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import orjson

from simulator.rawhttp import RawHttpError, RawPool
from simulator.schedule import Schedule, SendStats

# (k, due wall-clock ms) -> request body; `None` when there is nothing more to send.
BodyMaker = Callable[[int, float], bytes | None]
Answered = Callable[[int, int, dict[str, object] | None], None]  # (k, status, body)
Tick = Callable[[float], Awaitable[None] | None]
Post = Callable[[bytes], Awaitable[tuple[int, bytes]]]  # body -> (status, answer body)
START_DELAY_S = 0.05


@dataclass(frozen=True, slots=True)
class Target:
    url: str  # e.g. http://127.0.0.1:8080/v1/reads
    headers: dict[str, str]


def make_client(connections: int, timeout_s: float = 60.0) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(limits=limits, timeout=timeout_s, http2=False)


def httpx_post(client: httpx.AsyncClient, target: Target) -> Post:
    async def post(body: bytes) -> tuple[int, bytes]:
        response = await client.post(target.url, content=body, headers=target.headers)
        return response.status_code, response.content

    return post


def raw_post(pool: RawPool, target: Target) -> Post:
    path = urlsplit(target.url).path

    async def post(body: bytes) -> tuple[int, bytes]:
        return await pool.post(path, body, target.headers)

    return post


async def _send(
    post: Post,
    body: bytes,
    k: int,
    stats: SendStats,
    answered: Answered | None,
    started: float,
    due: float,
) -> None:
    parsed: dict[str, object] | None = None
    try:
        code, content = await post(body)
        status = str(code)
        if code in (202, 403, 422):
            try:
                loaded = orjson.loads(content)
            except orjson.JSONDecodeError:
                loaded = None
            if isinstance(loaded, dict):
                parsed = loaded
                stats.counted(loaded)
    except (httpx.HTTPError, RawHttpError) as exc:
        code, status = 0, type(exc).__name__
    ended = time.perf_counter()
    stats.answered(k, status, (ended - due) * 1000, (ended - started) * 1000)
    if answered is not None:
        answered(k, code, parsed)


async def open_loop(
    post: Post,
    schedule: Schedule,
    make_body: BodyMaker,
    stats: SendStats,
    *,
    connections: int,
    answered: Answered | None = None,
    tick: Tick | None = None,
    tick_every_s: float = 5.0,
    stop: asyncio.Event | None = None,
    drain_timeout_s: float = 60.0,
) -> float:
    """Send `schedule.requests` requests on time; returns the seconds from start to last answer."""
    slots = asyncio.Semaphore(connections)
    tasks: set[asyncio.Task[None]] = set()
    clock = time.perf_counter
    start = clock() + START_DELAY_S
    wall_start_ms = time.time() * 1000 + START_DELAY_S * 1000

    async def one(k: int, due: float) -> None:
        async with slots:
            now = clock()
            body = make_body(k, wall_start_ms + (due - start) * 1000)
            if body is None:
                return
            stats.dispatched((now - due) * 1000)
            await _send(post, body, k, stats, answered, now, due)

    k, total = 0, schedule.requests
    next_tick = tick_every_s
    while k < total and not (stop is not None and stop.is_set()):
        elapsed = clock() - start
        for _ in range(k, schedule.due(elapsed)):
            task = asyncio.create_task(one(k, start + schedule.intended(k)))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            k += 1
        if tick is not None and elapsed >= next_tick:
            next_tick += tick_every_s
            pending = tick(elapsed)
            if pending is not None:
                await pending
        if k < total:
            await asyncio.sleep(max(0.0, start + schedule.intended(k) - clock()))
    if tasks:
        _, unfinished = await asyncio.wait(tasks, timeout=drain_timeout_s)
        for task in unfinished:
            task.cancel()
            stats.statuses["unanswered"] += 1
    return clock() - start


async def closed_loop(
    post: Post,
    duration_s: float,
    make_body: BodyMaker,
    stats: SendStats,
    *,
    connections: int,
    answered: Answered | None = None,
) -> float:
    """`connections` workers sending back to back for `duration_s`; returns elapsed seconds."""
    clock = time.perf_counter
    start = clock()
    deadline = start + duration_s
    counter = iter(range(10**12))

    async def worker() -> None:
        while clock() < deadline:
            k = next(counter)
            now = clock()
            body = make_body(k, time.time() * 1000)
            if body is None:
                return
            stats.dispatched(0.0)
            await _send(post, body, k, stats, answered, now, now)

    await asyncio.gather(*(worker() for _ in range(connections)))
    return clock() - start
