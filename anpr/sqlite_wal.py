"""Opening a SQLite file in WAL mode when other connections may be opening it at the same time.

The embedded run opens one file from several connections at once (the API's hit store and the
read archive share `api.sqlite3`; `anpr admin` may open the bus file beside `anpr run`).
`PRAGMA journal_mode=WAL` on a file another connection is switching or creating at that moment
fails at once with "database is locked": SQLite does not call the busy handler for it, so the
busy timeout does not help. `connect_wal` retries that one statement until the busy timeout has
passed; every later statement waits on the busy timeout as usual.

`SideCheckpoints` takes the WAL's checkpoints off a latency-critical writer's commits.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

log = logging.getLogger(__name__)

# Between two tries of the journal-mode switch: the other connection's switch takes well under
# a millisecond, so this is a short wait, not a back-off.
_RETRY_PAUSE_S = 0.005

# A writer with `SideCheckpoints` still checkpoints itself once its WAL reaches this many pages
# (40 MiB of 4 KiB pages), should the side checkpoints stop or fall behind: the WAL stays
# bounded whatever happens on the side. SQLite's own default is 1,000.
WRITER_AUTOCHECKPOINT_PAGES = 10_000
# At most one side checkpoint per interval: each syncs both files, so one per commit would
# cost a sync per commit.
CHECKPOINT_INTERVAL_S = 0.5
# Checkpoint rounds at most, back to back, until the WAL is all copied (see `_checkpoint`).
CHECKPOINT_ROUNDS = 4


def connect_wal(
    target: str, *, busy_timeout_s: float = 5.0, check_same_thread: bool = True
) -> sqlite3.Connection:
    """A connection to `target` in autocommit (`isolation_level=None`), WAL journal,
    `synchronous=NORMAL` and the given busy timeout. Raises `sqlite3.OperationalError` if the file
    stays locked for longer than the busy timeout."""
    db = sqlite3.connect(
        target,
        timeout=busy_timeout_s,
        isolation_level=None,
        check_same_thread=check_same_thread,
    )
    try:
        deadline = time.monotonic() + busy_timeout_s
        while True:
            try:
                db.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError as exc:
                if not is_contention(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(_RETRY_PAUSE_S)
        db.execute("PRAGMA synchronous=NORMAL")
    except BaseException:
        db.close()
        raise
    return db


def is_contention(exc: sqlite3.OperationalError) -> bool:
    """The error is another connection holding the file (busy or locked), not a bad statement."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    text = str(exc)
    return "database is locked" in text or "database is busy" in text


class SideCheckpoints:
    """WAL checkpoints of one SQLite file on a thread and a connection of their own.

    SQLite checkpoints from inside the commit that takes the WAL past `wal_autocheckpoint`
    pages: that commit copies the WAL into the database and syncs both files while its caller
    waits: 8-13 ms, about one batch of hits in 36 and one embedded-bus publish in 11.
    `python -m benchmarks.sqlite_commits`: p99 of storing a batch of hits 8.6-9.4 ms inline,
    1.9-2.0 ms with these; of a bus publish 10.7-11.0 and 2.9-3.0 ms. Here the writer's commits
    only append to the WAL (`writer_pragmas`), and `nudge`, called after the writer's work,
    has a PASSIVE checkpoint follow on the side within `interval_s`: it never blocks the
    writer, and the writer never waits for it.

    Nothing runs while nothing is written, so an idle process costs nothing. A failed
    checkpoint is logged and reported to `observe`; the next nudge tries again, and the
    writer's own checkpoint at `WRITER_AUTOCHECKPOINT_PAGES` keeps the WAL bounded meanwhile.
    """

    def __init__(
        self,
        target: str,
        *,
        interval_s: float = CHECKPOINT_INTERVAL_S,
        observe: Callable[[float, bool], None] | None = None,
        name: str = "anpr-sqlite-checkpoint",
    ) -> None:
        self._target = target
        self._interval_s = interval_s
        self._observe = observe
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._db: sqlite3.Connection | None = None  # made and used on the executor's thread only
        self._running: Future[None] | None = None
        self._last = float("-inf")  # when the last checkpoint began (set on its thread)
        self._closed = False
        self._closing = threading.Event()

    @staticmethod
    def writer_pragmas(db: sqlite3.Connection) -> None:
        """Set on the writer's connection: its commits leave checkpoints to the side."""
        db.execute(f"PRAGMA wal_autocheckpoint={WRITER_AUTOCHECKPOINT_PAGES}")

    def nudge(self) -> None:
        """After the writer's work: make sure a checkpoint follows, at most one per interval.

        Starts one now when the last began an interval ago or more, else at the end of the
        interval, so the last writes of a burst are copied too. Call it from one thread (the
        writer's, or the loop that awaits the writer)."""
        if self._closed or (self._running is not None and not self._running.done()):
            return
        delay = max(0.0, self._last + self._interval_s - time.monotonic())
        try:
            self._running = self._executor.submit(self._checkpoint, delay)
        except RuntimeError:  # closed meanwhile, from another thread: nothing more starts
            return

    def _checkpoint(self, delay_s: float) -> None:
        if delay_s > 0 and self._closing.wait(delay_s):
            return  # closing: the writer's connection checkpoints as it closes
        self._last = time.monotonic()
        started = time.perf_counter()
        failed = False
        try:
            if self._db is None:
                self._db = connect_wal(self._target)
            # PASSIVE: copies what no reader still needs and never waits on a lock; a busy
            # flag in the result means another connection was checkpointing, not an error.
            # SQLite starts the WAL over only when the writer begins with every frame copied.
            # Frames written during a round are copied by the next, shorter one, until a round
            # finds no new frame, so that the writer's next commit can restart the WAL. (Not
            # measured apart. With them, 2,000 reads/s on the embedded bus keep the WAL at 5-10
            # MiB; a synthetic 15,000 still reach WRITER_AUTOCHECKPOINT_PAGES every ~70
            # publishes, and that commit then checkpoints, about 20 ms.)
            previous = -1
            for _ in range(CHECKPOINT_ROUNDS):
                row = self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                busy, frames = row[0], row[1]
                if busy or frames == previous:
                    break
                previous = frames
        except sqlite3.Error as exc:
            failed = True
            log.warning(
                "a checkpoint of the SQLite WAL on the side failed; the next write retries it, "
                "and the writer checkpoints itself past %d pages: %s",
                WRITER_AUTOCHECKPOINT_PAGES,
                exc,
            )
        if self._observe is not None:
            self._observe(time.perf_counter() - started, failed)

    def close(self) -> None:
        """Wait for a running checkpoint (not for one still waiting for its turn), then close
        the side connection and its thread."""
        self._closed = True
        self._closing.set()
        with contextlib.suppress(RuntimeError):  # closed before: nothing left to close
            self._executor.submit(self._close_db)
        self._executor.shutdown(wait=True)

    def _close_db(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
