"""What the gateway's CPU steps cost per read, against the minimal peer's, on one batch body.

    python -m benchmarks.read_costs [--batch 100] [--repeat 2000] [--rounds 3] [--reads simple|rich]

The body `benchmarks.http_stack` posts (`--batch` reads of one camera), put through each step
of a `/v1/reads` request that is pure CPU, `repeat` times per round: the shape decode
(`anpr.readshape.decode_reads`), validation (`anpr.reads.validate_read`), the record encode
(`anpr.codecs.READS`), the dedup memory (`ingest.dedup.RecentReads.add`), the camera
aggregates (`ingest.camerastats`), the whole pipeline (`ingest.pipeline.IngestPipeline.ingest`
on a bus that stores at once, each body with fresh read ids), and for comparison what the
minimal peer (`benchmarks.peer_gateway`) does to the same body (orjson parse, one dump per
read). Prints microseconds per read. No broker, no HTTP: the share of a whole request is this
over its CPU per read in `benchmarks.http_stack`.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import time
from collections.abc import Callable, Iterator, Sequence

import orjson
from prometheus_client import CollectorRegistry

from anpr.auth import Principal, Role
from anpr.bus.base import LandedLate, Message
from anpr.clock import now_ms
from anpr.codecs import READS
from anpr.reads import ReadLimits, ReadRecord, validate_read
from anpr.readshape import ReadShape, decode_reads
from anpr.registry import RegistryView, camera_key
from benchmarks.http_stack import body
from ingest.camerastats import CameraAggregates
from ingest.dedup import DedupKey, RecentReads
from ingest.events import GatewayEvents
from ingest.metrics import GatewayMetrics
from ingest.pipeline import IngestPipeline

RETENTION_MS = 30 * 86_400_000
WINDOW_S = 600.0  # the gateway's default dedup window
MAX_ENTRIES = 2_000_000


class StoringBus:
    """Every publish stored at once: the pipeline without a broker."""

    async def publish(
        self,
        messages: Sequence[Message],
        *,
        timeout_s: float,
        landed_late: LandedLate | None = None,
    ) -> None:
        return None


def gateway_pipeline() -> IngestPipeline:
    registry = RegistryView()
    camera = {"kind": "camera", "camera_id": "cam-1", "integrator_id": "int-1", "name": "One"}
    registry.apply(camera_key("cam-1").encode(), orjson.dumps(camera))
    bus = StoringBus()
    return IngestPipeline(
        bus=bus,  # type: ignore[arg-type]
        topic="reads",
        registry=registry,
        recent=RecentReads(window_s=WINDOW_S, max_entries=MAX_ENTRIES),
        metrics=GatewayMetrics(CollectorRegistry()),
        events=GatewayEvents(bus, "events"),  # type: ignore[arg-type]
        retention_ms=RETENTION_MS,
        publish_timeout_s=30.0,
    )


def per_read(step: Callable[[], object], repeat: int, batch: int) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        step()
    return (time.perf_counter() - started) / repeat / batch * 1e6


def add_next(recent: RecentReads, keys: Iterator[list[DedupKey]]) -> None:
    recent.add(next(keys))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reads", choices=("simple", "rich"), default="simple")
    args = parser.parse_args()
    rich = args.reads == "rich"
    # Fresh read ids per body, made before any timing: the dedup memory and the pipeline are
    # made anew each round, so every round sees new keys.
    bodies = [body(n, args.batch, "costs", rich=rich) for n in range(args.repeat)]
    sent = bodies[0]
    shaped = decode_reads(sent)
    if shaped is None:
        raise SystemExit("the benchmark's body does not fit the read shape")
    limits = ReadLimits(now_ms=now_ms(), retention_ms=RETENTION_MS)

    def validate(reads: list[ReadShape] = shaped) -> list[ReadRecord]:
        checked = [
            validate_read(read, integrator_id="int-1", received_at_ms=limits.now_ms, limits=limits)
            for read in reads
        ]
        records = [c for c in checked if not isinstance(c, list)]
        if len(records) != len(reads):
            raise SystemExit("the benchmark's reads do not validate")
        return records

    records = validate()
    key_lists: list[list[DedupKey]] = [
        [(str(r["camera_id"]), f"{n}-{i}") for i, r in enumerate(records)]
        for n in range(args.repeat)
    ]
    caller = Principal(Role.INTEGRATOR, "int-1", "int-1", "int-1")
    loop = asyncio.new_event_loop()
    for round_ in range(1, args.rounds + 1):
        recent = RecentReads(window_s=WINDOW_S, max_entries=MAX_ENTRIES)
        keys = iter(key_lists)
        pipeline = gateway_pipeline()
        pushed = iter(bodies)

        def ingest(pipeline: IngestPipeline = pipeline, pushed: Iterator[bytes] = pushed) -> None:
            reads = decode_reads(next(pushed)) or []
            outcome = loop.run_until_complete(pipeline.ingest(caller, reads))
            if outcome.accepted != args.batch:
                raise SystemExit(f"the pipeline accepted {outcome.accepted} of {args.batch}")

        steps: dict[str, Callable[[], object]] = {
            "gateway: shape decode": lambda: decode_reads(sent),
            "gateway: validation": validate,
            "gateway: record encode": lambda: [READS.encode(record) for record in records],
            "gateway: dedup memory": functools.partial(add_next, recent, keys),
            "gateway: camera aggregates": lambda: CameraAggregates().add_reads(records),
            "gateway: whole pipeline (shape decode included)": ingest,
            "peer: orjson parse and dump": lambda: [orjson.dumps(r) for r in orjson.loads(sent)],
        }
        for name, step in steps.items():
            cost = per_read(step, args.repeat, args.batch)
            print(f"round {round_}: {name}: {cost:.2f} µs per read", flush=True)
    loop.close()


if __name__ == "__main__":
    main()
