"""`anpr db upgrade|status`: the PostgreSQL schema migrations (`api/store/migrations/`).

Uses `ANPR_DATABASE_MIGRATE_URL` (the schema owner) when set, else `ANPR_DATABASE_URL`. The
services also apply pending migrations at start unless `ANPR_DATABASE_MIGRATE_ON_START=false`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from anpr.errors import ConfigError


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = sub.add_parser("db", help="PostgreSQL schema migrations")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="WHAT")
    db_sub.add_parser("upgrade", help="apply the migrations not applied yet")
    db_sub.add_parser("status", help="list the migrations and whether each is applied")


def db_command(args: argparse.Namespace) -> int:
    import psycopg

    from api.store import migrate
    from api.store.config import DatabaseSettings

    url = DatabaseSettings().migrate_url
    if url is None:
        raise ConfigError(
            "ANPR_DATABASE_URL (or ANPR_DATABASE_MIGRATE_URL) is not set: the SQLite store "
            "needs no migrations"
        )
    try:
        if args.db_command == "upgrade":
            applied = asyncio.run(migrate.upgrade(url))
            print(f"applied {len(applied)} migration(s): {applied or 'none pending'}")
            return 0
        pending = set(asyncio.run(migrate.pending(url)))
    except psycopg.OperationalError as exc:
        # psycopg's message names the host and port, never the password.
        print(f"anpr db: cannot reach the database: {exc}".rstrip(), file=sys.stderr)
        return 1
    for m in migrate.migrations():
        state = "pending" if m.version in pending else "applied"
        print(f"{m.version:04d}_{m.name}\t{state}")
    return 1 if pending else 0
