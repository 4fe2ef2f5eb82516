"""The guarantees every fault test asserts on its ledger (issue 10, "Checked by"):

- every read answered 202 is on the reads topic exactly once (read back from Kafka, by the
  `read_id` header the gateway sets);
- every expected hit is served on the SSE stream, and no hit_id is served twice;
- no 5xx answer other than 503 with `Retry-After`.

Plus the recovery time: from the end of a fault until hits flow again.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import Counter
from dataclasses import dataclass

import httpx

from anpr.bus.kafka import KafkaBus
from anpr.errors import AnprError
from tests.faults.load import Acked, Ledger, percentile
from tests.faults.sse import HitCollector, Served
from tests.faults.stack import MATCHERS, Stack


async def read_ids_on_topic(bootstrap: str, topic: str, timeout_s: float = 30) -> Counter[str]:
    """How many times each read_id is on `topic`, read from the beginning to its current end."""
    bus = KafkaBus(bootstrap, [], client_id="faults-check")
    await bus.start()
    consumer = bus.consumer([topic], group_id=None, from_beginning=True)
    counts: Counter[str] = Counter()
    try:
        await consumer.start()
        ends = await consumer.end_offsets()
        async with asyncio.timeout(timeout_s):
            while True:
                positions = await consumer.positions()
                if all(positions.get(tp, 0) >= end for tp, end in ends.items()):
                    break
                for record in await consumer.getmany(timeout_ms=500, max_records=10_000):
                    header = dict(record.headers).get("read_id")
                    counts[header.decode() if header else f"?{record.offset}"] += 1
    finally:
        await consumer.stop()
        await bus.stop()
    return counts


async def wait_hits_served(
    ledger: Ledger, collector: HitCollector, *, timeout_s: float
) -> tuple[float, set[str]]:
    """Until every expected hit has been served: (seconds it took, read_ids still missing)."""
    started = time.monotonic()
    deadline = started + timeout_s
    expected = ledger.expected_hits()
    missing = set(expected)
    while True:
        missing = set(expected) - set(collector.served_reads())
        if not missing or time.monotonic() > deadline:
            return time.monotonic() - started, missing
        await asyncio.sleep(0.1)


async def wait_hit_for_read_acked_after(
    ledger: Ledger, collector: HitCollector, moment: float, *, timeout_s: float
) -> float:
    """Seconds from `moment` until a hit was served for a read acknowledged after `moment`:
    the recovery time of a fault that ended at `moment`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        fresh = {a.read_id for a in ledger.acked_after(moment) if a.hit_plate is not None}
        arrivals = [s.arrived for s in collector.served if s.read_id in fresh]
        if arrivals:
            return min(arrivals) - moment
        await asyncio.sleep(0.1)
    raise AssertionError(
        f"no hit served for a read acknowledged after the fault within {timeout_s} s "
        f"({len(ledger.acked_after(moment))} such reads acknowledged)"
    )


@dataclass(frozen=True)
class Verdict:
    acked: int
    expected_hits: int
    served_hits: int
    lost_reads: list[str]  # acknowledged, not on the topic
    doubled_reads: list[str]  # acknowledged, on the topic more than once
    missed_hits: list[str]  # read_ids whose hit was never served
    wrong_hits: list[str]  # served for a read, but not the entry its plate is on
    duplicate_hits: dict[str, int]
    bad_answers: list[str]

    def summary(self) -> str:
        return (
            f"acked={self.acked} expected_hits={self.expected_hits} served={self.served_hits} "
            f"lost_reads={len(self.lost_reads)} doubled_reads={len(self.doubled_reads)} "
            f"missed_hits={len(self.missed_hits)} wrong_hits={len(self.wrong_hits)} "
            f"duplicate_hits={len(self.duplicate_hits)} bad_5xx={len(self.bad_answers)}"
        )

    @property
    def ok(self) -> bool:
        return not (
            self.lost_reads
            or self.doubled_reads
            or self.missed_hits
            or self.wrong_hits
            or self.duplicate_hits
            or self.bad_answers
        )


async def verdict(
    bootstrap: str,
    reads_topic: str,
    ledger: Ledger,
    collector: HitCollector,
    *,
    hits_timeout_s: float = 30,
) -> Verdict:
    """Wait (bounded) for every expected hit, then read the topic back and judge."""
    await wait_hits_served(ledger, collector, timeout_s=hits_timeout_s)
    try:
        on_topic = await read_ids_on_topic(bootstrap, reads_topic)
    except AnprError as exc:
        raise AssertionError(f"could not read {reads_topic} back: {exc}") from exc
    served = collector.served_reads()
    expected = ledger.expected_hits()
    wrong = [
        read_id
        for read_id, plate in expected.items()
        if read_id in served and served[read_id].plate not in ("", plate)
    ]
    return Verdict(
        acked=len(ledger.acked),
        expected_hits=len(expected),
        served_hits=len(collector.counts),
        lost_reads=sorted(r for r in ledger.acked if on_topic[r] == 0),
        doubled_reads=sorted(r for r in ledger.acked if on_topic[r] > 1),
        missed_hits=sorted(set(expected) - set(served)),
        wrong_hits=wrong,
        duplicate_hits=collector.duplicates(),
        bad_answers=ledger.bad_answers,
    )


def _pairs(ledger: Ledger, collector: HitCollector) -> list[tuple[Acked, Served]]:
    served = collector.served_reads()
    return [
        (a, served[a.read_id]) for a in ledger.acked.values() if a.hit_plate and a.read_id in served
    ]


def late_threshold_s(pairs: list[tuple[Acked, Served]], fault_start: float) -> float:
    """A hit is late when it came more than max(1 s, 3 x the median before the fault) after its
    read was acknowledged."""
    baseline = [s.arrived - a.acked_at for a, s in pairs if a.acked_at < fault_start]
    return max(1.0, 3 * percentile(baseline, 0.5))


def recovery_s(
    ledger: Ledger, collector: HitCollector, fault_start: float, fault_end: float
) -> float:
    """From the end of a fault until hits flow normally again: the arrival of the last late hit,
    measured from `fault_end` (0 when none was late after it). Infinite when a read
    acknowledged from the fault on is still without its hit, or none after it gave one."""
    pairs = _pairs(ledger, collector)
    threshold = late_threshold_s(pairs, fault_start)
    served = collector.served_reads()
    missing = [
        a for a in ledger.acked_after(fault_start) if a.hit_plate and a.read_id not in served
    ]
    if missing or not any(a.acked_at >= fault_end for a, _ in pairs):
        return float("inf")  # hits missing: it never recovered
    late = [s.arrived for a, s in pairs if s.arrived - a.acked_at > threshold]
    return max(0.0, max(late, default=fault_end) - fault_end)


def delays(ledger: Ledger, collector: HitCollector, fault_start: float, fault_end: float) -> str:
    """Read accepted -> hit served, before and around the fault, for the test's report."""
    pairs = _pairs(ledger, collector)
    before = [s.arrived - a.acked_at for a, s in pairs if a.acked_at < fault_start]
    around = [s.arrived - a.acked_at for a, s in pairs if a.acked_at >= fault_start]
    return (
        f"accepted->served before the fault p50 {percentile(before, 0.5):.2f} s p99 "
        f"{percentile(before, 0.99):.2f} s; from the fault on p50 {percentile(around, 0.5):.2f} s "
        f"max {max(around, default=0.0):.2f} s; late above "
        f"{late_threshold_s(pairs, fault_start):.2f} s"
    )


async def matched_counts(stack: Stack) -> dict[str, float]:
    """`anpr_matcher_reads_matched_total` of each live matcher."""
    out: dict[str, float] = {}
    async with httpx.AsyncClient(timeout=5) as http:
        for name in MATCHERS:
            proc = stack.procs[name]
            if not proc.alive():
                continue
            with contextlib.suppress(httpx.HTTPError):
                text = (await http.get(f"{proc.url}/metrics")).text
                found = re.search(r"^anpr_matcher_reads_matched_total (\S+)$", text, re.M)
                out[name] = float(found.group(1)) if found else 0.0
    return out


async def wait_every_matcher_consuming(
    stack: Stack, since: dict[str, float], *, reference: float, deadline: float
) -> dict[str, float]:
    """Until every matcher has matched reads since the snapshot `since` (each member of the
    group back to work, not just one of them taking every partition), or the deadline (a
    `time.monotonic()` instant). Returns, per matcher, the seconds from `reference` (the end of
    the fault) to when it was first seen matching again (inf: never)."""
    started = reference
    took: dict[str, float] = {}
    while time.monotonic() < deadline and len(took) < len(since):
        now = await matched_counts(stack)
        for name, before in since.items():
            if name not in took and now.get(name, before) > before:
                took[name] = time.monotonic() - started
        await asyncio.sleep(0.5)
    return {name: took.get(name, float("inf")) for name in since}


async def assert_every_matcher_working(stack: Stack) -> None:
    """Precondition of a fault: each matcher of the group has matched reads (each owns a
    partition that receives some), so that "every member back at work" means something."""
    counts = await matched_counts(stack)
    idle = [name for name in MATCHERS if counts.get(name, 0.0) <= 0]
    assert not idle, f"matchers with nothing matched before the fault: {idle} ({counts})"
