"""From records on the hits topic to stored hits, fanned out to open streams.

`decode_hit` is pure: the kernel's hits codec checks the record, and `api.hits.body` puts it in
the shape the API's responses show (`HitBody`). `HitIngest.handle_batch` does one step: decode,
store idempotently on hit_id and place the hits in alerts (`api.alerts.placer`; one transaction
and one hop to the store's thread on SQLite), then hand the hub every hit the store holds after
the last one this replica published, in `seq` order, with what each did to its alert (never a
hit stored before the replica started). On a store of its own the hits just stored are those,
and they go to the hub as they are (two hops to the store's thread per batch, not four);
otherwise `publish_new` reads them back from the store.
Records that are not hits are returned as poison for the loop to set aside.

Offsets: the hits are consumed with the consumer group of the store: `<prefix>api.<store_id>`,
committed after a batch is stored, at most every `BUSY_COMMIT_INTERVAL_S` (0.5 s) under load
and at once when the hits stop. A commit is a write to the broker's offsets log and a round
trip the loop waits for: here 1.5-2.7 ms of the broker's CPU (two to four one-record produces)
and 6.5-7 ms of waiting (`benchmarks.commit_cost`), once per batch before. A replica that
crashes redoes at most that last half second; one stopped cleanly commits what it stored first.
- SQLite (embedded, one replica per file): the group is private to the replica's store. A
  replica restarted on the same store resumes where it stopped; a new or wiped store gets a new
  store_id, hence a new group, and replays the whole topic (hit retention) into it.
- PostgreSQL (replicas share the database, hence the store_id and the group): the topic's
  partitions are split between the replicas, each hit is stored once by one of them, and every
  replica streams every hit because streams are fed from the store, not from the consumer:
  `publish_new` runs after each stored batch and every `ANPR_STREAM_POLL_MS`, and the store
  makes `seq` visible in increasing order, so the tail never skips a hit. A restarted replica
  loses nothing: the group's other members took its partitions meanwhile, and its clients resume
  with `Last-Event-ID` from the shared store.
Replays are harmless: inserts are idempotent and only hits stored after start reach the streams.

A store of its own that never held a hit (new, or wiped; not one whose hits retention removed,
`Store.max_seq`) replays the whole topic into it: the hits
that were on the topic when the replica started are history, not news. They are stored and
placed in alerts (the alert list, searches and `Last-Event-ID` replays show them), but not
streamed live (`backfill`): a console connected meanwhile would otherwise raise days-old hits
as new alarms, with sound. A stream resumed with `Last-Event-ID` does get them (the hub marks
them as history), as they come after its last hit: it missed them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection, Mapping, Sequence

from anpr.bus.base import Record, TopicPartition
from anpr.codecs import HITS
from anpr.consume import MAX_BATCH
from anpr.deadletter import Poison
from anpr.errors import InvalidRecord
from api.alerts.placer import AlertPlacer
from api.hits.body import hit_body
from api.hits.hub import StreamHub
from api.metrics import ApiMetrics
from api.store.alerts import AlertNote
from api.store.base import NewHit, Store, StoredHit

log = logging.getLogger(__name__)

# How long a hit read back from the store waits for its alert note before it is streamed
# without (PostgreSQL stores a batch and places it in two transactions, milliseconds apart).
PLACING_GRACE_S = 2.0


def decode_hit(record: Record) -> NewHit:
    """The hit to store; `InvalidRecord` when the record is not one."""
    hit = HITS.decode(record.value)
    body = hit_body(hit)
    return NewHit(
        hit_id=hit["hit_id"],
        matched_at=hit["matched_at"],
        camera_id=hit["read"]["camera_id"],
        list_id=hit["list_id"],
        plate_norm=hit["read"]["plate_norm"],
        covert=hit["covert"],
        topic_ts=record.timestamp_ms,
        body=body,
    )


def hits_batch(stream_queue_size: int) -> int:
    """The most hits the consumer takes in one step: half a stream's queue, as a whole batch
    goes into every open stream's queue at once, and one larger than the queue would drop every
    stream, fast ones too (a catch-up after downtime, a burst of past-read matches)."""
    return max(1, min(MAX_BATCH, stream_queue_size // 2))


def hits_group_id(topic_prefix: str, store_id: str) -> str:
    return f"{topic_prefix}api.{store_id}"


class HitIngest:
    def __init__(
        self,
        store: Store,
        hub: StreamHub,
        metrics: ApiMetrics,
        alerts: AlertPlacer,
        *,
        page: int = 500,
    ) -> None:
        self._store = store
        self._hub = hub
        self._metrics = metrics
        self._alerts = alerts
        self._page = page
        self._published: int | None = None
        self._tail_lock = asyncio.Lock()
        # The first stored hit still without its alert note, and since when it waits.
        self._unplaced_since: tuple[str, float] | None = None
        # Per partition, the offset before which hits are history (see the module's doc).
        self._backfill_until: dict[TopicPartition, int] = {}

    def published(self) -> int | None:
        """The `seq` of the last hit handed to the hub (None before `start`)."""
        return self._published

    async def start(self) -> None:
        """Streams show hits stored from now on (older ones are for `Last-Event-ID` replays)."""
        self._published = await self._store.max_seq()

    def backfill(self, until: Mapping[TopicPartition, int]) -> None:
        """Store but do not stream the hits before these offsets (an empty store's replay)."""
        self._backfill_until = {tp: end for tp, end in until.items() if end > 0}

    def backfilling(self) -> bool:
        """Whether the replay of an empty store has hits left that stream as history."""
        return bool(self._backfill_until)

    async def publish_new(self) -> int:
        """Hand the hub every hit stored after the last one published, by any replica; how many.

        On PostgreSQL a batch is stored, then placed in alerts, in two transactions, so a hit
        can be read here before its alert note exists. Publishing stops at such a hit until the
        note is there (the next round: after the replica's next batch, or within
        `ANPR_STREAM_POLL_MS`), so that its `alert`/`sighting` event precedes it on every
        stream as the docs promise; after `PLACING_GRACE_S` it goes without (its placing
        failed, or grouping had no note for it)."""
        count = 0
        async with self._tail_lock:
            if self._published is None:
                self._published = await self._store.max_seq()
                return 0
            while True:
                hits = await self._store.hits_after_seq(
                    self._published, include_covert=True, limit=self._page
                )
                if not hits:
                    break
                notes = await self._store.alert_notes([h.hit_id for h in hits])
                ready = self._placed_prefix(hits, notes)
                if ready:
                    self._hub.publish(hits[:ready], notes)
                    self._published = hits[ready - 1].seq
                    count += ready
                if ready < len(hits) or len(hits) < self._page:
                    break
        return count

    def _placed_prefix(self, hits: Sequence[StoredHit], notes: Mapping[str, AlertNote]) -> int:
        """How many of `hits`, from the first, may go to the streams now."""
        for index, hit in enumerate(hits):
            if hit.hit_id in notes:
                continue
            waiting = self._unplaced_since
            now = time.monotonic()
            if waiting is None or waiting[0] != hit.hit_id:
                self._unplaced_since = (hit.hit_id, now)
                return index
            if now - waiting[1] < PLACING_GRACE_S:
                return index
            log.warning(
                "hit %s streamed without its alert note: not placed %.1f s after it was stored",
                hit.hit_id,
                now - waiting[1],
            )
        self._unplaced_since = None
        return len(hits)

    async def handle_batch(self, records: Sequence[Record]) -> list[Poison]:
        hits: list[NewHit] = []
        poison: list[Poison] = []
        until = self._backfill_until
        history: set[str] = set()
        for record in records:
            try:
                hit = decode_hit(record)
            except InvalidRecord as exc:
                poison.append(Poison(record, str(exc)))
                continue
            hits.append(hit)
            if until and record.offset < until.get((record.topic, record.partition), 0):
                history.add(hit.hit_id)
        # Covert hits are left out of every count on /metrics (no token), totals included: a
        # total would give their number by difference with what an operator is shown.
        covert = sum(h.covert for h in hits)
        self._metrics.records_consumed.labels("hits").inc(len(records) - covert)
        if not hits:
            return poison
        stored, notes = await self._alerts.store_and_place(hits)
        stored_overt = sum(not h.covert for h in stored)
        self._metrics.hits_stored.inc(stored_overt)
        self._metrics.hits_duplicate.inc(len(hits) - covert - stored_overt)
        if self._store.shared or not await self._publish_stored(stored, notes, history):
            await self.publish_new()
        if until:
            self._behind_backfill(records)
        return poison

    def _behind_backfill(self, records: Sequence[Record]) -> None:
        """Forget the partitions whose backfill this (handled) batch finished."""
        for record in records:
            tp = (record.topic, record.partition)
            if record.offset + 1 >= self._backfill_until.get(tp, 0):
                self._backfill_until.pop(tp, None)
        if not self._backfill_until:
            log.info("the empty store's replay of the hits topic is done; streaming live hits")

    async def _publish_stored(
        self,
        stored: Sequence[StoredHit],
        placed: Mapping[str, AlertNote],
        history: Collection[str] = (),
    ) -> bool:
        """Hand the hub the hits just stored, without reading them back; False if it cannot.

        On a store of its own this replica is the only writer, so the hits it just stored are
        the next ones to publish when their `seq`s follow the last one published without a gap.
        A gap means a batch stored earlier was not published (it failed after its insert):
        then `publish_new` reads everything from the last published hit instead.
        """
        async with self._tail_lock:
            if not stored or self._published is None:
                return False
            expected = self._published + 1
            for hit in stored:
                if hit.seq != expected:
                    return False
                expected += 1
            notes = settled_notes(placed)
            missing = [h.hit_id for h in stored if h.hit_id not in notes]
            if missing:  # placed before (a replay): as the store holds them
                notes.update(await self._store.alert_notes(missing))
            self._hub.publish(stored, notes, history)
            self._published = stored[-1].seq
        return True


def settled_notes(placed: Mapping[str, AlertNote]) -> dict[str, AlertNote]:
    """The notes of a batch as the store holds them once the batch is placed.

    Placing gives each hit's alert as it was right after that hit; a stream (and a replay with
    `Last-Event-ID`, which reads `Store.alert_notes`) shows each alert as the batch left it.
    """
    latest = {note.alert.alert_id: note.alert for note in placed.values()}
    return {
        hit_id: AlertNote(note.decision, latest[note.alert.alert_id], note.sighting)
        for hit_id, note in placed.items()
    }
