"""What a publish costs the gateway's process, per record: the bus's `publish` against the
minimal peer's `send` per record and `gather`, through a real broker.

    python -m benchmarks.produce_costs --bootstrap 127.0.0.1:9092 [--batch 100]
        [--concurrency 8] [--seconds 8] [--rounds 2]

Each way publishes the same record (a read as the gateway encodes it, about 300 bytes, keys of
50 cameras) in publishes of `--batch` records, `--concurrency` publishes in flight, for
`--seconds`, on a fresh topic of the project's own (created with its settings); the process's
CPU seconds per record are printed, the ways taking turns round by round. `ours` is
`KafkaBus.publish` (acks=all, idempotent, the gateway's path: `send` for a few records, the
shared partition batches for more); `peer` is what `benchmarks.peer_gateway` does. No HTTP, no
validation: the share of the gateway's request that the produce path is.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

import orjson
import uvloop
from aiokafka import AIOKafkaProducer

from anpr.bus.base import Message
from anpr.bus.factory import make_bus
from anpr.settings import CommonSettings

CAMERAS = 50
RECORD = orjson.dumps({
    "v": 1, "read_id": "r-0123456789-abcdef", "camera_id": "cam-1",
    "captured_at": "2026-12-02T10:00:00.123Z", "received_at": "2026-12-02T10:00:00.223Z",
    "plate": "AB12CDE", "plate_norm": "AB12CDE", "country": "GB", "confidence": 0.93,
    "integrator_id": "int-1",
})  # fmt: skip


async def closed_loop(
    once: Callable[[], Awaitable[None]], batch: int, args: argparse.Namespace
) -> float:
    """CPU microseconds per record over `args.seconds` of `args.concurrency` publishers."""
    for _ in range(20):  # connections up, metadata known
        await once()
    done = 0
    stop = False

    async def publisher() -> None:
        nonlocal done
        while not stop:
            await once()
            done += batch

    cpu = time.process_time()
    publishers = [asyncio.create_task(publisher()) for _ in range(args.concurrency)]
    await asyncio.sleep(args.seconds)
    stop = True
    await asyncio.gather(*publishers)
    return (time.process_time() - cpu) / done * 1e6


async def measure(args: argparse.Namespace) -> None:
    prefix = f"bench-produce-{uuid.uuid4().hex[:8]}."
    bus = make_bus(
        CommonSettings(kafka_bootstrap=args.bootstrap, topic_prefix=prefix), client_id="bench"
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=args.bootstrap, acks="all", enable_idempotence=True
    )
    await bus.start()
    await producer.start()
    try:
        await bus.ensure_topics()
        topic = prefix + "reads.v1"
        messages = [
            Message(topic, b"cam-%d" % (n % CAMERAS), RECORD, (("read_id", b"r-%d" % n),))
            for n in range(args.batch)
        ]

        async def ours() -> None:
            await bus.publish(messages, timeout_s=10.0)

        async def peer() -> None:
            sent = [await producer.send(topic, m.value, key=m.key) for m in messages]
            await asyncio.gather(*sent)

        for round_ in range(1, args.rounds + 1):
            ways = [("ours", ours), ("peer", peer)]
            for name, once in ways if round_ % 2 else ways[::-1]:
                cost = await closed_loop(once, args.batch, args)
                print(
                    f"round {round_}: {name}: {cost:.2f} µs CPU per record (batch {args.batch})",
                    flush=True,
                )
    finally:
        await producer.stop()
        await bus.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=2)
    uvloop.run(measure(parser.parse_args()))


if __name__ == "__main__":
    main()
