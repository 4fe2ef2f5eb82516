"""Shared by the PostgreSQL store's modules: the connection pool, errors as `StoreUnavailable`,
and the hits filter (used by `api.store.postgres` and the report in `api.store.pg_notifications`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
import psycopg
from psycopg.types.json import Jsonb, set_json_dumps, set_json_loads
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from api.store.base import AuditEntry, HitFilter, HitStatus, StoreUnavailable

Row = tuple[Any, ...]


def _dumps(obj: Any) -> str:
    return orjson.dumps(obj).decode()


async def _configure(conn: psycopg.AsyncConnection[Any]) -> None:
    set_json_dumps(_dumps, conn)
    set_json_loads(orjson.loads, conn)
    # No statement waits forever: a lock held by a stuck session or a runaway query becomes a
    # (retriable) error instead of a consumer or a request that never ends.
    await conn.execute("SET lock_timeout = '15s'")
    await conn.execute("SET statement_timeout = '60s'")
    await conn.execute("SET idle_in_transaction_session_timeout = '60s'")


@asynccontextmanager
async def connection(pool: AsyncConnectionPool[Any]) -> AsyncIterator[Any]:
    """A pooled connection; an unreachable or failing server becomes `StoreUnavailable`.

    Except while the task is being cancelled: psycopg answers a cancelled query with its own
    error (the server cancels it too), and turning that into a retriable error would let a
    retry loop swallow the cancellation and never stop."""
    try:
        async with pool.connection() as conn:
            yield conn
    except (psycopg.OperationalError, PoolTimeout) as exc:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise asyncio.CancelledError from exc
        raise StoreUnavailable(f"the database is unavailable: {type(exc).__name__}") from exc


# Rows a retention statement deletes: each is a statement of its own, well inside the statement
# timeout. One statement for a whole backlog (a retention lowered from 180 days to 30, hits with
# pictures at ~3,000 rows/s) ran past the 60 s timeout on every run and never purged anything.
PURGE_BATCH = 5000


async def purge_in_batches(
    pool: AsyncConnectionPool[Any], table: str, where: str, before: int, *, counted: str
) -> int:
    """Delete the rows of `table` (keyed by `seq`) matching `where` (one `%s`: `before`), a
    batch per statement; how many of them `counted` (a boolean expression of a row) holds
    for. `table`, `where` and `counted` are constants of the caller."""
    sql = (
        f"DELETE FROM {table} WHERE seq IN"  # noqa: S608 - constants of the caller
        f" (SELECT seq FROM {table} WHERE {where} LIMIT {PURGE_BATCH}) RETURNING {counted}"
    )
    removed = 0
    while True:
        async with connection(pool) as conn:
            cur = await conn.execute(sql, (before,))
            rows = await cur.fetchall()
        removed += sum(bool(row[0]) for row in rows)
        if len(rows) < PURGE_BATCH:
            return removed


def make_pool(url: str, *, min_size: int, max_size: int, timeout_s: float, name: str) -> Any:
    """An (unopened) async pool of autocommit connections with orjson for jsonb."""
    return AsyncConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        timeout=timeout_s,
        kwargs={"autocommit": True},
        configure=_configure,
        open=False,
        name=name,
    )


def hit_where(flt: HitFilter) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if flt.since is not None:
        clauses.append("matched_at >= %s")
        params.append(flt.since)
    if flt.until is not None:
        clauses.append("matched_at < %s")
        params.append(flt.until)
    for column, value in (
        ("camera_id", flt.camera_id),
        ("list_id", flt.list_id),
        ("plate_norm", flt.plate_norm),
    ):
        if value is not None:
            clauses.append(f"{column} = %s")
            params.append(value)
    if flt.status is HitStatus.NEW:
        clauses.append("ack_at IS NULL")
    elif flt.status is HitStatus.ACKNOWLEDGED:
        clauses.append("ack_at IS NOT NULL")
    if not flt.include_covert:
        clauses.append("NOT covert")
    if flt.test is not None:
        clauses.append("coalesce((body->>'test')::boolean, false) = %s")
        params.append(flt.test)
    return clauses, params


async def insert_audit(conn: Any, entry: AuditEntry) -> int:
    """Append `entry` to the audit table on `conn` (inside its transaction, if any); its seq."""
    cur = await conn.execute(
        "INSERT INTO audit (at, actor, role, action, target, reason, detail) "
        "VALUES (%s,%s,%s,%s,%s,%s,%s) RETURNING seq",
        (
            entry.at,
            entry.actor,
            entry.role,
            entry.action,
            entry.target,
            entry.reason,
            Jsonb(entry.detail),
        ),
    )
    row = await cur.fetchone()
    return int(row[0])
