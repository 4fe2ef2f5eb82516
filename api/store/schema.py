"""The SQLite schema of the API store.

The audit table refuses UPDATE, and DELETE of any entry at or after the retention cut-off kept in
`audit_retention` (triggers): only retention removes entries, only expired ones, and the cut-off
only moves forward (`SqliteStore.purge`).
"""

from __future__ import annotations

import sqlite3

import orjson

from api.store.base import AuditEntry

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS hits (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    hit_id TEXT NOT NULL UNIQUE,
    matched_at INTEGER NOT NULL,
    camera_id TEXT NOT NULL,
    list_id TEXT NOT NULL,
    plate_norm TEXT NOT NULL,
    covert INTEGER NOT NULL,
    topic_ts INTEGER NOT NULL,
    body BLOB NOT NULL,
    ack_outcome TEXT, ack_note TEXT, ack_by TEXT, ack_role TEXT, ack_at INTEGER
);
CREATE INDEX IF NOT EXISTS hits_time ON hits (matched_at, hit_id);
CREATE INDEX IF NOT EXISTS hits_camera ON hits (camera_id, matched_at);
CREATE INDEX IF NOT EXISTS hits_list ON hits (list_id, matched_at);
CREATE INDEX IF NOT EXISTS hits_plate ON hits (plate_norm, matched_at);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL, actor TEXT NOT NULL, role TEXT NOT NULL, action TEXT NOT NULL,
    target TEXT NOT NULL, reason TEXT, detail BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_at ON audit (at);
CREATE INDEX IF NOT EXISTS audit_actor ON audit (actor, at);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TABLE IF NOT EXISTS audit_retention (
    id INTEGER PRIMARY KEY CHECK (id = 1), cutoff INTEGER NOT NULL
);
INSERT OR IGNORE INTO audit_retention (id, cutoff) VALUES (1, 0);
DROP TRIGGER IF EXISTS audit_no_delete;
CREATE TRIGGER IF NOT EXISTS audit_delete_expired_only BEFORE DELETE ON audit
    WHEN OLD.at >= (SELECT cutoff FROM audit_retention WHERE id = 1)
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TABLE IF NOT EXISTS camera_lifecycle (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    camera_id TEXT NOT NULL, kind TEXT NOT NULL, at INTEGER NOT NULL, detail BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS camera_lifecycle_camera ON camera_lifecycle (camera_id, at);
CREATE UNIQUE INDEX IF NOT EXISTS camera_lifecycle_once ON camera_lifecycle (camera_id, kind)
    WHERE kind IN ('registered', 'first_contact', 'first_valid_read', 'first_heartbeat');
CREATE TRIGGER IF NOT EXISTS audit_retention_forward BEFORE UPDATE ON audit_retention
    WHEN NEW.cutoff < OLD.cutoff
    BEGIN SELECT RAISE(ABORT, 'the audit retention cut-off only moves forward'); END;
CREATE TABLE IF NOT EXISTS camera_activity (
    camera_id TEXT PRIMARY KEY, first_seen INTEGER NOT NULL,
    last_read_at INTEGER, last_heartbeat_at INTEGER, updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS deliveries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id TEXT NOT NULL UNIQUE,
    hit_id TEXT NOT NULL, target_id TEXT NOT NULL, list_id TEXT NOT NULL,
    covert INTEGER NOT NULL, outcome TEXT NOT NULL, attempts INTEGER NOT NULL,
    status_code INTEGER, error TEXT,
    first_attempt_at INTEGER NOT NULL, finished_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_target ON deliveries (target_id, seq);
CREATE INDEX IF NOT EXISTS deliveries_hit ON deliveries (hit_id);
CREATE INDEX IF NOT EXISTS deliveries_finished ON deliveries (finished_at);
"""


def insert_audit(db: sqlite3.Connection, entry: AuditEntry) -> int:
    """Append `entry` to the audit table (inside the caller's transaction, if any); its seq."""
    cursor = db.execute(
        "INSERT INTO audit (at, actor, role, action, target, reason, detail)"
        " VALUES (?,?,?,?,?,?,?)",
        (
            entry.at,
            entry.actor,
            entry.role,
            entry.action,
            entry.target,
            entry.reason,
            orjson.dumps(entry.detail),
        ),
    )
    return int(cursor.lastrowid or 0)
