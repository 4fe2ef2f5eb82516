"""A consumed batch as the client gave it: records become `Record`s only when one is asked for.

The matcher handles tens of thousands of reads a second and reads only each record's value (and
the oldest timestamp of the batch); making a `Record` of every client record first was 12 % of
its time in a py-spy profile (docs/performance.md). `RecordBatch` keeps the client's records,
hands out their values in one list comprehension (`values_of`), and wraps a record only when
it is indexed or iterated: the consume loop's bookkeeping without a group, a poison record set
aside. Handlers take any `Sequence[Record]` (the consume loop retries a failed batch record by
record with plain lists), so they use `values_of` and `oldest_timestamp_ms`, which take the
fast path for a `RecordBatch` and the ordinary one otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, overload

from anpr.bus.base import Record


class RecordBatch(Sequence[Record]):
    __slots__ = ("_raw", "_timestamp", "_wrap")

    def __init__(
        self,
        raw: Sequence[Any],
        wrap: Callable[[Any], Record],
        timestamp: Callable[[Any], int],
    ) -> None:
        """`raw`: the client's records, each with a `value`; `wrap` makes a `Record` of one;
        `timestamp` reads one's timestamp in epoch ms."""
        self._raw = raw
        self._wrap = wrap
        self._timestamp = timestamp

    def __len__(self) -> int:
        return len(self._raw)

    @overload
    def __getitem__(self, index: int) -> Record: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Record]: ...

    def __getitem__(self, index: int | slice) -> Record | Sequence[Record]:
        if isinstance(index, slice):
            return [self._wrap(raw) for raw in self._raw[index]]
        return self._wrap(self._raw[index])

    def __iter__(self) -> Iterator[Record]:
        return map(self._wrap, self._raw)

    def values(self) -> list[bytes | None]:
        return [raw.value for raw in self._raw]

    def next_offsets(self) -> dict[tuple[str, int], int]:
        """Per partition, the offset after the last record of the batch."""
        return {(raw.topic, raw.partition): raw.offset + 1 for raw in self._raw}

    def oldest_timestamp_ms(self) -> int:
        return min(map(self._timestamp, self._raw))


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


def next_offsets(records: Sequence[Record]) -> dict[tuple[str, int], int]:
    """Per partition, the offset after the last record of the batch (records of a partition
    come in offset order)."""
    if isinstance(records, RecordBatch):
        return records.next_offsets()
    return {(record.topic, record.partition): record.offset + 1 for record in records}
