"""Past-read matching, the matcher's side: archived reads replayed for new hotlist entries.

The archive (`api/archive/pastmatch.py`) selects candidate reads for a job and publishes them on
`anpr.reads-replay.v1`, keyed by job, each naming the entries of the job to try. Here each read
is matched with the matcher's own rules (`HotlistIndex.match`, contract section 6) and only the
matches of the named entries become hits, with `"historical": true` and the usual hit_id: a read
that was also matched live gives the same hit_id, which the API stores once.

`handle_replay` is pure. The shell (`ReplayLoop`) first waits, bounded, until the index has
applied each list at the job's version (the archive may be ahead of this matcher's hotlists
follower): a list missing after the wait was removed, its reads are skipped; a list still behind
raises `ListNotApplied` (retriable: the batch is redone). A job's `end` record completes its
state (`done`, with the hits counted by this matcher) on `anpr.past-match.v1`.

The metrics count the reads and hits of overt lists' jobs only, like the archive's
(`/metrics` needs no token: a count with covert lists would count their new entries' past
hits, by difference with the archive's candidates).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from prometheus_client import Counter

from anpr.bus.base import COLD_FETCH_WAIT_MS, Message, Record
from anpr.clock import now_ms
from anpr.codecs import HITS, PAST_MATCH, REPLAY
from anpr.codecs.pastmatch import JobState, PastMatchJobRecord, ReplayRecord
from anpr.consume import ConsumerLoop
from anpr.deadletter import Poison
from anpr.errors import AnprError, InvalidRecord
from anpr.hits import HitRecord
from anpr.runtime import Runtime
from anpr.topics import Topics
from matcher.hits import build_hit
from matcher.settings import MatcherSettings
from matcher.state import MatcherState

APPLY_WAIT_S = 20.0


class ListNotApplied(AnprError):
    """A replayed read names a list version this matcher has not applied yet."""

    retriable = True


@dataclass(slots=True)
class ReplayResult:
    hits: list[HitRecord] = field(default_factory=list)
    done: list[PastMatchJobRecord] = field(default_factory=list)
    poison: list[Poison] = field(default_factory=list)
    reads: int = 0  # of overt lists (what /metrics counts)


def decode_all(records: Sequence[Record]) -> tuple[list[tuple[Record, ReplayRecord]], list[Poison]]:
    decoded: list[tuple[Record, ReplayRecord]] = []
    poison: list[Poison] = []
    for record in records:
        try:
            decoded.append((record, REPLAY.decode(record.value)))
        except InvalidRecord as exc:
            poison.append(Poison(record, str(exc)))
    return decoded, poison


def handle_replay(
    decoded: Sequence[tuple[Record, ReplayRecord]],
    state: MatcherState,
    tallies: dict[str, set[str]],
    *,
    now_ms: int,
) -> ReplayResult:
    """Match each replayed read against the entries it names; complete the jobs that end.

    `tallies` (job_id -> the hit ids so far) is carried from batch to batch by the caller. Ids,
    not a count: a job run again after its archive stopped mid-publish replays its first
    candidates twice, and a batch whose publish failed is redone; neither is a second hit.
    """
    result = ReplayResult()
    index = state.index
    for record, replay in decoded:
        job_id = replay["job_id"]
        if replay["kind"] == "end":
            job = replay.get("job")
            if job is None:
                result.poison.append(Poison(record, "replayed end: no job"))
                continue
            result.done.append(
                {
                    **job,
                    "state": JobState.DONE.value,
                    "hits": len(tallies.pop(job_id, ())),
                    "at": now_ms,
                }
            )
            continue
        read, named = replay.get("read"), replay.get("entries")
        if read is None or not named:
            result.poison.append(Poison(record, "replayed read: no read or no entries"))
            continue
        config = index.config(replay["list_id"])
        if config is None:
            continue  # the list was removed meanwhile
        wanted = set(named)
        camera_id = read["camera_id"]
        found = tallies.setdefault(job_id, set())
        for match in index.match(read, state.camera_zones(camera_id)):
            if match.list_id != replay["list_id"] or match.entry_id not in wanted:
                continue
            hit = build_hit(
                read,
                match,
                matched_at_ms=now_ms,
                test=state.is_commissioning(camera_id, read["received_at"]),
            )
            hit["historical"] = True
            result.hits.append(hit)
            found.add(hit["hit_id"])
        result.reads += not config.covert
    return result


class ReplayLoop:
    """The matcher's consumer of the replay topic (group `<ANPR_MATCHER_GROUP>-replay`)."""

    def __init__(
        self,
        settings: MatcherSettings,
        runtime: Runtime,
        state: MatcherState,
        *,
        hotlists_caught_up: asyncio.Event,
        wait_for: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.settings = settings
        self.runtime = runtime
        self.state = state
        self.topics = Topics.from_prefix(settings.topic_prefix)
        self._hotlists_caught_up = hotlists_caught_up
        self.tallies: dict[str, set[str]] = {}
        registry = runtime.registry
        self.reads = Counter(
            "anpr_matcher_past_match_reads_total",
            "Archived reads matched again for new entries of overt hotlists (past-read matching).",
            registry=registry,
        )
        self.hits = Counter(
            "anpr_matcher_past_match_hits_total",
            "Historical hits on overt lists published by past-read matching.",
            registry=registry,
        )
        self.loop = ConsumerLoop(
            runtime,
            [self.topics.reads_replay],
            self._process,
            name="matcher-replay",
            group_id=f"{settings.matcher_group}-replay",
            from_beginning=True,
            poll_ms=settings.matcher_poll_ms,
            # Past-read matching is background work that nobody waits on record by record.
            fetch_wait_ms=COLD_FETCH_WAIT_MS,
            max_batch=settings.matcher_batch_max,
            wait_for=wait_for,
        )

    def start(self) -> None:
        self.loop.start()

    async def _applied(self, decoded: Sequence[tuple[Record, ReplayRecord]]) -> None:
        """Bounded wait until every list named is applied at (at least) its job's version."""
        needed: dict[str, int] = {}
        for _, replay in decoded:
            list_id = replay["list_id"]
            needed[list_id] = max(needed.get(list_id, 0), replay["version"])
        index = self.state.index

        def behind() -> list[str]:
            out = []
            for list_id, version in needed.items():
                config = index.config(list_id)
                if config is None or config.version < version:
                    out.append(list_id)
            return out

        deadline = time.monotonic() + APPLY_WAIT_S
        while True:  # the hotlists follower has no event per list version: poll it
            lagging = behind()
            if not lagging or time.monotonic() >= deadline:
                break
            await asyncio.sleep(0.05)
        if any(index.config(list_id) is not None for list_id in lagging):
            raise ListNotApplied("a replayed read names a list version not applied here yet")

    async def _process(self, records: Sequence[Record]) -> list[Poison]:
        await self._hotlists_caught_up.wait()
        decoded, poison = decode_all(records)
        await self._applied(decoded)
        result = handle_replay(decoded, self.state, self.tallies, now_ms=now_ms())
        timeout = self.settings.hit_publish_timeout_s
        if result.hits:
            await self.runtime.bus.publish(
                [
                    Message(self.topics.hits, hit["hit_id"].encode(), HITS.encode(hit))
                    for hit in result.hits
                ],
                timeout_s=timeout,
            )
        if result.done:
            await self.runtime.bus.publish(
                [
                    Message(self.topics.past_match, job["job_id"].encode(), PAST_MATCH.encode(job))
                    for job in result.done
                ],
                timeout_s=timeout,
            )
        self.reads.inc(result.reads)
        self.hits.inc(sum(not hit["covert"] for hit in result.hits))
        return poison + result.poison
