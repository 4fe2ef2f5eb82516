"""Alerts and console sessions on SQLite: the second group of `Store` methods for `SqliteStore`.

`add_sightings` reads each key's alerts near the batch (`api.alerts.grouping.spans`), lets
`api.alerts.grouping.place` decide, and writes the alerts and sightings in one transaction: every
statement runs on the one connection, with no await in between, so grouping is atomic. A hit
already placed (replayed), or a second copy of one in the same batch, is skipped.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson

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
from api.store.schema import insert_audit
from api.store.sqlite_thread import SqliteOnThread, purge_in_batches, write_transaction

ALERTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    alert_id TEXT PRIMARY KEY,
    plate_norm TEXT NOT NULL, list_id TEXT NOT NULL, entry_id TEXT NOT NULL,
    covert INTEGER NOT NULL, test INTEGER NOT NULL, priority INTEGER NOT NULL,
    opened_at INTEGER NOT NULL, last_seen INTEGER NOT NULL, sightings INTEGER NOT NULL,
    first_hit_id TEXT NOT NULL, last_hit_id TEXT NOT NULL, last_camera_id TEXT NOT NULL,
    summary BLOB NOT NULL,
    ack_outcome TEXT, ack_note TEXT, ack_by TEXT, ack_role TEXT, ack_at INTEGER
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS alerts_key
    ON alerts (plate_norm, list_id, entry_id, covert, test, last_seen);
CREATE INDEX IF NOT EXISTS alerts_seen ON alerts (last_seen, alert_id);
CREATE INDEX IF NOT EXISTS alerts_opened ON alerts (opened_at);
CREATE TABLE IF NOT EXISTS alert_sightings (
    hit_id TEXT PRIMARY KEY, alert_id TEXT NOT NULL, camera_id TEXT NOT NULL,
    captured_at INTEGER, matched_at INTEGER NOT NULL, opened INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS alert_sightings_alert ON alert_sightings (alert_id, matched_at);
CREATE TABLE IF NOT EXISTS console_sessions (
    session_hash TEXT PRIMARY KEY, token_hash TEXT NOT NULL, name TEXT NOT NULL,
    role TEXT NOT NULL, csrf_token TEXT NOT NULL, created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
"""

_RESTART_ALERT = restart_alert_sql("?")
_CLOSE_ALERT = close_when_acknowledged_sql("?")
_ALERT_COLUMNS = (
    "alert_id, plate_norm, list_id, entry_id, covert, test, priority, opened_at, last_seen, "
    "sightings, first_hit_id, last_hit_id, summary, ack_outcome, ack_note, ack_by, ack_role, ack_at"
)


_ALERT_BY_ID = f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE alert_id = ?"  # noqa: S608 - constant


def _alert(row: tuple[Any, ...]) -> StoredAlert:
    (alert_id, plate, list_id, entry_id, covert, test, priority, opened, last, count, first,
     last_hit, summary, outcome, note, by, role, at) = row  # fmt: skip
    ack = None if at is None else Acknowledgement(Outcome(outcome), note, by, role, at)
    key = AlertKey(plate, list_id, entry_id, bool(covert), bool(test))
    return StoredAlert(
        alert_id, key, priority, opened, last, count, first, last_hit, orjson.loads(summary), ack
    )


def _sighting(row: tuple[Any, ...]) -> Sighting:
    hit_id, alert_id, camera_id, captured_at, matched_at, opened = row
    return Sighting(hit_id, alert_id, camera_id, captured_at, matched_at, bool(opened))


def _get_alert(db: sqlite3.Connection, alert_id: str) -> StoredAlert | None:
    row = db.execute(_ALERT_BY_ID, (alert_id,)).fetchone()
    return _alert(row) if row else None


def _alerts_near(db: sqlite3.Connection, key: AlertKey, low: int, high: int) -> list[AlertState]:
    """The key's alerts that may cover a hit of the batch (`api.alerts.grouping.spans`)."""
    rows = db.execute(
        "SELECT alert_id, opened_at, last_seen, ack_at FROM alerts WHERE plate_norm=? AND"
        " list_id=? AND entry_id=? AND covert=? AND test=? AND last_seen >= ? AND opened_at <= ?",
        (key.plate_norm, key.list_id, key.entry_id, int(key.covert), int(key.test), low, high),
    ).fetchall()
    return [AlertState(r[0], r[1], r[2], acknowledged=r[3] is not None) for r in rows]


def place_sightings(
    db: sqlite3.Connection, sightings: Sequence[NewSighting], window_ms_of: Callable[[str], int]
) -> list[AlertNote]:
    """`add_sightings` inside the caller's write transaction: the notes of the hits placed now."""
    notes: list[AlertNote] = []
    fresh = _not_placed(db, sightings)
    hits = [s.hit for s in fresh.values()]
    near = {key: _alerts_near(db, key, *span) for key, span in spans(hits, window_ms_of).items()}
    for placed in place(hits, near.__getitem__, window_ms_of):
        new = fresh[placed.hit.hit_id]
        alert = _write_placement(db, placed, new)
        hit = placed.hit
        opened = placed.decision is Decision.OPENED
        db.execute(
            "INSERT INTO alert_sightings (hit_id, alert_id, camera_id, captured_at,"
            " matched_at, opened) VALUES (?,?,?,?,?,?) ON CONFLICT (hit_id) DO NOTHING",
            (hit.hit_id, placed.alert_id, new.camera_id, new.captured_at,
             hit.matched_at, int(opened)),
        )  # fmt: skip
        sighting = Sighting(
            hit.hit_id, placed.alert_id, new.camera_id, new.captured_at, hit.matched_at, opened
        )
        notes.append(AlertNote(placed.decision, alert, sighting))
    closed: dict[str, StoredAlert] = {}
    for hit_id, values in _acknowledged(db, [n.sighting.hit_id for n in notes]):
        row = db.execute(_CLOSE_ALERT, (*values, hit_id)).fetchone()
        if row is not None:
            now = _get_alert(db, row[0])
            assert now is not None  # noqa: S101 - closed just above, same transaction
            closed[now.alert_id] = now
    return with_closed(notes, closed)


def _acknowledged(db: sqlite3.Connection, hit_ids: Sequence[str]) -> list[tuple[str, Any]]:
    """Of `hit_ids`, those acknowledged already, in order, with their acknowledgement."""
    found: dict[str, Any] = {}
    for start in range(0, len(hit_ids), 500):
        chunk = hit_ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        sql = (
            "SELECT hit_id, ack_outcome, ack_note, ack_by, ack_role, ack_at FROM hits"  # noqa: S608 - placeholders only
            f" WHERE ack_at IS NOT NULL AND hit_id IN ({marks})"
        )
        for row in db.execute(sql, chunk):
            found[row[0]] = row[1:]
    return [(h, found[h]) for h in hit_ids if h in found]


def _not_placed(db: sqlite3.Connection, sightings: Sequence[NewSighting]) -> dict[str, NewSighting]:
    """The sightings of hits not placed before, each hit once, in order, by hit_id.

    A hit consumed again (a replay, or the same hit twice in one batch) is placed once: placing
    it again would count its sighting twice.
    """
    fresh: dict[str, NewSighting] = {}
    for sighting in sightings:
        fresh.setdefault(sighting.hit.hit_id, sighting)
    ids = list(fresh)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        sql = f"SELECT hit_id FROM alert_sightings WHERE hit_id IN ({marks})"  # noqa: S608 - placeholders only
        for (hit_id,) in db.execute(sql, chunk):
            del fresh[hit_id]
    return fresh


def _write_placement(db: sqlite3.Connection, placed: Placement, new: NewSighting) -> StoredAlert:
    """Open or join the hit's alert; the alert as it stands right after."""
    hit, key = placed.hit, placed.hit.key
    summary = orjson.dumps(new.summary)
    if placed.decision is Decision.OPENED:
        db.execute(
            "INSERT INTO alerts (alert_id, plate_norm, list_id, entry_id, covert, test, priority,"
            " opened_at, last_seen, sightings, first_hit_id, last_hit_id, last_camera_id, summary)"
            " VALUES (?,?,?,?,?,?,?,?,?,1,?,?,?,?) ON CONFLICT (alert_id) DO NOTHING",
            (placed.alert_id, key.plate_norm, key.list_id, key.entry_id,
             int(key.covert), int(key.test), new.priority, hit.matched_at,
             hit.matched_at, hit.hit_id, hit.hit_id, new.camera_id, summary),
        )  # fmt: skip
    elif hit.historical:
        # A past read joins as a sighting; the alert's latest read and window stay live.
        db.execute(
            "UPDATE alerts SET sightings = sightings + 1, priority = min(priority, ?)"
            " WHERE alert_id = ?",
            (new.priority, placed.alert_id),
        )
    else:
        # The summary follows the most recent sighting; a late one only counts.
        db.execute(
            "UPDATE alerts SET sightings = sightings + 1,"
            " priority = min(priority, ?), opened_at = min(opened_at, ?),"
            " last_hit_id = CASE WHEN ? >= last_seen THEN ? ELSE last_hit_id END,"
            " last_camera_id = CASE WHEN ? >= last_seen THEN ? ELSE last_camera_id END,"
            " summary = CASE WHEN ? >= last_seen THEN ? ELSE summary END,"
            " last_seen = max(last_seen, ?) WHERE alert_id = ?",
            (new.priority, hit.matched_at, hit.matched_at, hit.hit_id,
             hit.matched_at, new.camera_id, hit.matched_at, summary,
             hit.matched_at, placed.alert_id),
        )  # fmt: skip
    alert = _get_alert(db, placed.alert_id)
    assert alert is not None  # noqa: S101 - written just above, same transaction
    return alert


class SqliteAlertsMixin(SqliteOnThread):
    """Mixed into `SqliteStore`; every method runs its statements on the store's thread."""

    async def add_sightings(
        self, sightings: Sequence[NewSighting], window_ms_of: Callable[[str], int]
    ) -> list[AlertNote]:
        def run(db: sqlite3.Connection) -> list[AlertNote]:
            with write_transaction(db):
                notes = place_sightings(db, sightings, window_ms_of)
            return notes

        return await self.sql(run)

    async def get_alert(self, alert_id: str) -> StoredAlert | None:
        return await self.sql(lambda db: _get_alert(db, alert_id))

    async def query_alerts(
        self, flt: AlertFilter, *, after: AlertPageKey | None, limit: int
    ) -> list[StoredAlert]:
        def run(db: sqlite3.Connection) -> list[StoredAlert]:
            clauses: list[str] = []
            params: list[Any] = []
            for clause, value in (
                ("last_seen >= ?", flt.since),
                ("opened_at < ?", flt.until),
                ("list_id = ?", flt.list_id),
                ("priority <= ?", flt.min_priority),
            ):
                if value is not None:
                    clauses.append(clause)
                    params.append(value)
            if flt.camera_id is not None:
                clauses.append(
                    "alert_id IN (SELECT alert_id FROM alert_sightings WHERE camera_id = ?)"
                )
                params.append(flt.camera_id)
            if flt.status is HitStatus.NEW:
                clauses.append("ack_at IS NULL")
            elif flt.status is HitStatus.ACKNOWLEDGED:
                clauses.append("ack_at IS NOT NULL")
            if not flt.include_covert:
                clauses.append("covert = 0")
            if flt.test is not None:
                clauses.append("test = ?")
                params.append(int(flt.test))
            if after is not None:
                clauses.append("(last_seen < ? OR (last_seen = ? AND alert_id < ?))")
                params += [after.last_seen, after.last_seen, after.alert_id]
            where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
            rows = db.execute(
                f"SELECT {_ALERT_COLUMNS} FROM alerts {where} "  # noqa: S608 - constant clauses
                "ORDER BY last_seen DESC, alert_id DESC LIMIT ?",
                (*params, limit),
            ).fetchall()
            return [_alert(row) for row in rows]

        return await self.sql(run)

    async def alert_sightings(self, alert_id: str) -> list[Sighting]:
        def run(db: sqlite3.Connection) -> list[Sighting]:
            rows = db.execute(
                "SELECT hit_id, alert_id, camera_id, captured_at, matched_at, opened"
                " FROM alert_sightings WHERE alert_id = ? ORDER BY matched_at, hit_id",
                (alert_id,),
            ).fetchall()
            return [_sighting(row) for row in rows]

        return await self.sql(run)

    async def alert_notes(self, hit_ids: Sequence[str]) -> Mapping[str, AlertNote]:
        def run(db: sqlite3.Connection) -> Mapping[str, AlertNote]:
            notes: dict[str, AlertNote] = {}
            columns = ", ".join(f"a.{c.strip()}" for c in _ALERT_COLUMNS.split(","))
            for start in range(0, len(hit_ids), 500):
                chunk = list(hit_ids[start : start + 500])
                marks = ",".join("?" * len(chunk))
                sql = (
                    "SELECT s.hit_id, s.alert_id, s.camera_id, s.captured_at, s.matched_at,"  # noqa: S608 - constant columns, placeholders only
                    f" s.opened, {columns} FROM alert_sightings s"
                    " JOIN alerts a ON a.alert_id = s.alert_id"
                    f" WHERE s.hit_id IN ({marks})"
                )
                rows = db.execute(sql, chunk).fetchall()
                for row in rows:
                    sighting = _sighting(row[:6])
                    decision = Decision.OPENED if sighting.opened else Decision.JOINED
                    notes[sighting.hit_id] = AlertNote(decision, _alert(row[6:]), sighting)
            return notes

        return await self.sql(run)

    async def acknowledge_alert(
        self,
        alert_id: str,
        ack: Acknowledgement,
        *,
        audit: Callable[[AlertAcknowledged], AuditEntry] | None = None,
    ) -> AlertAcknowledged | None:
        def run(db: sqlite3.Connection) -> tuple[int, AlertAcknowledged | None]:
            hit_ids: list[str] = []
            with write_transaction(db):
                updated = db.execute(
                    "UPDATE alerts SET ack_outcome=?, ack_note=?, ack_by=?, ack_role=?, ack_at=? "
                    "WHERE alert_id=? AND ack_at IS NULL",
                    (ack.outcome.value, ack.note, ack.by, ack.role, ack.at, alert_id),
                ).rowcount
                if updated:
                    hit_ids = [
                        row[0]
                        for row in db.execute(
                            "UPDATE hits SET ack_outcome=?, ack_note=?, ack_by=?, ack_role=?,"
                            " ack_at=? WHERE ack_at IS NULL AND hit_id IN"
                            " (SELECT hit_id FROM alert_sightings WHERE alert_id = ?)"
                            " RETURNING hit_id",
                            (ack.outcome.value, ack.note, ack.by, ack.role, ack.at, alert_id),
                        ).fetchall()
                    ]
                alert = _get_alert(db, alert_id)
                done = None if alert is None else AlertAcknowledged(alert, tuple(sorted(hit_ids)))
                if updated and done is not None and audit is not None:
                    insert_audit(db, audit(done))
            return updated, done

        updated, done = await self.sql(run)
        if done is None:
            return None
        if not updated and done.alert.ack is not None:
            raise AckConflict(done.alert.ack)
        return done

    async def purge_alerts(self, *, before: int) -> int:
        """Alerts whose last sighting is older than `before` (hit retention), with their trail;
        `purge_batch` alerts per transaction, so the store answers between two. The number of
        overt alerts removed (covert ones are not counted: `Store.purge`)."""
        batch = self.purge_batch

        def one_batch(db: sqlite3.Connection) -> tuple[int, int]:
            with write_transaction(db):
                rows = db.execute(
                    "SELECT alert_id, covert FROM alerts WHERE last_seen < ? LIMIT ?",
                    (before, batch),
                ).fetchall()
                ids = [(row[0],) for row in rows]
                db.executemany("DELETE FROM alert_sightings WHERE alert_id = ?", ids)
                db.executemany("DELETE FROM alerts WHERE alert_id = ?", ids)
            return len(rows), sum(not row[1] for row in rows)

        def trim_batch(db: sqlite3.Connection) -> int:
            with write_transaction(db):
                ids = [
                    (row[0],)
                    for row in db.execute(
                        "SELECT alert_id FROM alerts WHERE opened_at < ? LIMIT ?", (before, batch)
                    )
                ]
                db.executemany(
                    "DELETE FROM alert_sightings WHERE alert_id = ? AND matched_at < ?",
                    [(a, before) for (a,) in ids],
                )
                db.executemany(
                    "DELETE FROM alerts WHERE alert_id = ? AND NOT EXISTS"
                    " (SELECT 1 FROM alert_sightings s WHERE s.alert_id = alerts.alert_id)",
                    ids,
                )
                db.executemany(_RESTART_ALERT, ids)
            return len(ids)

        removed = 0
        while True:
            deleted, overt = await self.sql(one_batch)
            removed += overt
            if deleted < batch:
                break
        # Alerts seen lately but opened before `before` (a vehicle seen every day, its window
        # sliding on): their older sightings go too, as their hits did (personal data kept no
        # longer than hits are), and the alert starts at its oldest sighting kept.
        while await self.sql(trim_batch) == batch:
            pass
        return removed

    # -- console sessions ---------------------------------------------------------------------

    async def create_session(self, session: ConsoleSession) -> None:
        def run(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO console_sessions (session_hash, token_hash, name, role, csrf_token,"
                " created_at, expires_at) VALUES (?,?,?,?,?,?,?)",
                (session.session_hash, session.token_hash, session.name, session.role,
                 session.csrf_token, session.created_at, session.expires_at),
            )  # fmt: skip

        return await self.sql(run)

    async def get_session(self, session_hash: str, *, now: int) -> ConsoleSession | None:
        def run(db: sqlite3.Connection) -> ConsoleSession | None:
            row = db.execute(
                "SELECT session_hash, token_hash, name, role, csrf_token, created_at, expires_at"
                " FROM console_sessions WHERE session_hash = ? AND expires_at > ?",
                (session_hash, now),
            ).fetchone()
            return ConsoleSession(*row) if row else None

        return await self.sql(run)

    async def delete_session(self, session_hash: str) -> None:
        def run(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM console_sessions WHERE session_hash = ?", (session_hash,))

        return await self.sql(run)

    async def purge_sessions(self, *, now: int) -> int:
        return await purge_in_batches(
            self,
            table="console_sessions",
            key="session_hash",
            where="expires_at <= ?",
            params=(now,),
        )
