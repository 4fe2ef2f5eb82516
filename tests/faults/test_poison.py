"""Poison records: one garbage value and one wrong-typed JSON value on every topic a process
consumes (reads, hits, heartbeats, gateway events, registry, hotlists, matcher status), written
with a raw producer while the stack is under load.

The policy (issue 10, item 4): each is counted, logged, copied with its error to
`<prefix>deadletter.v1`, and skipped; no loop stops. So after the poison the stack must still
match later reads and serve their hits, apply a new hotlist version on both matchers, and learn
a new camera; and every poison record must be on the dead-letter topic with its error.

The dead-letter record's layout is not fixed by the contract, so it is matched loosely: each
poison record carries a unique marker in its key and value, looked for in the dead-letter
record's key, value (raw bytes, every JSON string, and every JSON string that is base64) and
header values; and the word "error" must appear (a field or header naming the error).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest

from anpr.bus.base import Message, Record
from anpr.bus.kafka import KafkaBus
from anpr.clock import ms_to_rfc3339, now_ms
from anpr.errors import AnprError
from tests.faults.checks import delays, recovery_s, verdict
from tests.faults.stack import HIT_PLATES

pytestmark = [pytest.mark.faults, pytest.mark.kafka]

READS_PER_S = 100  # 50 requests/s of 2 reads; 1 read in 5 carries a hot plate
CONSUMED = (
    "reads",
    "hits",
    "heartbeats",
    "gateway-events",
    "registry",
    "hotlists",
    "matcher-status",
)


def wrong_types(topic: str, marker: str) -> tuple[bytes, dict[str, Any]]:
    """(key, value) of a record with the topic's keys present but the wrong types."""
    soon = "soon"
    if topic == "reads":
        return b"cam-f1", {
            "v": 1,
            "read_id": marker,
            "camera_id": "cam-f1",
            "integrator_id": "int-f",
            "captured_at": ms_to_rfc3339(now_ms()),
            "captured_at_ms": now_ms(),
            "plate": HIT_PLATES[0],
            "plate_norm": HIT_PLATES[0],
            "received_at": soon,
        }
    if topic == "hits":
        return marker.encode(), {
            "v": 1,
            "hit_id": marker,
            "read": "not-an-object",
            "list_id": 5,
            "entry_id": [],
            "priority": "high",
            "covert": "no",
            "match": 7,
            "matched_at": soon,
        }
    if topic == "heartbeats":
        return b"cam-f1", {
            "v": 1,
            "camera_id": "cam-f1",
            "integrator_id": "int-f",
            "sent_at": marker,
            "received_at": soon,
            "status": [],
        }
    if topic == "gateway-events":
        return b"cam-f1", {
            "v": 1,
            "camera_id": "cam-f1",
            "at": soon,
            "rejected": marker,
            "rejected_by_reason": [],
            "duplicates": "many",
        }
    if topic == "registry":
        return f"camera/{marker}".encode(), {
            "v": 1,
            "kind": "camera",
            "camera_id": marker,
            "integrator_id": 7,
            "zones": "nope",
            "name": 3,
            "updated_at": soon,
        }
    if topic == "hotlists":
        return marker.encode(), {
            "v": 1,
            "kind": "list",
            "list_id": marker,
            "priority": "high",
            "match": 42,
            "version": soon,
            "covert": "no",
        }
    return marker.encode(), {
        "v": 1, "kind": "matcher_status", "matcher_id": marker, "applied": "all",
        "ready": "yes", "at": soon,
    }  # fmt: skip


def poison(prefix: str) -> tuple[list[Message], dict[str, str]]:
    """Two records per consumed topic, and marker -> topic of each."""
    messages: list[Message] = []
    markers: dict[str, str] = {}
    for topic in CONSUMED:
        name = f"{prefix}{topic}.v1"
        garbage = f"poison-{uuid.uuid4().hex[:12]}"
        typed = f"poison-{uuid.uuid4().hex[:12]}"
        markers[garbage] = markers[typed] = topic
        messages.append(
            Message(name, garbage.encode(), b"\xff\xfe\x00{" + garbage.encode() + b"\x81not json")
        )
        key, value = wrong_types(topic, typed)
        messages.append(Message(name, key, orjson.dumps(value)))
    return messages, markers


def searchable(record: Record) -> bytes:
    """Everything a dead-letter record carries, with base64 fields decoded too."""
    parts = [record.key or b"", record.value or b""]
    parts += [value for _, value in record.headers]
    try:
        decoded = orjson.loads(record.value or b"")
    except orjson.JSONDecodeError:
        decoded = None
    stack = [decoded]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
            parts.extend(str(k).encode() for k in item)
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            parts.append(item.encode())
            with contextlib.suppress(binascii.Error, ValueError):
                parts.append(base64.b64decode(item, validate=True))
    return b"\n".join(parts)


async def dead_letters(bootstrap: str, topic: str, want: set[str], timeout_s: float) -> bytes:
    """The dead-letter topic's records (searchable text), read until every marker in `want`
    is found or the deadline passes."""
    bus = KafkaBus(bootstrap, [], client_id="faults-deadletter")
    await bus.start()
    consumer = bus.consumer([topic], group_id=None, from_beginning=True)
    seen = b""
    try:
        await consumer.start()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not all(m.encode() in seen for m in want):
            for record in await consumer.getmany(timeout_ms=500, max_records=1000):
                seen += searchable(record) + b"\n\n"
    finally:
        await consumer.stop()
        await bus.stop()
    return seen


@pytest.mark.timeout(400)
async def test_one_poison_record_on_each_consumed_topic(
    kafka_bootstrap: str, scenario_factory: Callable[..., Any]
) -> None:
    async with scenario_factory(kafka_bootstrap, rate=READS_PER_S / 2, batch=2) as sc:
        stack = sc.stack
        sc.driver.start()
        assert await sc.driver.until_acked(2 * READS_PER_S, timeout_s=30), sc.driver.describe()
        messages, markers = poison(stack.prefix)
        fault_start = time.monotonic()
        producer = KafkaBus(kafka_bootstrap, [], client_id="faults-poison")
        await producer.start()
        try:
            await producer.publish(messages, timeout_s=10)
        finally:
            await producer.stop()
        fault_end = time.monotonic()

        # Every follower and loop must go on: a new hotlist version reaches both matchers
        # (hotlists, matcher-status), a new camera reaches the gateway (registry) ...
        await stack.upload_entries((*HIT_PLATES, "HOTNEW1"))
        await stack.wait_list_applied(timeout_s=30)
        await stack.add_camera("cam-f3")
        deadline = time.monotonic() + 30
        while await sc.driver.send_one(camera="cam-f3", hot_only=True) != 202:
            assert time.monotonic() < deadline, "the gateway never learnt cam-f3 after the poison"
            await asyncio.sleep(0.2)
        # ... and reads after the poison are matched and their hits served.
        await sc.driver.until_acked(len(sc.driver.ledger.acked) + 8 * READS_PER_S, timeout_s=30)
        await sc.driver.stop()
        result = await verdict(kafka_bootstrap, sc.reads_topic, sc.driver.ledger, sc.collector)
        recovery = recovery_s(sc.driver.ledger, sc.collector, fault_start, fault_end)
        sc.report(
            f"poison on {len(CONSUMED)} topics: {result.summary()}; recovery {recovery:.1f} s"
        )
        sc.report(sc.driver.describe())
        sc.report(delays(sc.driver.ledger, sc.collector, fault_start, fault_end))
        async with httpx.AsyncClient(timeout=5) as http:
            for proc in stack.procs.values():
                ready = await http.get(f"{proc.url}/readyz")
                sc.report(f"{proc.name} /readyz after the poison: {ready.status_code} {ready.text}")
        assert result.ok, f"{result.summary()}\nmissed e.g. {result.missed_hits[:5]}\n" + (
            stack.logs(6000)
        )

        dlq = f"{stack.prefix}deadletter.v1"
        try:
            seen = await dead_letters(kafka_bootstrap, dlq, set(markers), timeout_s=20)
        except AnprError as exc:
            pytest.fail(f"cannot read {dlq}: {exc}", pytrace=False)
        missing = sorted(f"{markers[m]}:{m}" for m in markers if m.encode() not in seen)
        sc.report(f"dead-letter: {len(markers) - len(missing)} of {len(markers)} poison records")
        assert not missing, f"poison records not on {dlq}: {missing}"
        assert b"error" in seen.lower(), f"no error recorded with the dead letters on {dlq}"
