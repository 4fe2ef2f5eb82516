"""Fixtures shared by every test layer: factories for reads and settings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from anpr.clock import ms_to_rfc3339, now_ms
from tests.support.kafka import kafka_bootstrap, kafka_broker, kafka_bus, topic_prefix
from tests.support.postgres import pg_database, pg_server

__all__ = [
    "kafka_bootstrap",
    "kafka_broker",
    "kafka_bus",
    "pg_database",
    "pg_server",
    "topic_prefix",
]

MakeRead = Callable[..., dict[str, Any]]


@pytest.fixture
def make_read() -> MakeRead:
    """A valid submitted read; keyword overrides replace fields, `None` removes one."""
    counter = iter(range(1_000_000))

    def make(**overrides: Any) -> dict[str, Any]:
        read: dict[str, Any] = {
            "read_id": f"r-{next(counter)}",
            "camera_id": "cam-1",
            "captured_at": ms_to_rfc3339(now_ms() - 1500),
            "plate": "1-ABC-123",
            "country": "BE",
            "confidence": 0.93,
        }
        for key, value in overrides.items():
            if value is None:
                read.pop(key, None)
            else:
                read[key] = value
        return read

    return make
