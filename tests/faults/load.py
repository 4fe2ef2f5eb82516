"""The fault tests' load driver: POSTs reads to the gateway at a fixed rate (open loop: a slow
answer does not slow the sending) and keeps a LEDGER of every read answered 202, with the hit it
must give (a known fraction of reads carry a plate of the hotlist).

A read is never resent: each attempt has a fresh read_id, so "every acknowledged read is on the
topic exactly once" is a property of the system, not of the driver. Every answer's status,
`Retry-After` and latency are kept for the checks.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

import orjson

from anpr.clock import ms_to_rfc3339, now_ms
from tests.faults.rawhttp import RawClient, RawHttpError
from tests.faults.stack import CAMERAS, HIT_PLATES


@dataclass(frozen=True, slots=True)
class Acked:
    """A read the gateway answered 202 for: what it must give, and when it was acknowledged."""

    read_id: str
    hit_plate: str | None
    acked_at: float  # time.monotonic()


@dataclass
class Ledger:
    acked: dict[str, Acked] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    # 5xx answers that are not 503 + Retry-After: each one fails the test.
    bad_answers: list[str] = field(default_factory=list)
    transport_errors: Counter[str] = field(default_factory=Counter)
    # (status, seconds, monotonic time answered) of every answer.
    latencies: list[tuple[int, float, float]] = field(default_factory=list)
    not_sent: int = 0  # the driver's own in-flight cap reached: never sent, not a gateway answer
    # "status:field" of every 5xx answer (field of the error body: kafka, load, registry ...).
    refusals: Counter[str] = field(default_factory=Counter)

    def expected_hits(self) -> dict[str, str]:
        """read_id -> hotlist plate, for every acknowledged read that must give a hit."""
        return {a.read_id: a.hit_plate for a in self.acked.values() if a.hit_plate is not None}

    def acked_after(self, moment: float) -> list[Acked]:
        return [a for a in self.acked.values() if a.acked_at >= moment]

    def accepted_latencies(self) -> list[float]:
        return [seconds for status, seconds, _ in self.latencies if status == 202]


def _error_field(body: bytes) -> str:
    try:
        return str(orjson.loads(body)["errors"][0]["field"])
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError):
        return "?"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class LoadDriver:
    """`rate` requests/s of `batch` reads each; one read in `hit_every` carries a hot plate."""

    def __init__(
        self,
        gateway: str,
        token: str,
        *,
        run: str,
        rate: float,
        batch: int = 1,
        hit_every: int = 5,
        max_in_flight: int = 256,
        timeout_s: float = 15.0,
    ) -> None:
        self.ledger = Ledger()
        self._client = RawClient(gateway, connections=max_in_flight, timeout_s=timeout_s)
        self._headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self._run = run
        self.rate = rate
        self._batch = batch
        self.hit_every = hit_every
        self._max_in_flight = max_in_flight
        self._seq = 0
        self._in_flight: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None

    def _reads(self, camera: str | None, hot_only: bool) -> list[dict[str, object]]:
        reads = []
        for _ in range(self._batch):
            self._seq += 1
            seq = self._seq
            hot = hot_only or seq % self.hit_every == 0
            plate = HIT_PLATES[seq % len(HIT_PLATES)] if hot else f"NO{seq:07d}"
            reads.append(
                {
                    "read_id": f"{self._run}-{seq}",
                    "camera_id": camera or CAMERAS[seq % len(CAMERAS)],
                    "plate": plate,
                    "captured_at": ms_to_rfc3339(now_ms() - 1000),
                    "confidence": 0.9,
                }
            )
        return reads

    async def send_one(self, *, camera: str | None = None, hot_only: bool = False) -> int | None:
        """One request now, its reads recorded; its status (None: no answer)."""
        reads = self._reads(camera, hot_only)
        body = orjson.dumps(reads if self._batch > 1 else reads[0])
        started = time.monotonic()
        ledger = self.ledger
        try:
            answer = await self._client.post("/v1/reads", body, self._headers)
        except RawHttpError as exc:
            ledger.transport_errors[str(exc).split(":")[0]] += 1
            return None
        done = time.monotonic()
        ledger.statuses[answer.status] += 1
        ledger.latencies.append((answer.status, done - started, done))
        if answer.status >= 500:
            ledger.refusals[f"{answer.status}:{_error_field(answer.body)}"] += 1
        if answer.status >= 500 and not (answer.status == 503 and "retry-after" in answer.headers):
            ledger.bad_answers.append(f"{answer.status} {answer.headers} {answer.body[:300]!r}")
        if answer.status == 202:
            result = orjson.loads(answer.body)
            refused = {r["index"] for r in result["rejected"]}
            if result["duplicates"]:
                ledger.bad_answers.append(f"fresh read_ids counted as duplicates: {result}")
            for index, read in enumerate(reads):
                if index not in refused:
                    plate = str(read["plate"])
                    hot = plate if plate in HIT_PLATES else None
                    ledger.acked[str(read["read_id"])] = Acked(str(read["read_id"]), hot, done)
        return answer.status

    def start(self) -> None:
        self._task = asyncio.create_task(self._pace())

    async def stop(self) -> None:
        """Stop sending and wait for every request in flight to be answered."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
        self._client.close()

    async def _pace(self) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        sent = 0
        while True:
            due = started + sent / self.rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            sent += 1
            if len(self._in_flight) >= self._max_in_flight:
                self.ledger.not_sent += 1
                continue
            task = asyncio.create_task(self._send_counted())
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

    async def _send_counted(self) -> None:
        await self.send_one()

    async def until_acked(self, count: int, timeout_s: float) -> bool:
        """Until at least `count` reads have been acknowledged in total; False if the deadline
        passed first (the caller goes on to the checks, which say what went wrong)."""
        deadline = time.monotonic() + timeout_s
        while len(self.ledger.acked) < count:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    def describe(self) -> str:
        ledger = self.ledger
        return (
            f"answers {dict(ledger.statuses)}, 5xx by cause {dict(ledger.refusals)}, transport "
            f"errors {dict(ledger.transport_errors)}, not sent {ledger.not_sent}"
        )


async def closed_loop(
    driver: LoadDriver, *, workers: int, duration_s: float
) -> tuple[float, float]:
    """`workers` senders back to back for `duration_s`: (202 answers per second, their p99 s).
    The sustainable rate of the gateway as it stands, measured rather than assumed."""
    ledger = driver.ledger
    first = len(ledger.latencies)
    stop_at = time.monotonic() + duration_s

    async def worker() -> None:
        while time.monotonic() < stop_at:
            await driver.send_one()

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(workers)))
    elapsed = time.monotonic() - started
    accepted = [seconds for status, seconds, _ in ledger.latencies[first:] if status == 202]
    return len(accepted) / elapsed, percentile(accepted, 0.99)
