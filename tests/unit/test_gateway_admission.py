"""Admission control of the gateway (`ingest.admission`): the pure queue with a fake clock, its
asyncio shell, and the 503 + Retry-After a shed request gets over HTTP (publishing nothing)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anpr.bus.base import LandedLate, Message
from anpr.bus.local import LocalBus
from anpr.settings import CommonSettings
from anpr.topics import Topics
from ingest.admission import Admission, AdmissionQueue, Overloaded, ShedReason, Ticket
from tests.conftest import MakeRead
from tests.support.gateway import read_topic, running_gateway
from tests.support.wait import until


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make_queue(
    *, budget_s: float = 1.0, slots: int = 2, service_s: float = 0.1
) -> tuple[AdmissionQueue, FakeClock]:
    clock = FakeClock()
    queue = AdmissionQueue(budget_s=budget_s, slots=slots, clock=clock, initial_service_s=service_s)
    return queue, clock


def admitted(ticket: Ticket | None) -> Ticket:
    assert ticket is not None, "expected the request to be admitted"
    return ticket


# --- the pure core ------------------------------------------------------------------------------


@dataclass(frozen=True)
class WaitCase:
    name: str
    slots: int
    service_s: float
    holding: int  # requests arrived before (slots fill first, then the queue)
    expected_wait: float
    admitted: bool


WAIT_CASES = [
    WaitCase("idle", 2, 0.1, holding=0, expected_wait=0.0, admitted=True),
    WaitCase("one slot still free", 2, 0.1, holding=1, expected_wait=0.0, admitted=True),
    WaitCase("slots full, empty queue", 2, 0.1, holding=2, expected_wait=0.05, admitted=True),
    WaitCase("queue of 18: 19 x 0.1 / 2", 2, 0.1, holding=20, expected_wait=0.95, admitted=True),
    WaitCase("queue of 19: the budget", 2, 0.1, holding=21, expected_wait=1.0, admitted=True),
    WaitCase("queue of 20: over budget", 2, 0.1, holding=22, expected_wait=1.05, admitted=False),
    WaitCase("slow: 2 queued x 0.5 s", 1, 0.5, holding=2, expected_wait=1.0, admitted=True),
    WaitCase("slow: 3rd queued is shed", 1, 0.5, holding=3, expected_wait=1.5, admitted=False),
]  # fmt: skip


@pytest.mark.parametrize("case", WAIT_CASES, ids=lambda c: c.name)
def test_expected_wait_decides_admission(case: WaitCase) -> None:
    queue, _ = make_queue(slots=case.slots, service_s=case.service_s)
    for _ in range(case.holding):
        admitted(queue.arrive())
    assert queue.expected_wait() == pytest.approx(case.expected_wait)
    assert (queue.arrive() is not None) is case.admitted


def test_free_slot_starts_at_once_and_queue_is_fifo() -> None:
    queue, clock = make_queue(slots=1)
    first = admitted(queue.arrive())
    assert first.started == clock.now
    second, third = admitted(queue.arrive()), admitted(queue.arrive())
    assert second.started is None and third.started is None
    clock.now += 0.2
    started, expired = queue.finish(first)
    assert started == [second] and expired == []
    assert second.waited_s == pytest.approx(0.2)
    started, _ = queue.finish(second)
    assert started == [third]


def test_a_queued_request_past_its_deadline_is_shed_not_started() -> None:
    queue, clock = make_queue(slots=1, budget_s=1.0, service_s=0.01)
    holder = admitted(queue.arrive())
    late = admitted(queue.arrive())
    clock.now += 0.5
    on_time = admitted(queue.arrive())
    clock.now += 0.6  # `late` has now waited 1.1 s, `on_time` 0.6 s
    started, expired = queue.finish(holder)
    assert expired == [late] and started == [on_time]
    assert late.started is None and late.done
    assert queue.in_service == 1 and queue.waiting == 0


def test_service_time_is_an_ewma_of_slot_holding_times() -> None:
    queue, clock = make_queue(slots=1, service_s=0.1)
    ticket = admitted(queue.arrive())
    clock.now += 1.1
    queue.finish(ticket)
    assert queue.service_s == pytest.approx(0.1 + 0.2 * (1.1 - 0.1))


def test_abandon_leaves_the_queue_and_finish_needs_a_slot() -> None:
    queue, _ = make_queue(slots=1)
    holder = admitted(queue.arrive())
    queued = admitted(queue.arrive())
    queue.abandon(queued)
    assert queue.waiting == 0
    with pytest.raises(ValueError, match="holding a slot"):
        queue.finish(queued)
    assert queue.finish(holder) == ([], [])
    assert queue.in_service == 0


@pytest.mark.parametrize(
    ("name", "holding", "cap", "expected"),
    [
        ("idle: at least one second", 0, 5, 1),
        ("rounded up", 3, 5, 1),  # 2 queued + 1 -> 0.15 s
        ("capped", 200, 5, 5),  # 199 x 0.1 / 2 = 9.95 s
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_retry_after(name: str, holding: int, cap: int, expected: int) -> None:
    queue, _ = make_queue(slots=2, service_s=0.1, budget_s=100)
    for _ in range(holding):
        queue.arrive()
    assert queue.retry_after(cap) == expected


@pytest.mark.parametrize("bad", [{"budget_s": 0, "slots": 1}, {"budget_s": 1, "slots": 0}])
def test_refuses_a_useless_configuration(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        AdmissionQueue(budget_s=bad["budget_s"], slots=int(bad["slots"]))


# One step of a random schedule: ("arrive"|"finish"|"abandon"|"tick", amount in tenths).
steps = st.lists(
    st.tuples(st.sampled_from(["tick", "finish", "arrive", "abandon"]), st.integers(0, 7)),
    max_size=120,
)


@settings(max_examples=500, deadline=None)
@given(steps=steps, slots=st.integers(1, 4), budget_s=st.sampled_from([0.2, 1.0, 3.0]))
def test_no_started_request_waited_past_the_budget(
    steps: list[tuple[str, int]], slots: int, budget_s: float
) -> None:
    """Whatever the schedule: slots are never over-used, starts are in arrival order, and no
    request that got a slot had waited longer than the budget for it."""
    queue, clock = make_queue(slots=slots, budget_s=budget_s, service_s=0.05)
    holding: list[Ticket] = []
    queued: list[Ticket] = []
    starts: list[Ticket] = []
    arrivals: list[Ticket] = []
    for op, amount in steps:
        if op == "tick":
            clock.now += amount / 10
        elif op == "arrive":
            ticket = queue.arrive()
            if ticket is not None:
                arrivals.append(ticket)
                (holding if ticket.started is not None else queued).append(ticket)
                if ticket.started is not None:
                    starts.append(ticket)
        elif op == "finish" and holding:
            done = holding.pop(amount % len(holding))
            started, expired = queue.finish(done)
            for ticket in started:
                queued.remove(ticket)
                holding.append(ticket)
                starts.append(ticket)
            for ticket in expired:
                queued.remove(ticket)
        elif op == "abandon" and queued:
            queue.abandon(queued.pop(0))
        assert queue.in_service == len(holding) <= slots
        assert queue.waiting == len(queued)
    assert all(t.waited_s <= budget_s + 1e-9 for t in starts)
    order = [arrivals.index(t) for t in starts]
    assert order == sorted(order)


# --- the asyncio shell --------------------------------------------------------------------------


async def test_shell_hands_the_slot_on_in_order() -> None:
    admission = Admission(AdmissionQueue(budget_s=5.0, slots=1), retry_after_cap_s=5)
    release = asyncio.Event()
    order: list[str] = []

    async def request(name: str) -> None:
        async with admission.slot():
            order.append(name)
            await release.wait()

    first = asyncio.create_task(request("first"))
    second = asyncio.create_task(request("second"))
    await until(lambda: admission.queue.waiting >= 1)
    assert order == ["first"]
    release.set()
    await asyncio.wait_for(asyncio.gather(first, second), 5)
    assert order == ["first", "second"]
    assert admission.queue.in_service == 0


async def test_shell_sheds_a_request_that_waited_the_whole_budget() -> None:
    admission = Admission(AdmissionQueue(budget_s=0.05, slots=1), retry_after_cap_s=5)
    release = asyncio.Event()

    async def holder() -> None:
        async with admission.slot():
            await release.wait()

    task = asyncio.create_task(holder())
    await until(lambda: admission.queue.in_service >= 1)
    with pytest.raises(Overloaded) as shed:
        async with admission.slot():
            pytest.fail("a shed request must not run")
    assert shed.value.reason is ShedReason.DEADLINE
    assert shed.value.retry_after_s >= 1
    assert admission.queue.waiting == 0
    release.set()
    await task


async def test_shell_cancelled_while_queued_leaves_no_trace() -> None:
    admission = Admission(AdmissionQueue(budget_s=5.0, slots=1), retry_after_cap_s=5)
    release = asyncio.Event()

    async def holder() -> None:
        async with admission.slot():
            await release.wait()

    async def queued() -> None:
        async with admission.slot():
            pytest.fail("cancelled before its turn")

    first = asyncio.create_task(holder())
    second = asyncio.create_task(queued())
    await until(lambda: admission.queue.waiting >= 1)
    second.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await second
    assert admission.queue.waiting == 0
    release.set()
    await first
    assert admission.queue.in_service == 0


# --- over HTTP ----------------------------------------------------------------------------------


class BlockedReadsBus(LocalBus):
    """Publishes to the reads topic wait until `release` is set: Kafka slow to acknowledge."""

    def __init__(self) -> None:
        super().__init__(None, Topics.from_prefix("anpr.").specs(CommonSettings()))
        self.release = asyncio.Event()
        self.waiting = 0

    async def publish(
        self,
        messages: Sequence[Message],
        *,
        timeout_s: float,
        landed_late: LandedLate | None = None,
    ) -> None:
        if messages and messages[0].topic.endswith("reads.v1"):
            self.waiting += 1
            await self.release.wait()
        await super().publish(messages, timeout_s=timeout_s)


async def test_a_shed_request_is_503_with_retry_after_and_publishes_nothing(
    make_read: MakeRead,
) -> None:
    bus = BlockedReadsBus()
    await bus.start()
    try:
        async with running_gateway(bus, ingest_concurrency=1, ingest_queue_budget_ms=50) as gw:
            first = asyncio.create_task(
                gw.client.post("/v1/reads", json=make_read(read_id="held"), headers=gw.auth())
            )
            await until(lambda: bus.waiting >= 1)
            shed = await gw.client.post(
                "/v1/reads", json=make_read(read_id="shed"), headers=gw.auth()
            )
            assert shed.status_code == 503
            assert int(shed.headers["Retry-After"]) >= 1
            assert shed.json()["errors"][0]["field"] == "load"
            bus.release.set()
            assert (await first).status_code == 202
            records = await read_topic(bus, gw.topics.reads, timeout_s=0.5)
            assert [dict(r.headers)["read_id"] for r in records] == [b"held"]
            metrics = (await gw.client.get("/metrics")).text
            assert 'anpr_gateway_shed_total{reason="deadline"} 1.0' in metrics
    finally:
        await bus.stop()
