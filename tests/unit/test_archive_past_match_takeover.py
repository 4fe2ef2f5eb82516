"""A past-match job left `running` by an archive that died mid-publish is run again, whole, by
the next archive to lead (a replica waiting on the lock, or the restarted process): every
candidate goes out, the job ends `done`, and the reads sent twice give the same hit ids, so no
hit is shown twice (docs/architecture.md#past-read-matching)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest

from anpr.bus.base import Message, Record
from anpr.bus.local import LocalBus
from anpr.clock import now_ms
from anpr.codecs import PAST_MATCH
from anpr.codecs.pastmatch import JobState
from anpr.hotlists import MatchMode
from anpr.topics import Topics
from api.archive import pastmatch
from api.archive.pastmatch import PastMatchConfig
from api.archive.service import ArchiveService
from api.archive.settings import ArchiveSettings
from matcher.replay import decode_all, handle_replay
from matcher.state import MatcherState
from tests.support.factories import make_config, make_entry, recent_read
from tests.support.hotlist_writes import commit_entry
from tests.support.wait import until


def log(bus: LocalBus, topic: str) -> list[Record]:
    rows = bus.db.execute(
        "SELECT off, key, value, ts FROM log WHERE topic=? ORDER BY off", (topic,)
    ).fetchall()
    return [Record(topic, 0, off, key, value, ts) for off, key, value, ts in rows]


def kinds(bus: LocalBus, topics: Topics) -> list[str]:
    return [orjson.loads(r.value or b"")["kind"] for r in log(bus, topics.reads_replay)]


def job_state(bus: LocalBus, topics: Topics) -> str:
    (latest,) = log(bus, topics.past_match)  # compacted: one job, its latest state
    return PAST_MATCH.decode(latest.value)["state"]


@pytest.mark.parametrize("next_archive", ["restarted", "replica"])
async def test_a_job_left_running_by_a_dead_archive_is_run_again_by_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, next_archive: str
) -> None:
    monkeypatch.setattr(pastmatch, "PUBLISH_CHUNK", 1)  # one candidate a publish: it dies between
    config = ArchiveSettings(data_dir=tmp_path)  # both archives on one SQLite file
    topics = Topics.from_prefix(config.topic_prefix)
    bus = LocalBus(None, topics.specs(config))
    await bus.start()
    reads = [
        recent_read(plate=plate, plate_norm=plate, captured_at_ms=now_ms() - minutes * 60_000)
        for plate, minutes in (("AB123CD", 10), ("A8123CD", 20), ("XY999ZZ", 30))
    ]
    await bus.publish(
        [Message(topics.reads, r["camera_id"].encode(), orjson.dumps(r)) for r in reads],
        timeout_s=1,
    )

    first = ArchiveService(config, bus, poll_ms=20, past_match=PastMatchConfig())
    assert first.past_match is not None
    real_send = first.past_match._send
    dying = asyncio.Event()

    async def die_after_one_candidate(messages: list[Message]) -> None:
        if any(m.topic == topics.reads_replay for m in messages) and kinds(bus, topics):
            dying.set()
            await asyncio.Event().wait()  # never returns: the process is killed here
        await real_send(messages)

    first.past_match._send = die_after_one_candidate  # type: ignore[method-assign]
    second = ArchiveService(config, bus, poll_ms=20, past_match=PastMatchConfig())
    dead = asyncio.Event()

    @contextlib.asynccontextmanager
    async def lead_once_the_first_is_dead(name: str) -> AsyncIterator[None]:
        await dead.wait()  # as the PostgreSQL advisory lock does
        yield

    second.reads.lead = lead_once_the_first_is_dead  # type: ignore[method-assign]
    await first.start()
    if next_archive == "replica":
        await second.start()  # following the topics meanwhile, waiting on the lock
    try:
        await until(lambda: first.ready, timeout_s=10)
        version = await commit_entry(bus, topics, "AB123CD")
        await until(dying.is_set, timeout_s=10)
        assert kinds(bus, topics) == ["read"]  # one of the two candidates, no end
        assert job_state(bus, topics) == JobState.RUNNING
        await first.stop()  # killed: nothing more from it
        dead.set()

        if next_archive == "restarted":
            await second.start()
        await until(lambda: kinds(bus, topics)[-1:] == ["end"], timeout_s=10)
        assert kinds(bus, topics) == ["read", "read", "read", "end"]
        assert job_state(bus, topics) == JobState.RUNNING

        # The matcher's step over the whole replay topic, as its consumer would see it.
        state = MatcherState()
        state.index.replace_list(
            make_config("stolen", version=version, match=MatchMode.OCR),
            [make_entry("e1", "AB123CD")],
        )
        decoded, poison = decode_all(log(bus, topics.reads_replay))
        result = handle_replay(decoded, state, {}, now_ms=now_ms())
        assert not poison and not result.poison
        hit_ids = [hit["hit_id"] for hit in result.hits]
        assert len(hit_ids) == 3 and len(set(hit_ids)) == 2  # the read sent twice: one hit id
        (done,) = result.done
        await bus.publish(
            [Message(topics.past_match, done["job_id"].encode(), PAST_MATCH.encode(done))],
            timeout_s=1,
        )
        past = second.past_match
        assert past is not None
        await until(lambda: past.known.get(done["job_id"]) is JobState.DONE, timeout_s=10)
        assert job_state(bus, topics) == JobState.DONE
        assert past.queue == {}
    finally:
        dead.set()
        await first.stop()
        await second.stop()
        await bus.stop()
