"""How aiokafka's errors become the project's (`anpr.bus.kafka._bus_error`): an outage is
retriable, a record Kafka refuses for what it is is `RecordRefused`, anything else about the
bus is a `BusError` (which the consumer loop never takes for a bad record)."""

from __future__ import annotations

import pytest
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    NotEnoughReplicasError,
    OutOfOrderSequenceNumber,
    RecordTooLargeError,
    TopicAuthorizationFailedError,
)

from anpr.bus.kafka import _bus_error
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
