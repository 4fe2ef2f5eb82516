"""Choosing the bus for a process: Kafka when `ANPR_KAFKA_BOOTSTRAP` is set, else the local one."""

from __future__ import annotations

import asyncio
import logging

from anpr.bus.base import Bus
from anpr.bus.kafka import KafkaBus
from anpr.bus.local import LocalBus
from anpr.datadir import secure_data_dir
from anpr.errors import AnprError
from anpr.settings import CommonSettings
from anpr.topics import Topics

log = logging.getLogger(__name__)

LOCAL_BUS_FILE = "bus.sqlite3"


def make_bus(settings: CommonSettings, *, client_id: str) -> Bus:
    specs = Topics.from_prefix(settings.topic_prefix).specs(settings)
    if settings.kafka_bootstrap:
        return KafkaBus(
            settings.kafka_bootstrap,
            specs,
            client_id=client_id,
            linger_ms=settings.kafka_linger_ms,
        )
    secure_data_dir(settings.data_dir)
    return LocalBus(settings.data_dir / LOCAL_BUS_FILE, specs)


async def start_bus(bus: Bus, *, attempts: int = 60, delay_s: float = 2.0) -> None:
    """Start the bus and create the topics, retrying while the cluster is not reachable."""
    for attempt in range(1, attempts + 1):
        try:
            await bus.start()
            await bus.ensure_topics()
            return
        except AnprError as exc:
            if not exc.retriable or attempt == attempts:
                raise
            log.warning("bus not available (attempt %d/%d): %s", attempt, attempts, exc)
            await bus.stop()
            await asyncio.sleep(delay_s)
