"""`anpr admin` and `anpr hotlist load` say what went wrong in one line on stderr, never with a
traceback: a hotlist file they cannot read, a data directory they cannot create, Ctrl-C (exit
status 130, as a shell reports it). An interrupted load says what state the list is left in."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

import anpr_cli.admin
import anpr_cli.hotlist
from anpr.bus.base import Message
from anpr.bus.local import LocalBus
from anpr_cli import main

ENTRIES = "entry_id,plate\ne1,AB123\ne2,CD456\ne3,EF789\n"


@pytest.fixture
def embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli_state: None) -> Path:
    for name in ("ANPR_KAFKA_BOOTSTRAP", "ANPR_DATABASE_URL", "ANPR_ADMIN_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ANPR_DATA_DIR", str(tmp_path / "data"))
    entries = tmp_path / "list.csv"
    entries.write_text(ENTRIES, encoding="utf-8")
    return entries


@pytest.fixture
def cli_state() -> Any:
    """`main` sets the umask and the logging; put them back."""
    umask = os.umask(0o022)
    os.umask(umask)
    yield
    os.umask(umask)


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err, err
    return lines[-1]


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["admin", "tokens"], id="admin"),
        pytest.param(["hotlist", "load", "stolen", "LIST"], id="hotlist-load"),
    ],
)
def test_a_data_directory_that_cannot_be_created_is_said_in_one_line(
    argv: list[str],
    embedded: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("ANPR_DATA_DIR", str(blocker / "data"))
    argv = [str(embedded) if word == "LIST" else word for word in argv]
    assert main(argv) == 1
    line = one_line(capsys.readouterr().err)
    assert str(blocker / "data") in line and "Not a directory" in line, line


def test_an_unreadable_hotlist_file_is_said_in_one_line(
    embedded: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    opened = Path.open

    def refuse(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == embedded:  # as chmod 000 would for a user other than root
            raise PermissionError(13, "Permission denied", str(self))
        return opened(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse)
    assert main(["hotlist", "load", "stolen", str(embedded)]) == 1
    line = one_line(capsys.readouterr().err)
    assert str(embedded) in line and "Permission denied" in line, line
    assert "stolen left unchanged" in line, line


def test_a_directory_given_as_the_hotlist_file_is_named_as_one(
    embedded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["hotlist", "load", "stolen", str(embedded.parent)]) == 2
    line = one_line(capsys.readouterr().err)
    assert f"{embedded.parent} is a directory" in line, line


def interrupt() -> None:
    """Ctrl-C, as the terminal sends it."""
    os.kill(os.getpid(), signal.SIGINT)


def test_ctrl_c_during_anpr_admin_is_said_in_one_line(
    embedded: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def hang(*args: Any) -> None:
        interrupt()
        await asyncio.sleep(30)

    monkeypatch.setattr(anpr_cli.admin, "_run", hang)
    assert main(["admin", "token", "auditor", "--name", "a"]) == 130
    line = one_line(capsys.readouterr().err)
    assert line.startswith("anpr admin: interrupted"), line


def interrupt_publish(monkeypatch: pytest.MonkeyPatch, at: int) -> None:
    """Ctrl-C while the `at`-th batch of hotlist records is being published, one entry a batch."""
    publish = LocalBus.publish
    calls = 0

    async def slow(self: LocalBus, messages: Sequence[Message], *, timeout_s: float) -> None:
        nonlocal calls
        if any(m.topic.startswith("anpr.hotlists") for m in messages):
            calls += 1
            if calls == at:
                interrupt()
                await asyncio.sleep(30)
        await publish(self, messages, timeout_s=timeout_s)

    monkeypatch.setattr(LocalBus, "publish", slow)
    monkeypatch.setattr(anpr_cli.hotlist, "CHUNK", 1)


def test_ctrl_c_during_a_hotlist_load_says_the_list_is_unchanged(
    embedded: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    interrupt_publish(monkeypatch, at=3)  # the list's creation, two entries, then Ctrl-C
    assert main(["hotlist", "load", "stolen", str(embedded)]) == 130
    line = one_line(capsys.readouterr().err)
    assert "interrupted after 2 records (Ctrl-C)" in line, line
    assert "list stolen is unchanged; the entries sent are staged" in line, line


def test_ctrl_c_after_the_commit_says_the_list_is_replaced(
    embedded: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["hotlist", "load", "stolen", str(embedded)]) == 0
    shorter = tmp_path / "shorter.csv"
    shorter.write_text("entry_id,plate\ne1,AB123\n", encoding="utf-8")
    # e1 with the commit, then the tombstones of e2 and e3: Ctrl-C at the first of them.
    interrupt_publish(monkeypatch, at=2)
    assert main(["hotlist", "load", "stolen", str(shorter)]) == 130
    line = one_line(capsys.readouterr().err)
    assert "interrupted after 2 records (Ctrl-C)" in line, line
    assert "list stolen is at version" in line and "unchanged" not in line, line
