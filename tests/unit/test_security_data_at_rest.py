"""Issue 11, item 6: personal data at rest.

The data directory is 0700 and its files 0600; the audit log has its own retention and only
expired entries can be deleted; the embedded bus applies read and hit retention to its file; a
plate search needs a reason of at least 5 printable characters."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from anpr.bus.base import Message
from anpr.bus.local import LocalBus
from anpr.datadir import secure_data_dir
from anpr.errors import ConfigError
from anpr.settings import CommonSettings
from anpr.topics import Topics
from anpr_cli.bus_retention import purge_once
from api.store.base import AuditEntry
from api.store.sqlite import SqliteStore
from tests.unit.api_fixtures import running_api

DAY_MS = 24 * 3600 * 1000


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_secure_data_dir_fixes_an_existing_directory(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    (data / "bus.sqlite3").write_bytes(b"x")
    (data / "bus.sqlite3").chmod(0o644)
    secure_data_dir(data)
    assert mode(data) == 0o700
    assert mode(data / "bus.sqlite3") == 0o600


def test_a_data_dir_this_user_cannot_write_is_named_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another user's directory (or a read-only mount): the tests run as root, who may write
    anywhere, so the kernel's answer is stood in for."""
    data = tmp_path / "theirs"
    data.mkdir()
    real_access = os.access

    def no_write_in_data(path: object, flags: int, **kwargs: object) -> bool:
        if Path(str(path)) == data and flags & os.W_OK:
            return False
        return real_access(path, flags, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "access", no_write_in_data)
    with pytest.raises(ConfigError, match=rf"{data} \(ANPR_DATA_DIR\) is not writable by this"):
        secure_data_dir(data)
    monkeypatch.setattr(os, "access", real_access)
    secure_data_dir(data)


def test_anpr_admin_creates_a_private_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "fresh" / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANPR_")}
    done = subprocess.run(  # an outside run: the umask is the CLI's own
        [sys.executable, "-m", "anpr", "admin", "token", "auditor", "--name", "a"],
        env={**env, "ANPR_DATA_DIR": str(data)},
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert mode(data) == 0o700
    files = list(data.iterdir())
    assert any(f.name == "bus.sqlite3" for f in files)
    for path in files:
        assert mode(path) == 0o600, path


async def test_audit_retention_removes_only_expired_entries(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "api.sqlite3")
    await store.open()
    try:
        now = 1_800_000_000_000
        for age_days in (800, 740, 10):
            await store.append_audit(
                AuditEntry(now - age_days * DAY_MS, "a", "admin", "x", "t", None, {})
            )
        removed = await store.purge(
            hits_before=0, activity_before=0, audit_before=now - 730 * DAY_MS
        )
        assert removed["audit"] == 2
        rows = await store.query_audit(
            since=None, until=None, actor=None, before_seq=None, limit=10
        )
        assert [r.entry.at for r in rows] == [now - 10 * DAY_MS]
        # Anything younger than the cut-off stays undeletable, and the cut-off never goes back.
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            store.db.execute("DELETE FROM audit")
        with pytest.raises(sqlite3.IntegrityError, match="only moves forward"):
            store.db.execute("UPDATE audit_retention SET cutoff = 0")
    finally:
        await store.close()


def test_audit_retention_defaults_to_two_years() -> None:
    assert CommonSettings().audit_retention_days == 730


async def test_embedded_bus_applies_read_and_hit_retention() -> None:
    settings = CommonSettings(read_retention_days=1, hit_retention_days=2)
    topics = Topics.from_prefix("anpr.")
    specs = topics.specs(settings)
    bus = LocalBus(None, specs)
    await bus.start()
    try:
        for topic in (topics.reads, topics.hits, topics.registry):
            await bus.publish(
                [Message(topic, b"k", f"{topic}-{i}".encode()) for i in range(3)], timeout_s=1
            )
        later = bus.db.execute("SELECT MAX(ts) FROM log").fetchone()[0] + int(1.5 * DAY_MS)
        removed = await purge_once(bus, specs, later)
        assert removed[topics.reads] == 2  # older than a day; the newest stays (offsets)
        assert removed[topics.hits] == 0  # hit retention is two days
        assert topics.registry not in removed  # compacted: never by time
        assert bus.end_offset(topics.reads) == 3
        await bus.publish([Message(topics.reads, b"k", b"next")], timeout_s=1)
        assert bus.end_offset(topics.reads) == 4
    finally:
        await bus.stop()


async def test_embedded_bus_retention_of_a_backlog_runs_the_loop_in_between() -> None:
    """A backlog of expired reads goes in batches, the loop run between them (in one
    statement it held `anpr run`'s loop for seconds), all but the newest record."""
    import asyncio

    from anpr_cli.bus_retention import PURGE_BATCH

    topics = Topics.from_prefix("anpr.")
    specs = topics.specs(CommonSettings(read_retention_days=1))
    bus = LocalBus(None, specs)
    await bus.start()
    ticks = 0
    stop = asyncio.Event()

    async def ticking() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0)

    try:
        count = 5 * PURGE_BATCH + 1
        await bus.publish(
            [Message(topics.reads, b"k", b"r%d" % i) for i in range(count)], timeout_s=1
        )
        later = bus.db.execute("SELECT MAX(ts) FROM log").fetchone()[0] + 2 * DAY_MS
        ticker = asyncio.create_task(ticking())
        await asyncio.sleep(0)
        before = ticks
        removed = await purge_once(bus, specs, later)
        during = ticks - before
        stop.set()
        await ticker
        assert removed[topics.reads] == count - 1
        assert during >= 4  # between the five batches
        assert bus.db.execute("SELECT count(*) FROM log").fetchone()[0] == 1
    finally:
        await bus.stop()


@pytest.mark.parametrize(
    ("reason", "ok"),
    [
        pytest.param("case 2024/117", True, id="case-reference"),
        pytest.param("abcde", True, id="five-characters"),
        pytest.param("abcd", False, id="four-characters"),
        pytest.param("  ab  ", False, id="padded-short"),
        pytest.param("case\x00117", False, id="control-character"),
        pytest.param("case\n117", False, id="newline"),
    ],
)
async def test_plate_search_reason(reason: str, ok: bool) -> None:
    async with running_api() as api:
        response = await api.client.get(
            "/v1/hits", params={"plate": "AB123", "reason": reason}, headers=api.auth("operator")
        )
        if ok:
            assert response.status_code == 200
        else:
            assert response.status_code == 422
            assert response.json()["errors"][0]["field"] == "reason"


async def test_a_failed_retention_round_is_logged_and_the_next_one_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The job runs beside the services of `anpr run`, and its end would stop them all: a
    round that fails (the file locked by `anpr admin` past its busy timeout) is tried again."""
    import asyncio

    from anpr_cli.bus_retention import retention_loop

    topics = Topics.from_prefix("anpr.")
    specs = topics.specs(CommonSettings(read_retention_days=1))
    bus = LocalBus(None, specs)
    await bus.start()
    purge, rounds = bus.purge, []

    def locked_once(topic: str, before_ms: int, *, limit: int = -1) -> int:
        rounds.append(topic)
        if len(rounds) == 1:
            raise sqlite3.OperationalError("database is locked")
        return purge(topic, before_ms, limit=limit)

    bus.purge = locked_once  # type: ignore[method-assign]
    stop = asyncio.Event()
    try:
        await bus.publish([Message(topics.reads, b"k", b"r-%d" % i) for i in range(3)], timeout_s=1)
        later = bus.db.execute("SELECT MAX(ts) FROM log").fetchone()[0] + 2 * DAY_MS
        with caplog.at_level(logging.WARNING, logger="anpr_cli.bus_retention"):
            job = asyncio.create_task(
                retention_loop(bus, specs, stop, interval_s=0.01, clock=lambda: later)
            )
            while (
                bus.end_offset(topics.reads) != 3
                or bus.db.execute(
                    "SELECT count(*) FROM log WHERE topic=?", (topics.reads,)
                ).fetchone()[0]
                != 1
            ):
                assert not job.done(), job
                await asyncio.sleep(0.01)
            stop.set()
            await job
        assert "embedded bus retention failed" in caplog.text
    finally:
        stop.set()
        await bus.stop()
