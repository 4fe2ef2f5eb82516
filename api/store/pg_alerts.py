"""Alerts and console sessions on PostgreSQL: the `Store` methods of `api.store.alerts`.

The PostgreSQL twin of `api.store.sqlite_alerts`, with the same behaviour (the contract suite runs
on both). What differs is how `add_sightings` stays atomic per alert key when several API
replicas share the database: one transaction first takes a transaction-level advisory lock on
each key of the batch (in a fixed order, so two batches never deadlock), and only then reads which
hits are placed already and each key's alerts near the batch. A second replica placing a hit of
the same vehicle waits for the first to commit and then sees its alert, so one pass of a vehicle
is never two alerts. `acknowledge_alert` takes the same lock, so a hit never joins an alert just
acknowledged without being acknowledged with it, and so does a hit's acknowledgement, so the
last open hit of an alert closes it (`lock_alert_of_hit`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from api.alerts.grouping import AlertKey, AlertState, Decision, Placement, place, spans
from api.store.alerts import (
    AlertAcknowledged,
    AlertFilter,
    AlertNote,
    AlertPageKey,
    ConsoleSession,
    NewSighting,
    Sighting,
    StoredAlert,
    close_when_acknowledged_sql,
    restart_alert_sql,
    with_closed,
)
from api.store.base import AckConflict, Acknowledgement, AuditEntry, HitStatus, Outcome
from api.store.pg_common import Row, connection, insert_audit

_ALERT_COLUMNS = (
    "alert_id, plate_norm, list_id, entry_id, covert, test, priority, opened_at, last_seen, "
    "sightings, first_hit_id, last_hit_id, summary, ack_outcome, ack_note, ack_by, ack_role, ack_at"
)
_SIGHTING_COLUMNS = "hit_id, alert_id, camera_id, captured_at, matched_at, opened"


def key_lock(key: AlertKey) -> int:
    """The advisory lock id of an alert key: 64 bits of its hash, as a signed bigint."""
    material = "\x1f".join(
        (
            "alert",
            key.plate_norm,
            key.list_id,
            key.entry_id,
            str(int(key.covert)),
            str(int(key.test)),
        )
    )
    return int.from_bytes(hashlib.sha256(material.encode()).digest()[:8], "big", signed=True)


_CLOSE_ALERT = close_when_acknowledged_sql("%s")
_RESTART_ALERT = restart_alert_sql("%s")


async def lock_alert_of_hit(conn: Any, hit_id: str) -> None:
    """Take the key lock of the hit's alert, before any row lock, in the order placing and
    alert acknowledgements take it: a hit being placed meanwhile is in the alert before the
    hit's acknowledgement looks at it, or sees the acknowledgement after. The key comes from
    the hit itself as the placer derives it (`api.alerts.placer.new_sighting`), so the lock is
    taken even while the hit is in no alert yet: PostgreSQL stores a batch and places it in
    two transactions, and an acknowledgement between them, unlocked, committed while the
    placing was under way, which then put the acknowledged hit in an alert left `new`."""
    cur = await conn.execute(
        "SELECT plate_norm, list_id, coalesce(body->>'entry_id', ''), covert,"
        " coalesce((body->>'test')::boolean, false) FROM hits WHERE hit_id = %s",
        (hit_id,),
    )
    row = await cur.fetchone()
    if row is not None:
        lock = key_lock(AlertKey(row[0], row[1], row[2], bool(row[3]), bool(row[4])))
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock,))


async def close_when_acknowledged(conn: Any, hit_id: str, values: Sequence[Any]) -> str | None:
    """Acknowledge the hit's alert with `values` when none of its hits is left; its id."""
    cur = await conn.execute(_CLOSE_ALERT, (*values, hit_id))
    row = await cur.fetchone()
    return None if row is None else str(row[0])


async def _close_acknowledged(conn: Any, hit_ids: Sequence[str]) -> dict[str, StoredAlert]:
    """Close the alerts of the hits just placed that were acknowledged already, when none of
    their hits is left unacknowledged (`api.store.alerts.with_closed`); by id, as they stand."""
    if not hit_ids:
        return {}
    cur = await conn.execute(
        "SELECT hit_id, ack_outcome, ack_note, ack_by, ack_role, ack_at FROM hits"
        " WHERE ack_at IS NOT NULL AND hit_id = ANY(%s)",
        (list(hit_ids),),
    )
    found = {row[0]: tuple(row[1:]) for row in await cur.fetchall()}
    closed: dict[str, StoredAlert] = {}
    for hit_id in hit_ids:
        if hit_id in found:
            cur = await conn.execute(_CLOSE_ALERT, (*found[hit_id], hit_id))
            row = await cur.fetchone()
            if row is not None:
                cur = await conn.execute(
                    f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE alert_id = %s",  # noqa: S608
                    (row[0],),
                )
                alert = await cur.fetchone()
                if alert is not None:
                    closed[row[0]] = _alert(tuple(alert))
    return closed


def _alert(row: Row) -> StoredAlert:
    (alert_id, plate, list_id, entry_id, covert, test, priority, opened, last, count, first,
     last_hit, summary, outcome, note, by, role, at) = row  # fmt: skip
    ack = None if at is None else Acknowledgement(Outcome(outcome), note, by, role, at)
    key = AlertKey(plate, list_id, entry_id, bool(covert), bool(test))
    return StoredAlert(alert_id, key, priority, opened, last, count, first, last_hit, summary, ack)


def _sighting(row: Row) -> Sighting:
    hit_id, alert_id, camera_id, captured_at, matched_at, opened = row
    return Sighting(hit_id, alert_id, camera_id, captured_at, matched_at, bool(opened))


class PgAlertsMixin:
    """Mixed into `PostgresStore`, which provides `pool`."""

    @property
    def pool(self) -> AsyncConnectionPool[Any]:
        raise NotImplementedError

    async def add_sightings(
        self, sightings: Sequence[NewSighting], window_ms_of: Callable[[str], int]
    ) -> list[AlertNote]:
        if not sightings:
            return []
        notes: list[AlertNote] = []
        async with connection(self.pool) as conn, conn.transaction():
            for lock in sorted({key_lock(s.hit.key) for s in sightings}):
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock,))
            # A hit consumed again (a replay, or twice in one batch) is placed once.
            by_hit: dict[str, NewSighting] = {}
            for new in sightings:
                by_hit.setdefault(new.hit.hit_id, new)
            cur = await conn.execute(
                "SELECT hit_id FROM alert_sightings WHERE hit_id = ANY(%s)", (list(by_hit),)
            )
            for (hit_id,) in await cur.fetchall():
                del by_hit[hit_id]
            fresh = list(by_hit.values())
            # `place` asks for each key's alerts near the batch once, before it: read them first.
            # Statements are pipelined (psycopg's pipeline mode): sent in order without waiting
            # for each answer, so a batch costs a round trip or two, not three or four per hit.
            hits = [s.hit for s in fresh]
            bounds = spans(hits, window_ms_of)
            async with conn.pipeline():
                reads = [
                    await conn.execute(
                        "SELECT alert_id, opened_at, last_seen, ack_at FROM alerts WHERE"
                        " plate_norm=%s AND list_id=%s AND entry_id=%s AND covert=%s AND test=%s"
                        " AND last_seen >= %s AND opened_at <= %s",
                        (key.plate_norm, key.list_id, key.entry_id, key.covert, key.test, *span),
                    )
                    for key, span in bounds.items()
                ]
            near: dict[AlertKey, list[AlertState]] = {}
            for key, cur in zip(bounds, reads, strict=True):
                near[key] = [
                    AlertState(r[0], r[1], r[2], acknowledged=r[3] is not None)
                    for r in await cur.fetchall()
                ]
            placements = list(place(hits, near.__getitem__, window_ms_of))
            async with conn.pipeline():
                after = [await self._write_placement(conn, p, by_hit) for p in placements]
            for placed, cur in zip(placements, after, strict=True):
                new = by_hit[placed.hit.hit_id]
                hit = placed.hit
                row = await cur.fetchone()
                assert row is not None  # noqa: S101 - written just before, same transaction
                sighting = Sighting(
                    hit.hit_id, placed.alert_id, new.camera_id, new.captured_at,
                    hit.matched_at, placed.decision is Decision.OPENED,
                )  # fmt: skip
                notes.append(AlertNote(placed.decision, _alert(tuple(row)), sighting))
            closed = await _close_acknowledged(conn, [n.sighting.hit_id for n in notes])
        return with_closed(notes, closed)

    @staticmethod
    async def _write_placement(
        conn: Any, placed: Placement, by_hit: Mapping[str, NewSighting]
    ) -> Any:
        """Queue one hit's placement: its alert opened or joined, its sighting, then a read of
        the alert as it stands right after it (the cursor, read once the pipeline syncs)."""
        new = by_hit[placed.hit.hit_id]
        hit, key = placed.hit, placed.hit.key
        summary = Jsonb(new.summary)
        if placed.decision is Decision.OPENED:
            await conn.execute(
                "INSERT INTO alerts (alert_id, plate_norm, list_id, entry_id, covert, test,"
                " priority, opened_at, last_seen, sightings, first_hit_id, last_hit_id,"
                " last_camera_id, summary)"
                " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,1,%s,%s,%s,%s)"
                " ON CONFLICT (alert_id) DO NOTHING",
                (placed.alert_id, key.plate_norm, key.list_id, key.entry_id,
                 key.covert, key.test, new.priority, hit.matched_at,
                 hit.matched_at, hit.hit_id, hit.hit_id, new.camera_id, summary),
            )  # fmt: skip
        elif hit.historical:
            # A past read joins as a sighting; the alert's latest read and window stay live.
            await conn.execute(
                "UPDATE alerts SET sightings = sightings + 1,"
                " priority = LEAST(priority, %s) WHERE alert_id = %s",
                (new.priority, placed.alert_id),
            )
        else:
            # The summary follows the most recent sighting; a late one only counts.
            await conn.execute(
                "UPDATE alerts SET sightings = sightings + 1,"
                " priority = LEAST(priority, %(priority)s),"
                " opened_at = LEAST(opened_at, %(at)s),"
                " last_hit_id = CASE WHEN %(at)s >= last_seen THEN %(hit)s"
                " ELSE last_hit_id END,"
                " last_camera_id = CASE WHEN %(at)s >= last_seen THEN %(camera)s"
                " ELSE last_camera_id END,"
                " summary = CASE WHEN %(at)s >= last_seen THEN %(summary)s"
                " ELSE summary END,"
                " last_seen = GREATEST(last_seen, %(at)s) WHERE alert_id = %(alert)s",
                {
                    "priority": new.priority,
                    "at": hit.matched_at,
                    "hit": hit.hit_id,
                    "camera": new.camera_id,
                    "summary": summary,
                    "alert": placed.alert_id,
                },
            )
        await conn.execute(
            "INSERT INTO alert_sightings (hit_id, alert_id, camera_id, captured_at,"
            " matched_at, opened) VALUES (%s,%s,%s,%s,%s,%s)"
            " ON CONFLICT (hit_id) DO NOTHING",
            (hit.hit_id, placed.alert_id, new.camera_id, new.captured_at,
             hit.matched_at, placed.decision is Decision.OPENED),
        )  # fmt: skip
        return await conn.execute(
            f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE alert_id = %s",  # noqa: S608
            (placed.alert_id,),
        )

    async def _alert_rows(
        self, query: Any, params: Sequence[Any] | Mapping[str, Any] = ()
    ) -> list[Row]:
        async with connection(self.pool) as conn:
            cur = await conn.execute(query, params)
            return [tuple(r) for r in await cur.fetchall()]

    async def get_alert(self, alert_id: str) -> StoredAlert | None:
        rows = await self._alert_rows(
            f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE alert_id = %s",  # noqa: S608 - constant
            (alert_id,),
        )
        return _alert(rows[0]) if rows else None

    async def query_alerts(
        self, flt: AlertFilter, *, after: AlertPageKey | None, limit: int
    ) -> list[StoredAlert]:
        clauses: list[str] = []
        params: list[Any] = []
        for clause, value in (
            ("last_seen >= %s", flt.since),
            ("opened_at < %s", flt.until),
            ("list_id = %s", flt.list_id),
            ("priority <= %s", flt.min_priority),
        ):
            if value is not None:
                clauses.append(clause)
                params.append(value)
        if flt.camera_id is not None:
            clauses.append(
                "alert_id IN (SELECT alert_id FROM alert_sightings WHERE camera_id = %s)"
            )
            params.append(flt.camera_id)
        if flt.status is HitStatus.NEW:
            clauses.append("ack_at IS NULL")
        elif flt.status is HitStatus.ACKNOWLEDGED:
            clauses.append("ack_at IS NOT NULL")
        if not flt.include_covert:
            clauses.append("NOT covert")
        if flt.test is not None:
            clauses.append("test = %s")
            params.append(flt.test)
        if after is not None:
            clauses.append("(last_seen, alert_id) < (%s, %s)")
            params += [after.last_seen, after.alert_id]
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = await self._alert_rows(
            f"SELECT {_ALERT_COLUMNS} FROM alerts {where} "  # noqa: S608 - constant clauses
            "ORDER BY last_seen DESC, alert_id DESC LIMIT %s",
            (*params, limit),
        )
        return [_alert(row) for row in rows]

    async def alert_sightings(self, alert_id: str) -> list[Sighting]:
        rows = await self._alert_rows(
            f"SELECT {_SIGHTING_COLUMNS} FROM alert_sightings"  # noqa: S608 - constant columns
            " WHERE alert_id = %s ORDER BY matched_at, hit_id",
            (alert_id,),
        )
        return [_sighting(row) for row in rows]

    async def alert_notes(self, hit_ids: Sequence[str]) -> Mapping[str, AlertNote]:
        if not hit_ids:
            return {}
        columns = ", ".join(f"a.{c.strip()}" for c in _ALERT_COLUMNS.split(","))
        rows = await self._alert_rows(
            "SELECT s.hit_id, s.alert_id, s.camera_id, s.captured_at, s.matched_at, s.opened,"  # noqa: S608 - constant columns
            f" {columns} FROM alert_sightings s JOIN alerts a ON a.alert_id = s.alert_id"
            " WHERE s.hit_id = ANY(%s)",
            (list(hit_ids),),
        )
        notes: dict[str, AlertNote] = {}
        for row in rows:
            sighting = _sighting(row[:6])
            decision = Decision.OPENED if sighting.opened else Decision.JOINED
            notes[sighting.hit_id] = AlertNote(decision, _alert(row[6:]), sighting)
        return notes

    async def acknowledge_alert(
        self,
        alert_id: str,
        ack: Acknowledgement,
        *,
        audit: Callable[[AlertAcknowledged], AuditEntry] | None = None,
    ) -> AlertAcknowledged | None:
        values = (ack.outcome.value, ack.note, ack.by, ack.role, ack.at)
        done = None
        async with connection(self.pool) as conn, conn.transaction():
            # The key's lock first, as `add_sightings` takes it: a hit being placed in this alert
            # meanwhile is either in it before the acknowledgement (and acknowledged with it) or
            # sees the alert closed and opens a new one, never joins it unacknowledged after.
            cur = await conn.execute(
                "SELECT plate_norm, list_id, entry_id, covert, test FROM alerts"
                " WHERE alert_id = %s",
                (alert_id,),
            )
            row = await cur.fetchone()
            if row is not None:
                lock = key_lock(AlertKey(row[0], row[1], row[2], bool(row[3]), bool(row[4])))
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock,))
            # One conditional UPDATE: of two replicas acknowledging at once, one wins.
            cur = await conn.execute(
                "UPDATE alerts SET ack_outcome=%s, ack_note=%s, ack_by=%s, ack_role=%s,"  # noqa: S608 - constant columns
                f" ack_at=%s WHERE alert_id=%s AND ack_at IS NULL RETURNING {_ALERT_COLUMNS}",
                (*values, alert_id),
            )
            updated = await cur.fetchone()
            if updated is not None:
                cur = await conn.execute(
                    "UPDATE hits SET ack_outcome=%s, ack_note=%s, ack_by=%s, ack_role=%s,"
                    " ack_at=%s WHERE ack_at IS NULL AND hit_id IN"
                    " (SELECT hit_id FROM alert_sightings WHERE alert_id = %s) RETURNING hit_id",
                    (*values, alert_id),
                )
                hit_ids = sorted(row[0] for row in await cur.fetchall())
                done = AlertAcknowledged(_alert(updated), tuple(hit_ids))
                if audit is not None:
                    await insert_audit(conn, audit(done))
        if done is not None:
            return done
        alert = await self.get_alert(alert_id)
        if alert is None:
            return None
        if alert.ack is not None:
            raise AckConflict(alert.ack)
        return AlertAcknowledged(alert, ())  # pragma: no cover - the UPDATE matched it otherwise

    async def purge_alerts(self, *, before: int) -> int:
        """Alerts whose last sighting is older than `before` (hit retention), with their trail."""
        async with connection(self.pool) as conn, conn.transaction():
            await conn.execute(
                "DELETE FROM alert_sightings WHERE alert_id IN"
                " (SELECT alert_id FROM alerts WHERE last_seen < %s)",
                (before,),
            )
            cur = await conn.execute(
                "DELETE FROM alerts WHERE last_seen < %s RETURNING covert", (before,)
            )
            # Covert alerts are removed, not counted (`Store.purge`).
            removed = sum(not covert for (covert,) in await cur.fetchall())
            # Alerts seen lately but opened before `before`: their older sightings go too, as
            # their hits did, and each starts at its oldest sighting kept (as on SQLite).
            cur = await conn.execute("SELECT alert_id FROM alerts WHERE opened_at < %s", (before,))
            ids = [row[0] for row in await cur.fetchall()]
            if ids:
                await conn.execute(
                    "DELETE FROM alert_sightings WHERE alert_id = ANY(%s) AND matched_at < %s",
                    (ids, before),
                )
                await conn.execute(
                    "DELETE FROM alerts WHERE alert_id = ANY(%s) AND NOT EXISTS"
                    " (SELECT 1 FROM alert_sightings s WHERE s.alert_id = alerts.alert_id)",
                    (ids,),
                )
                async with conn.cursor() as cur:
                    await cur.executemany(_RESTART_ALERT, [(a,) for a in ids])
            return removed

    # -- console sessions ---------------------------------------------------------------------

    async def create_session(self, session: ConsoleSession) -> None:
        await self._alert_rows(
            "INSERT INTO console_sessions (session_hash, token_hash, name, role, csrf_token,"
            " created_at, expires_at) VALUES (%s,%s,%s,%s,%s,%s,%s) RETURNING session_hash",
            (session.session_hash, session.token_hash, session.name, session.role,
             session.csrf_token, session.created_at, session.expires_at),
        )  # fmt: skip

    async def get_session(self, session_hash: str, *, now: int) -> ConsoleSession | None:
        rows = await self._alert_rows(
            "SELECT session_hash, token_hash, name, role, csrf_token, created_at, expires_at"
            " FROM console_sessions WHERE session_hash = %s AND expires_at > %s",
            (session_hash, now),
        )
        return ConsoleSession(*rows[0]) if rows else None

    async def delete_session(self, session_hash: str) -> None:
        await self._alert_rows(
            "DELETE FROM console_sessions WHERE session_hash = %s RETURNING session_hash",
            (session_hash,),
        )

    async def purge_sessions(self, *, now: int) -> int:
        rows = await self._alert_rows(
            "DELETE FROM console_sessions WHERE expires_at <= %s RETURNING session_hash", (now,)
        )
        return len(rows)
