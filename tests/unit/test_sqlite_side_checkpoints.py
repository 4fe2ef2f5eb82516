"""WAL checkpoints on the side: the writer's commits only append, and a nudge after a write copies
the WAL into the database on another thread, one checkpoint at a time, failures reported."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from anpr.bus.base import Message
from anpr.bus.local import LocalBus
from anpr.sqlite_wal import SideCheckpoints, connect_wal
from api.store.base import NewHit
from api.store.sqlite import SqliteStore
from tests.support.wait import until

PAGE = 4096


class Heard:
    """What `observe` was told, and a way to wait for the n-th report."""

    def __init__(self) -> None:
        self.reports: list[tuple[float, bool, str]] = []
        self._cond = threading.Condition()

    def __call__(self, seconds: float, failed: bool) -> None:
        with self._cond:
            self.reports.append((seconds, failed, threading.current_thread().name))
            self._cond.notify_all()

    def wait_for(self, count: int) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.reports) >= count, timeout=10)


def _write_pages(db: sqlite3.Connection, commits: int) -> None:
    """About 50 pages a commit, each commit a transaction of its own."""
    db.execute("CREATE TABLE IF NOT EXISTS t (v BLOB)")
    for _ in range(commits):
        db.execute("BEGIN")
        db.executemany("INSERT INTO t VALUES (?)", [(b"x" * (PAGE - 100),)] * 50)
        db.execute("COMMIT")


def test_sqlite_itself_checkpoints_inside_the_commit(tmp_path: Path) -> None:
    # What the side checkpoints take away: past 1,000 pages of WAL, a commit copies the WAL
    # into the database file (and syncs both) before it returns.
    db = connect_wal(str(tmp_path / "a.sqlite3"))
    _write_pages(db, 40)
    assert (tmp_path / "a.sqlite3").stat().st_size > 1000 * PAGE
    db.close()


def test_the_writer_only_appends_and_a_nudge_checkpoints_on_the_side(tmp_path: Path) -> None:
    target = tmp_path / "b.sqlite3"
    heard = Heard()
    side = SideCheckpoints(str(target), observe=heard, name="side-test")
    db = connect_wal(str(target))
    side.writer_pragmas(db)
    _write_pages(db, 40)  # 2,000 pages: twice SQLite's own threshold
    assert target.stat().st_size < 100 * PAGE

    side.nudge()
    heard.wait_for(1)
    _, failed, thread = heard.reports[0]
    assert not failed
    assert thread.startswith("side-test")
    assert target.stat().st_size > 1900 * PAGE
    assert db.execute("SELECT count(*) FROM t").fetchone() == (2000,)
    side.close()
    db.close()


def test_one_checkpoint_per_interval_and_one_after_the_last_write(tmp_path: Path) -> None:
    target = tmp_path / "c.sqlite3"
    heard = Heard()
    side = SideCheckpoints(str(target), interval_s=0.3, observe=heard)
    db = connect_wal(str(target))
    side.writer_pragmas(db)
    _write_pages(db, 2)
    side.nudge()
    heard.wait_for(1)
    first_done = time.monotonic()
    _write_pages(db, 40)  # more writes, each nudging, within the interval
    for _ in range(5):
        side.nudge()
    heard.wait_for(2)  # the writes within the interval are copied once, at its end
    assert time.monotonic() - first_done >= 0.3 - heard.reports[0][0]
    assert target.stat().st_size > 1900 * PAGE
    side.close()
    assert len(heard.reports) == 2
    side.nudge()  # closed: nothing more starts
    db.close()


def test_closing_does_not_wait_out_the_interval(tmp_path: Path) -> None:
    heard = Heard()
    side = SideCheckpoints(str(tmp_path / "e.sqlite3"), interval_s=3600, observe=heard)
    side.nudge()
    heard.wait_for(1)
    side.nudge()  # due in an hour
    started = time.monotonic()
    side.close()
    assert time.monotonic() - started < 5
    assert len(heard.reports) == 1


def test_a_failed_checkpoint_is_reported_logged_and_retried(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    heard = Heard()
    side = SideCheckpoints(str(tmp_path / "missing" / "d.sqlite3"), interval_s=0, observe=heard)
    with caplog.at_level(logging.WARNING, logger="anpr.sqlite_wal"):
        side.nudge()
        heard.wait_for(1)
        side.nudge()
        heard.wait_for(2)
    side.close()
    assert [failed for _, failed, _ in heard.reports] == [True, True]
    assert "checkpoint of the SQLite WAL on the side failed" in caplog.text


async def test_the_hit_store_checkpoints_on_the_side(tmp_path: Path) -> None:
    heard = Heard()
    store = SqliteStore(tmp_path / "api.sqlite3", on_checkpoint=heard)
    await store.open()
    hit = NewHit("h1", 1, "cam-1", "list-1", "AB12CDE", False, 1, {"n": 1})
    await store.add_hits([hit])
    heard.wait_for(1)
    assert not heard.reports[0][1]
    assert heard.reports[0][2].startswith("anpr-sqlite-checkpoint")
    assert store.db.execute("PRAGMA wal_autocheckpoint").fetchone() == (10_000,)
    await store.close()
    reopened = SqliteStore(tmp_path / "api.sqlite3")
    await reopened.open()
    stored = await reopened.hits_after_seq(0, include_covert=True, limit=10)
    await reopened.close()
    assert [h.hit_id for h in stored] == ["h1"]


async def test_the_local_bus_checkpoints_on_the_side(tmp_path: Path) -> None:
    path = tmp_path / "bus.sqlite3"
    bus = LocalBus(path, [])
    await bus.start()
    # ~3,000 pages of WAL: three times SQLite's own threshold, under the writer's bound.
    for batch in range(30):
        await bus.publish(
            [Message("t", f"k{batch}-{i}".encode(), b"x" * (PAGE - 200)) for i in range(100)],
            timeout_s=1.0,
        )
    assert bus.db.execute("PRAGMA wal_autocheckpoint").fetchone() == (10_000,)
    # Only a checkpoint copies the WAL into the file, and the writer does not at this size.
    await until(lambda: path.stat().st_size > 2000 * PAGE)
    assert any(t.name.startswith("anpr-bus-checkpoint") for t in threading.enumerate())
    await bus.stop()
    assert not any(t.name.startswith("anpr-bus-checkpoint") for t in threading.enumerate())


def test_a_nudge_racing_a_close_and_a_second_close_do_nothing(tmp_path: Path) -> None:
    heard = Heard()
    side = SideCheckpoints(str(tmp_path / "f.sqlite3"), observe=heard)
    # What a nudge sees when the close, on another thread, shut the executor down between its
    # check of `closed` and its submit.
    side._executor.shutdown(wait=True)
    side.nudge()
    side.close()
    side.close()
    assert heard.reports == []


async def test_the_hit_store_starts_no_checkpoint_for_reads(tmp_path: Path) -> None:
    heard = Heard()
    store = SqliteStore(tmp_path / "api.sqlite3", on_checkpoint=heard)
    await store.open()
    assert await store.get_hit("nope") is None
    assert await store.max_seq() == 0
    await store.close()  # waits for a checkpoint already started: none was
    assert heard.reports == []


async def test_a_store_emptied_by_retention_still_says_it_held_hits(tmp_path: Path) -> None:
    """The API replays the hits topic as history on a store that never held a hit; one whose
    hits retention removed is not new, and the hits that came while it was down are news."""
    store = SqliteStore(tmp_path / "api.sqlite3")
    await store.open()
    try:
        body = {"hit_id": "h1"}
        stored = await store.add_hits([NewHit("h1", 10, "cam", "list", "ABC", False, 10, body)])
        assert await store.purge(hits_before=1000, activity_before=0) == {
            "hits": 1,
            "camera_activity": 0,
        }
        assert await store.max_seq() == stored[0].seq > 0
    finally:
        await store.close()
