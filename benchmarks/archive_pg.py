"""The read archive on PostgreSQL: write rate of one archive writer, and plate-search latency.

    python -m benchmarks.archive_pg [--write-reads 200000] [--search-reads 2000000]
                                    [--queries 200] [--port 15433] [--json FILE]

Starts its own PostgreSQL with deploy/postgres/pg.sh (a temp data dir, `--port`), migrates a
fresh database, then:

1. **write**: `--write-reads` reads, encoded as on the reads topic, through
   `ArchiveService.handle_batch` in batches of 2,000 (the consumer loop's batch): decode,
   skeleton, binary COPY into the staging table, INSERT ... ON CONFLICT into the day partitions.
   The broker is left out (the consumer's fetch is not the archive's cost); reads/s over the run.
2. **search**: `--search-reads` reads over 30 days and 5,000 cameras generated inside PostgreSQL
   (generate_series), ~4 reads per plate, then `--queries` 30-day searches of random existing
   plates, exact and OCR-tolerant alike (`PostgresReadStore.search`, first page of 50):
   p50/p95/p99 per mode.

The issue's targets: 20,000 reads/s for the writer; p95 < 200 ms at 50 million reads. This
machine (2 shared cores) is far too small to hold 50M reads within a short run: the dataset size
is a parameter and the report says which was used.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
import psycopg
from pydantic import SecretStr

from anpr.bus.base import Record
from anpr.clock import now_ms
from anpr.normalize import normalize_plate
from api.archive.base import PlateMatch, ReadQuery
from api.archive.pg_reads import PostgresReadStore
from api.archive.records import DAY_MS
from api.archive.service import ArchiveService
from api.archive.settings import ArchiveSettings
from api.store import migrate
from simulator.stats import percentile

ROOT = Path(__file__).resolve().parents[1]
PG_SCRIPT = ROOT / "deploy" / "postgres" / "pg.sh"
BATCH = 2000
CAMERAS = 5000
LETTERS = "ABCDEFGHJKLMNPRSTVWXYZ"


def say(text: str) -> None:
    print(f"archive_pg: {text}", file=sys.stderr, flush=True)


def plate_of(n: int) -> str:
    """A plate like `1ABC234` from a number (deterministic, ~10M distinct)."""
    a, b, c = LETTERS[n % 22], LETTERS[(n // 22) % 22], LETTERS[(n // 484) % 22]
    return f"{(n // 10648) % 9 + 1}{a}{b}{c}{n % 1000:03d}"


def read_value(i: int, now: int) -> bytes:
    plate = plate_of(random.randrange(2_000_000))
    captured = now - random.randrange(DAY_MS)
    return orjson.dumps(
        {
            "v": 1,
            "read_id": f"w-{i}",
            "camera_id": f"cam-{i % CAMERAS}",
            "integrator_id": "int-1",
            "captured_at": "",
            "captured_at_ms": captured,
            "received_at": captured + 400,
            "plate": plate,
            "plate_norm": normalize_plate(plate),
            "country": "BE",
            "confidence": 0.91,
            "direction": "approaching",
        }
    )


class Server:
    def __init__(self, port: int) -> None:
        self.port = port
        self.data = Path(tempfile.mkdtemp(prefix="anpr-bench-pg-"))

    def _run(self, action: str) -> None:
        env = {**os.environ, "PG_PORT": str(self.port), "PG_DATA_DIR": str(self.data)}
        done = subprocess.run(  # noqa: S603
            ["bash", str(PG_SCRIPT), action],  # noqa: S607
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"pg.sh {action} failed: {done.stderr.strip()[-800:]}")

    def __enter__(self) -> Server:
        self._run("up")
        return self

    def __exit__(self, *exc: object) -> None:
        self._run("down")
        shutil.rmtree(self.data, ignore_errors=True)

    def url(self, user: str, db: str = "anpr") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{db}"


async def write_rate(server: Server, count: int) -> dict[str, Any]:
    settings = ArchiveSettings(
        database_url=SecretStr(server.url("anpr_app")),
        database_migrate_url=SecretStr(server.url("anpr_owner")),
    )
    service = ArchiveService(settings, bus=None, poll_ms=100)  # type: ignore[arg-type]
    now = now_ms()
    values = [read_value(i, now) for i in range(count)]
    batches = [
        [Record("reads", 0, i + j, None, v, now, ()) for j, v in enumerate(values[i : i + BATCH])]
        for i in range(0, count, BATCH)
    ]
    await service.reads.open()
    try:
        await service.handle_batch(batches[0])  # warm: partitions made, connection up
        started = time.perf_counter()
        for batch in batches[1:]:
            await service.handle_batch(batch)
        elapsed = time.perf_counter() - started
        replay_started = time.perf_counter()
        for batch in batches[1:6]:
            await service.handle_batch(batch)  # a replay: all duplicates
        replay = time.perf_counter() - replay_started
    finally:
        await service.reads.close()
    written = count - len(batches[0])
    return {
        "reads": written,
        "batch": BATCH,
        "seconds": round(elapsed, 3),
        "reads_per_s": round(written / elapsed),
        "replay_reads_per_s": round(5 * BATCH / replay),
        "stored": int(service.metrics.reads.labels("stored")._value.get()),
    }


GENERATE = """
INSERT INTO reads (captured_at, read_id, camera_id, received_at, plate, plate_norm,
                   plate_skeleton, country, confidence, body)
SELECT ts, 'g-' || i, 'cam-' || (i %% %(cameras)s), ts + 400, p, p,
       translate(p, 'ODQIZSGB', '00012568'), 'BE', 0.9,
       convert_to(json_build_object('v', 1, 'read_id', 'g-' || i,
                                    'camera_id', 'cam-' || (i %% %(cameras)s), 'plate', p,
                                    'plate_norm', p, 'captured_at_ms', ts)::text, 'UTF8')
FROM (
  SELECT i, %(now)s - (random() * %(span)s)::bigint AS ts,
         ((n / 10648) %% 9 + 1)::text
           || substr(%(letters)s, n %% 22 + 1, 1) || substr(%(letters)s, (n / 22) %% 22 + 1, 1)
           || substr(%(letters)s, (n / 484) %% 22 + 1, 1) || lpad((n %% 1000)::text, 3, '0') AS p
  FROM (SELECT i, (hashint4(i %% %(plates)s::int) & 2147483647) %% 10000000 AS n
        FROM generate_series(%(lo)s::int, %(hi)s::int) AS i) g
) s
"""


async def _drop_indexes(conn: psycopg.AsyncConnection[Any]) -> list[str]:
    """Drop the archive's primary key and indexes; the statements that make them again."""
    cur = await conn.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = 'reads'::regclass AND contype = 'p'"
    )
    keys = await cur.fetchall()
    cur = await conn.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'reads'"
        " AND indexname NOT IN (SELECT conname FROM pg_constraint"
        " WHERE conrelid = 'reads'::regclass)"
    )
    indexes = await cur.fetchall()
    remake: list[str] = []
    for name, definition in keys:
        await conn.execute(f'ALTER TABLE reads DROP CONSTRAINT "{name}"')
        remake.append(f'ALTER TABLE reads ADD CONSTRAINT "{name}" {definition}')
    for name, definition in indexes:
        await conn.execute(f'DROP INDEX "{name}"')
        remake.append(definition)
    return remake


async def search_latency(server: Server, rows: int, queries: int) -> dict[str, Any]:
    now = now_ms()
    plates = max(rows // 4, 1)
    async with await psycopg.AsyncConnection.connect(
        server.url("anpr_owner"), autocommit=True
    ) as conn:
        for d in range(32):
            await conn.execute(
                "SELECT anpr_read_partition((to_timestamp(%s / 1000.0) AT TIME ZONE 'UTC')::date)",
                (now - d * DAY_MS,),
            )
        started = time.perf_counter()
        # Generated without the indexes, which are then built over the whole table, as
        # `pg_restore` does: the same end state, hours faster at tens of millions of rows.
        indexes = await _drop_indexes(conn)
        step = 1_000_000
        for lo in range(1, rows + 1, step):
            hi = min(lo + step - 1, rows)
            await conn.execute(
                GENERATE,
                {
                    "cameras": CAMERAS,
                    "now": now,
                    "span": 30 * DAY_MS,
                    "letters": LETTERS,
                    "plates": plates,
                    "lo": lo,
                    "hi": hi,
                },
            )
        say(f"generated {rows:,} reads in {time.perf_counter() - started:.0f} s; indexing")
        await conn.execute("SET maintenance_work_mem = '512MB'")
        for statement in indexes:
            await conn.execute(statement)
        await conn.execute("VACUUM ANALYZE reads")
        generated = time.perf_counter() - started
        cur = await conn.execute(
            "SELECT plate_norm FROM reads TABLESAMPLE SYSTEM (1) LIMIT %s", (queries,)
        )
        sample = [str(r[0]) for r in await cur.fetchall()]
    store = PostgresReadStore(server.url("anpr_app"), migrate_on_start=False)
    await store.open()
    out: dict[str, Any] = {"reads": rows, "generate_seconds": round(generated, 1)}
    try:
        for match in (PlateMatch.EXACT, PlateMatch.OCR):
            times: list[float] = []
            found = 0
            for plate in sample:
                query = ReadQuery(plate, match, None, now - 30 * DAY_MS, now + 1)
                t0 = time.perf_counter()
                page = await store.search(query, after=None, limit=50)
                times.append((time.perf_counter() - t0) * 1000)
                found += len(page)
            times.sort()
            out[match.value] = {
                "queries": len(times),
                "p50_ms": round(percentile(times, 0.50), 2),
                "p95_ms": round(percentile(times, 0.95), 2),
                "p99_ms": round(percentile(times, 0.99), 2),
                "mean_sightings": round(found / max(len(times), 1), 1),
            }
    finally:
        await store.close()
    return out


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    random.seed(7)
    with Server(args.port) as server:
        await migrate.upgrade(server.url("anpr_owner"))
        write: dict[str, Any] = {}
        if args.write_reads > 0:
            say(f"writing {args.write_reads} reads through the archive writer ...")
            write = await write_rate(server, args.write_reads)
            say(f"write: {write['reads_per_s']} reads/s")
        say(f"generating {args.search_reads} reads over 30 days, then {args.queries} searches")
        search = await search_latency(server, args.search_reads, args.queries)
        say(f"search: exact p95 {search['exact']['p95_ms']} ms, ocr p95 {search['ocr']['p95_ms']}")
    return {"write": write, "search": search, "targets": {"reads_per_s": 20000, "p95_ms": 200}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write-reads", type=int, default=200_000)
    parser.add_argument("--search-reads", type=int, default=2_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("ANPR_BENCH_PG_PORT", 15433))
    )
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    result = asyncio.run(main_async(args))
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
