"""The archive's past-match jobs, driven step by step on an in-memory SQLite archive: which
commits become jobs, which jobs are left to another archive, and what a job publishes."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import AsyncIterator, Sequence
from types import SimpleNamespace
from typing import Any

import orjson
import psycopg
import pytest
from prometheus_client import CollectorRegistry

from anpr.bus.base import LandedLate, Message, Record
from anpr.codecs import PAST_MATCH, REPLAY
from anpr.errors import BusUnavailable
from anpr.hotlists import MatchMode, parse_entry_list, plan_put_config, plan_upsert_entries
from anpr.normalize import skeleton
from anpr.runtime import Runtime
from anpr.topics import Topics
from api.archive.base import SelectionTooSlow
from api.archive.pastmatch import PastMatchConfig, PastMatcher
from api.archive.pg_reads import PostgresReadStore
from api.archive.records import decode_read
from api.archive.sqlite_reads import SqliteReadStore
from tests.support.wait import until

HOUR_MS = 3600 * 1000
NOW = 1_790_000_000_000
TOPICS = Topics.from_prefix("t.")


class CaptureBus:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def publish(
        self,
        messages: Sequence[Message],
        *,
        timeout_s: float,
        landed_late: LandedLate | None = None,
    ) -> None:
        self.messages.extend(messages)


def archived(read_id: str, plate: str, captured: int) -> Any:
    value = {
        "v": 1,
        "read_id": read_id,
        "camera_id": "cam-1",
        "integrator_id": "int-1",
        "captured_at": "",
        "captured_at_ms": captured,
        "received_at": captured + 300,
        "plate": plate,
        "plate_norm": plate,
    }
    return decode_read(orjson.dumps(value))


@pytest.fixture
async def store() -> AsyncIterator[SqliteReadStore]:
    reads = SqliteReadStore(None)
    await reads.open()
    await reads.add_reads(
        [
            archived("r1", "AB123CD", NOW - HOUR_MS),
            archived("r2", "A8123CD", NOW - 2 * HOUR_MS),
            archived("r3", "XY999ZZ", NOW - HOUR_MS),
            archived("r4", "AB123CD", NOW - 30 * HOUR_MS),
        ]
    )
    yield reads
    await reads.close()


def matcher(store: SqliteReadStore, **config: Any) -> tuple[PastMatcher, CaptureBus]:
    bus = CaptureBus()
    runtime = Runtime("archive", bus, CollectorRegistry(), "t.deadletter.v1")  # type: ignore[arg-type]

    async def handled_to_end() -> bool:
        return True

    archive = SimpleNamespace(handled_to_end=handled_to_end)
    past = PastMatcher(
        runtime,
        store,
        TOPICS,
        PastMatchConfig(**config),
        archive=archive,  # type: ignore[arg-type]
        clock=lambda: NOW,
    )
    return past, bus


def commit(
    past: PastMatcher, at: int, entries: list[dict[str, Any]], *, covert: bool = False
) -> int:
    """Feed the hotlist records of a new list with `entries`, as written at `at`."""
    put = plan_put_config(
        None,
        list_id="stolen",
        name="Stolen",
        category="stolen",
        priority=1,
        match=MatchMode.OCR,
        covert=covert,
        now_ms=at,
    )
    assert put.config is not None
    specs, errors = parse_entry_list(entries)
    assert not errors
    upsert = plan_upsert_entries(put.config, specs, now_ms=at + 1)
    for key, value in put.records + upsert.records:
        past._apply_hotlist(Record(TOPICS.hotlists, 0, 0, key.encode(), value, at))
    assert upsert.config is not None
    return upsert.config.version


async def test_a_commit_becomes_a_job_held_until_it_is_done_elsewhere(
    store: SqliteReadStore,
) -> None:
    past, _ = matcher(store)
    version = commit(past, NOW, [{"entry_id": "e1", "plate": "AB123CD"}])
    assert list(past.queue) == [f"stolen@{version}"]
    job = {"v": 1, "job_id": f"stolen@{version}", "list_id": "stolen", "version": version}
    state = {**job, "entries": 1, "since": 0, "until": 0, "candidates": 0, "hits": 0}
    state |= {"truncated": False, "at": NOW}
    key = f"stolen@{version}".encode()
    past._apply_job(
        Record(TOPICS.past_match, 0, 0, key, orjson.dumps({**state, "state": "pending"}), NOW)
    )
    assert list(past.queue) == [f"stolen@{version}"]  # pending: still to run
    past._apply_job(
        Record(TOPICS.past_match, 0, 1, key, orjson.dumps({**state, "state": "running"}), NOW)
    )
    # Running elsewhere: held, for if that archive dies before its end record.
    assert list(past.queue) == [f"stolen@{version}"]
    assert past._due(past.queue[f"stolen@{version}"])  # for the archive that leads next
    past._apply_job(
        Record(TOPICS.past_match, 0, 2, key, orjson.dumps({**state, "state": "done"}), NOW)
    )
    assert past.queue == {}


async def test_a_commit_older_than_its_window_is_not_queued(store: SqliteReadStore) -> None:
    past, _ = matcher(store)
    commit(past, NOW - 25 * HOUR_MS, [{"entry_id": "e1", "plate": "AB123CD"}])
    assert past.queue == {}


async def test_a_job_left_unfinished_past_its_window_is_failed_when_an_archive_leads(
    store: SqliteReadStore,
) -> None:
    """An archive died after `pending` (or mid-publish) and none came back within the window:
    the next one does not run it (its commit is too old to queue) and says so, instead of the
    job showing `pending` for good to the investigator who added the entries."""
    past, bus = matcher(store)
    commit(past, NOW - 25 * HOUR_MS, [{"entry_id": "e1", "plate": "AB123CD"}])
    assert past.queue == {}
    state = {"v": 1, "list_id": "stolen", "version": 7, "entries": 1, "since": 0, "until": 0}
    state |= {"candidates": 0, "hits": 0, "truncated": False, "at": NOW - 25 * HOUR_MS}
    for n, (job_id, left) in enumerate([("stolen@7", "pending"), ("stolen@8", "running")]):
        record = orjson.dumps({**state, "job_id": job_id, "state": left})
        past._apply_job(Record(TOPICS.past_match, 0, n, job_id.encode(), record, NOW))
    done = orjson.dumps({**state, "job_id": "stolen@9", "state": "done"})
    past._apply_job(Record(TOPICS.past_match, 0, 2, b"stolen@9", done, NOW))
    past.hotlists.caught_up.set()
    past.jobs.caught_up.set()
    worker = asyncio.create_task(past._work())
    try:
        await until(lambda: len(published_states(bus)) == 2)
    finally:
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker
    states = published_states(bus)
    assert {s["job_id"]: s["state"] for s in states} == {"stolen@7": "failed", "stolen@8": "failed"}
    assert all(s["error"].startswith("expired") for s in states)
    assert past.unfinished == {}


def published_states(bus: CaptureBus) -> list[dict[str, Any]]:
    return [dict(PAST_MATCH.decode(m.value)) for m in bus.messages if m.topic == TOPICS.past_match]


async def test_a_job_publishes_its_state_then_the_candidates_then_the_end(
    store: SqliteReadStore,
) -> None:
    past, bus = matcher(store)
    version = commit(past, NOW, [{"entry_id": "e1", "plate": "AB 123 CD"}])
    await past.run(past.queue[f"stolen@{version}"])
    states = [PAST_MATCH.decode(m.value) for m in bus.messages if m.topic == TOPICS.past_match]
    assert [(s["state"], s["candidates"]) for s in states] == [("pending", 0), ("running", 2)]
    assert states[1]["since"] == NOW - 24 * HOUR_MS
    replays = [REPLAY.decode(m.value) for m in bus.messages if m.topic == TOPICS.reads_replay]
    assert [r["kind"] for r in replays] == ["read", "read", "end"]
    assert sorted(r["read"]["read_id"] for r in replays[:2]) == ["r1", "r2"]  # not r3, not r4
    assert all(r.get("entries") == ["e1"] for r in replays[:2])
    assert {m.key for m in bus.messages if m.topic == TOPICS.reads_replay} == {
        f"stolen@{version}".encode()
    }
    end = replays[2].get("job")
    assert end is not None and end["state"] == "running"


async def test_a_job_over_its_bound_is_truncated(store: SqliteReadStore) -> None:
    past, bus = matcher(store, max_candidates=1)
    version = commit(past, NOW, [{"entry_id": "e1", "plate": "AB123CD"}])
    await past.run(past.queue[f"stolen@{version}"])
    (last,) = [PAST_MATCH.decode(m.value) for m in bus.messages if m.topic == TOPICS.past_match][1:]
    assert (last["candidates"], last["truncated"]) == (1, True)


async def test_a_job_without_candidates_is_done_and_a_refused_search_failed(
    store: SqliteReadStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    past, bus = matcher(store)
    version = commit(past, NOW, [{"entry_id": "e1", "plate": "QQ111"}])
    job = past.queue[f"stolen@{version}"]
    await past.run(job)
    assert PAST_MATCH.decode(bus.messages[-1].value)["state"] == "done"
    assert not [m for m in bus.messages if m.topic == TOPICS.reads_replay]
    assert past.queue == {}

    async def refuse(*args: object, **kwargs: object) -> list[object]:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(store, "past_candidates", refuse)
    await past.run(job)
    failed = PAST_MATCH.decode(bus.messages[-1].value)
    assert (failed["state"], failed.get("error")) == ("failed", "OperationalError")


async def test_a_covert_lists_job_runs_but_is_in_no_metric(store: SqliteReadStore) -> None:
    # /metrics needs no token: a count would move when a covert list gets entries.
    past, bus = matcher(store)
    version = commit(past, NOW, [{"entry_id": "e1", "plate": "AB123CD"}], covert=True)
    await past.run(past.queue[f"stolen@{version}"])
    assert len([m for m in bus.messages if m.topic == TOPICS.reads_replay]) == 3  # 2 reads, end
    registry = past.runtime.registry
    for state in ("running", "done", "failed"):
        sample = "anpr_archive_past_match_jobs_total"
        assert registry.get_sample_value(sample, {"state": state}) in (None, 0.0)
    assert registry.get_sample_value("anpr_archive_past_match_candidates_total") in (None, 0.0)


async def test_the_candidate_selection_runs_on_the_stores_thread(store: SqliteReadStore) -> None:
    """Not on the event loop: a pattern scan of 400k reads held it 0.9 s (every service's, in
    `anpr run`)."""
    threads: set[str] = set()

    def traced(statement: str) -> None:
        if "plate_skeleton, body FROM reads" in statement:
            threads.add(threading.current_thread().name)

    store.db.set_trace_callback(traced)
    assert await store.past_candidates([skeleton("AB123CD")], since=0, until=NOW, limit=10)
    assert await store.pattern_candidates(["AB%"], since=0, until=NOW, limit=10)
    assert threads and threading.current_thread().name not in threads


async def test_a_job_whose_candidates_failed_to_go_out_is_run_again(
    store: SqliteReadStore,
) -> None:
    past, bus = matcher(store)
    real = bus.publish
    refusals = [BusUnavailable("reads-replay: not enough replicas")]

    async def flaky(messages: Sequence[Message], *, timeout_s: float) -> None:
        if refusals and any(m.topic == TOPICS.reads_replay for m in messages):
            raise refusals.pop()
        await real(messages, timeout_s=timeout_s)

    bus.publish = flaky  # type: ignore[method-assign]
    version = commit(past, NOW, [{"entry_id": "e1", "plate": "AB123CD"}])
    job = past.queue[f"stolen@{version}"]
    with pytest.raises(BusUnavailable):
        await past.run(job)
    # Its `running` state came back from the topic; the worker, restarted, looks again.
    (running,) = [m for m in bus.messages if m.topic == TOPICS.past_match][1:]
    past._apply_job(Record(TOPICS.past_match, 0, 1, running.key, running.value, NOW))
    assert list(past.queue) == [job.job_id]
    assert past._due(job)
    await past.run(job)
    replays = [REPLAY.decode(m.value) for m in bus.messages if m.topic == TOPICS.reads_replay]
    assert [r["kind"] for r in replays] == ["read", "read", "end"]
    assert job.job_id not in past.queue  # its end is out: not run a third time


class _CancellingPool:
    """A pool whose every statement hits the server's statement timeout."""

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[Any]:
        class Conn:
            async def execute(self, *_: Any) -> Any:
                raise psycopg.errors.QueryCanceled("canceling statement due to statement timeout")

        yield Conn()


async def test_a_selection_past_the_statement_timeout_fails_the_job_instead_of_retrying() -> None:
    # On PostgreSQL the same query would time out again: retried as "database away", the job
    # blocked every later one for ever.
    reads = PostgresReadStore("postgresql://unused")
    reads._pool = _CancellingPool()
    with pytest.raises(SelectionTooSlow) as raised:
        await reads.past_candidates(["A8123C0"], since=0, until=NOW, limit=10)
    assert not raised.value.retriable
    past, bus = matcher(reads)  # type: ignore[arg-type]
    version = commit(past, NOW, [{"entry_id": "e1", "plate": "AB123CD"}])
    await past.run(past.queue[f"stolen@{version}"])
    states = [PAST_MATCH.decode(m.value) for m in bus.messages if m.topic == TOPICS.past_match]
    assert [(s["state"], s.get("error")) for s in states] == [
        ("pending", None),
        ("failed", "SelectionTooSlow"),
    ]


async def test_a_fuzzy_entry_of_another_script_finds_the_reads_one_letter_off() -> None:
    """Section 6, amended: letters of other scripts are kept, and `fuzzy` is "Levenshtein
    distance between the skeletons is exactly 1", counted in characters (docs/matching.md).
    Past-read matching (section 7, `"historical": true`) must select those reads too: their
    substitution or insertion can be any Thai letter, which no list of skeleton keys holds."""
    from api.archive.pastmatch_model import Job
    from tests.support.factories import make_entry

    reads = SqliteReadStore(None)
    await reads.open()
    await reads.add_reads(
        [
            archived("sub", "กค12345", NOW - HOUR_MS),  # ข read as ค
            archived("ins", "กขฃ12345", NOW - HOUR_MS),  # a Thai letter too many
            archived("del", "ก12345", NOW - HOUR_MS),  # one missing: a key, found before too
            archived("far", "คฅ12345", NOW - HOUR_MS),  # two letters off: no fuzzy hit
        ]
    )
    past, _ = matcher(reads)
    entry = make_entry("e1", "กข12345")
    job = Job("j", "stolen", 1, MatchMode.FUZZY, 24, NOW, {"e1": entry})
    selection = await past.select(job, NOW)
    named = {decode_read(raw).read_id: n for raw, n in selection.reads.items()}
    await reads.close()
    assert {k: v for k, v in named.items() if v} == {
        "sub": {"e1"},
        "ins": {"e1"},
        "del": {"e1"},
    }


async def test_the_hotlists_follower_shows_no_lag_or_progress_time(store: SqliteReadStore) -> None:
    # /metrics and /readyz need no token: the follower's lag and last-progress time moved on
    # every write to a covert list (its lag counting the entries) while no overt series did.
    past, _ = matcher(store)
    runtime = past.runtime
    runtime.add_loop(past.hotlists.loop)
    labels = {"process": "archive", "loop": "archive-hotlists"}
    assert runtime.registry.get_sample_value("anpr_consumer_stalled", labels) == 0
    assert runtime.registry.get_sample_value("anpr_consumer_lag", labels) is None
    progress = "anpr_consumer_last_progress_timestamp_seconds"
    assert runtime.registry.get_sample_value(progress, labels) is None
    assert "lag" not in runtime.readiness()["archive-hotlists"]
