"""A database URL refused by the settings is named, never printed: it holds the password. A
SQLAlchemy-style `postgresql+psycopg://user:password@...` is an easy mistake to make, and the
refusal goes to the terminal, the CI log of a deployment pipeline or the pod's log."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PASSWORD = "s3cret-pw"


@pytest.mark.parametrize(
    ("command", "variable"),
    [
        (["db", "status"], "ANPR_DATABASE_URL"),
        (["db", "upgrade"], "ANPR_DATABASE_MIGRATE_URL"),
        (["archive"], "ANPR_DATABASE_URL"),
    ],
)
def test_a_refused_database_url_is_named_without_its_password(
    tmp_path: Path, command: list[str], variable: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANPR_")}
    done = subprocess.run(  # an outside run, as an operator types it
        [sys.executable, "-m", "anpr", *command],
        env={
            **env,
            "ANPR_DATA_DIR": str(tmp_path / "data"),
            variable: f"postgresql+psycopg://anpr:{PASSWORD}@pg/anpr",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert variable.removeprefix("ANPR_").lower() in done.stderr
    assert "must be a postgresql:// URL" in done.stderr
    assert PASSWORD not in done.stderr + done.stdout


@pytest.mark.parametrize("what", ["status", "upgrade"])
def test_an_unreachable_database_is_one_line_not_a_traceback(tmp_path: Path, what: str) -> None:
    """`anpr db` against a server that is down (or a wrong host or port) printed a Python
    traceback; it says what it could not reach now, without the password, and exits 1 as the
    services do when their broker or database is away."""
    from tests.support.ports import free_port

    env = {k: v for k, v in os.environ.items() if not k.startswith("ANPR_")}
    url = f"postgresql://anpr:{PASSWORD}@127.0.0.1:{free_port()}/anpr?connect_timeout=2"
    done = subprocess.run(
        [sys.executable, "-m", "anpr", "db", what],
        env={**env, "ANPR_DATA_DIR": str(tmp_path / "data"), "ANPR_DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "cannot reach the database" in done.stderr
    assert PASSWORD not in done.stderr + done.stdout
