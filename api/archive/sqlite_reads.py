"""The read archive in the SQLite file (embedded mode): one table, rows deleted by retention.

Its own connection to the API's SQLite file (WAL): the archive and the API may run in one
process (`anpr run`) or, with a file on a shared disk, in two.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from anpr.normalize import skeleton
from anpr.sqlite_wal import connect_wal
from api.archive.base import (
    LIKE_COLUMNS,
    OCR_MAX_DIFFER,
    LikeColumn,
    PastRead,
    PlateMatch,
    ReadKey,
    ReadQuery,
    Sighting,
)
from api.archive.records import ArchivedRead, positions_differ
from api.store.sqlite_thread import SqliteOnThread, purge_in_batches

SCHEMA = """
CREATE TABLE IF NOT EXISTS reads (
    read_id TEXT NOT NULL, camera_id TEXT NOT NULL, captured_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL, plate TEXT NOT NULL, plate_norm TEXT NOT NULL,
    plate_skeleton TEXT NOT NULL, country TEXT, confidence REAL, body BLOB NOT NULL,
    PRIMARY KEY (read_id, camera_id, captured_at)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS reads_plate ON reads (plate_norm, captured_at, read_id);
CREATE INDEX IF NOT EXISTS reads_skeleton ON reads (plate_skeleton, captured_at, read_id);
CREATE INDEX IF NOT EXISTS reads_camera ON reads (camera_id, captured_at, read_id);
CREATE INDEX IF NOT EXISTS reads_time ON reads (captured_at, read_id);
CREATE INDEX IF NOT EXISTS reads_id ON reads (read_id);
"""
# SQLite's default limit on host parameters is 999 (older builds): IN lists go in chunks.
_IN_CHUNK = 500
_COLUMNS = (
    "read_id, camera_id, captured_at, received_at, plate, plate_norm, country, confidence, body"
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


def where_clauses(query: ReadQuery, after: ReadKey | None) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if query.plate_norm is not None:
        if query.match is PlateMatch.OCR:
            clauses.append("plate_skeleton = ? AND anpr_positions_differ(plate_norm, ?) <= ?")
            params += [skeleton(query.plate_norm), query.plate_norm, OCR_MAX_DIFFER]
        else:
            clauses.append("plate_norm = ?")
            params.append(query.plate_norm)
    for clause, value in (
        ("camera_id = ?", query.camera_id),
        ("captured_at >= ?", query.since),
        ("captured_at < ?", query.until),
    ):
        if value is not None:
            clauses.append(clause)
            params.append(value)
    if after is not None:
        clauses.append(
            "(captured_at < ? OR (captured_at = ? AND"
            " (read_id < ? OR (read_id = ? AND camera_id < ?))))"
        )
        params += [
            after.captured_at, after.captured_at, after.read_id, after.read_id, after.camera_id
        ]  # fmt: skip
    return clauses, params


class SqliteReadStore(SqliteOnThread):
    """Every statement runs on the archive's own thread (`api.store.sqlite_thread`); retention
    deletes in bounded batches."""

    # A read's row holds its pictures (up to hundreds of KB), whose pages SQLite zeroes as it
    # deletes them (secure_delete), and in `anpr run` the archive shares its file with the hit
    # store: 5,000 such rows a statement held the file's write lock for seconds, and hit
    # inserts timed out behind it.
    purge_batch = 200

    def __init__(self, path: Path | None) -> None:
        self._path = path

    async def open(self) -> None:
        if self._db is not None:
            return
        if self._path is not None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
        target = str(self._path) if self._path else ":memory:"

        def connect() -> sqlite3.Connection:
            db = connect_wal(target, check_same_thread=False)
            db.create_function("anpr_positions_differ", 2, positions_differ, deterministic=True)
            db.executescript(SCHEMA)
            return db

        await self.open_on_thread("anpr-sqlite-archive", connect)

    async def close(self) -> None:
        await self.close_on_thread()

    async def add_reads(self, reads: Sequence[ArchivedRead]) -> int:
        def run(db: sqlite3.Connection) -> int:
            before = db.total_changes
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(
                    "INSERT INTO reads (read_id, camera_id, captured_at, received_at, plate,"
                    " plate_norm, plate_skeleton, country, confidence, body)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                    [
                        (
                            r.read_id,
                            r.camera_id,
                            r.captured_at,
                            r.received_at,
                            r.plate,
                            r.plate_norm,
                            r.plate_skeleton,
                            r.country,
                            r.confidence,
                            r.raw,
                        )
                        for r in reads
                    ],
                )
                db.execute("COMMIT")
            except sqlite3.Error:
                db.execute("ROLLBACK")
                raise
            return db.total_changes - before

        return await self.sql(run)

    async def search(
        self, query: ReadQuery, *, after: ReadKey | None, limit: int
    ) -> list[Sighting]:
        def run(db: sqlite3.Connection) -> list[Sighting]:
            clauses, params = where_clauses(query, after)
            where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM reads {where} "  # noqa: S608 - clauses are constants
                "ORDER BY captured_at DESC, read_id DESC, camera_id DESC LIMIT ?",
                (*params, limit),
            ).fetchall()
            return [_sighting(row) for row in rows]

        return await self.sql(run)

    async def get_reads(self, read_id: str, *, camera_id: str | None) -> list[Sighting]:
        def run(db: sqlite3.Connection) -> list[Sighting]:
            camera = "" if camera_id is None else " AND camera_id = ?"
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM reads WHERE read_id = ?{camera} "  # noqa: S608
                "ORDER BY captured_at DESC, camera_id LIMIT 20",
                (read_id,) if camera_id is None else (read_id, camera_id),
            ).fetchall()
            return [_sighting(row) for row in rows]

        return await self.sql(run)

    async def past_candidates(
        self, skeletons: Sequence[str], *, since: int, until: int, limit: int
    ) -> list[PastRead]:
        out: list[PastRead] = []
        for start in range(0, len(skeletons), _IN_CHUNK):
            chunk = skeletons[start : start + _IN_CHUNK]
            marks = ",".join("?" * len(chunk))
            out += await self._past(
                f"plate_skeleton IN ({marks})", chunk, since, until, limit - len(out)
            )
        return out

    async def pattern_candidates(
        self,
        likes: Sequence[str],
        *,
        since: int,
        until: int,
        limit: int,
        column: LikeColumn = "plate_norm",
    ) -> list[PastRead]:
        name = LIKE_COLUMNS[column]
        out: list[PastRead] = []
        for start in range(0, len(likes), _IN_CHUNK):
            chunk = likes[start : start + _IN_CHUNK]
            clause = " OR ".join(f"{name} LIKE ?" for _ in chunk)
            out += await self._past(f"({clause})", chunk, since, until, limit - len(out))
        return out

    async def _past(
        self, clause: str, values: Sequence[str], since: int, until: int, limit: int
    ) -> list[PastRead]:
        """On the store's thread, as every statement here: a pattern scan of 400k reads held
        the event loop (of every service, in `anpr run`) for 0.9 s when it ran on it."""
        if limit <= 0:
            return []

        def run(db: sqlite3.Connection) -> list[PastRead]:
            rows = db.execute(
                f"SELECT plate_skeleton, body FROM reads WHERE {clause}"  # noqa: S608 - constants
                " AND captured_at >= ? AND captured_at < ? LIMIT ?",
                (*values, since, until, limit),
            ).fetchall()
            return [PastRead(row[0], bytes(row[1])) for row in rows]

        return await self.sql(run)

    @contextlib.asynccontextmanager
    async def lead(self, name: str) -> AsyncIterator[None]:
        yield  # one archive per SQLite file

    async def purge_reads(self, *, before: int) -> int:
        return await purge_in_batches(
            self,
            table="reads",
            key="(read_id, camera_id, captured_at)",
            where="captured_at < ?",
            params=(before,),
        )
