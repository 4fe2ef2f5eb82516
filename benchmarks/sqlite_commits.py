"""What SQLite's WAL checkpoints cost the commits they run in, and what moving them aside saves.

    python -m benchmarks.sqlite_commits [--batches 1500] [--rounds 2] [--json out.json]

SQLite checkpoints from inside the commit that takes the WAL past 1,000 pages. Two writers of
this project commit on a latency path: the API's hit store (each batch of hits stored, then
placed in alerts, before the hits are streamed) and the embedded bus (each publish, on the
event loop). Each is timed per batch, with SQLite's checkpoints inside the commits (`inline`)
and with `anpr.sqlite_wal.SideCheckpoints` (`side`), rounds alternating, on files in a fresh
temporary directory each time:
- store: batches of 3 hits stored and placed (`add_hits_placed`, as `HitIngest` does) every 10 ms;
- bus: publishes of 100 reads of about 400 bytes over 200 camera keys every 50 ms (2,000 reads/s).
Per run: p50 / p90 / p99 / max ms of a batch, batches over 5 ms, the WAL file's size at the end
and, for `side`, the checkpoints run on the side.

    python -m benchmarks.sqlite_commits --placing [--hits 11] [--batches 1500] [--rounds 3]

instead times the hit store's two ways of storing and placing a batch of `--hits` hits, with
checkpoints on the side, rounds alternating the order: `together` (`add_hits_placed`, one
transaction, as `HitIngest` does) and `apart` (`add_hits`, then `add_sightings`: two hops to
the store's thread, two commits). Per run also the process CPU per batch.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from anpr.bus.base import Message
from anpr.bus.local import LocalBus
from api.alerts.placer import new_sighting
from api.store.base import NewHit
from api.store.sqlite import SqliteStore
from benchmarks.rounds import in_turn

STORE_PAUSE_S = 0.010
BUS_PAUSE_S = 0.050
SLOW_MS = 5.0


def _hit(n: int, at: int) -> NewHit:
    camera = f"cam-{n % 200:03d}"
    plate = f"AB{n:06d}"
    body = {
        "v": 1,
        "hit_id": f"h-{n:012d}",
        "read": {
            "read_id": f"r-{n}", "camera_id": camera, "plate": plate, "plate_norm": plate,
            "captured_at_ms": at - 400, "received_at": at - 10, "confidence": 0.93,
            "country": "GB", "direction": "towards", "lane": 1,
            "location": {"lat": 51.5 + n % 100 / 1000, "lon": -0.12},
        },
        "list_id": f"list-{n % 13}", "entry_id": f"e-{n}", "category": "stolen", "priority": 2,
        "covert": False, "test": False, "reason": "stolen vehicle", "action": "stop and check",
        "match": {"kind": "exact", "source": "plate", "read_plate": plate,
                  "entry_plate": plate, "distance": 0},
        "matched_at": at, "latency_ms": {"ingest_to_match": 10, "capture_to_match": 410},
    }  # fmt: skip
    return NewHit(body["hit_id"], at, camera, body["list_id"], plate, False, at, body)  # type: ignore[arg-type]


def _mib(path: Path) -> float:
    return round(path.stat().st_size / 2**20, 1) if path.exists() else 0.0


def _summary(times_ms: list[float], wal_mib: float, checkpoints: int | None) -> dict[str, Any]:
    times = sorted(times_ms)

    def q(p: float) -> float:
        return round(times[int(p * (len(times) - 1))], 2)

    return {
        "batches": len(times),
        "p50_ms": q(0.5),
        "p90_ms": q(0.9),
        "p99_ms": q(0.99),
        "max_ms": round(times[-1], 2),
        "over_5ms": sum(1 for t in times if t > SLOW_MS),
        "wal_mib": wal_mib,
        "side_checkpoints": checkpoints,
    }


async def store_run(
    directory: Path, side: bool, batches: int, *, hits: int = 3, together: bool = True
) -> dict[str, Any]:
    ran = [0]

    def heard(_seconds: float, _failed: bool) -> None:
        ran[0] += 1

    store = SqliteStore(directory / "api.sqlite3", on_checkpoint=heard, side_checkpoints=side)
    await store.open()
    times: list[float] = []
    n = 0
    cpu_started = time.process_time()
    try:
        for _ in range(batches):
            at = time.time_ns() // 1_000_000
            batch = [_hit(n + i, at) for i in range(hits)]
            n += hits
            started = time.perf_counter()
            sightings = [new_sighting(h) for h in batch]
            if together:
                await store.add_hits_placed(batch, sightings, lambda _: 300_000)
            else:
                await store.add_hits(batch)
                await store.add_sightings(sightings, lambda _: 300_000)
            times.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(STORE_PAUSE_S)
        cpu_ms = (time.process_time() - cpu_started) * 1000 / batches
        wal_mib = _mib(directory / "api.sqlite3-wal")
    finally:
        await store.close()  # waits for a checkpoint under way, so `ran` is complete
    return {**_summary(times, wal_mib, ran[0] if side else None), "cpu_ms": round(cpu_ms, 3)}


async def bus_run(directory: Path, side: bool, batches: int) -> dict[str, Any]:
    bus = LocalBus(directory / "bus.sqlite3", [], side_checkpoints=side)
    await bus.start()
    times: list[float] = []
    try:
        for b in range(batches):
            messages = [
                Message("reads", f"cam-{(b * 100 + i) % 200:03d}".encode(), os.urandom(200) * 2)
                for i in range(100)
            ]
            started = time.perf_counter()
            await bus.publish(messages, timeout_s=5.0)
            times.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(BUS_PAUSE_S)
        wal_mib = _mib(directory / "bus.sqlite3-wal")
    finally:
        await bus.stop()
    return _summary(times, wal_mib, None)


async def measure(batches: int, rounds: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for what, run, count in (
        ("store", store_run, batches),
        ("bus", bus_run, max(1, batches * 2 // 5)),
    ):
        for round_no in range(1, rounds + 1):
            for mode in ("inline", "side"):
                with tempfile.TemporaryDirectory(prefix="anpr-sqlite-commits-") as tmp:
                    result = await run(Path(tmp), mode == "side", count)
                rows.append({"what": what, "round": round_no, "checkpoints": mode, **result})
                print(_row(rows[-1]), flush=True)
    return rows


async def measure_placing(batches: int, rounds: int, hits: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for round_no in range(1, rounds + 1):
        for mode in in_turn(("apart", "together"), round_no - 1):
            with tempfile.TemporaryDirectory(prefix="anpr-sqlite-commits-") as tmp:
                result = await store_run(
                    Path(tmp), True, batches, hits=hits, together=mode == "together"
                )
            rows.append({"what": f"store {hits} hits", "round": round_no, "placing": mode,
                         **result})  # fmt: skip
            r = rows[-1]
            print(
                f"| {r['what']} | {round_no} | {mode} | {r['batches']} | {r['p50_ms']} | "
                f"{r['p90_ms']} | {r['p99_ms']} | {r['max_ms']} | {r['cpu_ms']} |",
                flush=True,
            )
    return rows


def _row(r: dict[str, Any]) -> str:
    side = "" if r["side_checkpoints"] is None else str(r["side_checkpoints"])
    return (
        f"| {r['what']} | {r['round']} | {r['checkpoints']} | {r['batches']} | {r['p50_ms']} | "
        f"{r['p90_ms']} | {r['p99_ms']} | {r['max_ms']} | {r['over_5ms']} | {r['wal_mib']} | "
        f"{side} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=1500, help="store batches (bus: 2/5)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", help="write the rows to this file")
    parser.add_argument("--placing", action="store_true", help="store and place: one way or two")
    parser.add_argument("--hits", type=int, default=11, help="(--placing) hits per batch")
    args = parser.parse_args(argv)
    if args.placing:
        print(
            "| writer | round | placing | batches | p50 ms | p90 ms | p99 ms | max ms | CPU ms "
            "|\n|---|---:|---|---:|---:|---:|---:|---:|---:|",
            flush=True,
        )
        rows = asyncio.run(measure_placing(args.batches, args.rounds, args.hits))
    else:
        print(
            "| writer | round | checkpoints | batches | p50 ms | p90 ms | p99 ms | max ms "
            "| over 5 ms | WAL MiB | side checkpoints |\n|---|---:|---|---:|---:|---:|---:|---:"
            "|---:|---:|---:|",
            flush=True,
        )
        rows = asyncio.run(measure(args.batches, args.rounds))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
