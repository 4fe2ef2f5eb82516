"""How aiokafka's errors become the project's (`anpr.bus.kafka._bus_error`): an outage is
retriable, a record Kafka refuses for what it is is `RecordRefused`, anything else about the
bus is a `BusError` (which the consumer loop never takes for a bad record)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import (
    CommitFailedError,
    KafkaConnectionError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    NotEnoughReplicasError,
    OutOfOrderSequenceNumber,
    RecordTooLargeError,
    TopicAuthorizationFailedError,
)

from anpr.bus.kafka import KafkaConsumer, _bus_error
from anpr.errors import BusError, BusUnavailable, RecordRefused


@pytest.mark.parametrize(
    "exc",
    [
        TimeoutError(),
        KafkaTimeoutError(),  # aiokafka's own: not marked retriable, but a broker away
        KafkaConnectionError(),
        NotEnoughReplicasError(),
    ],
)
def test_an_outage_is_retriable(exc: BaseException) -> None:
    assert type(_bus_error("publish", 5.0, exc)) is BusUnavailable


@pytest.mark.parametrize("exc", [MessageSizeTooLargeError(), RecordTooLargeError()])
def test_a_record_refused_for_what_it_is(exc: BaseException) -> None:
    error = _bus_error("publish", 5.0, exc)
    assert isinstance(error, RecordRefused) and not error.retriable


@pytest.mark.parametrize("exc", [TopicAuthorizationFailedError(), OutOfOrderSequenceNumber()])
def test_a_bus_refusing_every_record_is_not_about_the_record(exc: BaseException) -> None:
    error = _bus_error("publish", 5.0, exc)
    assert type(error) is BusError and not error.retriable


class RebalancedConsumer:
    """aiokafka's consumer as a rebalance leaves it: its commit is refused."""

    def assignment(self) -> set[TopicPartition]:
        return {TopicPartition("t", 0)}

    async def commit(self, offsets: object = None) -> None:
        raise CommitFailedError("the group has already rebalanced")


@contextlib.asynccontextmanager
async def committing_with(stub: RebalancedConsumer) -> AsyncIterator[KafkaConsumer]:
    """A group consumer (never started) whose aiokafka consumer is `stub`."""
    consumer = KafkaConsumer(
        "127.0.0.1:1", ["t"], group_id="g", from_beginning=True, client_id="test"
    )
    real, consumer._consumer = consumer._consumer, stub  # type: ignore[assignment]
    try:
        yield consumer
    finally:
        await real.stop()


async def test_a_commit_refused_by_a_rebalance_keeps_the_consumer() -> None:
    """Ending the consumer for it (as for any other failed commit) would re-join the group, and
    every join sets off the next rebalance of every member: a rebalance storm."""
    async with committing_with(RebalancedConsumer()) as consumer:
        await consumer.commit({("t", 0): 5})  # no error: the batches are redone by the owner


async def test_any_other_failed_commit_ends_the_consumer() -> None:
    class Away(RebalancedConsumer):
        async def commit(self, offsets: object = None) -> None:
            raise KafkaConnectionError("the coordinator is away")

    async with committing_with(Away()) as consumer:
        with pytest.raises(BusUnavailable):
            await consumer.commit({("t", 0): 5})
