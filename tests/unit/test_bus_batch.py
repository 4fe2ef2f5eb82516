"""`anpr.bus.batch`: a batch of client records, partition by partition, read as values and
wrapped only on demand, and the helpers that take either a `RecordBatch` or a plain list of
`Record`s with the same answers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from anpr.bus.base import Record
from anpr.bus.batch import RecordBatch, next_offsets, oldest_timestamp_ms, values_of


@dataclass
class ClientRecord:
    """Shaped like aiokafka's unpacked records: no topic or partition, a `timestamp` (not
    `timestamp_ms`), headers as a list."""

    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: int
    headers: list[tuple[str, bytes]] = field(default_factory=list)


# Per partition, as the client returns them: partition 0 first, then partition 1.
PARTS: list[tuple[tuple[str, int], Sequence[ClientRecord]]] = [
    (("reads", 0), [ClientRecord(10, b"a", b"v10", 500),
                    ClientRecord(11, None, b"v11", 900, [("read_id", b"r")])]),
    (("reads", 1), [ClientRecord(7, b"b", None, 300)]),
]  # fmt: skip
RECORDS = [
    Record("reads", 0, 10, b"a", b"v10", 500, ()),
    Record("reads", 0, 11, None, b"v11", 900, (("read_id", b"r"),)),
    Record("reads", 1, 7, b"b", None, 300, ()),
]


def batch() -> RecordBatch:
    return RecordBatch(PARTS)


def as_records() -> list[Record]:
    return list(RECORDS)


@pytest.mark.parametrize("make", [batch, as_records], ids=["batch", "list"])
def test_helpers_answer_the_same_for_a_batch_and_a_list(make: object) -> None:
    records = make()  # type: ignore[operator]
    assert values_of(records) == [b"v10", b"v11", None]
    assert oldest_timestamp_ms(records) == 300
    assert next_offsets(records) == {("reads", 0): 12, ("reads", 1): 8}


def test_a_batch_reads_as_the_records_it_holds() -> None:
    records = batch()
    assert len(records) == 3
    assert list(records) == RECORDS
    assert [records[i] for i in range(3)] == RECORDS
    assert records[-1] == RECORDS[-1]
    assert records[-3] == RECORDS[0]
    assert list(records[1:]) == RECORDS[1:]
    assert list(records[::-1]) == RECORDS[::-1]
    with pytest.raises(IndexError):
        records[3]
    with pytest.raises(IndexError):
        records[-4]


def test_a_batch_of_one_partition() -> None:
    records = RecordBatch(PARTS[1:])
    assert list(records) == RECORDS[2:]
    assert next_offsets(records) == {("reads", 1): 8}
