"""What a group's offset commits cost a busy consumer loop: records through `ConsumerLoop`.

    python -m benchmarks.loop_commits --bootstrap 127.0.0.1:9092 [--records 3000] [--rate 50]
        [--commit-interval 0.5] [--json out.json]

A group consumer loop (`anpr.consume.ConsumerLoop` on `KafkaBus`, the hot fetch settings and
the commit interval of the matcher's and the API's loops) follows a fresh topic, and a producer
in the same process publishes records (about a read each) at `rate` per second on average, at
random instants (a Poisson process, as reads from many independent cameras arrive; seeded), as
the services publish (acks=all, idempotent). Per record: from the publish call to the handler
holding it. The loop commits while records keep coming, which is when a commit the loop waited
for (6.5-7 ms per `benchmarks.commit_cost`) delays the next batch. To compare two trees, run
this module from a checkout of each.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import struct
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from anpr.bus.base import Message, Record
from anpr.bus.batch import values_of
from anpr.bus.kafka import KafkaBus
from anpr.consume import BUSY_COMMIT_INTERVAL_S, ConsumerLoop
from anpr.runtime import Runtime
from anpr.settings import CommonSettings
from anpr.topics import Topics
from simulator.stats import summarize

RECORD_BYTES = 300
STAMP = struct.Struct("<d")
SEED = 16


async def measure(
    bootstrap: str, records: int, rate: float, commit_interval_s: float
) -> dict[str, Any]:
    prefix = f"bench-commits-{uuid.uuid4().hex[:8]}."
    topics = Topics.from_prefix(prefix)
    settings = CommonSettings(kafka_bootstrap=bootstrap, topic_prefix=prefix, topic_partitions=1)
    bus = KafkaBus(bootstrap, topics.specs(settings), client_id="bench-commits")
    await bus.start()
    await bus.ensure_topics()
    runtime = Runtime(
        process="bench", bus=bus, registry=CollectorRegistry(), deadletter_topic=topics.deadletter
    )
    delays: list[float] = []
    got = asyncio.Event()
    all_in = asyncio.Event()

    async def handle(batch: Sequence[Record]) -> None:
        now = time.perf_counter()
        for value in values_of(batch):
            if value is not None and len(value) == RECORD_BYTES:
                delays.append((now - STAMP.unpack_from(value)[0]) * 1000)
        got.set()
        if len(delays) >= records:
            all_in.set()

    loop = ConsumerLoop(
        runtime, [topics.reads], handle, name="bench", group_id=f"{prefix}group",
        from_beginning=False, poll_ms=100, commit_interval_s=commit_interval_s,
    )  # fmt: skip
    try:
        loop.start()
        # Warm-up: the group joined and one record through, not measured.
        while not delays:
            got.clear()
            await publish(bus, topics.reads)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(got.wait(), 2.0)
        delays.clear()
        arrivals = random.Random(SEED)
        due = time.perf_counter()
        for n in range(records):
            due += arrivals.expovariate(rate)
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            await publish(bus, topics.reads)
            if (n + 1) % 1000 == 0:
                print(f"  loop commits: {n + 1}/{records} sent", file=sys.stderr, flush=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_in.wait(), 10.0)
    finally:
        await runtime.stop()
        await bus.stop()
    summary = summarize(delays)
    return {
        "records": records,
        "rate": rate,
        "commit_interval_s": commit_interval_s,
        "handled": len(delays),
        "publish_to_handled_ms": summary,
        "over_5_ms": sum(1 for d in delays if d > 5.0),
    }


async def publish(bus: KafkaBus, topic: str) -> None:
    value = STAMP.pack(time.perf_counter()).ljust(RECORD_BYTES, b".")
    await bus.publish([Message(topic, b"cam", value)], timeout_s=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--records", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=50.0, help="records per second")
    parser.add_argument("--commit-interval", type=float, default=BUSY_COMMIT_INTERVAL_S)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = asyncio.run(measure(args.bootstrap, args.records, args.rate, args.commit_interval))
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
