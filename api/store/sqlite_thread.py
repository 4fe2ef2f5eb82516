"""SQLite off the event loop: one connection, used only from one dedicated thread.

`sqlite3` calls block, and a retention `DELETE` over 180 days of hits or a `COUNT(*)` over them
holds the caller for seconds. Every statement of the SQLite stores therefore runs on a
single-thread executor that owns the connection (`SqliteOnThread.sql`):

- the event loop only awaits the result, so a slow statement costs the loop nothing;
- statements still run one at a time, in the order they were asked for, on one connection, so a
  transaction (`BEGIN` ... `COMMIT` inside one `sql` call) is as atomic as it was on the loop,
  and an in-memory database (`path=None`, tests) works as before;
- a whole method (a batch of inserts with its transaction) is one hop to the thread, not one per
  statement.

aiosqlite does the same (a thread per connection) but hops once per statement and cursor fetch,
and its async cursor API would have meant rewriting every query; the stdlib executor keeps each
method's SQL unchanged inside one function.

Write transactions start with `BEGIN IMMEDIATE`: the stores of one file (hits, alerts,
notifications) each have their own connection, and a deferred `BEGIN` that reads, then writes
after another connection committed, fails at once with "database is locked" (SQLite cannot wait
for a snapshot that is already stale); taking the write lock first makes it wait on the busy
timeout instead.

A store on a file checkpoints its WAL on the side (`anpr.sqlite_wal.SideCheckpoints`, nudged
after every `sql` call that changed a row): the commits that store hits never wait for a
checkpoint's syncs, and reads start none.

Retention deletes run in bounded batches (`purge_in_batches`): each batch is its own hop, so
queries asked for meanwhile run between two batches instead of waiting for the whole purge.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from anpr.sqlite_wal import SideCheckpoints, is_contention
from api.store.base import StoreUnavailable

T = TypeVar("T")

# Rows deleted per statement by a retention purge: tens of milliseconds on a laptop disk, so
# that a hit insert waiting on the file's write lock waits no longer (stores of rows with
# pictures, the read archive, use fewer).
PURGE_BATCH = 1000


class SqliteOnThread:
    """The connection and its thread; mixed into the SQLite stores (`open_on_thread` in `open`)."""

    _db: sqlite3.Connection | None = None
    _executor: ThreadPoolExecutor | None = None
    _checkpoints: SideCheckpoints | None = None
    purge_batch: int = PURGE_BATCH  # rows per retention statement; tests make it small

    @property
    def db(self) -> sqlite3.Connection:
        """The connection, for code already running on the store's thread (inside `sql`)."""
        if self._db is None:
            raise RuntimeError("the SQLite store is not open")
        return self._db

    async def open_on_thread(
        self,
        name: str,
        connect: Callable[[], sqlite3.Connection],
        checkpoints: SideCheckpoints | None = None,
    ) -> sqlite3.Connection:
        """Start the thread and make the connection on it (`checkpoints`: for a file)."""
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

        def connect_writer() -> sqlite3.Connection:
            db = connect()
            if checkpoints is not None:
                checkpoints.writer_pragmas(db)
            return db

        try:
            db = await asyncio.get_running_loop().run_in_executor(executor, connect_writer)
        except BaseException:
            executor.shutdown(wait=False)
            if checkpoints is not None:
                checkpoints.close()
            raise
        self._executor, self._db, self._checkpoints = executor, db, checkpoints
        return db

    async def close_on_thread(self) -> None:
        executor, db, checkpoints = self._executor, self._db, self._checkpoints
        if executor is None or db is None:
            return
        self._db = None
        self._executor = None
        self._checkpoints = None
        loop = asyncio.get_running_loop()
        try:
            if checkpoints is not None:
                await loop.run_in_executor(None, checkpoints.close)
            await loop.run_in_executor(executor, db.close)
        finally:
            executor.shutdown(wait=True)

    async def sql(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work(connection)` on the store's thread and give back its result.

        The database busy or locked past the busy timeout (another connection on the same file
        holding the write lock) is `StoreUnavailable`, retriable: a consumer redoes its batch,
        a request gets a 503, instead of a hit being set aside as if its record were bad."""
        db, executor, checkpoints = self.db, self._executor, self._checkpoints
        if checkpoints is None:
            call: Callable[[sqlite3.Connection], T] = work
        else:
            wrote = False

            def call(db: sqlite3.Connection) -> T:
                # Only a write gives a checkpoint anything to do: reads nudge nothing.
                nonlocal wrote
                before = db.total_changes
                try:
                    return work(db)
                finally:
                    wrote = db.total_changes != before

        try:
            return await asyncio.get_running_loop().run_in_executor(executor, call, db)
        except sqlite3.OperationalError as exc:
            if is_contention(exc):
                raise StoreUnavailable(f"the SQLite database is busy: {exc}") from exc
            raise
        finally:
            if checkpoints is not None and wrote:
                checkpoints.nudge()


@contextlib.contextmanager
def write_transaction(db: sqlite3.Connection) -> Iterator[None]:
    """`BEGIN IMMEDIATE`, the block, `COMMIT`; on any error `ROLLBACK`, and the error goes on."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


async def purge_in_batches(
    store: SqliteOnThread,
    *,
    table: str,
    key: str,
    where: str,
    params: Sequence[Any] = (),
    counted: str | None = None,
) -> int:
    """Delete the rows of `table` matching `where`, at most `store.purge_batch` per statement;
    the number deleted, or with `counted` (an expression of a row) the number of deleted rows
    for which it is true. `key` identifies a row (`rowid`, or the primary key of a `WITHOUT
    ROWID` table, `(a, b)` for a composite one). `table`, `key`, `where` and `counted` are
    constants of the caller."""
    sql = (
        f"DELETE FROM {table} WHERE {key} IN "  # noqa: S608 - constants of the caller
        f"(SELECT {key.strip('()')} FROM {table} WHERE {where} LIMIT ?)"
    )
    batch = store.purge_batch
    args = (*params, batch)

    def one_batch(db: sqlite3.Connection) -> tuple[int, int]:
        if counted is None:
            deleted = db.execute(sql, args).rowcount
            return deleted, deleted
        rows = db.execute(f"{sql} RETURNING {counted}", args).fetchall()
        return len(rows), sum(bool(row[0]) for row in rows)

    removed = 0
    while True:
        deleted, count = await store.sql(one_batch)
        removed += count
        if deleted < batch:
            return removed
