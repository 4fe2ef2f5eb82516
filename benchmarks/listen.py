"""The benchmark's control room: follows the hit stream in its own process and writes one line
per hit, `[arrived_ms, hit_id, read_id, list_id, entry_id, received_at, kind, source,
ingest_to_match]`, to an NDJSON file (flushed every 100 ms) until SIGTERM.

    ANPR_ADMIN_TOKEN=... python -m benchmarks.listen --api URL --out hits.ndjson

It prints `connected` on stdout once the stream is open, and its reconnect counts as JSON on
its last line when it stops.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

import httpx
import orjson

from simulator.simulate import event_loop_runner
from simulator.sse import StreamState, follow_hits

FLUSH_S = 0.1


async def listen(api: str, token: str, out: Path) -> dict[str, Any]:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    state = StreamState(connected=asyncio.Event())
    with out.open("wb") as handle:
        pending: list[bytes] = []

        def on_hit(hit: dict[str, Any], arrived: float) -> None:
            read, match = hit.get("read") or {}, hit.get("match") or {}
            row = [
                round(arrived, 2),
                hit.get("hit_id"),
                read.get("read_id"),
                hit.get("list_id"),
                hit.get("entry_id"),
                read.get("received_at"),
                match.get("kind"),
                match.get("source"),
                (hit.get("latency_ms") or {}).get("ingest_to_match"),
            ]
            pending.append(orjson.dumps(row) + b"\n")

        async def flusher() -> None:
            while True:
                await asyncio.sleep(FLUSH_S)
                if pending:
                    handle.write(b"".join(pending))
                    pending.clear()
                    handle.flush()

        async def announce() -> None:
            assert state.connected is not None  # noqa: S101
            await state.connected.wait()
            print("connected", flush=True)

        timeout = httpx.Timeout(10.0, read=None)  # a stream may be idle between keep-alives
        async with httpx.AsyncClient(timeout=timeout) as client:
            tasks = [asyncio.create_task(flusher()), asyncio.create_task(announce())]
            await follow_hits(client, api, token, on_hit, stop=stop, state=state)
            for task in tasks:
                task.cancel()
        handle.write(b"".join(pending))
    return {"events": state.events, "connects": state.connects, "errors": state.errors}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--api", required=True)
    parser.add_argument("--token", default=os.environ.get("ANPR_ADMIN_TOKEN"))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("--token or ANPR_ADMIN_TOKEN is needed")
    result = event_loop_runner()(listen(args.api, args.token, args.out))
    print(orjson.dumps(result).decode(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
