"""The store on a SQLite file (the default; `path=None` keeps it in memory, for tests).

Statements run on the store's own thread, never on the event loop (`api.store.sqlite_thread`);
retention deletes run in bounded batches. The audit table refuses UPDATE and DELETE with
triggers, so append-only holds even against a mistaken statement.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Collection, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from pathlib import Path
from typing import Any

import orjson

from anpr.sqlite_wal import SideCheckpoints, connect_wal
from api.store.alerts import AlertNote, NewSighting, close_when_acknowledged_sql
from api.store.base import (
    TRIM_CAMERAS,
    AckConflict,
    Acknowledgement,
    AuditEntry,
    CameraActivity,
    HitAcknowledged,
    HitCounts,
    HitFilter,
    HitStatus,
    LifecycleEvent,
    NewHit,
    Outcome,
    PageKey,
    StoredAudit,
    StoredHit,
)
from api.store.schema import SCHEMA, insert_audit
from api.store.sqlite_alerts import ALERTS_SCHEMA, SqliteAlertsMixin, place_sightings
from api.store.sqlite_notifications import SqliteNotifications
from api.store.sqlite_thread import purge_in_batches, write_transaction

_CLOSE_ALERT = close_when_acknowledged_sql("?")
_HIT_COLUMNS = (
    "seq, hit_id, matched_at, covert, topic_ts, body, ack_outcome, ack_note, ack_by, ack_role, "
    "ack_at"
)


def _hit(row: tuple[Any, ...]) -> StoredHit:
    seq, hit_id, matched_at, covert, topic_ts, body, outcome, note, by, role, at = row
    ack = None
    if at is not None:
        ack = Acknowledgement(Outcome(outcome), note, by, role, at)
    return StoredHit(seq, hit_id, matched_at, bool(covert), topic_ts, orjson.loads(body), ack)


def _where(flt: HitFilter) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if flt.since is not None:
        clauses.append("matched_at >= ?")
        params.append(flt.since)
    if flt.until is not None:
        clauses.append("matched_at < ?")
        params.append(flt.until)
    for column, value in (
        ("camera_id", flt.camera_id),
        ("list_id", flt.list_id),
        ("plate_norm", flt.plate_norm),
    ):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if flt.status is HitStatus.NEW:
        clauses.append("ack_at IS NULL")
    elif flt.status is HitStatus.ACKNOWLEDGED:
        clauses.append("ack_at IS NOT NULL")
    if not flt.include_covert:
        clauses.append("covert = 0")
    if flt.test is not None:
        clauses.append("coalesce(json_extract(CAST(body AS TEXT), '$.test'), 0) = ?")
        params.append(1 if flt.test else 0)
    return clauses, params


hit_where = _where  # also used by `SqliteNotifications`


def _get_hit(db: sqlite3.Connection, hit_id: str) -> StoredHit | None:
    row = db.execute(
        f"SELECT {_HIT_COLUMNS} FROM hits WHERE hit_id = ?",  # noqa: S608 - constant columns
        (hit_id,),
    ).fetchone()
    return _hit(row) if row else None


def _insert_hits(db: sqlite3.Connection, hits: Sequence[NewHit]) -> list[StoredHit]:
    """Insert the hits not stored yet, inside the caller's write transaction."""
    stored: list[StoredHit] = []
    for hit in hits:
        row = db.execute(
            "INSERT INTO hits (hit_id, matched_at, camera_id, list_id, plate_norm,"
            " covert, topic_ts, body) VALUES (?,?,?,?,?,?,?,?)"
            " ON CONFLICT (hit_id) DO NOTHING RETURNING seq",
            (
                hit.hit_id,
                hit.matched_at,
                hit.camera_id,
                hit.list_id,
                hit.plate_norm,
                int(hit.covert),
                hit.topic_ts,
                orjson.dumps(hit.body),
            ),
        ).fetchone()
        if row is not None:
            stored.append(
                StoredHit(row[0], hit.hit_id, hit.matched_at, hit.covert, hit.topic_ts, hit.body)
            )
    return stored


class SqliteStore(SqliteNotifications, SqliteAlertsMixin):
    """Every statement runs on the store's own thread (`api.store.sqlite_thread`)."""

    def __init__(
        self,
        path: Path | None,
        *,
        on_checkpoint: Callable[[float, bool], None] | None = None,
        side_checkpoints: bool = True,
    ) -> None:
        """`side_checkpoints=False` leaves SQLite to checkpoint inside commits (for comparison
        in `benchmarks.sqlite_commits`)."""
        self._path = path
        self._on_checkpoint = on_checkpoint
        self._side_checkpoints = side_checkpoints
        self._store_id = ""

    @property
    def store_id(self) -> str:
        return self._store_id

    @property
    def shared(self) -> bool:
        return False

    def hotlist_writer(self, list_id: str) -> AbstractAsyncContextManager[None]:
        return nullcontext()

    async def open(self) -> None:
        if self._db is not None:
            return
        if self._path is not None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
        target = str(self._path) if self._path else ":memory:"

        def connect() -> sqlite3.Connection:
            # Used from the store's thread only; tests may also look in from the loop's thread.
            db = connect_wal(target, check_same_thread=False)
            db.executescript(SCHEMA)
            db.executescript(ALERTS_SCHEMA)
            db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('store_id', ?)",
                (uuid.uuid4().hex,),
            )
            self._store_id = db.execute("SELECT value FROM meta WHERE key='store_id'").fetchone()[0]
            return db

        checkpoints = None
        if self._path is not None and self._side_checkpoints:
            checkpoints = SideCheckpoints(target, observe=self._on_checkpoint)
        await self.open_on_thread("anpr-sqlite-store", connect, checkpoints)

    async def close(self) -> None:
        await self.close_on_thread()

    async def add_hits(self, hits: Sequence[NewHit]) -> list[StoredHit]:
        def run(db: sqlite3.Connection) -> list[StoredHit]:
            with write_transaction(db):
                stored = _insert_hits(db, hits)
            return stored

        return await self.sql(run)

    async def add_hits_placed(
        self,
        hits: Sequence[NewHit],
        sightings: Sequence[NewSighting],
        window_ms_of: Callable[[str], int],
    ) -> tuple[list[StoredHit], list[AlertNote]]:
        """One transaction, one hop to the store's thread, one commit."""

        def run(db: sqlite3.Connection) -> tuple[list[StoredHit], list[AlertNote]]:
            with write_transaction(db):
                stored = _insert_hits(db, hits)
                notes = place_sightings(db, sightings, window_ms_of)
            return stored, notes

        return await self.sql(run)

    async def get_hit(self, hit_id: str) -> StoredHit | None:
        return await self.sql(lambda db: _get_hit(db, hit_id))

    async def query_hits(
        self, flt: HitFilter, *, after: PageKey | None, limit: int
    ) -> list[StoredHit]:
        def run(db: sqlite3.Connection) -> list[StoredHit]:
            clauses, params = _where(flt)
            if after is not None:
                clauses.append("(matched_at < ? OR (matched_at = ? AND hit_id < ?))")
                params += [after.matched_at, after.matched_at, after.hit_id]
            where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
            rows = db.execute(
                f"SELECT {_HIT_COLUMNS} FROM hits {where} "  # noqa: S608 - clauses are constants
                "ORDER BY matched_at DESC, hit_id DESC LIMIT ?",
                (*params, limit),
            ).fetchall()
            return [_hit(row) for row in rows]

        return await self.sql(run)

    async def count_hits(self, flt: HitFilter) -> HitCounts:
        def run(db: sqlite3.Connection) -> HitCounts:
            clauses, params = _where(flt)
            where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
            total, acked = db.execute(
                "SELECT COUNT(*), COUNT(ack_at) FROM hits " + where,  # noqa: S608 - constants
                params,
            ).fetchone()
            return HitCounts(total=total, new=total - acked, acknowledged=acked)

        return await self.sql(run)

    async def seq_of(self, hit_id: str) -> int | None:
        def run(db: sqlite3.Connection) -> int | None:
            row = db.execute("SELECT seq FROM hits WHERE hit_id = ?", (hit_id,)).fetchone()
            return int(row[0]) if row else None

        return await self.sql(run)

    async def hits_after_seq(
        self, seq: int, *, include_covert: bool, limit: int
    ) -> list[StoredHit]:
        def run(db: sqlite3.Connection) -> list[StoredHit]:
            covert = "" if include_covert else " AND covert = 0"
            rows = db.execute(
                f"SELECT {_HIT_COLUMNS} FROM hits WHERE seq > ?{covert} ORDER BY seq LIMIT ?",  # noqa: S608
                (seq, limit),
            ).fetchall()
            return [_hit(row) for row in rows]

        return await self.sql(run)

    async def max_seq(self) -> int:
        """The last `seq` this store gave a hit, kept when retention removes the hits (0: it
        never held one): the API takes 0 for a new store and replays the topic as history,
        and a store emptied by retention is not one (the hits that came while it was down
        are news)."""

        def run(db: sqlite3.Connection) -> int:
            row = db.execute(
                "SELECT MAX(seq) FROM (SELECT MAX(seq) AS seq FROM hits"
                " UNION ALL SELECT seq FROM sqlite_sequence WHERE name = 'hits')"
            ).fetchone()
            return int(row[0] or 0)

        return await self.sql(run)

    async def acknowledge(
        self,
        hit_id: str,
        ack: Acknowledgement,
        *,
        audit: Callable[[HitAcknowledged], AuditEntry] | None = None,
    ) -> HitAcknowledged | None:
        values = (ack.outcome.value, ack.note, ack.by, ack.role, ack.at)

        def run(db: sqlite3.Connection) -> tuple[int, HitAcknowledged | None]:
            closed = None
            with write_transaction(db):
                updated = db.execute(
                    "UPDATE hits SET ack_outcome=?, ack_note=?, ack_by=?, ack_role=?, ack_at=? "
                    "WHERE hit_id=? AND ack_at IS NULL",
                    (*values, hit_id),
                ).rowcount
                if updated:
                    row = db.execute(_CLOSE_ALERT, (*values, hit_id)).fetchone()
                    closed = None if row is None else str(row[0])
                hit = _get_hit(db, hit_id)
                done = None if hit is None else HitAcknowledged(hit, closed)
                if updated and done is not None and audit is not None:
                    insert_audit(db, audit(done))
            return updated, done

        updated, done = await self.sql(run)
        if done is None:
            return None
        if not updated and done.hit.ack is not None:
            raise AckConflict(done.hit.ack)
        return done

    async def append_audit(self, entry: AuditEntry) -> int:
        return await self.sql(lambda db: insert_audit(db, entry))

    async def query_audit(
        self,
        *,
        since: int | None,
        until: int | None,
        actor: str | None,
        before_seq: int | None,
        limit: int,
    ) -> list[StoredAudit]:
        def run(db: sqlite3.Connection) -> list[StoredAudit]:
            clauses: list[str] = []
            params: list[Any] = []
            for clause, value in (
                ("at >= ?", since),
                ("at < ?", until),
                ("actor = ?", actor),
                ("seq < ?", before_seq),
            ):
                if value is not None:
                    clauses.append(clause)
                    params.append(value)
            where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
            rows = db.execute(
                "SELECT seq, at, actor, role, action, target, reason, detail FROM audit "  # noqa: S608
                f"{where} ORDER BY seq DESC LIMIT ?",
                (*params, limit),
            ).fetchall()
            return [
                StoredAudit(
                    seq, AuditEntry(at, actor, role, action, target, reason, orjson.loads(d))
                )
                for seq, at, actor, role, action, target, reason, d in rows
            ]

        return await self.sql(run)

    async def save_activity(self, rows: Sequence[CameraActivity]) -> None:
        def run(db: sqlite3.Connection) -> None:
            if not rows:
                return
            now = max(
                max(r.last_read_at or 0, r.last_heartbeat_at or 0, r.first_seen) for r in rows
            )
            with write_transaction(db):
                db.executemany(
                    "INSERT INTO camera_activity (camera_id, first_seen, last_read_at,"
                    " last_heartbeat_at, updated_at) VALUES (?,?,?,?,?)"
                    " ON CONFLICT (camera_id) DO UPDATE SET first_seen=excluded.first_seen,"
                    " last_read_at=excluded.last_read_at,"
                    " last_heartbeat_at=excluded.last_heartbeat_at, updated_at=excluded.updated_at",
                    [
                        (r.camera_id, r.first_seen, r.last_read_at, r.last_heartbeat_at, now)
                        for r in rows
                    ],
                )

        return await self.sql(run)

    async def load_activity(self) -> list[CameraActivity]:
        def run(db: sqlite3.Connection) -> list[CameraActivity]:
            rows = db.execute(
                "SELECT camera_id, first_seen, last_read_at, last_heartbeat_at FROM camera_activity"
            ).fetchall()
            return [CameraActivity(*row) for row in rows]

        return await self.sql(run)

    async def forget_activity(self, camera_ids: Sequence[str]) -> None:
        def run(db: sqlite3.Connection) -> None:
            db.executemany(
                "DELETE FROM camera_activity WHERE camera_id = ?", [(c,) for c in camera_ids]
            )

        return await self.sql(run)

    async def purge(
        self, *, hits_before: int, activity_before: int, audit_before: int | None = None
    ) -> dict[str, int]:
        """In batches of `purge_batch` rows (`purge_in_batches`), so the store answers between."""
        hits = await purge_in_batches(
            self,
            table="hits",
            key="seq",
            where="matched_at < ?",
            params=(hits_before,),
            counted="covert = 0",  # covert hits: removed, not counted (`Store.purge`)
        )
        activity = await purge_in_batches(
            self,
            table="camera_activity",
            key="camera_id",
            where="updated_at < ?",
            params=(activity_before,),
        )
        removed = {"hits": hits, "camera_activity": activity}
        if audit_before is not None:

            def move_cutoff(db: sqlite3.Connection) -> None:
                db.execute(
                    "UPDATE audit_retention SET cutoff = MAX(cutoff, ?) WHERE id = 1",
                    (audit_before,),
                )

            await self.sql(move_cutoff)
            removed["audit"] = await purge_in_batches(
                self,
                table="audit",
                key="seq",
                where="at < (SELECT cutoff FROM audit_retention WHERE id = 1)",
                # Entries about covert lists, hits and alerts: removed, not counted (/metrics).
                counted="json_extract(CAST(detail AS TEXT), '$.covert') IS NOT 1",
            )
        return removed

    # -- camera connection lifecycle ---------------------------------------------------------

    async def add_lifecycle(self, events: Sequence[LifecycleEvent]) -> int:
        def run(db: sqlite3.Connection) -> int:
            if not events:
                return 0
            before = db.total_changes
            with write_transaction(db):
                db.executemany(
                    "INSERT INTO camera_lifecycle (camera_id, kind, at, detail) VALUES (?,?,?,?)"
                    " ON CONFLICT (camera_id, kind) WHERE kind IN ('registered', 'first_contact',"
                    " 'first_valid_read', 'first_heartbeat') DO UPDATE SET at = excluded.at,"
                    " detail = excluded.detail WHERE excluded.at < camera_lifecycle.at",
                    [(e.camera_id, e.kind, e.at, orjson.dumps(e.detail)) for e in events],
                )
            return int(db.total_changes - before)

        return await self.sql(run)

    async def load_lifecycle(self) -> list[LifecycleEvent]:
        def run(db: sqlite3.Connection) -> list[LifecycleEvent]:
            rows = db.execute(
                "SELECT camera_id, kind, at, detail FROM camera_lifecycle ORDER BY at, seq"
            ).fetchall()
            return [LifecycleEvent(c, k, at, orjson.loads(d)) for c, k, at, d in rows]

        return await self.sql(run)

    async def forget_lifecycle(self, camera_ids: Sequence[str]) -> None:
        def run(db: sqlite3.Connection) -> None:
            db.executemany(
                "DELETE FROM camera_lifecycle WHERE camera_id = ?", [(c,) for c in camera_ids]
            )

        return await self.sql(run)

    async def trim_lifecycle(self, groups: Sequence[Collection[str]], keep: int) -> int:
        kinds = sorted({k for group in groups for k in group})
        marks = ",".join("?" * len(kinds))

        def over(db: sqlite3.Connection) -> list[str]:
            return [
                row[0]
                for row in db.execute(
                    f"SELECT camera_id FROM camera_lifecycle WHERE kind IN ({marks})"  # noqa: S608
                    " GROUP BY camera_id HAVING count(*) > ?",
                    (*kinds, keep),
                )
            ]

        cameras = await self.sql(over)
        case = " ".join(
            f"WHEN kind IN ({','.join('?' * len(g))}) THEN {n}" for n, g in enumerate(groups)
        )
        case_params = [k for group in groups for k in sorted(group)]
        removed = 0
        # A hop per TRIM_CAMERAS cameras, so hits are stored between two.
        for start in range(0, len(cameras), TRIM_CAMERAS):
            chunk = cameras[start : start + TRIM_CAMERAS]
            sql = (
                "DELETE FROM camera_lifecycle WHERE seq IN (SELECT seq FROM (SELECT seq,"  # noqa: S608
                f" row_number() OVER (PARTITION BY camera_id, CASE {case} END"
                " ORDER BY at DESC, seq DESC) AS rn FROM camera_lifecycle"
                f" WHERE camera_id IN ({','.join('?' * len(chunk))}) AND kind IN ({marks}))"
                " WHERE rn > ?)"
            )
            params = (*case_params, *chunk, *kinds, keep)

            def run(
                db: sqlite3.Connection, sql: str = sql, params: tuple[Any, ...] = params
            ) -> int:
                return db.execute(sql, params).rowcount

            removed += await self.sql(run)
        return removed
