"""The store on PostgreSQL (`ANPR_DATABASE_URL`): one database shared by every API replica.

psycopg 3 with its async pool. What makes replicas agree:
- Hits are inserted idempotently on `hit_id`. Each insert batch takes a transaction-level
  advisory lock first, so `seq` values become visible in increasing order (a reader that sees
  seq N has seen every committed seq below it): resumable streams and the per-replica tail of
  new hits (`hits_after_seq`) never skip a hit committed late by another replica.
- An acknowledgement is one conditional UPDATE (`... AND ack_at IS NULL`): of two replicas
  acknowledging at once, exactly one wins and the other reports the conflict.
- `store_id` is stored in the database, so replicas of one database share it.
- Writes to one hotlist take turns across replicas (`api.store.pg_hotlist_lock`).
The audit table is append-only in the database itself (trigger and grants, migration 0001);
retention alone removes entries, only those before a cut-off that only moves forward (migration
0003). Alerts and console sessions, deliveries and the outcome report, and the camera lifecycle
are the mixins of `api.store.pg_alerts`, `api.store.pg_notifications`, `api.store.pg_lifecycle`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from api.store import migrate
from api.store.alerts import AlertNote, NewSighting
from api.store.base import (
    AckConflict,
    Acknowledgement,
    AuditEntry,
    CameraActivity,
    HitAcknowledged,
    HitCounts,
    HitFilter,
    NewHit,
    Outcome,
    PageKey,
    StoredAudit,
    StoredHit,
)
from api.store.pg_alerts import PgAlertsMixin, close_when_acknowledged, lock_alert_of_hit
from api.store.pg_common import Row, hit_where, insert_audit, purge_in_batches
from api.store.pg_common import connection as connection  # re-exported (archive, tests)
from api.store.pg_common import make_pool as make_pool
from api.store.pg_hotlist_lock import hotlist_writer
from api.store.pg_lifecycle import PgLifecycleMixin
from api.store.pg_notifications import PgNotificationsMixin

log = logging.getLogger(__name__)

_HIT_COLUMNS = (
    "seq, hit_id, matched_at, covert, topic_ts, body, ack_outcome, ack_note, ack_by, ack_role, "
    "ack_at"
)
_HITS_LOCK = 0x616E7072_68697473  # "anprhits": orders hit inserts across replicas


def _hit(row: Row) -> StoredHit:
    seq, hit_id, matched_at, covert, topic_ts, body, outcome, note, by, role, at = row
    ack = None
    if at is not None:
        ack = Acknowledgement(Outcome(outcome), note, by, role, at)
    return StoredHit(seq, hit_id, matched_at, bool(covert), topic_ts, body, ack)


class PostgresStore(PgAlertsMixin, PgNotificationsMixin, PgLifecycleMixin):
    def __init__(
        self,
        url: str,
        *,
        migrate_url: str | None = None,
        migrate_on_start: bool = True,
        pool_min: int = 1,
        pool_max: int = 10,
        timeout_s: float = 10.0,
    ) -> None:
        self._url = url
        self._migrate_url = migrate_url or url
        self._migrate_on_start = migrate_on_start
        self._pool = make_pool(
            url, min_size=pool_min, max_size=pool_max, timeout_s=timeout_s, name="anpr-api"
        )
        self._open = False
        self._store_id = ""

    @property
    def store_id(self) -> str:
        return self._store_id

    @property
    def shared(self) -> bool:
        return True

    @property
    def pool(self) -> AsyncConnectionPool[Any]:
        pool: AsyncConnectionPool[Any] = self._pool
        return pool

    def hotlist_writer(self, list_id: str) -> AbstractAsyncContextManager[None]:
        return hotlist_writer(self._url, list_id)

    async def open(self) -> None:
        if self._open:
            return
        if self._migrate_on_start:
            await migrate.upgrade(self._migrate_url)
        await self.pool.open(wait=True)
        self._open = True
        row = await self._one("SELECT value FROM meta WHERE key = 'store_id'")
        self._store_id = str(row[0])

    async def close(self) -> None:
        if self._open:
            await self.pool.close()
            self._open = False

    async def _one(self, query: Any, params: Sequence[Any] = ()) -> Row:
        async with connection(self.pool) as conn:
            cur = await conn.execute(query, params)
            row = await cur.fetchone()
        if row is None:
            raise RuntimeError("the query returned no row")
        return tuple(row)

    async def _all(self, query: Any, params: Sequence[Any] = ()) -> list[Row]:
        async with connection(self.pool) as conn:
            cur = await conn.execute(query, params)
            return [tuple(r) for r in await cur.fetchall()]

    async def add_hits(self, hits: Sequence[NewHit]) -> list[StoredHit]:
        if not hits:
            return []
        stored: list[StoredHit] = []
        async with connection(self.pool) as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_HITS_LOCK,))
            # One pipelined executemany (psycopg 3.1+), not a round trip per hit while every
            # replica waits on the lock: one result set per hit, in order, empty for a hit
            # already stored.
            rows = [
                (h.hit_id, h.matched_at, h.camera_id, h.list_id, h.plate_norm, h.covert,
                 h.topic_ts, Jsonb(h.body))
                for h in hits
            ]  # fmt: skip
            cur = conn.cursor()
            await cur.executemany(
                "INSERT INTO hits (hit_id, matched_at, camera_id, list_id, plate_norm, covert,"
                " topic_ts, body) VALUES (%s,%s,%s,%s,%s,%s,%s,%s)"
                " ON CONFLICT (hit_id) DO NOTHING RETURNING seq",
                rows,
                returning=True,
            )
            for hit in hits:
                row = await cur.fetchone()
                if row is not None:
                    stored.append(
                        StoredHit(
                            row[0], hit.hit_id, hit.matched_at, hit.covert, hit.topic_ts, hit.body
                        )
                    )
                cur.nextset()
        return stored

    async def add_hits_placed(
        self,
        hits: Sequence[NewHit],
        sightings: Sequence[NewSighting],
        window_ms_of: Callable[[str], int],
    ) -> tuple[list[StoredHit], list[AlertNote]]:
        """Two transactions, as before: in one, every replica's hit inserts would wait for this
        batch's placing behind the lock that keeps `seq` visible in order."""
        stored = await self.add_hits(hits)
        return stored, await self.add_sightings(sightings, window_ms_of)

    async def get_hit(self, hit_id: str) -> StoredHit | None:
        rows = await self._all(
            f"SELECT {_HIT_COLUMNS} FROM hits WHERE hit_id = %s",  # noqa: S608 - constant columns
            (hit_id,),
        )
        return _hit(rows[0]) if rows else None

    async def query_hits(
        self, flt: HitFilter, *, after: PageKey | None, limit: int
    ) -> list[StoredHit]:
        clauses, params = hit_where(flt)
        if after is not None:
            clauses.append("(matched_at, hit_id) < (%s, %s)")
            params += [after.matched_at, after.hit_id]
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = await self._all(
            f"SELECT {_HIT_COLUMNS} FROM hits {where} "  # noqa: S608 - clauses are constants
            "ORDER BY matched_at DESC, hit_id DESC LIMIT %s",
            (*params, limit),
        )
        return [_hit(row) for row in rows]

    async def count_hits(self, flt: HitFilter) -> HitCounts:
        clauses, params = hit_where(flt)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        total, acked = await self._one(
            "SELECT COUNT(*), COUNT(ack_at) FROM hits " + where,  # noqa: S608 - constants
            params,
        )
        return HitCounts(total=total, new=total - acked, acknowledged=acked)

    async def seq_of(self, hit_id: str) -> int | None:
        rows = await self._all("SELECT seq FROM hits WHERE hit_id = %s", (hit_id,))
        return int(rows[0][0]) if rows else None

    async def hits_after_seq(
        self, seq: int, *, include_covert: bool, limit: int
    ) -> list[StoredHit]:
        covert = "" if include_covert else " AND NOT covert"
        rows = await self._all(
            f"SELECT {_HIT_COLUMNS} FROM hits WHERE seq > %s{covert} ORDER BY seq LIMIT %s",  # noqa: S608
            (seq, limit),
        )
        return [_hit(row) for row in rows]

    async def max_seq(self) -> int:
        row = await self._one("SELECT COALESCE(MAX(seq), 0) FROM hits")
        return int(row[0])

    async def acknowledge(
        self,
        hit_id: str,
        ack: Acknowledgement,
        *,
        audit: Callable[[HitAcknowledged], AuditEntry] | None = None,
    ) -> HitAcknowledged | None:
        values = (ack.outcome.value, ack.note, ack.by, ack.role, ack.at)
        async with connection(self.pool) as conn, conn.transaction():
            await lock_alert_of_hit(conn, hit_id)
            cur = await conn.execute(
                "UPDATE hits SET ack_outcome=%s, ack_note=%s, ack_by=%s, ack_role=%s, ack_at=%s "  # noqa: S608 - constant columns
                f"WHERE hit_id=%s AND ack_at IS NULL RETURNING {_HIT_COLUMNS}",
                (*values, hit_id),
            )
            row = await cur.fetchone()
            done = None
            if row is not None:
                done = HitAcknowledged(
                    _hit(row), await close_when_acknowledged(conn, hit_id, values)
                )
                if audit is not None:
                    await insert_audit(conn, audit(done))
        if done is not None:
            return done
        hit = await self.get_hit(hit_id)
        if hit is None:
            return None
        if hit.ack is not None:
            raise AckConflict(hit.ack)
        return HitAcknowledged(hit)  # pragma: no cover - the UPDATE matched it otherwise

    async def append_audit(self, entry: AuditEntry) -> int:
        async with connection(self.pool) as conn:
            return await insert_audit(conn, entry)

    async def query_audit(
        self,
        *,
        since: int | None,
        until: int | None,
        actor: str | None,
        before_seq: int | None,
        limit: int,
    ) -> list[StoredAudit]:
        clauses: list[str] = []
        params: list[Any] = []
        for clause, value in (
            ("at >= %s", since),
            ("at < %s", until),
            ("actor = %s", actor),
            ("seq < %s", before_seq),
        ):
            if value is not None:
                clauses.append(clause)
                params.append(value)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = await self._all(
            "SELECT seq, at, actor, role, action, target, reason, detail FROM audit "  # noqa: S608
            f"{where} ORDER BY seq DESC LIMIT %s",
            (*params, limit),
        )
        return [
            StoredAudit(seq, AuditEntry(at, actor, role, action, target, reason, detail))
            for seq, at, actor, role, action, target, reason, detail in rows
        ]

    async def save_activity(self, rows: Sequence[CameraActivity]) -> None:
        if not rows:
            return
        now = max(max(r.last_read_at or 0, r.last_heartbeat_at or 0, r.first_seen) for r in rows)
        # Replicas see the same reads; keep the earliest first_seen and the latest times. By
        # camera: the pipelined batch is one transaction, and two replicas' batches taking the
        # same rows in opposite orders deadlock.
        rows = sorted(rows, key=lambda r: r.camera_id)
        async with connection(self.pool) as conn, conn.cursor() as cur:
            await cur.executemany(
                "INSERT INTO camera_activity (camera_id, first_seen, last_read_at,"
                " last_heartbeat_at, updated_at) VALUES (%s,%s,%s,%s,%s)"
                " ON CONFLICT (camera_id) DO UPDATE SET"
                " first_seen = LEAST(camera_activity.first_seen, excluded.first_seen),"
                " last_read_at = GREATEST(camera_activity.last_read_at, excluded.last_read_at),"
                " last_heartbeat_at = GREATEST(camera_activity.last_heartbeat_at,"
                " excluded.last_heartbeat_at),"
                " updated_at = GREATEST(camera_activity.updated_at, excluded.updated_at)",
                [
                    (r.camera_id, r.first_seen, r.last_read_at, r.last_heartbeat_at, now)
                    for r in rows
                ],
            )

    async def load_activity(self) -> list[CameraActivity]:
        rows = await self._all(
            "SELECT camera_id, first_seen, last_read_at, last_heartbeat_at FROM camera_activity"
        )
        return [CameraActivity(*row) for row in rows]

    async def forget_activity(self, camera_ids: Sequence[str]) -> None:
        if camera_ids:
            await self._all(
                "DELETE FROM camera_activity WHERE camera_id = ANY(%s) RETURNING camera_id",
                (list(camera_ids),),
            )

    async def purge(
        self, *, hits_before: int, activity_before: int, audit_before: int | None = None
    ) -> dict[str, int]:
        # Covert hits: removed, not counted (`Store.purge`).
        hits = await purge_in_batches(
            self.pool, "hits", "matched_at < %s", hits_before, counted="NOT covert"
        )
        async with connection(self.pool) as conn:
            activity = await conn.execute(
                "DELETE FROM camera_activity WHERE updated_at < %s", (activity_before,)
            )
            removed = {"hits": hits, "camera_activity": activity.rowcount}
            if audit_before is not None:
                # SECURITY DEFINER (migration 0003): moves the cut-off forward, then deletes the
                # entries before it; the app role itself still has no DELETE on audit.
                cur = await conn.execute("SELECT anpr_purge_audit(%s)", (audit_before,))
                row = await cur.fetchone()
                removed["audit"] = int(row[0]) if row else 0
            return removed
