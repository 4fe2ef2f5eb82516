"""What the gateway's app costs per request against the minimal peer's, both called as ASGI
apps in this process: no HTTP server, no broker.

    python -m benchmarks.app_costs [--batch 1] [--requests 20000] [--rounds 2]

Ours: the gateway's whole app (`ingest.app.create_app`: request ids, auth, rate limit,
admission, body, validation, camera check, dedup, aggregates, metrics, answer) on the embedded
bus with its `publish` replaced by one that stores nothing, so the produce path is left out.
The peer: `benchmarks.peer_gateway`'s FastAPI app with its producer's `send` answering at once.
Both get the same `POST /v1/reads` bodies (fresh read ids), on uvloop; the ways take turns
round by round and print CPU microseconds per request and per read. What is left of a request
in `benchmarks.http_stack` beyond this and the produce path (`benchmarks.produce_costs`) is
the server (uvicorn), the broker's I/O and the background tasks.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson
import uvloop
from starlette.types import ASGIApp, Message

from anpr.bus.base import LandedLate
from anpr.bus.base import Message as BusMessage
from anpr.clock import ms_to_rfc3339, now_ms
from tests.support.gateway import gateway_on_local_bus

WARM_REQUESTS = 2000


def bodies(count: int, batch: int) -> list[bytes]:
    captured = ms_to_rfc3339(now_ms())
    run = uuid.uuid4().hex[:8]
    out = []
    for n in range(count):
        reads = [
            {
                "read_id": f"r-{run}-{n}-{i}",
                "camera_id": "cam-1",
                "captured_at": captured,
                "plate": "AB12CDE",
                "country": "GB",
                "confidence": 0.93,
            }
            for i in range(batch)
        ]
        out.append(orjson.dumps(reads[0] if batch == 1 else reads))
    return out


async def post(app: ASGIApp, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    scope: dict[str, Any] = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/v1/reads", "raw_path": b"/v1/reads", "query_string": b"",
        "root_path": "", "headers": [*headers, (b"content-length", b"%d" % len(body))],
        "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8080), "state": {},
    }  # fmt: skip
    given = False
    status: list[int] = []

    async def receive() -> Message:
        nonlocal given
        if given:
            return {"type": "http.disconnect"}
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    await app(scope, receive, send)
    if status != [202]:
        raise SystemExit(f"answered {status}, not 202")


async def cpu_per_request(one: Callable[[bytes], Awaitable[None]], sent: Sequence[bytes]) -> float:
    for body in sent[:WARM_REQUESTS]:
        await one(body)
    measured = sent[WARM_REQUESTS:]
    started = time.process_time()
    for body in measured:
        await one(body)
    return (time.process_time() - started) / len(measured) * 1e6


async def stores_nothing(
    messages: Sequence[BusMessage], *, timeout_s: float, landed_late: LandedLate | None = None
) -> None:
    return None


async def ours(args: argparse.Namespace) -> float:
    async with gateway_on_local_bus(rate_limit_per_s=1e9, rate_limit_burst=1e9) as gateway:
        gateway.bus.publish = stores_nothing  # type: ignore[method-assign]
        headers = [
            (b"host", b"gateway"),
            (b"authorization", f"Bearer {gateway.token}".encode()),
            (b"content-type", b"application/json"),
        ]
        sent = bodies(WARM_REQUESTS + args.requests, args.batch)
        return await cpu_per_request(lambda body: post(gateway.app, headers, body), sent)


async def peer(args: argparse.Namespace) -> float:
    os.environ.setdefault("ANPR_KAFKA_BOOTSTRAP", "127.0.0.1:1")  # never connected
    from benchmarks import peer_gateway

    app = peer_gateway.app()

    async def sent_at_once(
        topic: str, value: bytes, key: bytes | None = None
    ) -> asyncio.Future[None]:
        future = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future

    producer = next(
        cell.cell_contents
        for route in app.routes
        if getattr(route, "path", "") == "/v1/reads"
        for cell in (getattr(route, "endpoint").__closure__ or ())  # noqa: B009
        if hasattr(cell.cell_contents, "send")
    )
    producer.send = sent_at_once
    headers = [(b"host", b"gateway"), (b"content-type", b"application/json")]
    sent = bodies(WARM_REQUESTS + args.requests, args.batch)
    return await cpu_per_request(lambda body: post(app, headers, body), sent)


async def measure(args: argparse.Namespace) -> None:
    ways = [("gateway app", ours), ("peer app", peer)]
    for round_ in range(1, args.rounds + 1):
        for name, way in ways if round_ % 2 else ways[::-1]:
            cost = await way(args)
            print(
                f"round {round_}: {name}: {cost:.1f} µs CPU per request, "
                f"{cost / args.batch:.2f} per read (batch {args.batch})",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=2)
    uvloop.run(measure(parser.parse_args()))


if __name__ == "__main__":
    main()
