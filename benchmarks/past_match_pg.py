"""Past-read matching on PostgreSQL: new entries against 24 hours of archived reads.

    python -m benchmarks.past_match_pg [--reads 1000000] [--entries 10000]
                                       [--fuzzy-entries 500] [--patterns 10]
                                       [--port 15601] [--json FILE]

Starts its own PostgreSQL with deploy/postgres/pg.sh (as `benchmarks.archive_pg` does), fills
the partitioned `reads` table with `--reads` reads captured over the last 24 hours by 5,000
cameras (about four reads per plate, generated inside PostgreSQL), then times one past-match
job per case, in its three parts:

1. **select**: the archive's candidate selection (`PastMatcher.select`: skeleton keys on the
   `plate_skeleton` index in chunks of 1,000, LIKE scans for patterns);
2. **publish**: each candidate decoded and encoded as a replay record (`PastMatcher._publish`,
   into a bus that only keeps the messages: the broker's transfer is left out);
3. **match**: the matcher's step on those records (`matcher.replay.handle_replay`) with the
   job's entries in its index.

Cases: `--entries` plate entries of an `ocr` list (half of them plates present in the archive,
half absent); `--fuzzy-entries` entries of a `fuzzy` list (each costs ~435 skeleton keys);
`--patterns` pattern entries (one scan of the window). The issue's target is 10,000 entries
against ~30 million reads in under a minute; this machine cannot hold 30M reads in a short run,
so the report gives the rates measured at `--reads` and how they extrapolate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psycopg
from prometheus_client import CollectorRegistry

from anpr.bus.base import LandedLate, Message, Record
from anpr.clock import now_ms
from anpr.codecs.pastmatch import JobState
from anpr.hotlists import Entry, ListConfig, MatchMode
from anpr.ids import EntryId, ListId
from anpr.runtime import Runtime
from anpr.topics import Topics
from api.archive.pastmatch import Job, PastMatchConfig, PastMatcher
from api.archive.pastmatch_plan import plan_candidates
from api.archive.pg_reads import PostgresReadStore
from api.archive.records import DAY_MS
from api.store import migrate
from benchmarks.archive_pg import CAMERAS, LETTERS, Server, plate_of
from benchmarks.subrun import run_module
from matcher.replay import decode_all, handle_replay
from matcher.state import MatcherState

TARGET_READS = 30_000_000
TARGET_ENTRIES = 10_000
TARGET_S = 60.0


# As benchmarks.archive_pg generates reads, with the whole read as on the reads topic in `body`
# (the replay hands it to the matcher, whose codec checks every field).
GENERATE = """
INSERT INTO reads (captured_at, read_id, camera_id, received_at, plate, plate_norm,
                   plate_skeleton, country, confidence, body)
SELECT ts, 'g-' || i, 'cam-' || (i %% %(cameras)s), ts + 400, p, p,
       translate(p, 'ODQIZSGB', '00012568'), 'BE', 0.9,
       convert_to(json_build_object('v', 1, 'read_id', 'g-' || i,
                                    'camera_id', 'cam-' || (i %% %(cameras)s),
                                    'integrator_id', 'int-1', 'captured_at', '',
                                    'captured_at_ms', ts, 'received_at', ts + 400,
                                    'plate', p, 'plate_norm', p, 'country', 'BE',
                                    'confidence', 0.9)::text, 'UTF8')
FROM (
  SELECT i, %(now)s - (random() * %(span)s)::bigint AS ts,
         ((n / 10648) %% 9 + 1)::text
           || substr(%(letters)s, n %% 22 + 1, 1) || substr(%(letters)s, (n / 22) %% 22 + 1, 1)
           || substr(%(letters)s, (n / 484) %% 22 + 1, 1) || lpad((n %% 1000)::text, 3, '0') AS p
  FROM (SELECT i, (hashint4(i %% %(plates)s::int) & 2147483647) %% 10000000 AS n
        FROM generate_series(%(lo)s::int, %(hi)s::int) AS i) g
) s
"""


def say(text: str) -> None:
    print(f"past_match_pg: {text}", file=sys.stderr, flush=True)


class CaptureBus:
    """Keeps what is published (the broker's transfer is not what is measured)."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def publish(
        self,
        messages: Sequence[Message],
        *,
        timeout_s: float,
        landed_late: LandedLate | None = None,
    ) -> None:
        self.messages.extend(messages)


async def generate(server: Server, rows: int) -> dict[str, Any]:
    now = now_ms()
    async with await psycopg.AsyncConnection.connect(
        server.url("anpr_owner"), autocommit=True
    ) as conn:
        for d in range(3):
            await conn.execute(
                "SELECT anpr_read_partition((to_timestamp(%s / 1000.0) AT TIME ZONE 'UTC')::date)",
                (now - d * DAY_MS,),
            )
        started = time.perf_counter()
        step = 250_000
        for lo in range(1, rows + 1, step):
            hi = min(lo + step - 1, rows)
            await conn.execute(
                GENERATE,
                {
                    "cameras": CAMERAS,
                    "now": now,
                    "span": DAY_MS,
                    "letters": LETTERS,
                    "plates": max(rows // 4, 1),
                    "lo": lo,
                    "hi": hi,
                },
            )
            say(f"generated {hi} reads")
        await conn.execute("VACUUM ANALYZE reads")
        seconds = time.perf_counter() - started
    return {"reads": rows, "generate_seconds": round(seconds, 1), "now": now}


async def archived_plates(server: Server, count: int) -> list[str]:
    async with await psycopg.AsyncConnection.connect(
        server.url("anpr_owner"), autocommit=True
    ) as conn:
        cur = await conn.execute(
            "SELECT DISTINCT plate_norm FROM reads TABLESAMPLE SYSTEM (2) LIMIT %s", (count,)
        )
        return [str(r[0]) for r in await cur.fetchall()]


def entries_of(list_id: str, plates: list[str], patterns: list[str]) -> list[Entry]:
    out = [
        Entry(entry_id=EntryId(f"e{i}"), list_id=ListId(list_id), version=2, plate=p)
        for i, p in enumerate(plates)
    ]
    out += [
        Entry(entry_id=EntryId(f"p{i}"), list_id=ListId(list_id), version=2, pattern=p)
        for i, p in enumerate(patterns)
    ]
    return out


async def one_job(
    store: PostgresReadStore, now: int, mode: MatchMode, entries: list[Entry]
) -> dict[str, Any]:
    bus = CaptureBus()
    runtime = Runtime("bench", bus, CollectorRegistry(), "deadletter")  # type: ignore[arg-type]
    config = PastMatchConfig(max_candidates=5_000_000, max_patterns=1000)
    # `archive` (the consumer whose lag a job waits on) is not needed: `select` is called.
    matcher = PastMatcher(
        runtime,
        store,
        Topics.from_prefix("bench."),
        config,
        archive=None,  # type: ignore[arg-type]
    )
    job = Job("bench@2", "bench", 2, mode, 24, now, {e.entry_id: e for e in entries})
    keys = len(plan_candidates(mode, entries, max_patterns=config.max_patterns).by_skeleton)

    t0 = time.perf_counter()
    selection = await matcher.select(job, now + 1)
    t1 = time.perf_counter()
    running = matcher._record(job, JobState.RUNNING, candidates=len(selection.reads))
    await matcher._publish(job, selection, running)
    t2 = time.perf_counter()

    state = MatcherState()
    list_config = ListConfig(
        list_id=ListId("bench"),
        name="bench",
        category="bench",
        priority=3,
        match=MatchMode(mode),
        covert=False,
        version=2,
        epoch=1,
        updated_at_ms=now,
    )
    state.index.replace_list(list_config, entries)
    records = [Record(m.topic, 0, i, m.key, m.value, now) for i, m in enumerate(bus.messages)]
    t3 = time.perf_counter()
    hits = 0
    for start in range(0, len(records), 2000):
        decoded, _ = decode_all(records[start : start + 2000])
        hits += len(handle_replay(decoded, state, {}, now_ms=now).hits)
    t4 = time.perf_counter()
    return {
        "mode": mode.value,
        "entries": len(entries),
        "skeleton_keys": keys,
        "candidates": len(selection.reads),
        "hits": hits,
        "select_s": round(t1 - t0, 3),
        "publish_s": round(t2 - t1, 3),
        "match_s": round(t4 - t3, 3),
        "total_s": round((t1 - t0) + (t2 - t1) + (t4 - t3), 3),
    }


def extrapolate(case: dict[str, Any], reads: int, *, linear: bool) -> dict[str, Any]:
    """To 10,000 entries and 30M reads. Index lookups grow with the entries (their depth in
    the index grows only logarithmically with the reads: counted as constant). Candidates grow
    with the entries and with the reads *per plate*: `linear=False` keeps those as generated
    (about 4 a day, a vehicle seen a few times), `linear=True` multiplies them by 30M/reads as
    if every plate were seen that much more often: an upper bound."""
    scale_entries = TARGET_ENTRIES / case["entries"]
    scale_reads = TARGET_READS / reads if linear else 1.0
    per_candidate = (case["publish_s"] + case["match_s"]) / max(case["candidates"], 1)
    candidates = case["candidates"] * scale_entries * scale_reads
    # The selection's time: its lookups with the entries, the rows it returns with candidates.
    estimate = case["select_s"] * scale_entries * scale_reads + per_candidate * candidates
    return {"candidates": round(candidates), "seconds": round(estimate, 1)}


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    random.seed(11)
    with Server(args.port) as server:
        await migrate.upgrade(server.url("anpr_owner"))
        say(f"generating {args.reads} reads over 24 hours ...")
        data = await generate(server, args.reads)
        now = data.pop("now")
        present = await archived_plates(server, args.entries // 2)
        absent = [plate_of(10_000_000 + random.randrange(1_000_000)) for _ in range(args.entries)]
        plates = (present + absent)[: args.entries]
        store = PostgresReadStore(server.url("anpr_app"), migrate_on_start=False)
        await store.open()
        cases: dict[str, Any] = {}
        try:
            say(f"ocr list, {len(plates)} entries ...")
            cases["ocr"] = await one_job(store, now, MatchMode.OCR, entries_of("bench", plates, []))
            say(f"{cases['ocr']}")
            fuzzy = plates[: args.fuzzy_entries // 2] + absent[: args.fuzzy_entries // 2]
            say(f"fuzzy list, {len(fuzzy)} entries ...")
            cases["fuzzy"] = await one_job(
                store, now, MatchMode.FUZZY, entries_of("bench", fuzzy, [])
            )
            say(f"{cases['fuzzy']}")
            patterns = [f"{p[:4]}*" for p in present[: args.patterns]]
            say(f"{len(patterns)} patterns ...")
            cases["pattern"] = await one_job(
                store, now, MatchMode.EXACT, entries_of("bench", [], patterns)
            )
            say(f"{cases['pattern']}")
        finally:
            await store.close()
    return {
        "data": data,
        "cases": cases,
        "extrapolated_to_30M_reads_10k_entries": {
            name: {
                "same_reads_per_plate": extrapolate(case, args.reads, linear=False),
                "every_plate_seen_more_often": extrapolate(case, args.reads, linear=True),
            }
            for name, case in cases.items()
            if name != "pattern"
        },
        "target": {"entries": TARGET_ENTRIES, "reads": TARGET_READS, "seconds": TARGET_S},
    }


def in_suite(*, quick: bool) -> dict[str, Any]:
    """For `make bench` (benchmarks.run): this module in a subprocess, its JSON back."""
    reads, entries, fuzzy = ["100000", "2000", "100"] if quick else ["1000000", "10000", "500"]
    return run_module(
        "benchmarks.past_match_pg",
        ["--reads", reads, "--entries", entries, "--fuzzy-entries", fuzzy],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--reads", type=int, default=1_000_000)
    parser.add_argument("--entries", type=int, default=TARGET_ENTRIES)
    parser.add_argument("--fuzzy-entries", type=int, default=500)
    parser.add_argument("--patterns", type=int, default=10)
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("ANPR_BENCH_PG_PORT", 15601))
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
