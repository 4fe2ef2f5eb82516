"""A consumed batch as the client gave it: records become `Record`s only when one is asked for.

The matcher handles tens of thousands of reads a second and reads only each record's value (and
the oldest timestamp of the batch); making a `Record` of every client record first was 12 % of
its time in a py-spy profile (docs/performance.md). `RecordBatch` keeps the client's records,
partition by partition as the client returned them, hands out their values in one list
comprehension (`values_of`), and wraps a record only when it is indexed or iterated: the consume
loop's bookkeeping without a group, a poison record set aside. Handlers take any
`Sequence[Record]` (the consume loop retries a failed batch record by record with plain lists),
so they use `values_of` and `oldest_timestamp_ms`, which take the fast path for a `RecordBatch`
and the ordinary one otherwise.

A client record needs `offset`, `key`, `value`, `timestamp` (epoch ms) and `headers`: aiokafka's
unpacked records (`anpr.bus.client_records`) and its `ConsumerRecord`s both have them.
"""

from __future__ import annotations

import itertools
import operator
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from typing import Any, overload

from anpr.bus.base import Record, TopicPartition

_timestamp = operator.attrgetter("timestamp")


class RecordBatch(Sequence[Record]):
    __slots__ = ("_ends", "_parts", "_raw")

    def __init__(self, parts: Sequence[tuple[TopicPartition, Sequence[Any]]]) -> None:
        """`parts`: per partition, its client records in offset order (none empty)."""
        self._parts = parts
        if len(parts) == 1:
            self._raw: Sequence[Any] = parts[0][1]
        else:
            self._raw = list(itertools.chain.from_iterable(records for _, records in parts))
        self._ends = list(itertools.accumulate(len(records) for _, records in parts))

    def __len__(self) -> int:
        return len(self._raw)

    @overload
    def __getitem__(self, index: int) -> Record: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Record]: ...

    def __getitem__(self, index: int | slice) -> Record | Sequence[Record]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self._raw)))]
        if index < 0:
            index += len(self._raw)
        if not 0 <= index < len(self._raw):
            raise IndexError(index)
        (topic, partition), _ = self._parts[bisect_right(self._ends, index)]
        return _wrap(topic, partition, self._raw[index])

    def __iter__(self) -> Iterator[Record]:
        for (topic, partition), records in self._parts:
            for raw in records:
                yield _wrap(topic, partition, raw)

    def values(self) -> list[bytes | None]:
        return [raw.value for raw in self._raw]

    def next_offsets(self) -> dict[TopicPartition, int]:
        """Per partition, the offset after the last record of the batch."""
        return {tp: records[-1].offset + 1 for tp, records in self._parts}

    def oldest_timestamp_ms(self) -> int:
        return int(min(map(_timestamp, self._raw)))


def _wrap(topic: str, partition: int, raw: Any) -> Record:
    return Record(topic, partition, raw.offset, raw.key, raw.value, raw.timestamp,
                  tuple(raw.headers or ()))  # fmt: skip


def values_of(records: Sequence[Record]) -> list[bytes | None]:
    """The values of a batch, in order, without making a `Record` of each."""
    if isinstance(records, RecordBatch):
        return records.values()
    return [record.value for record in records]


def oldest_timestamp_ms(records: Sequence[Record]) -> int:
    """The oldest record timestamp of a non-empty batch."""
    if isinstance(records, RecordBatch):
        return records.oldest_timestamp_ms()
    return min(record.timestamp_ms for record in records)


def next_offsets(records: Sequence[Record]) -> dict[TopicPartition, int]:
    """Per partition, the offset after the last record of the batch (records of a partition
    come in offset order)."""
    if isinstance(records, RecordBatch):
        return records.next_offsets()
    return {(record.topic, record.partition): record.offset + 1 for record in records}
