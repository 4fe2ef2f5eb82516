"""Writes to one hotlist take turns across the API replicas that share a PostgreSQL database.

A write (`api.hotlists.service`) plans from the list as this replica's book has it once it has
read the hotlists topic to its end, and commits the whole configuration at a version taken from
the clock. A write that read the list before another replica's change and committed after it
put that change back: an upsert restored the old priority, match mode or covert flag (a
replacement's epoch, too). Held from before the read until the commit is published, a
session-level advisory lock makes the second replica wait for the first; it then reads the
topic to its end and plans from the list as the first left it.

The lock's connection is opened for the write and closed after it, never pooled: closing the
session releases its lock whatever happened (a cancelled request, an unlock that never ran),
so no pooled connection can keep a list locked. Writes are administrators' acts, a few a minute
at most; a connection each costs nothing that matters. `lock_timeout` bounds the wait: a
replacement of a million entries takes tens of seconds, and a write still waiting after
`WAIT_S` is answered 503 (retriable), the list unchanged.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg

from api.store.base import StoreUnavailable

WAIT_S = 60


def hotlist_lock_id(list_id: str) -> int:
    """The advisory lock id of writes to `list_id`: 64 bits of a hash, as a signed bigint."""
    material = f"hotlist-write\x1f{list_id}".encode()
    return int.from_bytes(hashlib.sha256(material).digest()[:8], "big", signed=True)


@asynccontextmanager
async def hotlist_writer(conninfo: str, list_id: str) -> AsyncIterator[None]:
    """Held while this replica writes `list_id`; see the module doc."""
    try:
        conn = await psycopg.AsyncConnection.connect(conninfo, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise _unavailable(exc) from exc
    try:
        try:
            await conn.execute(f"SET lock_timeout = '{WAIT_S}s'")
            await conn.execute("SELECT pg_advisory_lock(%s)", (hotlist_lock_id(list_id),))
        except psycopg.errors.LockNotAvailable as exc:
            raise StoreUnavailable(
                f"another API replica has been writing this hotlist for {WAIT_S} s; retry later"
            ) from exc
        except psycopg.OperationalError as exc:
            raise _unavailable(exc) from exc
        yield
    finally:
        await conn.close()


def _unavailable(exc: psycopg.OperationalError) -> BaseException:
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        return asyncio.CancelledError()  # psycopg's error for a cancelled wait: still a cancel
    return StoreUnavailable(f"the database is unavailable: {type(exc).__name__}")
