"""The real local PostgreSQL, started once per test session by the project's own script.

Registered as fixtures by tests/conftest.py. The port comes from `ANPR_TEST_PG_PORT` (default
15432); the cluster lives in a fresh directory under /tmp (reachable by the unprivileged user the
server runs as when the tests run as root) and is removed at the end.

If the server cannot be installed or started, every test that needs it ERRORS with the script's
message: the PostgreSQL tests are never skipped. Each test gets its own throw-away database,
owned by `anpr_owner`, so tests never see each other's rows.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "postgres" / "pg.sh"


class PgServer:
    def __init__(self, port: int, data_dir: Path) -> None:
        self.port = port
        self.data_dir = data_dir

    def _run(self, action: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "PG_PORT": str(self.port), "PG_DATA_DIR": str(self.data_dir)}
        return subprocess.run(
            ["bash", str(SCRIPT), action],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def up(self) -> None:
        result = self._run("up")
        if result.returncode != 0:
            pytest.fail(
                f"the local PostgreSQL could not be started on 127.0.0.1:{self.port}:\n"
                f"{result.stdout}\n{result.stderr}",
                pytrace=False,
            )

    def down(self) -> None:
        self._run("down", timeout=90)

    def url(self, user: str, database: str) -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"


@dataclass(frozen=True, slots=True)
class PgDatabase:
    """One throw-away database: `url` logs in as the app role, `migrate_url` as the owner."""

    name: str
    url: str
    migrate_url: str
    super_url: str


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    port = int(os.environ.get("ANPR_TEST_PG_PORT", "15432"))
    data_dir = Path(tempfile.mkdtemp(prefix="anpr-test-pg-"))
    server = PgServer(port, data_dir)
    try:
        server.up()
        yield server
    finally:
        server.down()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def pg_database(pg_server: PgServer) -> Iterator[PgDatabase]:
    """Synchronous, so fixtures may ask for it with `request.getfixturevalue`."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = pg_server.url("postgres", "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" OWNER anpr_owner'.encode())
    yield PgDatabase(
        name=name,
        url=pg_server.url("anpr_app", name),
        migrate_url=pg_server.url("anpr_owner", name),
        super_url=pg_server.url("postgres", name),
    )
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
