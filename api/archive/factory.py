"""The read store the settings select: PostgreSQL with `ANPR_DATABASE_URL`, else the SQLite file."""

from __future__ import annotations

from api.archive.base import ReadStore
from api.store.config import DatabaseSettings


def make_read_store(settings: DatabaseSettings, *, pool_max: int = 4) -> ReadStore:
    if settings.database_url is not None:
        from api.archive.pg_reads import PostgresReadStore

        return PostgresReadStore(
            settings.database_url.get_secret_value(),
            migrate_url=settings.migrate_url,
            migrate_on_start=settings.database_migrate_on_start,
            pool_max=pool_max,
            timeout_s=settings.database_timeout_s,
        )
    from api.archive.sqlite_reads import SqliteReadStore

    return SqliteReadStore(settings.db_path)
