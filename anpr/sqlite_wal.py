"""Opening a SQLite file in WAL mode when other connections may be opening it at the same time.

The embedded run opens one file from several connections at once (the API's hit store and the
read archive share `api.sqlite3`; `anpr admin` may open the bus file beside `anpr run`).
`PRAGMA journal_mode=WAL` on a file another connection is switching or creating at that moment
fails at once with "database is locked": SQLite does not call the busy handler for it, so the
busy timeout does not help. `connect_wal` retries that one statement until the busy timeout has
passed; every later statement waits on the busy timeout as usual.
"""

from __future__ import annotations

import sqlite3
import time

# Between two tries of the journal-mode switch: the other connection's switch takes well under
# a millisecond, so this is a short wait, not a back-off.
_RETRY_PAUSE_S = 0.005


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
