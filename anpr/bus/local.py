"""The in-process bus of the embedded mode: one process, one SQLite file, no Kafka.

It keeps Kafka's semantics that the services rely on (ordered log per topic, offsets, committed
positions per group, compaction by key, tombstones) so the services run unchanged on it. Every
topic has a single partition. The log lives in SQLite so registrations, hotlists and unmatched
reads survive a restart of `anpr run`.

A file that cannot take or give records (locked by another process past the busy timeout, the
disk full, an I/O error) is the bus being away: `BusUnavailable`, retriable, as Kafka's own
timeouts are, so the gateway answers 503 and a consumer's batch is redone, not set aside as
poison. Any other SQLite error is a `BusError`.

Statements run on the event loop: a publish is one short transaction. Its WAL is checkpointed
on the side (`anpr.sqlite_wal.SideCheckpoints`), not inside a publish's commit: a checkpoint
syncs both files and held the loop 8-13 ms in about one publish of eleven (batches of 100
reads; `benchmarks.sqlite_commits`: p99 of a publish 10.7-11.0 ms inline, 2.9-3.0 aside).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import orjson

from anpr.bus.base import (
    HOT_FETCH_WAIT_MS,
    MAX_POLL_INTERVAL_S,
    GroupProgress,
    LandedLate,
    Message,
    Record,
    TopicPartition,
)
from anpr.bus.drift import TopicDrift
from anpr.errors import BusError, BusUnavailable
from anpr.sqlite_wal import SideCheckpoints, connect_wal
from anpr.topics import TopicSpec

_SCHEMA = """
CREATE TABLE IF NOT EXISTS log (
    topic TEXT NOT NULL, off INTEGER NOT NULL, key BLOB, value BLOB,
    ts INTEGER NOT NULL, headers BLOB, PRIMARY KEY (topic, off)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS log_key ON log (topic, key);
CREATE INDEX IF NOT EXISTS log_ts ON log (topic, ts);
CREATE TABLE IF NOT EXISTS group_offsets (
    grp TEXT NOT NULL, topic TEXT NOT NULL, off INTEGER NOT NULL, PRIMARY KEY (grp, topic)
) WITHOUT ROWID;
"""


@contextlib.contextmanager
def _file_errors(what: str) -> Iterator[None]:
    """SQLite's errors as the bus's (`sqlite3.OperationalError` is the file's state, not the
    statement's: locked, full, unreadable)."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        raise BusUnavailable(f"the local bus could not {what}: {exc}") from exc
    except sqlite3.Error as exc:
        raise BusError(f"the local bus could not {what}: {exc}") from exc


class LocalBus:
    """A single-process bus on SQLite (`path=None` keeps it in memory, for tests)."""

    def __init__(
        self, path: Path | None, specs: Sequence[TopicSpec], *, side_checkpoints: bool = True
    ) -> None:
        """`side_checkpoints=False` leaves SQLite to checkpoint inside commits (for comparison
        in `benchmarks.sqlite_commits`)."""
        self._path = path
        self._side_checkpoints = side_checkpoints
        self._specs = {spec.name: spec for spec in specs}
        self._db: sqlite3.Connection | None = None
        self._checkpoints: SideCheckpoints | None = None
        self._published = asyncio.Event()

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise BusError("the local bus is not started")
        return self._db

    async def start(self) -> None:
        if self._db is not None:
            return
        if self._path is not None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
        db = connect_wal(str(self._path) if self._path else ":memory:", busy_timeout_s=10.0)
        db.executescript(_SCHEMA)
        if self._path is not None and self._side_checkpoints:
            self._checkpoints = SideCheckpoints(str(self._path), name="anpr-bus-checkpoint")
            self._checkpoints.writer_pragmas(db)
        self._db = db

    async def stop(self) -> None:
        checkpoints, self._checkpoints = self._checkpoints, None  # no nudge from here on
        if checkpoints is not None:
            await asyncio.get_running_loop().run_in_executor(None, checkpoints.close)
        if self._db is not None:
            self._db.close()
            self._db = None

    async def ensure_topics(self) -> None:
        return None

    async def topic_drift(self) -> list[TopicDrift]:
        return []  # the embedded bus applies the settings' specs as it runs (retention, compaction)

    async def publish(
        self,
        messages: Sequence[Message],
        *,
        timeout_s: float,
        landed_late: LandedLate | None = None,
    ) -> None:
        """One transaction: a publish that raised stored nothing (`landed_late` is never
        called)."""
        db = self.db
        now = time.time_ns() // 1_000_000
        rows = []
        compact_keys: list[tuple[str, bytes, int]] = []
        # IMMEDIATE takes the write lock first: `anpr admin` in another process may append to
        # the same file, so offsets come from the file, not from a counter in memory.
        with _file_errors("store records"):
            db.execute("BEGIN IMMEDIATE")
            try:
                next_off: dict[str, int] = {}
                for m in messages:
                    if m.topic not in next_off:
                        next_off[m.topic] = self.end_offset(m.topic)
                    off = next_off[m.topic]
                    next_off[m.topic] = off + 1
                    headers = orjson.dumps([[k, v.decode("latin-1")] for k, v in m.headers])
                    rows.append((m.topic, off, m.key, m.value, now, headers))
                    spec = self._specs.get(m.topic)
                    if spec is not None and spec.compacted:
                        compact_keys.append((m.topic, m.key, off))
                db.executemany(
                    "INSERT INTO log (topic, off, key, value, ts, headers) VALUES (?,?,?,?,?,?)",
                    rows,
                )
                # Compaction at write time: only the latest record per key is kept. Tombstones
                # stay so that a follower that already has the key learns of its deletion.
                db.executemany("DELETE FROM log WHERE topic=? AND key=? AND off<?", compact_keys)
                db.execute("COMMIT")
            except BaseException:
                # SQLite may have rolled back itself (a full disk does): a ROLLBACK then fails,
                # and would hide why.
                if db.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        db.execute("ROLLBACK")
                raise
        if self._checkpoints is not None:
            self._checkpoints.nudge()
        published, self._published = self._published, asyncio.Event()
        published.set()

    def purge(self, topic: str, before_ms: int, *, limit: int = -1) -> int:
        """Retention (embedded mode has no broker to apply it): delete the records of `topic`
        written before `before_ms`, except its newest one, from which offsets continue; at
        most `limit` of them (-1: all), oldest first. Found by the `(topic, ts)` index: with
        nothing expired this costs nothing, where a scan of every record (pictures included)
        held the loop a second every 5 minutes."""
        cursor = self.db.execute(
            "DELETE FROM log WHERE topic=? AND off IN (SELECT off FROM log WHERE topic=? AND ts<?"
            " AND off<(SELECT MAX(off) FROM log WHERE topic=?) ORDER BY ts LIMIT ?)",
            (topic, topic, before_ms, topic, limit),
        )
        return cursor.rowcount

    async def end_offsets(self, topics: Sequence[str]) -> dict[TopicPartition, int]:
        return {(topic, 0): self.end_offset(topic) for topic in topics}

    def end_offset(self, topic: str) -> int:
        with _file_errors("read its offsets"):
            row = self.db.execute("SELECT MAX(off) FROM log WHERE topic=?", (topic,)).fetchone()
        return 0 if row[0] is None else int(row[0]) + 1

    async def wait_published(self, timeout_s: float) -> None:
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation that
        # arrives as the event is set, leaving the caller's task unstoppable.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await self._published.wait()

    def consumer(
        self,
        topics: Sequence[str],
        *,
        group_id: str | None,
        from_beginning: bool,
        start_at_ms: int | None = None,
        resume_at: Mapping[TopicPartition, int] | None = None,
        fetch_wait_ms: int = HOT_FETCH_WAIT_MS,
        max_poll_interval_s: float = MAX_POLL_INTERVAL_S,
    ) -> LocalConsumer:
        # No fetch wait here: a consumer is woken by the publish itself. No poll interval
        # either: members of a group here are never dropped for being slow.
        return LocalConsumer(
            self,
            topics,
            group_id=group_id,
            from_beginning=from_beginning,
            start_at_ms=start_at_ms,
            resume_at=resume_at,
        )

    def offset_at(self, topic: str, at_ms: int) -> int:
        with _file_errors("read its offsets"):
            row = self.db.execute(
                "SELECT MIN(off) FROM log WHERE topic=? AND ts>=?", (topic, at_ms)
            ).fetchone()
        return self.end_offset(topic) if row[0] is None else int(row[0])


class LocalConsumer:
    """A consumer of the local bus; with a group id its position survives restarts."""

    def __init__(
        self,
        bus: LocalBus,
        topics: Sequence[str],
        *,
        group_id: str | None,
        from_beginning: bool,
        start_at_ms: int | None = None,
        resume_at: Mapping[TopicPartition, int] | None = None,
    ) -> None:
        self._bus = bus
        self._resume_at = dict(resume_at or {})
        self._topics = list(topics)
        self._group = group_id
        self._from_beginning = from_beginning
        self._start_at_ms = start_at_ms
        self._pos: dict[str, int] = {}

    async def start(self) -> None:
        db = self._bus.db
        for topic in self._topics:
            committed = None
            if self._group is not None:
                with _file_errors("read the committed offsets"):
                    row = db.execute(
                        "SELECT off FROM group_offsets WHERE grp=? AND topic=?",
                        (self._group, topic),
                    ).fetchone()
                committed = row[0] if row else None
            resumed = self._resume_at.get((topic, 0))
            if resumed is not None and self._group is None:
                self._pos[topic] = resumed
            elif committed is not None:
                self._pos[topic] = committed
            elif self._start_at_ms is not None:
                self._pos[topic] = self._bus.offset_at(topic, self._start_at_ms)
            else:
                self._pos[topic] = 0 if self._from_beginning else self._bus.end_offset(topic)
                if self._group is not None and not self._from_beginning:
                    # Where a group that starts at the end starts, committed at once, as on
                    # Kafka (`KafkaConsumer._anchor`): a restart before its first commit
                    # resumes here, not at a later end.
                    await self.commit({(topic, 0): self._pos[topic]})

    async def stop(self) -> None:
        return None

    def _fetch(self, max_records: int) -> list[Record]:
        with _file_errors("read records"):
            return self._fetch_rows(max_records)

    def _fetch_rows(self, max_records: int) -> list[Record]:
        out: list[Record] = []
        for topic in self._topics:
            room = max_records - len(out)
            if room <= 0:
                break
            cursor = self._bus.db.execute(
                "SELECT off, key, value, ts, headers FROM log WHERE topic=? AND off>=? "
                "ORDER BY off LIMIT ?",
                (topic, self._pos[topic], room),
            )
            for off, key, value, ts, headers in cursor:
                hdrs = tuple((k, v.encode("latin-1")) for k, v in orjson.loads(headers or b"[]"))
                out.append(Record(topic, 0, off, key, value, ts, hdrs))
                self._pos[topic] = off + 1
        return out

    async def getmany(self, *, timeout_ms: int, max_records: int) -> list[Record]:
        records = self._fetch(max_records)
        if records or timeout_ms <= 0:
            return records
        await self._bus.wait_published(timeout_ms / 1000)
        return self._fetch(max_records)

    async def commit(self, offsets: Mapping[TopicPartition, int] | None = None) -> None:
        if self._group is None:
            return
        chosen = (
            self._pos
            if offsets is None
            else {topic: off for (topic, _), off in offsets.items() if topic in self._pos}
        )
        with _file_errors("commit offsets"):
            self._bus.db.executemany(
                "INSERT INTO group_offsets (grp, topic, off) VALUES (?,?,?) "
                "ON CONFLICT (grp, topic) DO UPDATE SET off=excluded.off",
                [(self._group, topic, pos) for topic, pos in chosen.items()],
            )

    async def end_offsets(self) -> dict[TopicPartition, int]:
        return {(topic, 0): self._bus.end_offset(topic) for topic in self._topics}

    async def positions(self) -> dict[TopicPartition, int]:
        return {(topic, 0): pos for topic, pos in self._pos.items()}

    def assignment(self) -> frozenset[TopicPartition]:
        return frozenset((topic, 0) for topic in self._pos)

    async def group_progress(self) -> GroupProgress | None:
        if self._group is None:
            return None
        committed = end = 0
        for topic in self._topics:
            with _file_errors("read the committed offsets"):
                row = self._bus.db.execute(
                    "SELECT off FROM group_offsets WHERE grp=? AND topic=?", (self._group, topic)
                ).fetchone()
            topic_end = self._bus.end_offset(topic)
            committed += topic_end if row is None else int(row[0])
            end += topic_end
        return GroupProgress(committed, end)
