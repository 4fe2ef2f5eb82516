"""The bus: how services meet. A Kafka implementation and an in-process one share one interface.

`base` (the interface), `kafka` (`KafkaBus`, aiokafka), `local` (`LocalBus`, embedded mode) and
`factory` (`make_bus`: Kafka when `ANPR_KAFKA_BOOTSTRAP` is set, else the local one; `start_bus`).
"""

from anpr.bus.base import Bus, Consumer, Message, Record

__all__ = ["Bus", "Consumer", "Message", "Record"]
