"""The archive's readiness as `/metrics` shows it (`anpr_archive_ready`) is the one `/readyz`
answers, at every scrape."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from anpr.bus.base import Message
from anpr.bus.local import LocalBus
from anpr.clock import now_ms
from anpr.topics import Topics
from api.archive.service import ArchiveService
from api.archive.settings import ArchiveSettings
from tests.support.factories import recent_read
from tests.support.wait import until


async def test_the_ready_gauge_follows_readiness(tmp_path: Path) -> None:
    """It was set by the retention job only (at start, before the archive had caught up, then
    every 5 minutes): 0 for the first 5 minutes of a ready archive, 1 for up to 5 minutes of
    one whose writes hang, and frozen for good while retention kept failing."""
    config = ArchiveSettings(data_dir=tmp_path, stall_s=0.3)
    topics = Topics.from_prefix(config.topic_prefix)
    bus = LocalBus(None, topics.specs(config))
    await bus.start()
    service = ArchiveService(config, bus, poll_ms=20)
    release = asyncio.Event()
    real_add = service.reads.add_reads

    async def hanging_add(reads: Sequence[Any]) -> Any:  # a database that does not answer
        await release.wait()
        return await real_add(reads)

    service.reads.add_reads = hanging_add  # type: ignore[method-assign]

    def gauge() -> float | None:
        return service.metrics.registry.get_sample_value("anpr_archive_ready")

    await service.start()
    try:
        await until(lambda: service.ready, timeout_s=10)
        assert gauge() == 1
        read = recent_read(plate="AB123CD", plate_norm="AB123CD", captured_at_ms=now_ms())
        await bus.publish(
            [Message(topics.reads, read["camera_id"].encode(), orjson.dumps(read))], timeout_s=1
        )
        await until(lambda: not service.ready, timeout_s=10)
        assert gauge() == 0
        release.set()
        await until(lambda: service.ready, timeout_s=10)
        assert gauge() == 1
    finally:
        release.set()
        await service.stop()
        await bus.stop()
