"""`anpr.bus.client_records` against the installed aiokafka: a consumer marked `KEEP_VALUE`
gets the records it unpacks, any other consumer still gets `ConsumerRecord`s, and a batch made
of either reads the same. No broker: the records are a record batch built in memory, handed to
aiokafka's own `PartitionRecords` as a fetch response would be."""

from __future__ import annotations

from typing import Any

from aiokafka.consumer.fetcher import READ_UNCOMMITTED, PartitionRecords
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from aiokafka.record.memory_records import MemoryRecords
from aiokafka.structs import ConsumerRecord, TopicPartition

from anpr.bus.base import Record
from anpr.bus.batch import RecordBatch, oldest_timestamp_ms, values_of
from anpr.bus.client_records import KEEP_VALUE, install


def unpacked(value_deserializer: Any, *, fetch_offset: int = 0) -> list[Any]:
    builder = DefaultRecordBatchBuilder(2, 0, 0, -1, -1, -1, 1 << 20)  # magic 2, no compression
    builder.append(0, timestamp=1_000, key=b"cam-1", value=b'{"read_id":"a"}', headers=[])
    builder.append(1, timestamp=900, key=None, value=None, headers=[("trace", b"t1")])
    builder.append(2, timestamp=1_100, key=b"cam-2", value=b'{"read_id":"c"}', headers=[])
    records = PartitionRecords(
        TopicPartition("reads", 3), MemoryRecords(bytes(builder.build())), [], fetch_offset,
        None, value_deserializer, True, READ_UNCOMMITTED,
    )  # fmt: skip
    return list(records)


EXPECTED = [
    Record("reads", 3, 0, b"cam-1", b'{"read_id":"a"}', 1_000, ()),
    Record("reads", 3, 1, None, None, 900, (("trace", b"t1"),)),
    Record("reads", 3, 2, b"cam-2", b'{"read_id":"c"}', 1_100, ()),
]


def test_the_installed_aiokafka_takes_the_patch() -> None:
    assert install() is True
    assert install() is True  # once only: a second call changes nothing


def test_a_marked_consumer_gets_unpacked_records_that_read_as_records() -> None:
    install()
    raw = unpacked(KEEP_VALUE)
    assert not any(isinstance(r, ConsumerRecord) for r in raw)
    batch = RecordBatch([(("reads", 3), raw)])
    assert list(batch) == EXPECTED
    assert values_of(batch) == [r.value for r in EXPECTED]
    assert oldest_timestamp_ms(batch) == 900


def test_other_consumers_still_get_consumer_records() -> None:
    install()
    raw = unpacked(None)
    assert all(isinstance(r, ConsumerRecord) for r in raw)
    assert [(r.topic, r.partition, r.offset) for r in raw] == [("reads", 3, n) for n in range(3)]
    # ConsumerRecords have the fields a batch reads: the same records either way.
    assert list(RecordBatch([(("reads", 3), raw)])) == EXPECTED


def test_records_before_the_fetch_offset_are_skipped_as_before() -> None:
    install()
    assert [r.offset for r in unpacked(KEEP_VALUE, fetch_offset=1)] == [1, 2]
