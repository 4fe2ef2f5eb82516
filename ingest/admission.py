"""Bounded queueing for the gateway's ingest work: shed a request (503 + `Retry-After`) once it
would wait longer than `ANPR_INGEST_QUEUE_BUDGET_MS` for its turn, so accepted requests keep a
bounded latency under overload instead of all of them getting slower.

The model is a FIFO queue in front of `slots` concurrent ingest requests (body, validation,
publish). The slot count bounds how many requests share the CPU and the producer at once, so
the time a request spends in its slot stays near its own cost; the queue holds the rest, and the
queue is where an overloaded gateway's latency would otherwise grow without bound.

Two checks, both on time, not on counts:
- **on arrival**, the expected wait: the requests already waiting plus this one, each freeing a
  slot every `service time / slots` seconds (service time: an EWMA of the time requests held a
  slot). Over the budget: shed at once, before the body is read, so a shed costs almost nothing;
- **at the head of the queue**, the deadline: a request that has waited the budget without
  getting a slot is shed then (the estimate can be wrong; the deadline is the guarantee).

A request that got a slot is never shed: it runs to its answer (202, or 503 from Kafka). So an
accepted request waited at most the budget, then took its own service time.

`AdmissionQueue` is the pure core (a clock passed in, no awaits); `Admission` is its asyncio shell.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from anpr.errors import AnprError

EWMA_WEIGHT = 0.2  # of the newest service time: adapts within ~10 requests


class ShedReason(Enum):
    """Why a request was refused; the label of `anpr_gateway_shed_total`."""

    ESTIMATE = "estimate"  # its expected wait was over the budget on arrival
    DEADLINE = "deadline"  # it waited the whole budget without getting a slot


class Overloaded(AnprError):
    """The gateway sheds this request: it would wait longer than the queue budget."""

    retriable = True

    def __init__(self, reason: ShedReason, retry_after_s: int) -> None:
        super().__init__(f"the gateway is overloaded ({reason.value}); retry later")
        self.reason = reason
        self.retry_after_s = retry_after_s


@dataclass(eq=False, slots=True)
class Ticket:
    """One admitted request: queued until `started` is set, then holding a slot."""

    arrived: float
    deadline: float
    started: float | None = None
    done: bool = field(default=False)

    @property
    def waited_s(self) -> float:
        """Seconds queued before the slot (so far, while still queued: 0)."""
        return 0.0 if self.started is None else self.started - self.arrived


class AdmissionQueue:
    """The pure admission logic. Every method takes the time from `clock`."""

    def __init__(
        self,
        *,
        budget_s: float,
        slots: int,
        clock: Callable[[], float] = time.monotonic,
        initial_service_s: float = 0.01,
    ) -> None:
        if budget_s <= 0 or slots < 1:
            raise ValueError("budget_s must be > 0 and slots >= 1")
        self.budget_s = budget_s
        self.slots = slots
        self._clock = clock
        self.service_s = initial_service_s
        self.in_service = 0
        self._waiting: deque[Ticket] = deque()

    def now(self) -> float:
        return self._clock()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def expected_wait(self) -> float:
        """Seconds a request arriving now would wait for a slot (0 when one is free)."""
        if self.in_service < self.slots and not self._waiting:
            return 0.0
        return (len(self._waiting) + 1) * self.service_s / self.slots

    def retry_after(self, cap_s: int) -> int:
        """Whole seconds a shed client should wait: the queue's expected drain time, 1..cap."""
        return max(1, min(cap_s, math.ceil(self.expected_wait())))

    def arrive(self) -> Ticket | None:
        """A ticket (started when a slot is free, else queued), or None: shed on the estimate."""
        if self.expected_wait() > self.budget_s:
            return None
        now = self._clock()
        ticket = Ticket(arrived=now, deadline=now + self.budget_s)
        if self.in_service < self.slots and not self._waiting:
            self._start(ticket, now)
        else:
            self._waiting.append(ticket)
        return ticket

    def abandon(self, ticket: Ticket) -> None:
        """A queued ticket leaves without a slot (its deadline passed, or its client left)."""
        if ticket.started is None and not ticket.done:
            ticket.done = True
            self._waiting.remove(ticket)

    def finish(self, ticket: Ticket) -> tuple[list[Ticket], list[Ticket]]:
        """`ticket` frees its slot: (tickets now started, tickets shed at the head for having
        waited past their deadline)."""
        if ticket.started is None or ticket.done:
            raise ValueError("only a ticket holding a slot can finish")
        now = self._clock()
        ticket.done = True
        self.in_service -= 1
        held = now - ticket.started
        self.service_s += EWMA_WEIGHT * (held - self.service_s)
        return self._dispatch(now)

    def _start(self, ticket: Ticket, now: float) -> None:
        ticket.started = now
        self.in_service += 1

    def _dispatch(self, now: float) -> tuple[list[Ticket], list[Ticket]]:
        started: list[Ticket] = []
        expired: list[Ticket] = []
        while self._waiting and self.in_service < self.slots:
            head = self._waiting.popleft()
            if now > head.deadline:
                head.done = True
                expired.append(head)
                continue
            self._start(head, now)
            started.append(head)
        return started, expired


class Admission:
    """The asyncio shell: `async with admission.slot():` around a request's ingest work."""

    def __init__(self, queue: AdmissionQueue, *, retry_after_cap_s: int) -> None:
        self.queue = queue
        self._cap = retry_after_cap_s
        self._wakers: dict[Ticket, asyncio.Future[bool]] = {}

    def slot(self) -> Slot:
        """Hold a slot for the body (`async with admission.slot() as ticket:`); entering raises
        `Overloaded` instead when the request is shed."""
        return Slot(self)

    def _release(self, ticket: Ticket) -> None:
        started, expired = self.queue.finish(ticket)
        for other in started:
            self._wake(other, True)
        for other in expired:
            self._wake(other, False)

    async def _wait_turn(self, ticket: Ticket) -> None:
        waker = asyncio.get_running_loop().create_future()
        self._wakers[ticket] = waker
        timeout = max(0.0, ticket.deadline - self.queue.now())
        try:
            async with asyncio.timeout(timeout):
                got_slot = await asyncio.shield(waker)
        except TimeoutError:
            got_slot = False
        except BaseException:
            # The client went away while queued: give back the slot it may just have got.
            self._release_abandoned(ticket, waker)
            raise
        finally:
            self._wakers.pop(ticket, None)
        if got_slot:
            return
        if ticket.started is not None:  # the slot came as the deadline passed: take it
            return
        self.queue.abandon(ticket)
        raise Overloaded(ShedReason.DEADLINE, self.queue.retry_after(self._cap))

    def _release_abandoned(self, ticket: Ticket, waker: asyncio.Future[bool]) -> None:
        if ticket.started is not None and not ticket.done:
            started, expired = self.queue.finish(ticket)
            for other in started:
                self._wake(other, True)
            for other in expired:
                self._wake(other, False)
        else:
            self.queue.abandon(ticket)
        if not waker.done():
            waker.cancel()

    def _wake(self, ticket: Ticket, got_slot: bool) -> None:
        waker = self._wakers.get(ticket)
        if waker is not None and not waker.done():
            waker.set_result(got_slot)


class Slot:
    """The context manager of `Admission.slot`: a class, because a generator-based one cost
    more per single-read request than the admission itself (py-spy, benchmarks.http_stack)."""

    __slots__ = ("_admission", "_ticket")

    def __init__(self, admission: Admission) -> None:
        self._admission = admission
        self._ticket: Ticket | None = None

    async def __aenter__(self) -> Ticket:
        admission = self._admission
        ticket = admission.queue.arrive()
        if ticket is None:
            raise Overloaded(ShedReason.ESTIMATE, admission.queue.retry_after(admission._cap))
        if ticket.started is None:
            await admission._wait_turn(ticket)
        self._ticket = ticket
        return ticket

    async def __aexit__(self, *exc_info: object) -> None:
        if self._ticket is not None:
            self._admission._release(self._ticket)
