"""`anpr hotlist load` as an operator runs it, on the embedded bus of a fresh data dir: what it
publishes on the hotlists topic, and its exit status and messages when it cannot do the job."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from anpr.bus.base import Message
from anpr.bus.factory import LOCAL_BUS_FILE, make_bus
from anpr.clock import now_ms
from anpr.errors import InvalidRecord
from anpr.hotlists import (
    HotlistBook,
    Retain,
    parse_entries_csv,
    plan_replace_entries,
    plan_upsert_entries,
)
from anpr.settings import CommonSettings

TOPIC = "anpr.hotlists.v1"


def load(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANPR_")}
    return subprocess.run(  # an outside run, as an operator types it
        [sys.executable, "-m", "anpr", "hotlist", "load", *args],
        env={**env, "ANPR_DATA_DIR": str(data)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def records(data: Path) -> list[tuple[bytes, bytes | None]]:
    path = data / LOCAL_BUS_FILE
    if not path.exists():
        return []
    with sqlite3.connect(path) as db:
        return list(db.execute("SELECT key, value FROM log WHERE topic=? ORDER BY off", (TOPIC,)))


def folded(data: Path) -> tuple[HotlistBook, int]:
    """The book a reader folds from the topic, and how many records it had to set aside."""
    book, poison = HotlistBook(retain=Retain.ENTRIES), 0
    for key, value in records(data):
        try:
            book.apply(key, value)
        except InvalidRecord:
            poison += 1
    return book, poison


def test_a_list_id_or_priority_readers_would_refuse_is_refused_before_anything_is_published(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    entries = tmp_path / "list.csv"
    entries.write_text("entry_id,plate\ne1,AB123\n", encoding="utf-8")
    for args, named in (
        (("bad/id", str(entries)), "bad/id"),
        (("has space", str(entries)), "has space"),
        (("prio", str(entries), "--priority", "9"), "priority"),
    ):
        done = load(data, *args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert named in done.stderr
        assert "now at version" not in done.stdout
    assert records(data) == []


def test_a_file_that_is_not_utf8_names_its_line_and_publishes_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    entries = tmp_path / "list.csv"
    good = "".join(f"e{i},AB{i:05d},stolen\n" for i in range(12_000))
    entries.write_bytes(b"entry_id,plate,reason\n" + good.encode() + b"e-bad,ZZ123,caf\xe9\n")
    done = load(data, "stolen", str(entries))
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "line 12002" in done.stderr
    assert "UTF-8" in done.stderr
    assert "Traceback" not in done.stderr
    book, poison = folded(data)
    assert poison == 0
    assert book.configs == {}
    assert book.staged("stolen") == {}


def audit_records(data: Path) -> list[bytes]:
    with sqlite3.connect(data / LOCAL_BUS_FILE) as db:
        rows = db.execute("SELECT value FROM log WHERE topic='anpr.audit.v1' ORDER BY off")
        return [value for (value,) in rows]


def test_a_file_with_no_usable_line_does_not_create_the_list_it_names(tmp_path: Path) -> None:
    data = tmp_path / "data"
    entries = tmp_path / "list.csv"
    entries.write_text("entry_id,plate\ne1,--\ne2,\n", encoding="utf-8")
    done = load(data, "stolen", str(entries), "--covert")
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "list stolen left unchanged" in done.stderr
    book, _ = folded(data)
    assert book.configs == {}
    assert audit_records(data) == []
    entries.write_text("entry_id,plate\ne1,AB123\ne2,\n", encoding="utf-8")
    done = load(data, "stolen", str(entries), "--covert")
    assert done.returncode == 0, (done.stdout, done.stderr)
    book, poison = folded(data)
    assert poison == 0
    config = book.config("stolen")
    assert config is not None
    assert config.covert
    assert set(book.entries("stolen")) == {"e1"}
    assert [b'"hotlist.config"' in r for r in audit_records(data)] == [True, False]


async def interrupted_write(data: Path, list_id: str) -> None:
    """Entry records of an upsert whose commit never came (a writer that died half-way)."""
    current = folded(data)[0].config(list_id)
    assert current is not None
    plan = plan_upsert_entries(
        current, parse_entries_csv("entry_id,plate\nx1,AAA1\n")[0], now_ms=now_ms()
    )
    bus = make_bus(CommonSettings(data_dir=data, kafka_bootstrap=None), client_id="test")
    await bus.start()
    try:
        await bus.publish(
            [Message(TOPIC, k.encode(), v) for k, v in plan.records[:-1]], timeout_s=5
        )
    finally:
        await bus.stop()


def test_a_load_tombstones_the_entries_an_interrupted_write_left_staged(tmp_path: Path) -> None:
    data = tmp_path / "data"
    entries = tmp_path / "list.csv"
    entries.write_text("entry_id,plate\ne1,AB123\n", encoding="utf-8")
    assert load(data, "stolen", str(entries)).returncode == 0
    asyncio.run(interrupted_write(data, "stolen"))
    assert set(folded(data)[0].staged("stolen")) == {"x1"}
    done = load(data, "stolen", str(entries))
    assert done.returncode == 0, (done.stdout, done.stderr)
    latest = {key: value for key, value in records(data)}  # what compaction keeps
    assert latest[b"stolen/x1"] is None


async def replacement_cut_after_its_commit(data: Path, list_id: str, csv: str) -> None:
    """A replacement (another load, the API's upload) that died after its commit, before the
    tombstones of the entries it dropped."""
    book = folded(data)[0]
    current = book.config(list_id)
    assert current is not None
    plan = plan_replace_entries(
        current,
        parse_entries_csv(csv)[0],
        live_entry_ids=list(book.entry_ids(list_id)),
        now_ms=now_ms(),
    )
    cut = [key for key, _ in plan.records].index(list_id) + 1
    bus = make_bus(CommonSettings(data_dir=data, kafka_bootstrap=None), client_id="test")
    await bus.start()
    try:
        await bus.publish(
            [Message(TOPIC, k.encode(), v) for k, v in plan.records[:cut]], timeout_s=5
        )
    finally:
        await bus.stop()


def test_a_load_tombstones_the_entries_an_interrupted_replacement_dropped(tmp_path: Path) -> None:
    data = tmp_path / "data"
    entries = tmp_path / "list.csv"
    entries.write_text("entry_id,plate\ne1,AB123\ne2,CD123\n", encoding="utf-8")
    assert load(data, "stolen", str(entries)).returncode == 0
    asyncio.run(replacement_cut_after_its_commit(data, "stolen", "entry_id,plate\ne1,AB123\n"))
    assert set(folded(data)[0].entries("stolen")) == {"e1"}
    entries.write_text("entry_id,plate\ne3,EF123\n", encoding="utf-8")
    done = load(data, "stolen", str(entries))
    assert done.returncode == 0, (done.stdout, done.stderr)
    latest = {key: value for key, value in records(data)}  # what compaction keeps
    assert latest[b"stolen/e1"] is None
    assert latest[b"stolen/e2"] is None


def test_an_ndjson_file_with_a_bom_or_a_blank_first_line_is_read_as_ndjson(tmp_path: Path) -> None:
    data = tmp_path / "data"
    entries = tmp_path / "list.ndjson"
    lines = '{"entry_id":"e1","plate":"AB123"}\n{"entry_id":"e2","plate":"CD123"}\n'
    for leading in ("\ufeff", "\n", "\ufeff\n"):
        entries.write_text(leading + lines, encoding="utf-8")
        done = load(data, "stolen", str(entries))
        assert done.returncode == 0, (leading, done.stdout, done.stderr)
        assert "2 entries, 0 rejected lines" in done.stdout


def test_covert_entries_are_not_loaded_into_a_list_that_is_not_covert(tmp_path: Path) -> None:
    """--covert is a list's setting, used when the load creates it; asked of an existing overt
    list it must not be ignored: operators would see the hits of the entries loaded."""
    data = tmp_path / "data"
    entries = tmp_path / "list.csv"
    entries.write_text("entry_id,plate\ne1,AB123\n", encoding="utf-8")
    assert load(data, "watch", str(entries)).returncode == 0
    before = records(data)
    entries.write_text("entry_id,plate\ns1,SECRET1\n", encoding="utf-8")
    done = load(data, "watch", str(entries), "--covert")
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "not covert" in done.stderr
    assert records(data) == before


def test_a_load_the_bus_interrupts_says_so_and_is_audited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A broker lost half-way: the chunks sent are staged, the list is unchanged. The command
    said only the bus's error; now it says what state the list is in and what to do, and the
    audit log says who started the write (as the API audits a write answered 503)."""
    from anpr.bus.base import Bus
    from anpr.errors import BusUnavailable
    from anpr_cli import hotlist
    from anpr_cli.__init__ import _parser

    data = tmp_path / "data"
    entries = tmp_path / "list.csv"
    entries.write_text("entry_id,plate\ne1,AB123\n", encoding="utf-8")
    assert load(data, "stolen", str(entries)).returncode == 0
    entries.write_text(
        "entry_id,plate\n" + "".join(f"n{i},AB{i:05d}\n" for i in range(3 * hotlist.CHUNK)),
        encoding="utf-8",
    )
    real_make_bus = hotlist.make_bus
    chunks = 0

    def failing_bus(*args: Any, **kwargs: Any) -> Bus:
        bus = real_make_bus(*args, **kwargs)
        publish = bus.publish

        async def publish_then_fail(messages: Any, **kw: Any) -> None:
            nonlocal chunks
            if len(messages) == hotlist.CHUNK:
                chunks += 1
                if chunks == 2:
                    raise BusUnavailable("the broker went away")
            await publish(messages, **kw)

        bus.publish = publish_then_fail  # type: ignore[method-assign]
        return bus

    monkeypatch.setenv("ANPR_DATA_DIR", str(data))
    monkeypatch.setattr(hotlist, "make_bus", failing_bus)
    args = _parser().parse_args(["hotlist", "load", "stolen", str(entries)])
    assert hotlist.hotlist_command(args) == 1
    err = capsys.readouterr().err
    assert "interrupted" in err and "staged" in err and "unchanged" in err
    book, _ = folded(data)
    assert set(book.entries("stolen")) == {"e1"}
    assert len(book.staged("stolen")) == hotlist.CHUNK
    (interrupted,) = [r for r in audit_records(data) if b'"interrupted":true' in r]
    assert b'"hotlist.replace"' in interrupted
