"""Past-read matching waits for the archive to hold every read already on the reads topic, a
batch still being written included: a read the matchers saw before an entry was committed is
matched against it by the job (docs/matching.md)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from anpr.bus.base import Message
from anpr.bus.local import LocalBus
from anpr.clock import now_ms
from anpr.hotlists import MatchMode
from anpr.topics import Topics
from api.archive.pastmatch import PastMatchConfig
from api.archive.service import ArchiveService
from api.archive.settings import ArchiveSettings
from tests.support.factories import recent_read
from tests.support.hotlist_writes import commit_entry
from tests.support.wait import until


async def test_a_job_waits_for_a_batch_the_archive_is_still_writing(tmp_path: Path) -> None:
    config = ArchiveSettings(data_dir=tmp_path)
    topics = Topics.from_prefix(config.topic_prefix)
    bus = LocalBus(None, topics.specs(config))
    await bus.start()
    service = ArchiveService(config, bus, poll_ms=20, past_match=PastMatchConfig(archive_wait_s=30))
    writing = asyncio.Event()
    release = asyncio.Event()
    real_add = service.reads.add_reads

    async def slow_add(reads: Sequence[Any]) -> Any:  # a busy database
        writing.set()
        await release.wait()
        return await real_add(reads)

    service.reads.add_reads = slow_add  # type: ignore[method-assign]
    await service.start()
    try:
        await until(lambda: service.ready, timeout_s=10)
        read = recent_read(plate="AB123CD", plate_norm="AB123CD", captured_at_ms=now_ms() - 60_000)
        await bus.publish(
            [Message(topics.reads, read["camera_id"].encode(), orjson.dumps(read))], timeout_s=1
        )
        await until(writing.is_set)
        await commit_entry(bus, topics, "AB123CD", match=MatchMode.EXACT)

        def states() -> list[str]:
            rows = bus.db.execute(
                "SELECT value FROM log WHERE topic=? ORDER BY off", (topics.past_match,)
            ).fetchall()
            return [orjson.loads(v)["state"] for (v,) in rows]

        await until(lambda: states() == ["pending"], timeout_s=10)
        release.set()  # the batch holding the read is written only now
        await until(lambda: states()[-1] != "pending", timeout_s=10)
        replays = bus.db.execute(
            "SELECT value FROM log WHERE topic=? ORDER BY off", (topics.reads_replay,)
        ).fetchall()
        kinds = [orjson.loads(v)["kind"] for (v,) in replays]
        assert kinds == ["read", "end"], "the read being written was a candidate"
    finally:
        release.set()
        await service.stop()
        await bus.stop()
