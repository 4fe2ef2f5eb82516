"""What the Kafka bus asks of aiokafka for a consumer, checked without a broker (the client is
made, never started)."""

from __future__ import annotations

from anpr.bus.base import MAX_POLL_INTERVAL_S
from anpr.bus.kafka import KafkaBus


async def test_a_consumer_keeps_the_poll_interval_it_asks_for() -> None:
    bus = KafkaBus("127.0.0.1:1", [])
    usual = bus.consumer(["t"], group_id="g", from_beginning=False)
    longer = bus.consumer(["t"], group_id="g", from_beginning=False, max_poll_interval_s=900.0)
    try:
        assert usual._consumer._max_poll_interval_ms == int(MAX_POLL_INTERVAL_S * 1000)
        assert longer._consumer._max_poll_interval_ms == 900_000
    finally:
        await usual._consumer.stop()
        await longer._consumer.stop()
