"""`anpr hotlist load LIST FILE`: replace a list's entries from a CSV or NDJSON file.

It reads the hotlists topic to learn the list's current version and entries, then publishes
the replacement planned by `anpr.hotlists` (the API's upload uses the same planner and wire
form): entries first, the commit last, tombstones of dropped entries after it. The file is
streamed, so a 10-million-row list is never held twice. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import codecs
import contextlib
import sys
import time
from collections.abc import Iterator
from enum import Enum
from pathlib import Path

from anpr.audit_wire import AuditRecord, cli_actor, publish_audit
from anpr.bus.base import Bus, Message, Record
from anpr.bus.factory import make_bus, start_bus
from anpr.clock import now_ms
from anpr.errors import AnprError
from anpr.follow import replay
from anpr.hotlists import (
    PRIORITY_MAX,
    PRIORITY_MIN,
    EntrySpec,
    HotlistBook,
    LineError,
    MatchMode,
    Plan,
    Retain,
    iter_entries_csv,
    iter_entries_ndjson,
    list_key,
    plan_put_config,
    stream_replace_entries,
)
from anpr.hotlists.parse import Parsed
from anpr.ids import is_valid_id
from anpr.settings import CommonSettings
from anpr.topics import Topics
from anpr_cli import INTERRUPTED

CHUNK = 5000
MAX_SHOWN_ERRORS = 50
AUDIT_TIMEOUT_S = 10.0  # the audit of an interrupted load, when the bus may be what hangs


class Progress:
    """A one-line progress display on stderr: rows read, rows rejected, rate."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.started = time.monotonic()
        self.last = 0.0

    def show(self, done: int, rejected: int, *, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self.last < 0.5:
            return
        self.last = now
        rate = done / max(now - self.started, 1e-6)
        end = "\n" if final else ""
        print(
            f"\r{self.label}: {done:,} entries, {rejected:,} rejected, {rate:,.0f}/s",
            end=end,
            file=sys.stderr,
            flush=True,
        )


def _parsed(path: Path) -> Iterator[Parsed]:
    with path.open("r", encoding="utf-8", newline="") as handle:
        # The first line with something on it, past a byte order mark and blank lines.
        first = next((line for line in handle if line.lstrip("\ufeff").strip()), "")
        handle.seek(0)
        if first.lstrip("\ufeff").lstrip().startswith("{"):
            yield from iter_entries_ndjson(handle)
        else:
            yield from iter_entries_csv(handle)


async def _current(bus: Bus, topic: str) -> HotlistBook:
    book = HotlistBook(retain=Retain.IDS)

    def apply(record: Record) -> None:
        book.apply(record.key, record.value)

    deadletter = Topics.from_prefix(CommonSettings().topic_prefix).deadletter
    await replay(bus, topic, apply, name="hotlist-load", deadletter_topic=deadletter, timeout_s=120)
    return book


async def _load(args: argparse.Namespace) -> int:
    settings = CommonSettings()
    path = Path(args.file)
    topics = Topics.from_prefix(settings.topic_prefix)
    topic = topics.hotlists
    bus = make_bus(settings, client_id="anpr-hotlist")
    await start_bus(bus, attempts=5)
    try:
        book = await _current(bus, topic)
        current = book.config(args.list_id)
        if current is not None and args.covert and not current.covert:
            print(
                f"anpr hotlist load: list {args.list_id} exists and is not covert: make it "
                f"covert first (PUT /v1/hotlists/{args.list_id}); nothing was published",
                file=sys.stderr,
            )
            return 2
        # A new list is created only once the file proved to have a usable line (below).
        creation: Plan | None = None
        if current is None:
            creation = plan_put_config(
                None,
                list_id=args.list_id,
                name=args.name or args.list_id,
                category=args.category,
                priority=args.priority,
                match=MatchMode(args.match),
                covert=args.covert,
                now_ms=now_ms(),
            )
            assert creation.config is not None  # noqa: S101 - a put always yields a config
            current = creation.config
        errors: list[LineError] = []
        progress = Progress(f"loading {args.list_id}")
        counted = 0

        def good() -> Iterator[EntrySpec]:
            nonlocal counted
            for line, parsed in _parsed(path):
                if isinstance(parsed, list):
                    errors.append(LineError(line, tuple(parsed)))
                    continue
                counted += 1
                progress.show(counted, len(errors))
                yield parsed

        config, records = stream_replace_entries(
            current,
            good(),
            # Staged and superseded ids too (an interrupted write's, an interrupted
            # replacement's): their plates must not outlive the list.
            live_entry_ids=set(book.entry_ids(args.list_id))
            | set(book.staged(args.list_id))
            | book.superseded_ids(args.list_id),
            now_ms=now_ms(),
        )
        # Nothing is published until the first good entry is found: a file in which no line is
        # usable must not replace the list by an empty one (the API refuses it the same way).
        try:
            first = next(records)
        except OSError as exc:
            print(_unreadable(path, exc, args.list_id), file=sys.stderr)
            return 1
        if "/" not in first[0] and errors:
            progress.show(counted, len(errors), final=True)
            _print_errors(errors)
            print(f"no usable entry in {path}: list {args.list_id} left unchanged", file=sys.stderr)
            return 1
        detail: dict[str, object] = {
            "version": config.version,
            "file": path.name,
            # Marked as the API marks it: shown redacted to auditors even once the list is
            # gone, and not counted on /metrics (api/audit/redact.py).
            **({"covert": True} if config.covert else {}),
        }
        if creation is not None:
            await bus.publish(
                [Message(topic, k.encode(), v) for k, v in creation.records], timeout_s=30
            )
            await publish_audit(
                bus,
                topics.audit,
                AuditRecord(
                    action="hotlist.config",
                    target=args.list_id,
                    actor=cli_actor(),
                    detail={"name": current.name, "covert": current.covert, "created": True},
                ),
            )
        batch: list[Message] = [Message(topic, first[0].encode(), first[1])]
        commit_key = list_key(args.list_id)
        commit = Commit.IN_FLIGHT if first[0] == commit_key else Commit.NOT_SENT
        sent = 0
        try:
            for key, value in records:
                batch.append(Message(topic, key.encode(), value))
                if key == commit_key:
                    commit = Commit.IN_FLIGHT
                if len(batch) >= CHUNK:
                    await bus.publish(batch, timeout_s=60)
                    sent += len(batch)
                    batch = []
                    commit = Commit.SENT if commit is Commit.IN_FLIGHT else commit
            if batch:
                await bus.publish(batch, timeout_s=60)
        except (AnprError, OSError, asyncio.CancelledError) as exc:
            # CancelledError: Ctrl-C (asyncio.run cancels this task); returning, not raising,
            # ends the run with the status returned.
            progress.show(counted, len(errors), final=True)
            cause = "Ctrl-C" if isinstance(exc, asyncio.CancelledError) else str(exc)
            print(
                f"anpr hotlist load: interrupted after {sent:,} records ({cause}): "
                + _state_after(args.list_id, config.version, commit),
                file=sys.stderr,
            )
            # Who started a write that changed the topic, as the API audits one answered 503.
            record = AuditRecord("hotlist.replace", args.list_id, cli_actor(), detail={
                **detail, "interrupted": True, "records_sent": sent,
            })  # fmt: skip
            with contextlib.suppress(AnprError, TimeoutError):
                await asyncio.wait_for(publish_audit(bus, topics.audit, record), AUDIT_TIMEOUT_S)
            return INTERRUPTED if isinstance(exc, asyncio.CancelledError) else 1
        progress.show(counted, len(errors), final=True)
        await publish_audit(
            bus,
            topics.audit,
            AuditRecord(
                action="hotlist.replace",
                target=args.list_id,
                actor=cli_actor(),
                detail={**detail, "entries": counted, "rejected": len(errors)},
            ),
        )
    finally:
        await bus.stop()
    _print_errors(errors)
    print(
        f"list {args.list_id} now at version {config.version}: {counted:,} entries, "
        f"{len(errors):,} rejected lines"
    )
    return 0 if counted or not errors else 1


class Commit(Enum):
    """Where the record that makes a replacement live (the list's new version) is."""

    NOT_SENT = "not sent"
    IN_FLIGHT = "in the batch being sent"
    SENT = "sent"


def _state_after(list_id: str, version: int, commit: Commit) -> str:
    """What an interrupted load left the list as, and what to do."""
    if commit is Commit.SENT:
        return (
            f"list {list_id} is at version {version}, its entries replaced; records of the "
            "entries it dropped may be left on the topic until the list's next load or deletion"
        )
    if commit is Commit.IN_FLIGHT:
        return (
            f"list {list_id} is either unchanged or at version {version} "
            f"(GET /v1/hotlists/{list_id} says which): load the file again"
        )
    return (
        f"list {list_id} is unchanged; the entries sent are staged and would go live with the "
        "list's next change: load the file again"
    )


def _unreadable(path: Path, exc: OSError, list_id: str) -> str:
    return (
        f"anpr hotlist load: cannot read {path}: {exc.strerror or exc}; "
        f"list {list_id} left unchanged"
    )


def _print_errors(errors: list[LineError]) -> None:
    for error in errors[:MAX_SHOWN_ERRORS]:
        detail = "; ".join(f"{e.field}: {e.message}" for e in error.errors)
        print(f"line {error.line}: {detail}", file=sys.stderr)
    if len(errors) > MAX_SHOWN_ERRORS:
        print(f"... and {len(errors) - MAX_SHOWN_ERRORS} more rejected lines", file=sys.stderr)


def _not_utf8_line(path: Path) -> int | None:
    """The line of the first byte that is not UTF-8, or None: checked before anything is
    published, as a decoding error half-way through the file would leave the entries published
    until then staged, to go live with the list's next change."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines = 1
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            pending, _ = decoder.getstate()  # at most 3 bytes of a character, no line feed
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return lines + (pending + chunk)[: exc.start].count(b"\n")
            lines += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return lines
    return None


def _refused(args: argparse.Namespace) -> str | None:
    """Why the arguments cannot make a list that readers accept (they would set its records
    aside as malformed, and the load would look done), or None."""
    if not is_valid_id(args.list_id):
        return f"list id {args.list_id!r} must be 1-128 of A-Z a-z 0-9 . _ : -"
    if not PRIORITY_MIN <= args.priority <= PRIORITY_MAX:
        return f"--priority must be from {PRIORITY_MIN} to {PRIORITY_MAX}, not {args.priority}"
    return None


def hotlist_command(args: argparse.Namespace) -> int:
    refused = _refused(args)
    if refused is not None:
        print(f"anpr hotlist load: {refused}; nothing was published", file=sys.stderr)
        return 2
    path = Path(args.file)
    if not path.is_file():
        print(
            f"{args.file} is a directory" if path.is_dir() else f"no such file: {args.file}",
            file=sys.stderr,
        )
        return 2
    try:
        bad_line = _not_utf8_line(path)
    except OSError as exc:
        print(_unreadable(path, exc, args.list_id), file=sys.stderr)
        return 1
    if bad_line is not None:
        print(
            f"{args.file}: line {bad_line} is not UTF-8 (save the file as UTF-8); "
            f"list {args.list_id} left unchanged",
            file=sys.stderr,
        )
        return 1
    try:
        return asyncio.run(_load(args))
    except KeyboardInterrupt:  # before anything was published (`_load` says so after)
        print(
            f"anpr hotlist load: interrupted; list {args.list_id} left unchanged", file=sys.stderr
        )
        return INTERRUPTED
