"""What a consumer group's offset commit costs, next to a one-record produce.

    python -m benchmarks.commit_cost --bootstrap 127.0.0.1:9092 [--count 1000] [--rounds 2]
        [--broker-pid PID] [--json out.json]

Against an idle broker on this machine, one call at a time: `count` offset commits of a group
consumer (aiokafka, as the services' consumers commit), then `count` one-record produces
(acks=all, idempotent, no linger, as the services produce), per round. Per call: the wall time,
the broker's CPU (its process in /proc; `--broker-pid`, else the one `kafka.Kafka` process
running) and this client's CPU. Why it matters: a consumer loop that commits after every batch
makes one such call per batch, and waits for it before it fetches again.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import OffsetAndMetadata

from benchmarks.procstat import cpu_seconds

PARTITIONS = 6
RECORD_BYTES = 300


def broker_pid() -> int:
    """The one running `kafka.Kafka` process."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if b"kafka.Kafka" in cmdline:
            found.append(int(proc.name))
    if len(found) != 1:
        raise SystemExit(f"found {len(found)} kafka.Kafka processes; pass --broker-pid")
    return found[0]


class Meter:
    """Wall time, broker CPU and client CPU per call over one timed stretch."""

    def __init__(self, pid: int) -> None:
        self._pid = pid

    def __enter__(self) -> Meter:
        self._wall = time.perf_counter()
        self._client = time.process_time()
        self._broker = cpu_seconds(self._pid) or 0.0
        return self

    def __exit__(self, *_: object) -> None:
        self.wall_s = time.perf_counter() - self._wall
        self.client_s = time.process_time() - self._client
        self.broker_s = (cpu_seconds(self._pid) or 0.0) - self._broker

    def per_call(self, calls: int) -> dict[str, float]:
        return {
            "wall_ms": round(self.wall_s / calls * 1000, 3),
            "broker_cpu_ms": round(self.broker_s / calls * 1000, 3),
            "client_cpu_ms": round(self.client_s / calls * 1000, 3),
        }


async def measure(bootstrap: str, count: int, rounds: int, pid: int) -> dict[str, Any]:
    topic = f"bench-commit-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=0
    )
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=topic,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await producer.start()
    out: dict[str, Any] = {"count": count, "rounds": []}
    try:
        value = b"." * RECORD_BYTES
        for i in range(PARTITIONS * 10):
            await producer.send(topic, value, partition=i % PARTITIONS)
        await producer.flush()
        await consumer.start()
        while not consumer.assignment():
            await consumer.getmany(timeout_ms=500)
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        for _ in range(rounds):
            with Meter(pid) as commits:
                for i in range(count):
                    tp = partitions[i % PARTITIONS]
                    await consumer.commit({tp: OffsetAndMetadata(1 + i // PARTITIONS % 10, "")})
            with Meter(pid) as produces:
                for i in range(count):
                    await (await producer.send(topic, value, partition=i % PARTITIONS))
            row = {"commit": commits.per_call(count), "produce": produces.per_call(count)}
            out["rounds"].append(row)
            print(json.dumps(row), flush=True)
    finally:
        await consumer.stop()
        await producer.stop()
        await admin.delete_topics([topic])
        await admin.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--count", type=int, default=1000, help="calls of each kind per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--broker-pid", type=int)
    parser.add_argument("--json", help="write the result to this file")
    args = parser.parse_args(argv)
    pid = args.broker_pid or broker_pid()
    result = asyncio.run(measure(args.bootstrap, args.count, args.rounds, pid))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
