"""Fixtures shared by every test layer: factories for reads and settings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support.factories import submitted_read
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
    """A valid submitted read (`tests.support.factories.submitted_read`); keyword overrides
    replace fields, `None` removes one."""
    return submitted_read
