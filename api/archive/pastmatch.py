"""Past-read matching, the archive's side: new or changed entries against the archived reads.

The archive follows the hotlists topic (`EntryDiff` over `HotlistBook`) and the past-match job
topic. Each commit that adds or changes entries of a list at version V makes the job
`<list_id>@V`; one supervised worker runs the jobs in order:

1. `pending` is published (the job's state, on the compacted `anpr.past-match.v1`);
2. it waits (bounded) until this archive has written every read already on the reads topic, so
   a read the matcher saw before the commit is in the archive when it is searched;
3. it selects candidate reads captured in the list's window (`past_match_hours` of the list, else
   `ANPR_PAST_MATCH_HOURS`, before the commit) with `plan_candidates`: skeleton keys on the index,
   LIKE scans for patterns, at most `max_candidates` reads per job;
4. it publishes the state `running` with the number of candidates (`done` when there are none),
   then each candidate on `anpr.reads-replay.v1` (key job_id) with the entries to try, then an
   `end` record. The matcher decides the hits and writes `done` with their count
   (`matcher/replay.py`). A selection the database refuses ends the job `failed`.

With several archivers on one database, the one holding the store's `lead` lock (a PostgreSQL
advisory lock) runs the jobs; the others follow the same topics and take over when it stops.
The queue holds the jobs still owed: a job leaves it once this archive has finished its part
(the end record out, or the job set `done` or `failed`), or when the topic says `done` or
`failed`; `running` on the topic does not take it out. Holding the lead, the worker runs a
queued job that is
- `pending` (or not on the topic yet): it had not been selected, or was being selected;
- `running`: no live archive is publishing it (only the lead runs jobs), so the archive that
  set it running stopped before its end record: a worker of this archive that failed and was
  restarted, or another archive that died mid-publish (SIGKILL, OOM, node lost). It is run
  again, whole: `pending`, a new selection, `running`, every candidate, `end`. The next
  archive to lead cannot tell it from a job whose end went out but whose `done` the matcher
  has not written yet: that one is run again too, which costs a second replay and no second
  hit (the hit ids are the same; the API stores a hit once).
A job `done` or `failed` is not run again (an archive that restarts replays the hotlists
topic). A job whose window has passed by the time the archive sees it (an archive that was
down longer than the window, or lists that predate past matching) is skipped: its reads were
matched live.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable
from typing import Any

import psycopg

from anpr.bus.base import Message, Record
from anpr.clock import now_ms
from anpr.codecs import PAST_MATCH, READS, REPLAY
from anpr.codecs.pastmatch import JobState, PastMatchJobRecord, ReplayRecord, job_id_of
from anpr.consume import ConsumerLoop
from anpr.errors import AnprError, InvalidRecord
from anpr.follow import TopicFollower
from anpr.hotlists import HotlistBook, Retain
from anpr.runtime import Runtime
from anpr.topics import Topics
from api.archive.base import ReadStore
from api.archive.pastmatch_model import (
    HOUR_MS,
    Job,
    PastMatchConfig,
    PastMatchMetrics,
    Selection,
)
from api.archive.pastmatch_plan import EntryDiff, plan_candidates

__all__ = ["Job", "PastMatchConfig", "PastMatcher"]

log = logging.getLogger(__name__)

LEAD_LOCK = "anpr-archive-past-match"
# The `error` of a job failed because it was no longer owed when an archive could run it.
EXPIRED = "expired: its window had passed before an archive could run it, or its list is gone"
FINAL = frozenset({JobState.DONE, JobState.FAILED})
SKELETON_CHUNK = 1000
PUBLISH_CHUNK = 2000


class PastMatcher:
    def __init__(
        self,
        runtime: Runtime,
        store: ReadStore,
        topics: Topics,
        config: PastMatchConfig,
        *,
        archive: ConsumerLoop,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.runtime = runtime
        self.store = store
        self.topics = topics
        self.config = config
        self.archive = archive
        self.clock = clock
        self.book = HotlistBook(retain=Retain.NOTHING)
        self.diff = EntryDiff()
        self.known: dict[str, JobState] = {}
        self.queue: dict[str, Job] = {}
        # The latest record of each job the topic shows `pending` or `running`.
        self.unfinished: dict[str, PastMatchJobRecord] = {}
        self.jobs_run = 0
        self.metrics = PastMatchMetrics(runtime.registry)
        self._wake = asyncio.Event()
        self.hotlists = TopicFollower(
            runtime, [topics.hotlists], self._apply_hotlist, name="archive-hotlists", discreet=True
        )
        self.jobs = TopicFollower(
            runtime, [topics.past_match], self._apply_job, name="archive-past-match-jobs"
        )

    def start(self) -> None:
        self.hotlists.start()
        self.jobs.start()
        self.runtime.supervisor.spawn("archive-past-match", self._work)

    # --- the followers -------------------------------------------------------------------------

    def _apply_hotlist(self, record: Record) -> None:
        for committed in self.diff.apply(self.book.apply(record.key, record.value)):
            config = committed.config
            hours = config.past_match_hours or self.config.hours
            if record.timestamp_ms + hours * HOUR_MS <= self.clock():
                continue  # its window has passed (replaying old commits): nothing to queue
            job_id = job_id_of(config.list_id, config.version)
            job = self.queue.get(job_id)
            if job is None:
                job = self.queue[job_id] = Job(
                    job_id,
                    config.list_id,
                    config.version,
                    config.match,
                    hours,
                    record.timestamp_ms,
                    covert=config.covert,
                )
            job.entries.update((e.entry_id, e) for e in committed.entries)
        if self.queue:
            self._wake.set()

    def _apply_job(self, record: Record) -> None:
        if record.key is None:
            raise InvalidRecord("past-match job without a key")
        if record.value is None:
            self.known.pop(record.key.decode(), None)
            return
        job = PAST_MATCH.decode(record.value)
        try:
            state = self.known[job["job_id"]] = JobState(job["state"])
        except ValueError:
            raise InvalidRecord("past-match job: unknown state") from None
        if state in FINAL:
            self.queue.pop(job["job_id"], None)
            self.unfinished.pop(job["job_id"], None)
        else:
            self.unfinished[job["job_id"]] = job
        # A `running` job stays queued: if the archive running it dies before its end record,
        # the one that takes the lead runs it again (`_due`).

    # --- the worker ----------------------------------------------------------------------------

    async def _work(self) -> None:
        await self.hotlists.caught_up.wait()
        await self.jobs.caught_up.wait()
        # Several archivers may share the reads topic: one of them runs the jobs. The others
        # keep following, so whichever takes over knows which jobs are left.
        async with self.store.lead(LEAD_LOCK):
            log.info("past-match: this archive runs the past-match jobs")
            orphans = sum(self.known.get(job_id) is JobState.RUNNING for job_id in self.queue)
            if orphans:
                log.warning(
                    "past-match: %d job(s) left running without their end: run again", orphans
                )
            for job_id in [j for j in self.unfinished if j not in self.queue]:
                await self._expire(job_id)
            while True:
                while self.queue:
                    job = next(iter(self.queue.values()))
                    if self._due(job):
                        await self.run(job)  # raises when the bus or database is away: rerun
                    elif job.job_id in self.unfinished:
                        await self._expire(job.job_id)
                    self.queue.pop(job.job_id, None)
                self._wake.clear()
                await self._wake.wait()

    async def _expire(self, job_id: str) -> None:
        """Mark `failed` (`expired`) a job the topic shows unfinished that is no longer owed:
        its window passed before an archive could run it (an archive down for longer), or its
        list is gone. Left as it was, it showed `pending` or `running` for good."""
        record = self.unfinished.get(job_id)
        if record is None or self.known.get(job_id) in FINAL:
            return
        expired = record.copy()
        expired["state"] = JobState.FAILED.value
        expired["error"] = EXPIRED
        expired["at"] = self.clock()
        log.warning("past-match: a job left %s is past its window: failed", record["state"])
        await self._put_state(expired)
        self.unfinished.pop(job_id, None)

    def _due(self, job: Job) -> bool:
        """Whether the lead archive runs `job`, a job still queued (owed: see the module doc)."""
        state = self.known.get(job.job_id)
        if state is JobState.RUNNING:
            return True  # orphaned: whoever set it running stopped before its end record
        if state in FINAL:
            return False
        return job.committed_at + job.hours * HOUR_MS > self.clock()

    async def _state(self, job: Job, state: JobState, **fields: Any) -> None:
        await self._put_state(self._record(job, state, **fields))

    def _record(
        self,
        job: Job,
        state: JobState,
        *,
        until: int | None = None,
        candidates: int = 0,
        truncated: bool = False,
        error: str | None = None,
    ) -> PastMatchJobRecord:
        record: PastMatchJobRecord = {
            "v": 1,
            "job_id": job.job_id,
            "list_id": job.list_id,
            "version": job.version,
            "state": state.value,
            "entries": len(job.entries),
            "since": job.since,
            "until": job.committed_at if until is None else until,
            "candidates": candidates,
            "hits": 0,
            "truncated": truncated,
            "at": self.clock(),
        }
        if error is not None:
            record["error"] = error
        return record

    async def _put_state(self, record: PastMatchJobRecord) -> None:
        key = record["job_id"].encode()
        await self._send([Message(self.topics.past_match, key, PAST_MATCH.encode(record))])
        self.known[record["job_id"]] = JobState(record["state"])

    async def _archive_caught_up(self) -> None:
        """Bounded: every read already on the reads topic is in the archive, or time is up."""
        deadline = time.monotonic() + self.config.archive_wait_s
        while time.monotonic() < deadline:
            if await self.archive.handled_to_end():
                return
            await asyncio.sleep(0.1)
        log.warning("past-match: the archive still lags; matching what it holds")

    async def select(self, job: Job, until: int) -> Selection:
        """The candidate reads of `job` captured in [since, until)."""
        plan = plan_candidates(
            job.mode, list(job.entries.values()), max_patterns=self.config.max_patterns
        )
        selection = Selection(truncated=plan.truncated)
        limit = self.config.max_candidates
        keys = sorted(plan.by_skeleton)
        for start in range(0, len(keys), SKELETON_CHUNK):
            rows = await self.store.past_candidates(
                keys[start : start + SKELETON_CHUNK],
                since=job.since,
                until=until,
                limit=limit - len(selection.reads) + 1,
            )
            selection.add(rows, plan, by_pattern=False)
            if len(selection.reads) > limit:
                break
        if plan.patterns and len(selection.reads) <= limit:
            rows = await self.store.pattern_candidates(
                sorted(set(plan.patterns.values())),
                since=job.since,
                until=until,
                limit=limit - len(selection.reads) + 1,
            )
            selection.add(rows, plan, by_pattern=True)
        scans = plan.skeleton_likes()
        if scans and len(selection.reads) <= limit:
            rows = await self.store.pattern_candidates(
                scans,
                since=job.since,
                until=until,
                limit=limit - len(selection.reads) + 1,
                column="plate_skeleton",
            )
            selection.add(rows, plan, by_pattern=False, near=True)
        if len(selection.reads) > limit:
            for raw in list(selection.reads)[limit:]:
                del selection.reads[raw]
            selection.truncated = True
        return selection

    async def run(self, job: Job) -> None:
        """Run one job: select the candidates, hand them to the matchers, record the state."""
        await self._state(job, JobState.PENDING)
        await self._archive_caught_up()
        until = self.clock()
        started = time.perf_counter()
        try:
            selection = await self.select(job, until)
        except (AnprError, OSError, sqlite3.Error, psycopg.Error) as exc:
            if getattr(exc, "retriable", False):
                raise  # the database is away: the supervisor retries the job
            log.warning("past-match job failed: %s", type(exc).__name__)
            await self._state(job, JobState.FAILED, until=until, error=type(exc).__name__)
            self.queue.pop(job.job_id, None)
            if not job.covert:
                self.metrics.jobs.labels(JobState.FAILED.value).inc()
            return
        if not job.covert:
            self.metrics.select_seconds.observe(time.perf_counter() - started)
        candidates = len(selection.reads)
        running = self._record(
            job,
            JobState.RUNNING if candidates else JobState.DONE,
            until=until,
            candidates=candidates,
            truncated=selection.truncated,
        )
        # The state first: the matcher's `done` comes after the candidates, so after this.
        # Until its end record is out the job stays queued, `running`: if the candidates fail
        # to go out, the restarted worker (or the next archive to lead) runs it again.
        await self._put_state(running)
        if candidates:
            await self._publish(job, selection, running)
        self.queue.pop(job.job_id, None)
        self.jobs_run += 1
        if not job.covert:
            self.metrics.jobs.labels(running["state"]).inc()
            self.metrics.candidates.inc(candidates)
            if selection.truncated:
                self.metrics.truncated.inc()

    async def _publish(self, job: Job, selection: Selection, running: PastMatchJobRecord) -> None:
        key = job.job_id.encode()
        messages: list[Message] = []
        for raw, entries in selection.reads.items():
            try:
                read = READS.decode(raw)
            except InvalidRecord:
                read = None  # an archived record that is not a read: nothing to match
            if read is None:
                continue
            replay: ReplayRecord = {
                "v": 1,
                "kind": "read",
                "job_id": job.job_id,
                "list_id": job.list_id,
                "version": job.version,
                "read": read,
                "entries": sorted(entries),
            }
            messages.append(Message(self.topics.reads_replay, key, REPLAY.encode(replay)))
            if len(messages) >= PUBLISH_CHUNK:
                await self._send(messages)
                messages = []
        end: ReplayRecord = {
            "v": 1,
            "kind": "end",
            "job_id": job.job_id,
            "list_id": job.list_id,
            "version": job.version,
            "job": running,
        }
        messages.append(Message(self.topics.reads_replay, key, REPLAY.encode(end)))
        await self._send(messages)

    async def _send(self, messages: list[Message]) -> None:
        await self.runtime.bus.publish(messages, timeout_s=self.config.publish_timeout_s)
