"""The read archive in PostgreSQL: a table partitioned by UTC day of `captured_at`.

Writes: each batch is COPYed straight into the table; a batch holding a read already stored fails
as a whole (COPY cannot skip conflicts) and is then COPYed into a temporary table and moved with
one `INSERT ... SELECT ... ON CONFLICT DO NOTHING`, which stores each read once and counts the new
rows. Replays are rare; the direct COPY does not write every read twice.
The day partitions a batch needs are made first by `anpr_read_partition` (SECURITY DEFINER:
the app role has no DDL). Retention drops whole days with `anpr_drop_read_partitions`.
Search: the `plate_norm` and `plate_skeleton` indexes of each partition, newest first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg
from psycopg_pool import AsyncConnectionPool

from anpr.normalize import skeleton
from api.archive.base import (
    LIKE_COLUMNS,
    OCR_MAX_DIFFER,
    LeadLost,
    LikeColumn,
    PastRead,
    PlateMatch,
    ReadKey,
    ReadQuery,
    SelectionTooSlow,
    Sighting,
)
from api.archive.records import DAY_MS, ArchivedRead
from api.store import migrate
from api.store.postgres import connection, make_pool

_COLUMNS = (
    "read_id, camera_id, captured_at, received_at, plate, plate_norm, country, confidence, body"
)
_STAGE = """
CREATE TEMPORARY TABLE IF NOT EXISTS reads_stage (
    captured_at bigint, read_id text, camera_id text, received_at bigint, plate text,
    plate_norm text, plate_skeleton text, country text, confidence real, body bytea
) ON COMMIT DELETE ROWS
"""
log = logging.getLogger(__name__)

# How often a process that does not hold a `lead` lock tries again, and one that holds it
# checks that its connection still holds it.
_LEAD_RETRY_S = 5.0
_LEAD_CHECK_S = 5.0
# How long dropping an expired day may wait for the `reads` table (see `purge_reads`).
_DROP_LOCK_TIMEOUT = "2s"
# Server-side TCP keepalives of the lead's session (seconds; settable per session).
_LEAD_KEEPALIVES = (
    ("tcp_keepalives_idle", 10),
    ("tcp_keepalives_interval", 5),
    ("tcp_keepalives_count", 3),
)
# Batches at least this big are written on `writers` connections in parallel.
_SPLIT_FROM = 500
_STAGE_COLUMNS = (
    "captured_at, read_id, camera_id, received_at, plate, plate_norm, plate_skeleton, country,"
    " confidence, body"
)


def _sighting(row: tuple[Any, ...]) -> Sighting:
    read_id, camera_id, captured_at, received_at, plate, plate_norm, country, conf, body = row
    return Sighting(
        read_id,
        camera_id,
        captured_at,
        received_at,
        plate,
        plate_norm,
        country,
        conf,
        orjson.loads(body),
    )


async def _copy(conn: Any, table: str, reads: Sequence[ArchivedRead]) -> None:
    async with (
        conn.cursor() as cur,
        cur.copy(f"COPY {table} ({_STAGE_COLUMNS}) FROM STDIN") as copy,
    ):
        for r in reads:
            await copy.write_row(
                (
                    r.captured_at,
                    r.read_id,
                    r.camera_id,
                    r.received_at,
                    r.plate,
                    r.plate_norm,
                    r.plate_skeleton,
                    r.country,
                    r.confidence,
                    r.raw,
                )
            )


def _day(day_ms: int) -> Any:
    return datetime.fromtimestamp(day_ms / 1000, UTC).date()


def where_clauses(query: ReadQuery, after: ReadKey | None) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if query.plate_norm is not None:
        if query.match is PlateMatch.OCR:
            clauses.append(
                "plate_skeleton = %s AND length(plate_norm) = %s"
                " AND anpr_positions_differ(plate_norm, %s) <= %s"
            )
            params += [
                skeleton(query.plate_norm),
                len(query.plate_norm),
                query.plate_norm,
                OCR_MAX_DIFFER,
            ]
        else:
            clauses.append("plate_norm = %s")
            params.append(query.plate_norm)
    for clause, value in (
        ("camera_id = %s", query.camera_id),
        ("captured_at >= %s", query.since),
        ("captured_at < %s", query.until),
    ):
        if value is not None:
            clauses.append(clause)
            params.append(value)
    if after is not None:
        clauses.append("(captured_at, read_id, camera_id) < (%s, %s, %s)")
        params += [after.captured_at, after.read_id, after.camera_id]
    return clauses, params


class PostgresReadStore:
    def __init__(
        self,
        url: str,
        *,
        migrate_url: str | None = None,
        migrate_on_start: bool = True,
        pool_max: int = 4,
        timeout_s: float = 10.0,
        writers: int = 2,
    ) -> None:
        self._migrate_url = migrate_url or url
        self._writers = max(1, min(writers, pool_max))
        self._migrate_on_start = migrate_on_start
        self._pool: AsyncConnectionPool[Any] = make_pool(
            url, min_size=1, max_size=pool_max, timeout_s=timeout_s, name="anpr-archive"
        )
        self._open = False
        self._days: set[int] = set()

    async def open(self) -> None:
        if self._open:
            return
        if self._migrate_on_start:
            await migrate.upgrade(self._migrate_url)
        await self._pool.open(wait=True)
        self._open = True

    async def close(self) -> None:
        if self._open:
            await self._pool.close()
            self._open = False

    async def _ensure_days(self, days: set[int]) -> None:
        missing = sorted(days - self._days)
        if not missing:
            return
        async with connection(self._pool) as conn:
            for day in missing:
                await conn.execute("SELECT anpr_read_partition(%s)", (_day(day),))
        self._days.update(missing)

    async def add_reads(self, reads: Sequence[ArchivedRead]) -> int:
        if not reads:
            return 0
        await self._ensure_days({r.day for r in reads})
        if len(reads) < _SPLIT_FROM or self._writers < 2:
            return await self._write(reads)
        # A big batch goes out on several connections at once, so the server inserts it on as
        # many cores. Split by read_id: copies of one read always land in the same part, so the
        # parts' transactions never wait for each other's unique-key locks (no deadlock).
        parts: list[list[ArchivedRead]] = [[] for _ in range(self._writers)]
        for r in reads:
            parts[hash(r.read_id) % self._writers].append(r)
        counts = await asyncio.gather(*(self._write(p) for p in parts if p))
        return sum(counts)

    async def _write(self, reads: Sequence[ArchivedRead]) -> int:
        async with connection(self._pool) as conn:
            # The common case, reads never seen: one COPY straight into the partitions. A read
            # already stored (a replayed batch, a restarted archiver) makes COPY fail as a
            # whole; then, and only then, the batch takes the idempotent staging path.
            try:
                async with conn.transaction():
                    await _copy(conn, "reads", reads)
                return len(reads)
            except psycopg.errors.UniqueViolation:
                pass
            async with conn.transaction():
                await conn.execute(_STAGE)
                await _copy(conn, "reads_stage", reads)
                cur = await conn.execute(
                    f"INSERT INTO reads ({_STAGE_COLUMNS}) "  # noqa: S608 - constants
                    f"SELECT {_STAGE_COLUMNS} FROM reads_stage ON CONFLICT DO NOTHING"
                )
                inserted: int = cur.rowcount
                return max(inserted, 0)

    async def search(
        self, query: ReadQuery, *, after: ReadKey | None, limit: int
    ) -> list[Sighting]:
        clauses, params = where_clauses(query, after)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        async with connection(self._pool) as conn:
            cur = await conn.execute(
                f"SELECT {_COLUMNS} FROM reads {where} "  # noqa: S608 - clauses are constants
                "ORDER BY captured_at DESC, read_id DESC, camera_id DESC LIMIT %s",
                (*params, limit),
            )
            rows = await cur.fetchall()
        return [_sighting(row) for row in rows]

    async def get_reads(self, read_id: str, *, camera_id: str | None) -> list[Sighting]:
        camera = "" if camera_id is None else " AND camera_id = %s"
        async with connection(self._pool) as conn:
            cur = await conn.execute(
                f"SELECT {_COLUMNS} FROM reads WHERE read_id = %s{camera} "  # noqa: S608
                "ORDER BY captured_at DESC, camera_id LIMIT 20",
                (read_id,) if camera_id is None else (read_id, camera_id),
            )
            rows = await cur.fetchall()
        return [_sighting(row) for row in rows]

    async def past_candidates(
        self, skeletons: Sequence[str], *, since: int, until: int, limit: int
    ) -> list[PastRead]:
        return await self._past(
            "plate_skeleton = ANY(%s)", list(skeletons), since=since, until=until, limit=limit
        )

    async def pattern_candidates(
        self,
        likes: Sequence[str],
        *,
        since: int,
        until: int,
        limit: int,
        column: LikeColumn = "plate_norm",
    ) -> list[PastRead]:
        return await self._past(
            f"{LIKE_COLUMNS[column]} LIKE ANY(%s)",
            list(likes),
            since=since,
            until=until,
            limit=limit,
        )

    async def _past(
        self, clause: str, values: list[str], *, since: int, until: int, limit: int
    ) -> list[PastRead]:
        if not values or limit <= 0:
            return []
        async with connection(self._pool) as conn:
            try:
                cur = await conn.execute(
                    f"SELECT plate_skeleton, body FROM reads WHERE {clause}"  # noqa: S608
                    " AND captured_at >= %s AND captured_at < %s LIMIT %s",
                    (values, since, until, limit),
                )
                rows = await cur.fetchall()
            except psycopg.errors.QueryCanceled as exc:
                # The statement timeout, not the database away (which `connection` maps to a
                # retriable error): retried, the job would block every later one for ever.
                if (task := asyncio.current_task()) is not None and task.cancelling():
                    raise
                raise SelectionTooSlow(f"the selection was cancelled: {exc}") from exc
        return [PastRead(row[0], bytes(row[1])) for row in rows]

    @contextlib.asynccontextmanager
    async def lead(self, name: str) -> AsyncIterator[None]:
        key = zlib.crc32(name.encode())
        async with connection(self._pool) as conn:
            # The server drops this session, hence the lock, within about half a minute when
            # this process's host is lost (the kernel's default: two hours of silence).
            for setting, value in _LEAD_KEEPALIVES:
                await conn.execute(f"SET {setting} = {value}")
            while True:
                cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", (key,))
                row = await cur.fetchone()
                if row and row[0]:
                    break
                await asyncio.sleep(_LEAD_RETRY_S)
            body = asyncio.current_task()
            lost = asyncio.Event()
            watcher = asyncio.create_task(_watch_lead(conn, key, body, lost), name=f"lead-{name}")
            try:
                yield
            except asyncio.CancelledError:
                if not lost.is_set() or body is None:
                    raise
                body.uncancel()  # the watcher's cancel, not a stop: the lead is lost instead
                raise LeadLost(f"the connection holding the {name!r} lead was lost") from None
            finally:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
                if not lost.is_set():
                    await conn.execute("SELECT pg_advisory_unlock(%s)", (key,))

    async def purge_reads(self, *, before: int) -> int:
        """Drop the expired days. Dropping a partition locks the whole `reads` table: queued
        behind a long search it made every insert and search queue behind it, for up to the
        session's 15 s lock timeout. It now waits `_DROP_LOCK_TIMEOUT` at most and, refused,
        is tried again at the next retention run."""
        async with connection(self._pool) as conn:
            try:
                async with conn.transaction():
                    await conn.execute(f"SET LOCAL lock_timeout = '{_DROP_LOCK_TIMEOUT}'")
                    cur = await conn.execute(
                        "SELECT anpr_drop_read_partitions(%s)", (_day(before - before % DAY_MS),)
                    )
                    row = await cur.fetchone()
            except psycopg.errors.LockNotAvailable:
                log.warning("read retention: the archive is busy; expired days go next run")
                return 0
        self._days = {d for d in self._days if d + DAY_MS > before}
        return int(row[0]) if row else 0


async def _watch_lead(
    conn: Any, key: int, body: asyncio.Task[Any] | None, lost: asyncio.Event
) -> None:
    """Every `_LEAD_CHECK_S`, ask on the lead's own connection whether it still holds the lock;
    when it does not (the connection dropped, or did not answer in time), end the body: a
    replica may hold the lead by now, and two leads would run the same jobs at once."""
    while True:
        await asyncio.sleep(_LEAD_CHECK_S)
        try:
            async with asyncio.timeout(_LEAD_CHECK_S):
                cur = await conn.execute(
                    "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND pid = pg_backend_pid() AND classid = 0 AND objid = %s::bigint::oid"
                    " AND objsubid = 1",
                    (key,),
                )
                held = await cur.fetchone() is not None
        except (psycopg.Error, TimeoutError) as exc:
            log.error("the lead's connection failed (%s): leaving the lead", type(exc).__name__)
            held = False
        if not held:
            lost.set()
            if body is not None:
                body.cancel()
            return
