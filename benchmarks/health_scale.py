"""Camera health at national scale in the API: what following the gateways' aggregates costs,
and how long that work holds the event loop that the hits are streamed from.

In one process, in the embedded mode (in-memory bus, SQLite), with the API's real app: N
cameras registered, then a second of warm-up and S seconds in each of which a gateway publishes
what it publishes every second (`ingest.events`: a counts record and a contact record for each
camera that sent reads).
Measured, for each N:
- the API's CPU per second of aggregates, and per record;
- the longest the event loop was held while it applied them: a task asks to wake every
  millisecond and the largest lateness is kept (`anpr.looplag` does the same every 500 ms);
- the gateway's side: its once-a-second flush of those records (`GatewayEvents.flush`, on the
  gateway's own loop, which answers the cameras), in wall time; with `--bootstrap`, also on a
  real broker, with its CPU and the longest hold;
- the longest garbage collection over the whole measure (a hold no slicing can cut);
- a scrape of the API's `/metrics` (a few series per camera), and of a gateway's `/metrics`
  with its per-camera series (the gateway's routes and metrics, filled for N cameras): wall time
  and longest hold of the second scrape of each;
- a health sweep (`refresh_health_metrics`: the periodic refresh every 10 s, and every scrape of
  `/metrics`) and a rollout refresh (every 60 s, and `GET /v1/rollout`): wall time and longest
  hold;
- `GET /v1/cameras` (every camera with its health) and `GET /v1/rollout` (the JSON report; the
  cameras are fresh here, so none is on its stuck lists: `benchmarks.rollout_render` renders
  those): wall time and longest hold.

A hit fetched while the loop is held waits that long before it is streamed, so the longest hold
is the figure to keep small. `python -m benchmarks.health_scale --cameras 200,2000,10000`
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import inspect
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from anpr.bus.kafka import KafkaBus
from anpr.bus.local import LocalBus
from anpr.clock import now_ms
from anpr.health_routes import health_router
from anpr.reads import ReadRecord
from anpr.registry import CameraSpec, RegistryWriter
from anpr.runtime import Runtime
from anpr.topics import Topics
from api.app import create_app
from api.archive.sqlite_reads import SqliteReadStore
from api.service import ApiService
from api.settings import ApiSettings
from api.store.sqlite import SqliteStore
from ingest.events import GatewayEvents
from ingest.metrics import GatewayMetrics
from ingest.settings import GatewaySettings

INTEGRATOR = "int-1"
ADMIN_TOKEN = "bench-admin-token-0123456789"  # noqa: S105 - an in-process benchmark's own


class GcWatch:
    """The longest garbage collection since `reset` (a hold the loop cannot slice)."""

    def __init__(self) -> None:
        self.longest_s = 0.0
        self._started = 0.0
        gc.callbacks.append(self._hook)

    def _hook(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.longest_s = max(self.longest_s, time.perf_counter() - self._started)

    def close(self) -> None:
        gc.callbacks.remove(self._hook)


Span = tuple[float, float]


class HoldProbe:
    """Every time the loop ran a 1 ms timer late: the spans it was held (perf_counter times).

    It runs from `start` to `stop`, so it is armed before any work it should see is queued.
    The gateway's flush runs on this same loop here (on its own process in a deployment): its
    spans are passed to `longest` to be taken out."""

    def __init__(self) -> None:
        self.spans: list[Span] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        clock = time.perf_counter
        while True:
            due = clock() + 0.001
            await asyncio.sleep(0.001)
            woke = clock()
            if woke - due > 0.0005:
                self.spans.append((due, woke))

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())
        await asyncio.sleep(0.002)  # armed: its timer is waiting

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def longest(self, within: Span, excluded: Sequence[Span] = ()) -> float:
        """The longest hold, in ms, among the spans that overlap `within`, less `excluded`."""
        longest = 0.0
        for start, end in self.spans:
            if end < within[0] or start > within[1]:
                continue
            held = end - start
            for a, b in excluded:
                held -= max(0.0, min(b, end) - max(a, start))
            longest = max(longest, held)
        return longest * 1000


@dataclass
class Row:
    cameras: int
    records_per_s: int
    api_cpu_ms_per_s: float
    us_per_record: float
    longest_hold_ms: float
    sweep_ms: float
    sweep_hold_ms: float
    rollout_ms: float
    rollout_hold_ms: float
    gateway_flush_ms: float
    longest_gc_ms: float
    scrape_ms: float
    scrape_hold_ms: float
    gateway_scrape_ms: float
    gateway_scrape_hold_ms: float
    camera_list_ms: float
    camera_list_hold_ms: float
    rollout_get_ms: float
    rollout_get_hold_ms: float


@asynccontextmanager
async def running_api() -> AsyncIterator[tuple[ApiService, LocalBus, Topics, httpx.AsyncClient]]:
    settings = ApiSettings(
        admin_token=SecretStr(ADMIN_TOKEN),
        consumer_poll_ms=50,
        health_refresh_s=3600.0,  # sweeps are timed here, not left to the timer
        retention_interval_s=3600.0,
        rollout_refresh_s=3600.0,
    )
    topics = Topics.from_prefix(settings.topic_prefix)
    bus = LocalBus(None, topics.specs(settings))
    await bus.start()
    app = create_app(settings, bus, store=SqliteStore(None), reads=SqliteReadStore(None))
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
                yield app.state.service, bus, topics, client
    finally:
        await bus.stop()


async def until(predicate: Callable[[], bool], timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.002)


async def timed(probe: HoldProbe, call: Callable[[], object]) -> tuple[float, float]:
    """Wall ms of `call` (awaited when it returns an awaitable) and the longest hold meanwhile."""
    started = time.perf_counter()
    result = call()
    if inspect.isawaitable(result):
        await result
    ended = time.perf_counter()
    await asyncio.sleep(0.003)  # the probe wakes: a call that never yielded is a hold too
    return (ended - started) * 1000, probe.longest((started, ended))


def gateway_scrape(ids: Sequence[str], bus: LocalBus) -> Callable[[], Awaitable[object]]:
    """`GET /metrics` of a gateway's health routes, its metrics holding a series of each kind
    for every camera (accepted, duplicates, heartbeats, and a rejection for one in ten)."""
    registry = CollectorRegistry()
    runtime = Runtime(process="ingest", bus=bus, registry=registry, deadletter_topic="dl")
    metrics = GatewayMetrics(registry)
    for n, camera_id in enumerate(ids):
        metrics.reads_accepted.labels(camera_id, INTEGRATOR).inc(5)
        metrics.reads_duplicate.labels(camera_id, INTEGRATOR).inc()
        metrics.heartbeats.labels(camera_id, INTEGRATOR).inc()
        if n % 10 == 0:
            metrics.reads_rejected.labels("plate", camera_id, INTEGRATOR).inc()
    app = FastAPI()
    app.include_router(health_router(runtime, ready=lambda: True, detail=dict))

    async def scrape() -> object:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            return await client.get("/metrics")

    return scrape


def one_read(camera_id: str, second: int, at: int) -> ReadRecord:
    read: dict[str, Any] = {
        "read_id": f"{camera_id}-{second}",
        "camera_id": camera_id,
        "integrator_id": INTEGRATOR,
        "received_at": at,
        "captured_at_ms": at - 400,
        "confidence": 0.9,
    }
    return read  # type: ignore[return-value]


async def measure(cameras: int, seconds: int) -> Row:
    async with running_api() as (service, bus, topics, client):
        writer = RegistryWriter(bus, topics.registry)
        await writer.create_integrator(INTEGRATOR, "Integrator one")
        ids = [f"cam-{n:05d}" for n in range(cameras)]
        for camera_id in ids:
            spec = CameraSpec(
                camera_id=camera_id,
                integrator_id=INTEGRATOR,
                name=camera_id,
                expected_reads_per_hour=3600,
            )
            await writer.put_camera(spec)
        await until(lambda: len(service.registry.cameras) >= cameras and service.ready)
        events = GatewayEvents(bus, topics.gateway_events)
        consumed = service.metrics.records_consumed.labels("health")
        probe = HoldProbe()
        await probe.start()
        collections = GcWatch()
        cpu = 0.0
        longest = 0.0
        flush_ms = 0.0
        # Second 0 is the warm-up: every camera's first aggregate makes its monitor and its
        # first_contact and first_valid_read events (stored). Steady state is measured after.
        for second in range(seconds + 1):
            at = now_ms()
            before = consumed._value.get()
            flushed = time.perf_counter()
            events.accepted([one_read(camera_id, second, at) for camera_id in ids])
            for camera_id in ids:
                events.contact(camera_id, INTEGRATOR, refused=False)
            await events.flush()
            gateway = (flushed, time.perf_counter())
            started = time.process_time()
            target = before + 2 * cameras
            await until(lambda: bool(consumed._value.get() >= target))  # noqa: B023
            used = time.process_time() - started
            done = time.perf_counter()
            await asyncio.sleep(0.003)
            if not second:
                collections.longest_s = 0.0
                continue
            cpu += used
            flush_ms = max(flush_ms, (gateway[1] - gateway[0]) * 1000)
            longest = max(longest, probe.longest((gateway[0], done), [gateway]))
        records = 2 * cameras
        sweep_ms, sweep_hold = await timed(probe, service.refresh_health_metrics)
        refresh: Callable[[], Awaitable[object]] = service.refresh_rollout
        rollout_ms, rollout_hold = await timed(probe, refresh)
        # A first scrape ahead of each timed one: the first pays for the collector's first
        # pass over what registering N cameras allocated (90 ms at 2,000), not the scrape's.
        await client.get("/metrics")
        scrape_ms, scrape_hold = await timed(probe, lambda: client.get("/metrics"))
        scrape = gateway_scrape(ids, bus)
        await scrape()
        gateway_ms, gateway_hold = await timed(probe, scrape)
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        list_ms, list_hold = await timed(probe, lambda: client.get("/v1/cameras", headers=admin))
        get_ms, get_hold = await timed(probe, lambda: client.get("/v1/rollout", headers=admin))
        await probe.stop()
        collections.close()
        return Row(
            cameras=cameras,
            records_per_s=records,
            api_cpu_ms_per_s=round(cpu / seconds * 1000, 1),
            us_per_record=round(cpu / seconds / records * 1e6, 2),
            longest_hold_ms=round(longest, 1),
            sweep_ms=round(sweep_ms, 1),
            sweep_hold_ms=round(sweep_hold, 1),
            rollout_ms=round(rollout_ms, 1),
            rollout_hold_ms=round(rollout_hold, 1),
            gateway_flush_ms=round(flush_ms, 1),
            longest_gc_ms=round(collections.longest_s * 1000, 1),
            scrape_ms=round(scrape_ms, 1),
            scrape_hold_ms=round(scrape_hold, 1),
            gateway_scrape_ms=round(gateway_ms, 1),
            gateway_scrape_hold_ms=round(gateway_hold, 1),
            camera_list_ms=round(list_ms, 1),
            camera_list_hold_ms=round(list_hold, 1),
            rollout_get_ms=round(get_ms, 1),
            rollout_get_hold_ms=round(get_hold, 1),
        )


@dataclass
class FlushRow:
    cameras: int
    records: int
    wall_ms: float
    cpu_ms: float
    longest_hold_ms: float


async def gateway_flush(bootstrap: str, cameras: int, rounds: int) -> FlushRow:
    """The gateway's once-a-second flush on a real broker: the slowest of `rounds` (after one
    to warm the producer up), its CPU, and the longest hold of the loop while it ran."""
    settings = GatewaySettings(kafka_bootstrap=bootstrap)
    topics = Topics.from_prefix(f"health-scale-{now_ms()}-")
    bus = KafkaBus(bootstrap, topics.specs(settings))
    await bus.start()
    probe = HoldProbe()
    try:
        await bus.ensure_topics()
        events = GatewayEvents(bus, topics.gateway_events)
        ids = [f"cam-{n:05d}" for n in range(cameras)]
        await probe.start()
        wall = cpu = hold = 0.0
        for second in range(rounds + 1):
            at = now_ms()
            events.accepted([one_read(camera_id, second, at) for camera_id in ids])
            for camera_id in ids:
                events.contact(camera_id, INTEGRATOR, refused=False)
            await asyncio.sleep(0.005)  # the probe is armed again after that
            started, used = time.perf_counter(), time.process_time()
            await events.flush()
            ended, used = time.perf_counter(), time.process_time() - used
            await asyncio.sleep(0.005)
            if second:
                wall = max(wall, (ended - started) * 1000)
                cpu = max(cpu, used * 1000)
                hold = max(hold, probe.longest((started, ended)))
        return FlushRow(cameras, 2 * cameras, round(wall, 1), round(cpu, 1), round(hold, 1))
    finally:
        await probe.stop()
        await bus.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", default="200,2000,10000")
    parser.add_argument(
        "--seconds", type=int, default=5, help="of aggregates measured per camera count"
    )
    parser.add_argument(
        "--bootstrap", help="also time the gateway's flush on this broker (e.g. 127.0.0.1:9092)"
    )
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args()
    counts = [int(n) for n in args.cameras.split(",")]
    rows = [asyncio.run(measure(n, args.seconds)) for n in counts]
    flushes = [
        asyncio.run(gateway_flush(args.bootstrap, n, args.seconds))
        for n in (counts if args.bootstrap else [])
    ]
    if args.json:
        print(
            json.dumps({"api": [asdict(r) for r in rows], "gateway": [asdict(f) for f in flushes]})
        )
        return
    print(
        "| cameras | records/s | API CPU ms per s | µs per record | longest hold ms "
        "| sweep ms | sweep hold ms | rollout refresh ms | rollout hold ms | gateway flush ms "
        "| longest GC ms | API scrape ms | API scrape hold ms | gateway scrape ms "
        "| gateway scrape hold ms | camera list ms | camera list hold ms | rollout GET ms "
        "| rollout GET hold ms |"
    )
    print("|" + "---:|" * 19)
    for r in rows:
        print(
            f"| {r.cameras:,} | {r.records_per_s:,} | {r.api_cpu_ms_per_s} | {r.us_per_record} "
            f"| {r.longest_hold_ms} | {r.sweep_ms} | {r.sweep_hold_ms} | {r.rollout_ms} "
            f"| {r.rollout_hold_ms} | {r.gateway_flush_ms} | {r.longest_gc_ms} "
            f"| {r.scrape_ms} | {r.scrape_hold_ms} | {r.gateway_scrape_ms} "
            f"| {r.gateway_scrape_hold_ms} | {r.camera_list_ms} | {r.camera_list_hold_ms} "
            f"| {r.rollout_get_ms} | {r.rollout_get_hold_ms} |"
        )
    if flushes:
        print(f"\nThe gateway's flush on the broker at {args.bootstrap} (slowest of the rounds):\n")
        print("| cameras | records | wall ms | CPU ms | longest hold ms |")
        print("|---:|---:|---:|---:|---:|")
        for f in flushes:
            print(
                f"| {f.cameras:,} | {f.records:,} | {f.wall_ms} | {f.cpu_ms} "
                f"| {f.longest_hold_ms} |"
            )


if __name__ == "__main__":
    main()
