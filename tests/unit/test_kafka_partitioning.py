"""The Kafka bus chooses partitions as aiokafka's default partitioner does, remembered per key."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner

from anpr.bus.kafka import KafkaBus


def test_a_remembered_partition_is_the_default_partitioners_for_every_partition_count() -> None:
    bus = KafkaBus("127.0.0.1:1", [])
    reference = DefaultPartitioner()
    keys = [f"cam-{i}".encode() for i in range(500)]
    for count in (6, 12, 6, 1):
        partitions = list(range(count))
        for key in keys:
            assert bus._partition_of(key, partitions) == reference(key, partitions, partitions)
