"""The named policy for poison records: count, log, set aside on the dead-letter topic, skip.

A record that fails to decode, or whose handling raises, must never stop a consumer loop nor
the other records of its batch. Each one is:
- counted in `anpr_invalid_records_total{process,topic}`, and a record that decoded but whose
  handling raised (`Poison.failed`: a fault of this process, a bug or an error not mapped to a
  retriable one, not of the record) also in `anpr_records_handling_failed_total{process,topic}`,
  which pages: on the reads or hits topic such a record may be a missed alert;
- logged with topic, partition, offset and the error (never the value: it may hold a plate);
- copied with its error to `anpr.deadletter.v1` (14 days' retention), so that it can be
  inspected and replayed once the cause is fixed;
- skipped: the loop commits past it.

The copy is made before the loop commits past the record: when the dead-letter topic cannot
take it, `set_aside` raises `BusUnavailable` and the batch is redone later, so a poison record
is never lost silently either.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter

from anpr.bus.base import Bus, Message, Record
from anpr.clock import now_ms
from anpr.codecs import DEADLETTER
from anpr.codecs.records import DeadLetterRecord

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT_S = 10.0
MAX_ERROR_CHARS = 1000


@dataclass(frozen=True, slots=True)
class Poison:
    """A record set aside, and why; `failed`: the record decoded, its handling raised."""

    record: Record
    error: str
    failed: bool = False


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


class DeadLetters:
    def __init__(self, bus: Bus, topic: str, *, process: str, registry: CollectorRegistry) -> None:
        self._bus = bus
        self._topic = topic
        self._process = process
        self.invalid = Counter(
            "anpr_invalid_records_total",
            "Records that could not be decoded or handled, set aside on the dead-letter topic.",
            ["process", "topic"],
            registry=registry,
        )
        self.failed = Counter(
            "anpr_records_handling_failed_total",
            "Records that decoded but whose handling raised, set aside on the dead-letter topic "
            "(also in anpr_invalid_records_total).",
            ["process", "topic"],
            registry=registry,
        )

    def encode(self, poison: Poison) -> Message:
        record = poison.record
        letter: DeadLetterRecord = {
            "v": 1,
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "timestamp_ms": record.timestamp_ms,
            "key_b64": _b64(record.key),
            "value_b64": _b64(record.value),
            "error": poison.error[:MAX_ERROR_CHARS],
            "process": self._process,
            "at": now_ms(),
        }
        key = f"{record.topic}/{record.partition}/{record.offset}".encode()
        return Message(self._topic, key, DEADLETTER.encode(letter))

    async def set_aside(self, poisons: Sequence[Poison]) -> None:
        """Count, log and copy every poison record; `BusUnavailable` when the copy fails."""
        if not poisons:
            return
        for poison in poisons:
            record = poison.record
            self.invalid.labels(self._process, record.topic).inc()
            if poison.failed:
                self.failed.labels(self._process, record.topic).inc()
            log.error(
                "%s set aside: topic=%s partition=%d offset=%d error=%s",
                "record whose handling failed" if poison.failed else "poison record",
                record.topic,
                record.partition,
                record.offset,
                poison.error[:MAX_ERROR_CHARS],
            )
        await self._bus.publish([self.encode(p) for p in poisons], timeout_s=PUBLISH_TIMEOUT_S)
