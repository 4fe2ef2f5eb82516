"""Versioned PostgreSQL migrations: numbered SQL files in `api/store/migrations/`, applied in order.

`NNNN_name.sql` files are applied once each, in a transaction with the row that records them in
`schema_migrations`. A session-level advisory lock serialises concurrent upgrades (two replicas
starting at once): the second waits, then finds nothing left to do. Applied migrations are never
edited; a change is a new file. Run by `anpr db upgrade` and by every PostgreSQL store at start.

A hand-rolled runner rather than Alembic: the schema is plain SQL (partitioning, triggers,
SECURITY DEFINER functions, grants) that an ORM migration tool would only wrap, and this keeps
the dependency list to the driver.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources

import psycopg

from anpr.errors import ConfigError

log = logging.getLogger(__name__)

_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
# Any constant will do, as long as only migrations take it.
_LOCK_KEY = 0x616E7072_6D696772  # "anprmigr"


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """The migrations shipped in the package, by version."""
    found: list[Migration] = []
    for entry in resources.files("api.store").joinpath("migrations").iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise ConfigError(f"two migrations share a version: {versions}")
    return found


async def applied_versions(conn: psycopg.AsyncConnection[tuple[object, ...]]) -> set[int]:
    cur = await conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL")
    row = await cur.fetchone()
    if not row or not row[0]:
        return set()
    cur = await conn.execute("SELECT version FROM schema_migrations")
    return {int(str(v)) for (v,) in await cur.fetchall()}


async def upgrade(url: str) -> list[int]:
    """Apply the migrations not applied yet; the versions applied now."""
    done: list[int] = []
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY,"
                " name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            have = await applied_versions(conn)
            for migration in migrations():
                if migration.version in have:
                    continue
                async with conn.transaction():
                    await conn.execute(migration.sql.encode())
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                        (migration.version, migration.name),
                    )
                log.info("database migration %04d_%s applied", migration.version, migration.name)
                done.append(migration.version)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return done


async def pending(url: str) -> list[int]:
    """The versions not applied yet (for `anpr db status` and the start-up check)."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        have = await applied_versions(conn)
    return [m.version for m in migrations() if m.version not in have]
