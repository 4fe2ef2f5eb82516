"""A second embedded process on the same `ANPR_DATA_DIR` is refused, with a message that says
why, before it touches the bus file: two `anpr run` on one embedded bus would each consume the
same consumer groups (there is no group membership in a file), so both matchers would match
every read and both notify workers deliver every webhook."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

import anpr_cli.serve
from anpr_cli.serve import serve_command


def embedded_env(monkeypatch: pytest.MonkeyPatch, data: Path) -> None:
    for name in ("ANPR_KAFKA_BOOTSTRAP", "ANPR_DATABASE_URL", "ANPR_API_DB_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ANPR_DATA_DIR", str(data))
    monkeypatch.setenv("ANPR_ADMIN_TOKEN", "admin-" + "x" * 40)


def test_a_second_embedded_run_on_the_same_data_dir_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    embedded_env(monkeypatch, tmp_path / "data")
    served: list[int] = []
    second: list[int] = []

    async def serving(endpoints: Sequence[Any], **_: Any) -> None:
        served.append(len(endpoints))
        if len(served) == 1:  # the first run is serving: a second one starts meanwhile
            second.append(await asyncio.to_thread(serve_command, "run"))

    monkeypatch.setattr(anpr_cli.serve, "serve_all", serving)
    assert serve_command("run") == 0
    assert second == [1]
    assert served == [5]  # the second never served
    err = capsys.readouterr().err
    assert "in use by another" in err
    assert str(tmp_path / "data") in err

    # Once the first has ended, the directory is free again.
    assert serve_command("run") == 0
    assert served == [5, 5]


def test_with_kafka_processes_share_a_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With Kafka the bus is not in the directory: `anpr api` and `anpr archive` on one host
    share it (the archive's SQLite file is the API's)."""
    embedded_env(monkeypatch, tmp_path / "data")
    monkeypatch.setenv("ANPR_KAFKA_BOOTSTRAP", "127.0.0.1:1")
    claimed: list[Path] = []

    async def run(command: str) -> None:
        base, _, _, _ = anpr_cli.serve._compose(command)
        with anpr_cli.serve.embedded_claim(base, command):
            claimed.append(base.data_dir)
            with anpr_cli.serve.embedded_claim(base, command):
                claimed.append(base.data_dir)

    asyncio.run(run("api"))
    assert len(claimed) == 2
