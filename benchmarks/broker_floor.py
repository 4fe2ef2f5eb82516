"""The broker's own latency: one record at a time through Kafka, with no load on it.

    python -m benchmarks.broker_floor --bootstrap 127.0.0.1:9092 [--sends 300] [--rate 20]
        [--json out.json]

Each record (300 bytes, about a read) is produced as the services produce (aiokafka, acks=all,
idempotent, no linger) on a fresh two-partition topic, and fetched by a consumer waiting at the
broker as the hot consumers do (`fetch_min_bytes=1`, `HOT_FETCH_WAIT_MS`). Per record: from `send`
to the broker's acknowledgement (`ack`), and to the consumer holding it (`fetched`). One record
is in flight at a time, sent every 1/`rate` s.

A read crosses this hop twice end to end (gateway -> matcher, matcher -> API), so its p99 is a
floor under the services' own latency at low rates: `make bench` reports it next to the
1,000 reads/s target. `section` renders the report's table (pure).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from anpr.bus.base import HOT_FETCH_WAIT_MS
from simulator.stats import summarize

RECORD_BYTES = 300
PARTITIONS = 2


async def measure(bootstrap: str, sends: int, rate: float) -> dict[str, Any]:
    topic = f"bench-floor-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=0
    )
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        fetch_min_bytes=1,
        fetch_max_wait_ms=HOT_FETCH_WAIT_MS,
    )
    await producer.start()
    await consumer.start()
    acks: list[float] = []
    fetched: list[float] = []
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        for tp in partitions:
            await consumer.position(tp)  # resolve the end offsets before the first send
        # Warm-up: connections, metadata and the producer id, not measured.
        await (await producer.send(topic, b"warm-up", partition=0))
        await _fetch_until(consumer, b"warm-up")
        interval = 1.0 / rate
        due = time.perf_counter()
        for n in range(sends):
            due += interval
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            value = f"{n:08d}".encode().ljust(RECORD_BYTES, b".")
            started = time.perf_counter()
            await (await producer.send(topic, value, partition=n % PARTITIONS))
            acks.append((time.perf_counter() - started) * 1000)
            await _fetch_until(consumer, value)
            fetched.append((time.perf_counter() - started) * 1000)
            if (n + 1) % 100 == 0:
                print(f"  broker floor: {n + 1}/{sends} sent", file=sys.stderr, flush=True)
    finally:
        await consumer.stop()
        await producer.stop()
    return {
        "sends": sends,
        "rate": rate,
        "record_bytes": RECORD_BYTES,
        "ack_ms": summarize(acks),
        "fetched_ms": summarize(fetched),
    }


async def _fetch_until(consumer: AIOKafkaConsumer, value: bytes) -> None:
    while True:
        batches = await consumer.getmany(timeout_ms=5000)
        if not batches:
            raise TimeoutError("the record was not fetched within 5 s")
        if any(r.value == value for records in batches.values() for r in records):
            return


def section(floor: dict[str, Any] | None) -> list[str]:
    """The report's table of the broker's floor (nothing when the part did not run)."""
    if not floor:
        return []
    head = "## Broker floor: one record at a time, the services idle (benchmarks.broker_floor)"
    if "error" in floor:
        return [head, "", f"Not measured: {floor['error']}", ""]
    out = [head, "", "| from send to | p50 ms | p90 ms | p99 ms | max ms | mean ms |"]
    out += ["|---|---:|---:|---:|---:|---:|"]
    for label, key in (("the broker's ack (acks=all)", "ack_ms"), ("fetched", "fetched_ms")):
        s = floor[key]
        out.append(f"| {label} | {s['p50']} | {s['p90']} | {s['p99']} | {s['max']} | {s['mean']} |")
    out += [
        "",
        f"{floor['sends']} records of {floor['record_bytes']} bytes at {floor['rate']:g}/s, one "
        "in flight, produced as the services produce and fetched as their hot consumers fetch. "
        "A read crosses this hop twice end to end, so its p99 is a floor under the end-to-end "
        f"p99 at low rates. `{floor.get('command', 'python -m benchmarks.broker_floor')}`",
        "",
    ]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--sends", type=int, default=300)
    parser.add_argument("--rate", type=float, default=20.0, help="records per second")
    parser.add_argument("--json", help="write the result to this file")
    args = parser.parse_args(argv)
    result = asyncio.run(measure(args.bootstrap, args.sends, args.rate))
    text = json.dumps(result, indent=2)
    if args.json:
        with open(args.json, "w") as out:
            out.write(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
