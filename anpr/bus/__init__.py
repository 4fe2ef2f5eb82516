"""The bus: how services meet. A Kafka implementation and an in-process one share one interface."""

from anpr.bus.base import Bus, Consumer, Message, Record

__all__ = ["Bus", "Consumer", "Message", "Record"]
