"""`anpr db status|upgrade` against the real PostgreSQL, as an operator runs them."""

from __future__ import annotations

import os
import subprocess
import sys

from api.store import migrate
from tests.support.postgres import PgDatabase


def anpr_db(action: str, db: PgDatabase | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANPR_")}
    if db is not None:
        env["ANPR_DATABASE_URL"] = db.url
        env["ANPR_DATABASE_MIGRATE_URL"] = db.migrate_url
    return subprocess.run(
        [sys.executable, "-m", "anpr", "db", action],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_status_then_upgrade_then_status(pg_database: PgDatabase) -> None:
    names = [f"{m.version:04d}_{m.name}" for m in migrate.migrations()]
    before = anpr_db("status", pg_database)
    assert before.returncode == 1
    assert before.stdout.splitlines() == [f"{n}\tpending" for n in names]
    upgraded = anpr_db("upgrade", pg_database)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"applied {len(names)} migration(s)" in upgraded.stdout
    after = anpr_db("status", pg_database)
    assert after.returncode == 0
    assert after.stdout.splitlines() == [f"{n}\tapplied" for n in names]
    assert "none pending" in anpr_db("upgrade", pg_database).stdout


def test_without_a_database_url_it_says_so() -> None:
    result = anpr_db("upgrade", None)
    assert result.returncode == 1  # the project's errors exit 1; 2 is for the command line
    assert "ANPR_DATABASE_URL" in result.stderr
