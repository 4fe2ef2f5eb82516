"""`anpr.bus.batch`: a batch of client records read as values, wrapped only on demand, and the
helpers that take either a `RecordBatch` or a plain list of `Record`s with the same answers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from anpr.bus.base import Record
from anpr.bus.batch import RecordBatch, next_offsets, oldest_timestamp_ms, values_of


@dataclass
class ClientRecord:
    """Shaped like aiokafka's `ConsumerRecord` (a `timestamp`, not `timestamp_ms`)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: int
    headers: Sequence[tuple[str, bytes]] = ()


RAW = [
    ClientRecord("reads", 0, 10, b"a", b"v10", 500),
    ClientRecord("reads", 1, 7, b"b", None, 300),
    ClientRecord("reads", 0, 11, None, b"v11", 900, (("read_id", b"r"),)),
]
made: list[int] = []


def wrap(r: ClientRecord) -> Record:
    made.append(r.offset)
    return Record(r.topic, r.partition, r.offset, r.key, r.value, r.timestamp, r.headers)


def batch() -> RecordBatch:
    return RecordBatch(RAW, wrap, lambda r: r.timestamp)


def as_records() -> list[Record]:
    return [Record(r.topic, r.partition, r.offset, r.key, r.value, r.timestamp, r.headers)
            for r in RAW]  # fmt: skip


@pytest.mark.parametrize("make", [batch, as_records], ids=["batch", "list"])
def test_helpers_answer_the_same_for_a_batch_and_a_list(make: object) -> None:
    records = make()  # type: ignore[operator]
    assert values_of(records) == [b"v10", None, b"v11"]
    assert oldest_timestamp_ms(records) == 300
    assert next_offsets(records) == {("reads", 0): 12, ("reads", 1): 8}


def test_records_are_made_only_when_asked_for() -> None:
    made.clear()
    records = batch()
    assert len(records) == 3
    values_of(records)
    oldest_timestamp_ms(records)
    next_offsets(records)
    assert made == []
    assert records[1] == Record("reads", 1, 7, b"b", None, 300, ())
    assert made == [7]
    assert [r.offset for r in records[1:]] == [7, 11]
    assert list(records) == as_records()
    assert records[-1].headers == (("read_id", b"r"),)
