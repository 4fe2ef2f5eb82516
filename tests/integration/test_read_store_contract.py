"""The read archive's store contract, one suite against SQLite and the real PostgreSQL:
idempotent writes, exact and OCR-tolerant plate search, filters, keyset pages, retention."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest

from anpr.normalize import skeleton
from api.archive.base import PlateMatch, ReadQuery, ReadStore
from api.archive.pg_reads import PostgresReadStore
from api.archive.records import DAY_MS, ArchivedRead, decode_read
from api.archive.sqlite_reads import SqliteReadStore
from tests.support.factories import make_read
from tests.support.postgres import PgDatabase

NOW = 1_790_000_000_000  # a fixed instant (2026-09-21) so days are deterministic
T0 = NOW - NOW % DAY_MS


def read(
    read_id: str, plate: str, captured_at: int, camera_id: str = "cam-1", **extra: Any
) -> ArchivedRead:
    value = make_read(
        plate,
        read_id=read_id,
        camera_id=camera_id,
        captured_at_ms=captured_at,
        received_after_ms=300,
        confidence=0.9,
        **extra,
    )
    return decode_read(orjson.dumps(value))


@pytest.fixture(params=["sqlite", "postgres"])
async def reads(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ReadStore]:
    store: ReadStore
    if request.param == "sqlite":
        store = SqliteReadStore(tmp_path / "api.sqlite3")
    else:
        db: PgDatabase = request.getfixturevalue("pg_database")
        store = PostgresReadStore(db.url, migrate_url=db.migrate_url)
    await store.open()
    yield store
    await store.close()


async def test_writes_are_idempotent(reads: ReadStore) -> None:
    batch = [read(f"r{i}", "1-ABC-123", T0 + i * 1000) for i in range(5)]
    assert await reads.add_reads(batch) == 5
    assert await reads.add_reads([*batch[2:], read("r9", "XYZ1", T0 + 9000)]) == 1
    found = await reads.search(ReadQuery(), after=None, limit=100)
    assert [s.read_id for s in found] == ["r9", "r4", "r3", "r2", "r1", "r0"]


async def test_exact_and_ocr_search(reads: ReadStore) -> None:
    await reads.add_reads(
        [
            read("exact", "1-ABC-123", T0 + 1000),
            read("ocr-1", "IABC123", T0 + 2000),  # 1 -> I: one position
            read("ocr-2", "IABC1Z3", T0 + 3000),  # two positions
            read("ocr-3", "IA8C1Z3", T0 + 4000),  # three positions: too many
            read("longer", "1ABC1234", T0 + 5000),
            read("other", "9XYZ999", T0 + 6000),
        ]
    )
    exact = await reads.search(ReadQuery(plate_norm="1ABC123"), after=None, limit=10)
    assert [s.read_id for s in exact] == ["exact"]
    ocr = await reads.search(
        ReadQuery(plate_norm="1ABC123", match=PlateMatch.OCR), after=None, limit=10
    )
    assert [s.read_id for s in ocr] == ["ocr-2", "ocr-1", "exact"]
    sighting = ocr[1]
    assert (sighting.plate, sighting.camera_id, sighting.confidence) == ("IABC123", "cam-1", 0.9)
    assert sighting.captured_at == T0 + 2000
    assert sighting.body["integrator_id"] == "int-1"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param(ReadQuery(camera_id="cam-2"), ["c2"], id="camera"),
        pytest.param(ReadQuery(since=T0 + 2000), ["c3", "c2"], id="since"),
        pytest.param(ReadQuery(until=T0 + 2000), ["c1"], id="until-exclusive"),
        pytest.param(ReadQuery(plate_norm="AB12345", camera_id="cam-1"), ["c3", "c1"], id="both"),
    ],
)
async def test_filters(reads: ReadStore, query: ReadQuery, expected: list[str]) -> None:
    await reads.add_reads(
        [
            read("c1", "AB12345", T0 + 1000),
            read("c2", "AB12345", T0 + 2000, camera_id="cam-2"),
            read("c3", "AB12345", T0 + 3000),
        ]
    )
    assert [s.read_id for s in await reads.search(query, after=None, limit=10)] == expected


async def test_keyset_pages_across_days(reads: ReadStore) -> None:
    # Ties on captured_at are broken by read_id; pages never repeat or skip a read.
    batch = [read(f"p{i:02d}", "AB12345", T0 - (i // 3) * DAY_MS) for i in range(10)]
    await reads.add_reads(batch)
    seen: list[str] = []
    after = None
    while True:
        page = await reads.search(ReadQuery(plate_norm="AB12345"), after=after, limit=4)
        seen += [s.read_id for s in page]
        if len(page) < 4:
            break
        after = page[-1].key
    expected = sorted(batch, key=lambda r: (r.captured_at, r.read_id), reverse=True)
    assert seen == [r.read_id for r in expected]


async def test_get_reads(reads: ReadStore) -> None:
    await reads.add_reads([read("one", "AB12345", T0 + 5, direction="receding")])
    (got,) = await reads.get_reads("one", camera_id=None)
    assert got.body["direction"] == "receding"
    assert await reads.get_reads("none", camera_id=None) == []


async def test_a_read_id_two_cameras_use_is_two_reads(reads: ReadStore) -> None:
    """A read_id is unique per camera only (contract section 3): both reads are found, on
    pages of one as in one page, and by id with the camera named."""
    await reads.add_reads(
        [
            read("evt-1", "AB12345", T0 + 5, camera_id="cam-1"),
            read("evt-1", "XY98765", T0 + 5, camera_id="cam-2"),
            read("evt-0", "AB12345", T0 + 5, camera_id="cam-1"),
        ]
    )
    query = ReadQuery(plate_norm=None, match=PlateMatch.EXACT, camera_id=None, since=T0, until=None)
    whole = [(s.camera_id, s.read_id) for s in await reads.search(query, after=None, limit=10)]
    assert whole == [("cam-2", "evt-1"), ("cam-1", "evt-1"), ("cam-1", "evt-0")]
    paged: list[tuple[str, str]] = []
    after = None
    while page := await reads.search(query, after=after, limit=1):
        paged += [(s.camera_id, s.read_id) for s in page]
        after = page[-1].key
    assert paged == whole
    both = await reads.get_reads("evt-1", camera_id=None)
    assert sorted(s.camera_id for s in both) == ["cam-1", "cam-2"]
    (one,) = await reads.get_reads("evt-1", camera_id="cam-1")
    assert one.plate_norm == "AB12345"


async def test_retention_removes_whole_old_days(reads: ReadStore) -> None:
    await reads.add_reads(
        [
            read("d-3", "AB12345", T0 - 3 * DAY_MS + 10),
            read("d-2", "AB12345", T0 - 2 * DAY_MS + 10),
            read("d-1-late", "AB12345", T0 - DAY_MS + 20 * 3600 * 1000),
            read("today", "AB12345", T0 + 10),
        ]
    )
    # Everything captured before T0 - 1 day + 12 h is past retention: days -3 and -2 are gone
    # entirely; day -1 is partly inside, so it stays until all of it is past.
    removed = await reads.purge_reads(before=T0 - DAY_MS + 12 * 3600 * 1000)
    assert removed >= 2
    left = [s.read_id for s in await reads.search(ReadQuery(), after=None, limit=10)]
    assert left == ["today", "d-1-late"]


async def test_pg_partitions_by_day_and_drops_them(pg_database: PgDatabase) -> None:
    store = PostgresReadStore(pg_database.url, migrate_url=pg_database.migrate_url)
    await store.open()
    try:
        await store.add_reads([read(f"r{d}", "AB12345", T0 - d * DAY_MS + 1) for d in range(4)])
        partitions = await _partitions(pg_database)
        assert len(partitions) == 4
        assert await store.purge_reads(before=T0 - DAY_MS) == 2
        assert len(await _partitions(pg_database)) == 2
        # A dropped day can be written again (its partition is made anew).
        assert await store.add_reads([read("back", "AB12345", T0 - 3 * DAY_MS + 1)]) == 1
    finally:
        await store.close()
    async with await psycopg.AsyncConnection.connect(pg_database.url, autocommit=True) as app:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            await app.execute(
                b"CREATE TABLE reads_p20000101 PARTITION OF reads FOR VALUES FROM (0) TO (1)"
            )


async def test_pg_dropping_a_day_does_not_hold_the_archive_behind_a_long_search(
    pg_database: PgDatabase,
) -> None:
    """Dropping a day partition locks the whole `reads` table. Queued behind a search still
    running, it made every insert queue behind it for up to 15 s (the session's lock timeout).
    It now gives up within its own short timeout, and the day goes at the next run."""
    import time

    store = PostgresReadStore(pg_database.url, migrate_url=pg_database.migrate_url)
    await store.open()
    try:
        await store.add_reads([read(f"r{d}", "AB12345", T0 - d * DAY_MS + 1) for d in range(3)])
        async with await psycopg.AsyncConnection.connect(pg_database.url) as search:
            await search.execute(b"SELECT count(*) FROM reads")  # its transaction stays open
            started = time.monotonic()
            assert await store.purge_reads(before=T0 - DAY_MS) == 0  # refused: busy
            assert time.monotonic() - started < 10
            await search.rollback()
        assert len(await _partitions(pg_database)) == 3
        assert await store.purge_reads(before=T0 - DAY_MS) == 1  # the next run drops it
    finally:
        await store.close()


async def _partitions(db: PgDatabase) -> list[str]:
    async with await psycopg.AsyncConnection.connect(db.super_url, autocommit=True) as conn:
        cur = await conn.execute(
            b"SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            b"WHERE i.inhparent = 'reads'::regclass ORDER BY 1"
        )
        return [str(r[0]) for r in await cur.fetchall()]


def _plates(rows: list[Any]) -> list[str]:
    return sorted(orjson.loads(r.raw)["plate_norm"] for r in rows)


async def test_past_candidates_by_skeleton_within_the_window(reads: ReadStore) -> None:
    await reads.add_reads(
        [
            read("a", "AB123CD", T0 + 1000),
            read("b", "A8123CD", T0 + 2000),  # same skeleton (B/8)
            read("c", "AB123CE", T0 + 3000),  # another skeleton
            read("d", "AB123CD", T0 + 10_000),  # outside [since, until)
            read("e", "AB123CD", T0 - DAY_MS),  # the day before: another partition
        ]
    )
    rows = await reads.past_candidates(
        [skeleton("AB123CD"), "NOPE"], since=T0, until=T0 + 10_000, limit=100
    )
    assert _plates(rows) == ["A8123CD", "AB123CD"]
    assert {r.plate_skeleton for r in rows} == {skeleton("AB123CD")}
    across = await reads.past_candidates(
        [skeleton("AB123CD")], since=T0 - DAY_MS, until=T0 + DAY_MS, limit=100
    )
    assert len(across) == 4
    assert (
        len(
            await reads.past_candidates([skeleton("AB123CD")], since=T0, until=T0 + DAY_MS, limit=2)
        )
        == 2
    )
    assert await reads.past_candidates([], since=T0, until=T0 + DAY_MS, limit=10) == []


async def test_pattern_candidates_scan_the_window(reads: ReadStore) -> None:
    await reads.add_reads(
        [
            read("a", "AB123CD", T0 + 1000),
            read("b", "AB9CD", T0 + 2000),
            read("c", "XAB123", T0 + 3000),
            read("d", "AB777", T0 - DAY_MS),
        ]
    )
    rows = await reads.pattern_candidates(["AB%"], since=T0, until=T0 + DAY_MS, limit=100)
    assert _plates(rows) == ["AB123CD", "AB9CD"]
    rows = await reads.pattern_candidates(
        ["AB_CD", "%123"], since=T0 - DAY_MS, until=T0 + DAY_MS, limit=100
    )
    assert _plates(rows) == ["AB9CD", "XAB123"]


async def test_skeleton_scans_take_one_letter_of_any_script(reads: ReadStore) -> None:
    """A fuzzy entry of Thai letters is scanned over `plate_skeleton` with `_` where the
    misread letter is: `_` is one character (a Thai letter is three bytes in UTF-8)."""
    await reads.add_reads(
        [
            read("a", "กค12345", T0 + 1000),
            read("b", "กข12345", T0 + 2000),
            read("c", "กขค12345", T0 + 3000),
            read("d", "AB12345", T0 + 4000),
        ]
    )
    rows = await reads.pattern_candidates(
        ["ก_12345"], since=T0, until=T0 + DAY_MS, limit=100, column="plate_skeleton"
    )
    assert _plates(rows) == ["กข12345", "กค12345"]
    rows = await reads.pattern_candidates(
        ["กข_12345"], since=T0, until=T0 + DAY_MS, limit=100, column="plate_skeleton"
    )
    assert _plates(rows) == ["กขค12345"]


async def test_one_process_leads_at_a_time(
    reads: ReadStore, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past-read matching runs in the archive holding the lead; SQLite has one archive."""
    if isinstance(reads, SqliteReadStore):
        async with reads.lead("jobs"):
            return
    import asyncio

    import api.archive.pg_reads

    monkeypatch.setattr(api.archive.pg_reads, "_LEAD_RETRY_S", 0.05)
    db: PgDatabase = request.getfixturevalue("pg_database")
    other = PostgresReadStore(db.url, migrate_on_start=False)
    await other.open()
    entered = asyncio.Event()
    release = asyncio.Event()

    async def second() -> None:
        async with other.lead("jobs"):
            entered.set()
            await release.wait()

    try:
        async with reads.lead("jobs"):
            task = asyncio.create_task(second())
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(asyncio.shield(entered.wait()), 0.5)
        await asyncio.wait_for(entered.wait(), 10)  # the first left: the second leads
        release.set()
        await task
    finally:
        await other.close()


async def test_a_lead_whose_connection_drops_is_left(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server ends the lead's session (a network cut, a failover): its lock is gone, and a
    replica may lead now. The body must stop, with a retriable error, not run on beside it."""
    import asyncio

    import api.archive.pg_reads
    from api.archive.base import LeadLost

    monkeypatch.setattr(api.archive.pg_reads, "_LEAD_RETRY_S", 0.05)
    monkeypatch.setattr(api.archive.pg_reads, "_LEAD_CHECK_S", 0.1)
    db: PgDatabase = request.getfixturevalue("pg_database")
    first = PostgresReadStore(db.url, migrate_url=db.migrate_url)
    other = PostgresReadStore(db.url, migrate_on_start=False)
    await first.open()
    await other.open()
    leading = asyncio.Event()

    async def lead_for_ever() -> None:
        async with first.lead("jobs"):
            leading.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(lead_for_ever())
    try:
        await asyncio.wait_for(leading.wait(), 10)
        async with await psycopg.AsyncConnection.connect(db.super_url, autocommit=True) as su:
            await su.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_locks"
                " WHERE locktype = 'advisory' AND granted"
            )
        with pytest.raises(LeadLost):
            await asyncio.wait_for(task, 10)
        async with other.lead("jobs"):  # the lock went with the session
            pass
    finally:
        task.cancel()
        await first.close()
        await other.close()
