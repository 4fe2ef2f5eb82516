"""Copies of one read sent by concurrent requests: at most one reaches Kafka, whatever the
timing and whatever happens to the publish that carries it.

The pipeline runs against a bus whose publishes wait until the test lets each one end (stored,
or failed as a broker away would), so every interleaving here is forced, not hoped for. The
same paths through the real broker: `tests/integration` and the fault tests."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import orjson
import pytest
from prometheus_client import CollectorRegistry

from anpr.auth import Principal, Role
from anpr.bus.base import LandedLate, Message
from anpr.clock import now_ms
from anpr.errors import BusUnavailable
from anpr.registry import RegistryView, camera_key
from ingest.dedup import CopyNotPublished, RecentReads
from ingest.keys_outbox import KeysOutbox
from ingest.metrics import GatewayMetrics
from ingest.pipeline import IngestOutcome, IngestPipeline

CALLER = Principal(Role.INTEGRATOR, "int-1", "int-1", "int-1")


class HeldBus:
    """Each publish waits for `release(n, stored=...)`; stored publishes are kept in order."""

    def __init__(self) -> None:
        self.stored: list[Message] = []
        self.publishes: list[tuple[Sequence[Message], asyncio.Future[bool]]] = []
        self.late: list[LandedLate | None] = []
        self.started = asyncio.Event()

    async def publish(
        self,
        messages: Sequence[Message],
        *,
        timeout_s: float,
        landed_late: LandedLate | None = None,
    ) -> None:
        outcome: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.publishes.append((messages, outcome))
        self.late.append(landed_late)
        self.started.set()
        if not await outcome:
            raise BusUnavailable("the broker is away")
        self.stored.extend(messages)

    async def next_publish(self, n: int) -> None:
        while len(self.publishes) <= n:
            self.started.clear()
            await self.started.wait()

    def release(self, n: int, *, stored: bool) -> None:
        self.publishes[n][1].set_result(stored)

    def stored_late(self, n: int) -> None:
        """Publish `n`, failed, is stored by the broker after all (as a producer that kept
        retrying its batch): its records are stored and the publisher told which."""
        messages, _ = self.publishes[n]
        self.stored.extend(messages)
        callback = self.late[n]
        assert callback is not None
        callback(range(len(messages)))

    def read_ids(self) -> list[str]:
        return [dict(m.headers)["read_id"].decode() for m in self.stored if m.topic == "reads"]


class Events:
    def contact(self, *args: Any, **kwargs: Any) -> None: ...
    def accepted(self, *args: Any) -> None: ...
    def duplicate(self, *args: Any) -> None: ...
    def rejected(self, *args: Any) -> None: ...


def pipeline(
    bus: HeldBus, *, timeout_s: float = 30.0, keys: KeysOutbox | None = None
) -> IngestPipeline:
    registry = RegistryView()
    camera = {"kind": "camera", "camera_id": "cam-1", "integrator_id": "int-1", "name": "One"}
    registry.apply(camera_key("cam-1").encode(), orjson.dumps(camera))
    return IngestPipeline(
        bus=bus,  # type: ignore[arg-type]
        topic="reads",
        registry=registry,
        recent=RecentReads(window_s=3600, max_entries=10_000),
        metrics=GatewayMetrics(CollectorRegistry()),
        events=Events(),  # type: ignore[arg-type]
        retention_ms=30 * 86_400_000,
        publish_timeout_s=timeout_s,
        keys=keys,
    )


def read(read_id: str, plate: str = "AB123") -> dict[str, object]:
    return {"camera_id": "cam-1", "read_id": read_id, "captured_at": now_ms(), "plate": plate}


async def settled(task: asyncio.Task[IngestOutcome]) -> IngestOutcome | BaseException:
    """The request's outcome or its error; a request still waiting 5 s on is a failure."""
    try:
        return await asyncio.wait_for(task, 5)
    except BusUnavailable as exc:
        return exc


async def test_copies_waiting_on_a_failed_publish_fail_with_it_and_publish_nothing() -> None:
    bus = HeldBus()
    gateway = pipeline(bus)
    first = asyncio.create_task(gateway.ingest(CALLER, [read("K")]))
    await bus.next_publish(0)
    copies = [asyncio.create_task(gateway.ingest(CALLER, [read("K")])) for _ in range(2)]
    await asyncio.sleep(0)  # both copies are waiting on the first publish now
    bus.release(0, stored=False)

    assert isinstance(await settled(first), BusUnavailable)
    for copy in copies:
        assert isinstance(await settled(copy), CopyNotPublished)
    assert len(bus.publishes) == 1
    # The camera's resend, once the broker is back, is published once.
    resend = asyncio.create_task(gateway.ingest(CALLER, [read("K")]))
    await bus.next_publish(1)
    bus.release(1, stored=True)
    assert (await resend).accepted == 1
    assert bus.read_ids() == ["K"]


async def test_a_fresh_read_is_ours_while_the_request_waits_on_another() -> None:
    """B sends K1 (new) and K2 (in flight in A); C sends K1 while B waits: one K1 in Kafka."""
    bus = HeldBus()
    gateway = pipeline(bus)
    a = asyncio.create_task(gateway.ingest(CALLER, [read("K2")]))
    await bus.next_publish(0)
    b = asyncio.create_task(gateway.ingest(CALLER, [read("K1"), read("K2")]))
    await asyncio.sleep(0)
    c = asyncio.create_task(gateway.ingest(CALLER, [read("K1")]))
    await asyncio.sleep(0)
    bus.release(0, stored=True)
    await bus.next_publish(1)
    bus.release(1, stored=True)

    outcomes = [await asyncio.wait_for(t, 5) for t in (a, b, c)]
    assert [(o.accepted, o.duplicates) for o in outcomes] == [(1, 0), (1, 1), (0, 1)]
    assert sorted(bus.read_ids()) == ["K1", "K2"]
    assert len(bus.publishes) == 2


async def test_waiting_on_a_copy_is_bounded_by_the_publish_timeout() -> None:
    bus = HeldBus()
    gateway = pipeline(bus, timeout_s=0.05)
    first = asyncio.create_task(gateway.ingest(CALLER, [read("K")]))
    await bus.next_publish(0)
    with pytest.raises(BusUnavailable, match="still being stored"):
        await gateway.ingest(CALLER, [read("K")])
    bus.release(0, stored=True)
    assert (await first).accepted == 1


async def test_a_read_that_cannot_be_encoded_leaves_nothing_in_flight() -> None:
    """A plate holding a lone surrogate (only the stdlib parser of very large bodies lets one
    through, and it is refused there now) must not leave its key in flight for ever."""
    bus = HeldBus()
    gateway = pipeline(bus)
    with pytest.raises(UnicodeEncodeError):
        await gateway.ingest(CALLER, [read("K", plate="AB123\ud800")])
    resend = asyncio.create_task(gateway.ingest(CALLER, [read("K")]))
    await bus.next_publish(0)
    bus.release(0, stored=True)
    assert (await asyncio.wait_for(resend, 5)).accepted == 1


def outbox(bus: HeldBus) -> KeysOutbox:
    """The keys outbox, its task not running: what it holds is what it would publish."""
    return KeysOutbox(bus, "keys", b"gateway/me", window_s=600, max_keys=10_000, timeout_s=1)  # type: ignore[arg-type]


async def test_keys_are_published_for_stored_reads_only_never_with_them() -> None:
    """Sent in the same publish as the reads, a keys record could be stored while the reads
    were not (their partition's leader away): the request was answered 503, and the camera's
    resend taken for a duplicate at every gateway: a read lost."""
    bus = HeldBus()
    keys = outbox(bus)
    gateway = pipeline(bus, keys=keys)
    failed = asyncio.create_task(gateway.ingest(CALLER, [read("K1"), read("K2")]))
    await bus.next_publish(0)
    assert {m.topic for m in bus.publishes[0][0]} == {"reads"}
    bus.release(0, stored=False)
    assert isinstance(await settled(failed), BusUnavailable)
    assert len(keys) == 0

    resend = asyncio.create_task(gateway.ingest(CALLER, [read("K1"), read("K2")]))
    await bus.next_publish(1)
    bus.release(1, stored=True)
    assert (await resend).accepted == 2
    assert len(keys) == 2
    sent = asyncio.create_task(keys.publish_some(1))  # as the outbox's task would
    await bus.next_publish(2)
    bus.release(2, stored=True)
    await asyncio.wait_for(sent, 5)
    (record,) = bus.publishes[2][0]
    assert (record.topic, record.key) == ("keys", b"gateway/me")
    assert orjson.loads(record.value or b"") == {"v": 1, "keys": [["cam-1", "K1"], ["cam-1", "K2"]]}


async def test_a_failed_publish_stored_after_all_makes_the_resend_a_duplicate() -> None:
    bus = HeldBus()
    keys = outbox(bus)
    gateway = pipeline(bus, keys=keys)
    failed = asyncio.create_task(gateway.ingest(CALLER, [read("K")]))
    await bus.next_publish(0)
    bus.release(0, stored=False)
    assert isinstance(await settled(failed), BusUnavailable)
    bus.stored_late(0)  # the broker took the batch after the request gave up
    assert len(keys) == 1  # the other gateways are told too

    resend = await asyncio.wait_for(gateway.ingest(CALLER, [read("K")]), 5)
    assert (resend.accepted, resend.duplicates) == (0, 1)
    assert bus.read_ids() == ["K"]
