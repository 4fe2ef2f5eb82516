"""The event loop's lag while a hotlist upload is parsed on a worker thread, by switch interval.

    python -m benchmarks.gil_switch [--entries 600000] [--rounds 2] [--json out.json]

The API parses an upload on a worker thread (`anpr.threadwork.on_worker`). Meanwhile its loop
does what the API's loop does with the embedded bus: a few small SQLite calls every 5 ms (each
releases the GIL) and timers. A task asks to wake every millisecond and records how late it
woke. Each round parses the same CSV once with the interpreter's default switch interval
(`asyncio.to_thread`) and once through `on_worker`, in turn.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from anpr.threadwork import FINE_SWITCH_S, on_worker
from api.hotlists.upload import parse_upload

Parse = Callable[[str, bytes], Awaitable[object]]


async def _to_thread(content_type: str, body: bytes) -> object:
    return await asyncio.to_thread(parse_upload, content_type, body)


async def _on_worker(content_type: str, body: bytes) -> object:
    return await on_worker(parse_upload, content_type, body)


async def one(parse: Parse, body: bytes) -> dict[str, Any]:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (a)")
    lags: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            asked = time.perf_counter()
            await asyncio.sleep(0.001)
            lags.append(time.perf_counter() - asked - 0.001)

    async def poller() -> None:  # a consumer's idle check on the embedded bus
        while not stop.is_set():
            for _ in range(5):
                db.execute("SELECT count(*) FROM t").fetchone()
            await asyncio.sleep(0.005)

    tasks = [asyncio.create_task(ticker()), asyncio.create_task(poller())]
    started = time.perf_counter()
    await parse("text/csv", body)
    took = time.perf_counter() - started
    stop.set()
    await asyncio.gather(*tasks)
    db.close()
    ms = sorted(lag * 1000 for lag in lags)
    return {
        "parse_s": round(took, 2),
        "loop_turns_per_s": round(len(ms) / took),
        "lag_p50_ms": round(ms[len(ms) // 2], 1),
        "lag_p99_ms": round(ms[int(len(ms) * 0.99)], 1),
        "lag_max_ms": round(ms[-1], 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=600_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", help="write the result to this file")
    args = parser.parse_args(argv)
    rows = "".join(f"e{i},AB{i:07d}\n" for i in range(args.entries))
    body = ("entry_id,plate\n" + rows).encode()
    ways: dict[str, Parse] = {
        f"to_thread, switch {sys.getswitchinterval() * 1000:g} ms": _to_thread,
        f"on_worker, switch {FINE_SWITCH_S * 1000:g} ms": _on_worker,
    }
    rounds = []
    for n in range(args.rounds):
        names = list(ways) if n % 2 == 0 else list(reversed(ways))
        rounds.append({name: asyncio.run(one(ways[name], body)) for name in names})
    result = {
        "entries": args.entries,
        "rounds": rounds,
        "command": f"python -m benchmarks.gil_switch --entries {args.entries} "
        f"--rounds {args.rounds}",
    }
    text = json.dumps(result, indent=2)
    if args.json:
        with open(args.json, "w") as out:
            out.write(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
