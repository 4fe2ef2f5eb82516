"""The matcher through Kafka against a plain aiokafka loop, timed from offset 0 to lag 0.

    python -m benchmarks.matcher_kafka --bootstrap 127.0.0.1:9092 [--reads 200000]
        [--entries 1000000] [--rounds 2] [--consumers matcher,plain,kstreams,mix] [--json out.json]
        [--baseline DIR --consumers matcher,plain,baseline] (`baseline-mix`: its matcher with
        lists of every mode, against `mix`)

Reads are preloaded once on a fresh topic (1 % of them plates of the list, no OCR candidates,
so an exact lookup finds every hit). Then each consumer runs in a fresh process of its own, in
turn (A B, then B A: `benchmarks.rounds`), with a new consumer group, and is timed until every
preloaded read was handled and its hits acknowledged (lag 0): from its first fetched batch
(`reads_per_s`; the group join, a few seconds that do not depend on the consumer, is left out)
and from the moment its consumer is made (`seconds`):

- `matcher`: the project's read path as `anpr matcher` runs it: `KafkaBus`, the kernel's
  `ConsumerLoop` (commits every 0.5 s), `MatcherService._process` (`matcher.batch`: typed
  decode, the `HotlistIndex`, hit records, metrics) and the hits published with acks=all;
- `plain`: the peer: an `AIOKafkaConsumer` getmany loop, `orjson.loads`, a dict lookup on
  `plate_norm`, a small hit `orjson.dumps`-ed and sent with an idempotent acks=all producer,
  a commit per batch;
- `mix`: the matcher as `matcher`, with lists of every mode loaded besides the exact list
  (`benchmarks.matcher_core`'s scenario `all`: `--entries` more entries in exact, OCR, fuzzy,
  pattern and zone lists), so every read is also looked up by OCR skeleton, fuzzy neighbours
  and patterns; only the exact list's hits are counted against the others';
- `kstreams`: the issue's other peer, a Kafka Streams app (`benchmarks/kstreams/ExactMatch.java`,
  one stream thread, commits every 0.5 s, Jackson for the JSON, a HashMap lookup, the same hit
  written acks=all with idempotence), run with `java` (`benchmarks.kstreams_peer`).

Both load one exact list of `--entries` plates first (not timed) and must produce the same
number of hits; a round where they differ is reported as failed. Reads/s are per round and
the ratio matcher/plain is taken round by round (the machine is shared: compare ratios).
Progress goes to stderr; the summary (JSON) to stdout or `--json`.

`--instances 1,2` (scale-out): instead, groups of 1 and of 2 `matcher` processes, all members
of one fresh consumer group per run, share the preloaded topic (`PARTITIONS` partitions, split
by the group). They load their lists, then start together; a run is timed from the first
fetched batch of any member until the members' handled reads and hits are complete (the
group's committed lag is then checked to be 0). Reads/s per run, the ratio 2/1 per round.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import functools
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from anpr.bus.base import LandedLate, Message, Record
from anpr.clock import ms_to_rfc3339, now_ms
from anpr.consume import ConsumerLoop
from anpr.deadletter import Poison
from anpr.ids import EntryId, ListId
from benchmarks.rounds import in_turn
from benchmarks.scaleout import scale_ratios

LETTERS = "ABCDEFGHJKLMNPRSTVWXYZ"
DIGITS = "0123456789"
HIT_RATE = 0.01
PARTITIONS = 2


def plates(n: int, seed: int) -> list[str]:
    """`n` distinct normalized plates, the same for a seed."""
    rng = random.Random(seed)
    out: set[str] = set()
    while len(out) < n:
        out.add(
            "".join(rng.choice(DIGITS) for _ in range(1))
            + "".join(rng.choice(LETTERS) for _ in range(3))
            + "".join(rng.choice(DIGITS) for _ in range(3))
        )
    return sorted(out)


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# -- preload ---------------------------------------------------------------------------------------


async def preload(
    bootstrap: str, topic: str, hits_topics: list[str], reads: int, entries: int
) -> int:
    """Create the topics and write `reads` reads; the number of reads that are on the list."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(topic, PARTITIONS, 1)] + [NewTopic(t, PARTITIONS, 1) for t in hits_topics]
        )
    finally:
        await admin.close()
    listed = plates(entries, seed=1)
    rng = random.Random(2)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, linger_ms=20, max_batch_size=512 * 1024, acks=1
    )
    await producer.start()
    expected = 0
    base = now_ms() - 60_000
    try:
        pending = []
        for i in range(reads):
            hit = rng.random() < HIT_RATE
            plate = rng.choice(listed) if hit else f"X{rng.randrange(10**7):07d}"
            expected += hit
            captured = base + i
            camera_id = f"cam-{i % 200:03d}"
            read = {
                "v": 1,
                "read_id": f"r-{i:09d}",
                "camera_id": camera_id,
                "integrator_id": "int-1",
                "captured_at": ms_to_rfc3339(captured),
                "captured_at_ms": captured,
                "received_at": captured + 40,
                "plate": plate,
                "plate_norm": plate,
                "country": "GB",
                "confidence": 0.91,
                "direction": "towards",
                "lane": 1,
                "location": {"lat": 51.5, "lon": -0.12},
            }
            pending.append(await producer.send(topic, orjson.dumps(read), key=camera_id.encode()))
            if len(pending) >= 20_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return expected


# -- the contestants (each in a process of its own) ------------------------------------------------


async def run_plain(
    bootstrap: str, topic: str, hits_topic: str, reads: int, entries: int
) -> dict[str, Any]:
    listed = {plate: f"E{i:08d}" for i, plate in enumerate(plates(entries, seed=1))}
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True,
                                linger_ms=2)  # fmt: skip
    await producer.start()
    started = time.perf_counter()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"plain-{uuid.uuid4().hex}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",  # fetch sizes: aiokafka's defaults
    )
    await consumer.start()
    seen = hits = 0
    first: float | None = None
    try:
        while seen < reads:
            batches = await consumer.getmany(timeout_ms=100, max_records=2000)
            if batches and first is None:
                first = time.perf_counter()
            futures = []
            for records in batches.values():
                for record in records:
                    read = orjson.loads(record.value)
                    entry = listed.get(read["plate_norm"])
                    if entry is not None:
                        hit = {"read_id": read["read_id"], "entry_id": entry,
                               "camera_id": read["camera_id"], "plate": read["plate"]}  # fmt: skip
                        futures.append(await producer.send(hits_topic, orjson.dumps(hit)))
                seen += len(records)
            if futures:
                await asyncio.gather(*futures)
                hits += len(futures)
            if batches:
                await consumer.commit()
        ended = time.perf_counter()
    finally:
        await consumer.stop()
        await producer.stop()
    return timing(seen, hits, started, first, ended)


async def run_matcher(
    bootstrap: str,
    topic: str,
    hits_topic: str,
    reads: int,
    entries: int,
    group: str | None = None,
    *,
    mix: bool = False,
) -> dict[str, Any]:
    """The matcher alone (`group` None) or as one member of a shared group (`member_loop`).

    `mix`: the lists of every mode (`benchmarks.matcher_core`'s scenario `all`, `entries`
    entries: exact, OCR, fuzzy, patterns, zone lists) are loaded besides the exact list, and
    only the exact list's hits are counted (the others have no peer to compare with)."""
    from prometheus_client import CollectorRegistry

    from anpr.bus.kafka import KafkaBus
    from anpr.hotlists import Entry, ListConfig, MatchMode
    from anpr.runtime import Runtime
    from matcher.metrics import MatcherMetrics
    from matcher.service import MatcherService
    from matcher.settings import MatcherSettings

    prefix = topic.removesuffix("reads.v1")
    settings = MatcherSettings(
        kafka_bootstrap=bootstrap,
        topic_prefix=prefix,
        matcher_group=group or f"matcher-{uuid.uuid4().hex}",
    )
    bus = KafkaBus(bootstrap, [], client_id="bench-matcher")
    await bus.start()
    registry = CollectorRegistry()
    service = MatcherService(settings, Runtime.for_process("matcher", settings, bus, registry),
                             MatcherMetrics(registry))  # fmt: skip
    service.topics = dataclasses.replace(service.topics, hits=hits_topic)
    published = [0]
    publish = bus.publish

    async def counting(
        messages: Sequence[Message], *, timeout_s: float, landed_late: LandedLate | None = None
    ) -> None:
        await publish(messages, timeout_s=timeout_s, landed_late=landed_late)
        hits = [m for m in messages if m.topic == hits_topic]
        if mix:
            other[0] += len(hits)
            hits = [m for m in hits if orjson.loads(m.value or b"{}")["list_id"] == "national"]
            other[0] -= len(hits)
        published[0] += len(hits)

    other = [0]  # `mix`: the hits of the other lists

    bus.publish = counting  # type: ignore[method-assign]
    config = ListConfig(list_id=ListId("national"), name="national", category="stolen", priority=3,
                        match=MatchMode.EXACT, covert=False, version=1, epoch=1,
                        updated_at_ms=now_ms())  # fmt: skip
    builder = service.state.index.begin_replace(config)
    batch: list[Entry] = []
    for i, plate in enumerate(plates(entries, seed=1)):
        batch.append(
            Entry(list_id=ListId("national"), entry_id=EntryId(f"E{i:08d}"), version=1, plate=plate)
        )
        if len(batch) == 10_000:
            builder.add(batch)
            batch = []
    builder.add(batch)
    service.state.index.install(builder)
    if mix:
        from benchmarks.matcher_core import build

        build(entries, "all", seed=3, index=service.state.index)
    service.registry.caught_up.set()
    service.hotlists.caught_up.set()
    first: list[float] = []
    last = [0.0]  # wall clock: compared across the processes of a group
    clock = time.time if group else time.perf_counter
    handle = service.reads._handle  # benchmark only: note when the first batch comes in

    async def noting(records: Sequence[Record]) -> Sequence[Poison] | None:
        if not first:
            first.append(clock())
        out = await handle(records)
        last[0] = clock()
        return out

    service.reads._handle = noting
    if group:
        print(json.dumps({"ready": True}), flush=True)
        await asyncio.to_thread(sys.stdin.readline)  # "go": every member loaded its list
    started = clock()
    service.reads.start()
    try:
        if group:
            await member_loop(service.reads, published)
            return {"reads": service.reads.records_handled, "hits": published[0],
                    "first": first[0] if first else None, "last": last[0]}  # fmt: skip
        while service.reads.records_handled < reads:  # noqa: ASYNC110 - polls a counter
            await asyncio.sleep(0.01)
        ended = time.perf_counter()
    finally:
        await service.runtime.stop()
        await bus.stop()
    result = timing(service.reads.records_handled, published[0], started, first[0], ended)
    if mix:
        result["entries"] = len(service.state.index)
        result["other_hits"] = other[0]
    return result


async def member_loop(reads: ConsumerLoop, published: list[int]) -> None:
    """Report progress on stdout until the driver says "stop" on stdin."""
    stop = asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    shown = (-1, -1)
    while not stop.done():
        now = (reads.records_handled, published[0])
        if now != shown:
            print(json.dumps({"handled": now[0], "hits": now[1]}), flush=True)
            shown = now
        await asyncio.sleep(0.02)


def timing(
    reads: int, hits: int, started: float, first: float | None, ended: float
) -> dict[str, Any]:
    """From the consumer made (group join included) and from the first batch to lag 0."""
    first = started if first is None else first
    return {
        "reads": reads,
        "hits": hits,
        "seconds": round(ended - started, 3),
        "seconds_from_first": round(ended - first, 3),
        "reads_per_s": round(reads / (ended - first)),
    }


async def run_kstreams(
    bootstrap: str, topic: str, hits_topic: str, reads: int, entries: int
) -> dict[str, Any]:
    """The Kafka Streams peer in a JVM of its own; it times itself like the others."""
    from benchmarks import kstreams_peer

    with tempfile.TemporaryDirectory(prefix="kstreams-") as tmp:
        list_file = Path(tmp) / "list.csv"
        list_file.write_text(
            "".join(f"{plate},E{i:08d}\n" for i, plate in enumerate(plates(entries, seed=1)))
        )
        argv = kstreams_peer.command(
            bootstrap=bootstrap, topic=topic, hits_topic=hits_topic, reads=reads,
            list_file=list_file, state_dir=Path(tmp) / "state",
        )  # fmt: skip
        proc = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"the Kafka Streams peer exited {proc.returncode}: {err[-800:]!r}")
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


RUNNERS: dict[str, Callable[[str, str, str, int, int], Coroutine[Any, Any, dict[str, Any]]]] = {
    "plain": run_plain,
    "matcher": run_matcher,
    "kstreams": run_kstreams,
    "mix": functools.partial(run_matcher, mix=True),
}


def contestant(args: argparse.Namespace) -> int:
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    if args.group:
        result = asyncio.run(
            run_matcher(args.bootstrap, args.topic, args.hits_topic, args.reads, args.entries,
                        group=args.group)
        )  # fmt: skip
    else:
        result = asyncio.run(
            RUNNERS[args.consumer](
                args.bootstrap, args.topic, args.hits_topic, args.reads, args.entries
            )
        )
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)  # the JVM of `kstreams`
    result["consumer"] = args.consumer
    own = cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime
    result["cpu_s_total"] = round(own + kids.ru_utime + kids.ru_stime, 2)
    print(json.dumps({"final": result} if args.group else result), flush=True)
    return 0


# -- N matchers in one group ----------------------------------------------------------------------


async def group_lag(bootstrap: str, topic: str, group: str) -> int:
    """Reads on `topic` not yet committed by `group`."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
        parts = consumer.partitions_for_topic(topic) or set()
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in parts])
        return sum(
            end - (committed[tp].offset if tp in committed else 0) for tp, end in ends.items()
        )
    finally:
        await consumer.stop()
        await admin.close()


async def run_group(
    args: argparse.Namespace, n: int, topic: str, hits_topic: str, expected: int
) -> dict[str, Any]:
    """`n` matcher processes in one fresh group, from the first batch of any to lag 0."""
    group = f"matchers-{uuid.uuid4().hex}"
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "benchmarks.matcher_kafka", "--worker", "matcher",
            "--group", group, "--bootstrap", args.bootstrap, "--topic", topic,
            "--hits-topic", hits_topic, "--reads", str(args.reads), "--entries", str(args.entries),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )
        for _ in range(n)
    ]  # fmt: skip
    progress = [{"handled": 0, "hits": 0} for _ in procs]
    finals: list[dict[str, Any]] = [{} for _ in procs]
    complete = asyncio.Event()

    async def follow(i: int, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None  # noqa: S101
        while line := await proc.stdout.readline():
            message = json.loads(line)
            if "final" in message:
                finals[i] = message["final"]
                return
            if "handled" in message:
                progress[i] = message
                if sum(p["handled"] for p in progress) >= args.reads and (
                    sum(p["hits"] for p in progress) >= expected
                ):
                    complete.set()

    try:
        for proc in procs:  # every member has loaded its list
            assert proc.stdout is not None  # noqa: S101
            json.loads(await proc.stdout.readline())
        for proc in procs:
            assert proc.stdin is not None  # noqa: S101
            proc.stdin.write(b"go\n")
        followers = asyncio.gather(*(follow(i, p) for i, p in enumerate(procs)))
        await asyncio.wait_for(complete.wait(), timeout=300)
        deadline = time.monotonic() + 30
        lag = await group_lag(args.bootstrap, topic, group)
        while lag > 0 and time.monotonic() < deadline:  # commits come every 0.5 s
            await asyncio.sleep(0.1)
            lag = await group_lag(args.bootstrap, topic, group)
        for proc in procs:
            assert proc.stdin is not None  # noqa: S101
            proc.stdin.write(b"stop\n")
        await asyncio.wait_for(followers, timeout=60)
    finally:
        for proc in procs:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.terminate()
            await proc.wait()
    firsts = [f["first"] for f in finals if f.get("first") is not None]
    seconds = max(f["last"] for f in finals) - min(firsts)
    return {
        "instances": n,
        "reads": sum(f["reads"] for f in finals),
        "hits": sum(f["hits"] for f in finals),
        "lag": lag,
        "per_instance_reads": [f["reads"] for f in finals],
        # the first member may finish before a late one joins: then no split was measured
        "every_instance_worked": all(f["reads"] > 0 for f in finals),
        "seconds_from_first": round(seconds, 3),
        "reads_per_s": round(args.reads / seconds),
        "cpu_s_total": round(sum(f["cpu_s_total"] for f in finals), 2),
    }


def main_group(args: argparse.Namespace) -> int:
    """`--instances 1,2`: the same preloaded topic consumed by groups of 1 and of 2 matchers."""
    counts = [int(n) for n in args.instances.split(",")]
    prefix = f"bench-{uuid.uuid4().hex[:8]}."
    topic = f"{prefix}reads.v1"
    hits_topic = f"{prefix}hits-matcher.v1"
    say(f"preloading {args.reads:,} reads on {topic} ({PARTITIONS} partitions)")
    expected = asyncio.run(preload(args.bootstrap, topic, [hits_topic], args.reads, args.entries))
    rounds: list[dict[str, Any]] = []
    for n in range(args.rounds):
        row: dict[str, Any] = {}
        for count in in_turn(counts, n):
            result = asyncio.run(run_group(args, count, topic, hits_topic, expected))
            say(f"round {n + 1} {count} matcher(s): {result}")
            row[str(count)] = result
        # a redelivery after a rebalance may count a read twice, never fewer
        row["complete"] = all(
            r["hits"] >= expected and r["reads"] >= args.reads and r["lag"] == 0
            for r in row.values() if isinstance(r, dict)
        )  # fmt: skip
        rounds.append(row)
    summary: dict[str, Any] = {
        "topic": topic,
        "partitions": PARTITIONS,
        "reads": args.reads,
        "entries": args.entries,
        "expected_hits": expected,
        "rounds": rounds,
        "median_reads_per_s": {
            str(c): statistics.median(r[str(c)]["reads_per_s"] for r in rounds) for c in counts
        },
        **scale_ratios(rounds, base=str(counts[0]), scaled=str(counts[-1])),
    }
    text = json.dumps(summary, indent=2)
    if args.json:
        with open(args.json, "w") as out_file:
            out_file.write(text + "\n")
    print(text)
    return 0 if all(r["complete"] for r in rounds) else 1


# -- the driver ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--bootstrap", default=os.environ.get("ANPR_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    )
    parser.add_argument("--reads", type=int, default=200_000)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--consumers", default="matcher,plain")
    parser.add_argument("--json")
    parser.add_argument(
        "--baseline",
        help="a checkout of an earlier commit (with this module copied in): its matcher runs "
        "as the contestant `baseline` (name it in --consumers)",
    )
    parser.add_argument(
        "--instances",
        help="e.g. 1,2: matcher processes in one consumer group, timed together (scale-out)",
    )
    parser.add_argument("--worker", dest="consumer")
    parser.add_argument("--group", help="(worker) a member of this shared group")
    parser.add_argument("--topic")
    parser.add_argument("--hits-topic")
    args = parser.parse_args(argv)
    if args.consumer:
        return contestant(args)
    if args.instances:
        return main_group(args)
    consumers = args.consumers.split(",")
    prefix = f"bench-{uuid.uuid4().hex[:8]}."
    topic = f"{prefix}reads.v1"
    hits_topics = {c: f"{prefix}hits-{c}.v1" for c in consumers}
    say(f"preloading {args.reads:,} reads on {topic}")
    expected = asyncio.run(
        preload(args.bootstrap, topic, list(hits_topics.values()), args.reads, args.entries)
    )
    rounds: list[dict[str, Any]] = []
    for n in range(args.rounds):
        row: dict[str, Any] = {}
        for name in in_turn(consumers, n):
            worker = {"baseline": "matcher", "baseline-mix": "mix"}.get(name, name)
            out = subprocess.run(  # noqa: S603 - our own module, our own arguments
                [sys.executable, "-m", "benchmarks.matcher_kafka", "--worker", worker,
                 "--bootstrap", args.bootstrap, "--topic", topic, "--hits-topic", hits_topics[name],
                 "--reads", str(args.reads), "--entries", str(args.entries)],
                capture_output=True, text=True, check=name != "kstreams",
                cwd=args.baseline if name.startswith("baseline") else None,
            )  # fmt: skip
            if out.returncode != 0:
                # The JVM peer (no Java, no Maven Central): not measured, the rest still is.
                last = (out.stderr.strip().splitlines() or [""])[-1]
                row[name] = {"error": f"exit {out.returncode}: {last[-300:]}"}
                say(f"round {n + 1} {name}: failed: {row[name]['error']}")
                continue
            result = json.loads(out.stdout.strip().splitlines()[-1])
            say(f"round {n + 1} {name}: {result}")
            row[name] = result
        ran = [r for r in row.values() if isinstance(r, dict) and "hits" in r]
        row["same_hits"] = all(r["hits"] == expected for r in ran)
        if "hits" in row.get("matcher", {}) and "hits" in row.get("plain", {}):
            row["ratio"] = round(row["matcher"]["reads_per_s"] / row["plain"]["reads_per_s"], 2)
        if "hits" in row.get("matcher", {}) and "hits" in row.get("kstreams", {}):
            row["kstreams_ratio"] = round(
                row["matcher"]["reads_per_s"] / row["kstreams"]["reads_per_s"], 2
            )
        if "hits" in row.get("mix", {}) and "hits" in row.get("plain", {}):
            row["mix_ratio"] = round(row["mix"]["reads_per_s"] / row["plain"]["reads_per_s"], 2)
        for base in ("baseline", "baseline-mix"):
            if "hits" in row.get(base, {}) and "hits" in row.get("plain", {}):
                row[f"{base}_ratio"] = round(
                    row[base]["reads_per_s"] / row["plain"]["reads_per_s"], 2
                )
        rounds.append(row)
    summary = {
        "topic": topic,
        "hits_topics": hits_topics,
        "reads": args.reads,
        "entries": args.entries,
        "expected_hits": expected,
        "rounds": rounds,
    }
    if rounds:
        summary["median_reads_per_s"] = {
            c: statistics.median(r[c]["reads_per_s"] for r in rounds)
            for c in consumers
            if all("reads_per_s" in r[c] for r in rounds)
        }
    if rounds and all("ratio" in r for r in rounds):
        summary["median_ratio"] = statistics.median(r["ratio"] for r in rounds)
    if rounds and all("mix_ratio" in r for r in rounds):
        summary["median_mix_ratio"] = statistics.median(r["mix_ratio"] for r in rounds)
    if rounds and all("kstreams_ratio" in r for r in rounds):
        summary["median_kstreams_ratio"] = statistics.median(r["kstreams_ratio"] for r in rounds)
    text = json.dumps(summary, indent=2)
    if args.json:
        with open(args.json, "w") as out_file:
            out_file.write(text + "\n")
    print(text)
    return 0 if all(r["same_hits"] for r in rounds) else 1


if __name__ == "__main__":
    sys.exit(main())
