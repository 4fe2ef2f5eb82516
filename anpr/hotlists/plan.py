"""Planning hotlist writes: the ordered records that carry one change onto `anpr.hotlists.v1`.

Pure functions shared by the API and `anpr hotlist load`; the caller publishes the records in
order (and only reports success once the last one is acknowledged). The order is the protocol of
`anpr.hotlists.book`: entries at the new version V first, the list configuration at V last (the
commit), and for a replacement the tombstones of the dropped entries after the commit. A
deletion is a replacement by nothing, its tombstones, then the list's tombstone.

Versions are `max(previous + 1, now_ms)`: strictly increasing for a list, and still increasing
when a deleted list is created again, so records of its former life can never be committed.
A plan assumes it is the only writer of its list: the API serialises writes per list.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

from anpr.hotlists.model import GROUP_WINDOW_DEFAULT_S, EntrySpec, ListConfig, MatchMode
from anpr.hotlists.wire import encode_entry, encode_list_config, entry_key, list_key
from anpr.ids import ListId

Record = tuple[str, bytes | None]


@dataclass(frozen=True, slots=True)
class Plan:
    """Records to publish in order; `config` is the list once they are all published."""

    config: ListConfig | None
    records: list[Record]
    entries: int = 0


def next_version(current: ListConfig | None, now_ms: int) -> int:
    return max(1 if current is None else current.version + 1, now_ms)


def plan_put_config(
    current: ListConfig | None,
    *,
    list_id: str,
    name: str,
    category: str,
    priority: int,
    match: MatchMode,
    covert: bool,
    now_ms: int,
    group_window_s: int | None = None,
    past_match_hours: int | None = None,
) -> Plan:
    """Create a list (empty, epoch = its first version) or change its configuration.

    `group_window_s` None keeps the list's current window (the default for a new list)."""
    version = next_version(current, now_ms)
    if group_window_s is None:
        group_window_s = GROUP_WINDOW_DEFAULT_S if current is None else current.group_window_s
    config = ListConfig(
        list_id=ListId(list_id),
        name=name,
        category=category,
        priority=priority,
        match=match,
        covert=covert,
        version=version,
        epoch=version if current is None else current.epoch,
        updated_at_ms=now_ms,
        group_window_s=group_window_s,
        past_match_hours=past_match_hours
        if past_match_hours is not None or current is None
        else current.past_match_hours,
    )
    return Plan(config, [(list_key(list_id), encode_list_config(config))])


def _entry_records(
    list_id: str, entries: Iterable[EntrySpec], version: int, ids: set[str]
) -> Iterator[Record]:
    for spec in entries:
        if spec.entry_id in ids:
            raise ValueError(f"entry_id {spec.entry_id!r} appears twice")
        ids.add(spec.entry_id)
        yield (
            entry_key(list_id, spec.entry_id),
            encode_entry(spec, list_id=list_id, version=version),
        )


def stream_replace_entries(
    current: ListConfig, entries: Iterable[EntrySpec], *, live_entry_ids: Iterable[str], now_ms: int
) -> tuple[ListConfig, Iterator[Record]]:
    """`plan_replace_entries` as a stream, for uploads too big to hold (the CLI's load).

    The iterator raises ValueError on a repeated entry_id, before the commit record.
    """
    version = next_version(current, now_ms)
    config = replace(current, version=version, epoch=version, updated_at_ms=now_ms)

    def records() -> Iterator[Record]:
        ids: set[str] = set()
        yield from _entry_records(current.list_id, entries, version, ids)
        yield list_key(current.list_id), encode_list_config(config)
        for entry_id in live_entry_ids:
            if entry_id not in ids:
                yield entry_key(current.list_id, entry_id), None

    return config, records()


def plan_replace_entries(
    current: ListConfig, entries: Iterable[EntrySpec], *, live_entry_ids: Iterable[str], now_ms: int
) -> Plan:
    """Replace all entries atomically: the list's new epoch is the new version."""
    entries = list(entries)
    config, records = stream_replace_entries(
        current, entries, live_entry_ids=live_entry_ids, now_ms=now_ms
    )
    return Plan(config, list(records), len(entries))


def plan_upsert_entries(
    current: ListConfig,
    entries: Iterable[EntrySpec],
    *,
    now_ms: int,
    superseded: Iterable[str] = (),
) -> Plan:
    """Add or overwrite entries by entry_id; after the commit, the tombstones of `superseded`
    (`HotlistBook.superseded_ids`: records no commit can make live, left by a replacement cut
    short) except those written now. A list written only by upserts would otherwise keep
    those records, and their plates, on the compacted topic for ever."""
    version = next_version(current, now_ms)
    config = replace(current, version=version, updated_at_ms=now_ms)
    written: set[str] = set()
    records = list(_entry_records(current.list_id, entries, version, written))
    count = len(records)
    records.append((list_key(current.list_id), encode_list_config(config)))
    records.extend(_tombstones(current.list_id, superseded, keep=written))
    return Plan(config, records, count)


def plan_delete_entry(
    current: ListConfig, entry_id: str, *, now_ms: int, superseded: Iterable[str] = ()
) -> Plan:
    """Remove one entry; the tombstones of `superseded` go after the commit, as an upsert's."""
    version = next_version(current, now_ms)
    config = replace(current, version=version, updated_at_ms=now_ms)
    records: list[Record] = [
        (entry_key(current.list_id, entry_id), None),
        (list_key(current.list_id), encode_list_config(config)),
    ]
    records.extend(_tombstones(current.list_id, superseded, keep={entry_id}))
    return Plan(config, records)


def _tombstones(list_id: str, entry_ids: Iterable[str], *, keep: set[str]) -> Iterator[Record]:
    return ((entry_key(list_id, e), None) for e in entry_ids if e not in keep)


def plan_delete_list(current: ListConfig, *, live_entry_ids: Iterable[str], now_ms: int) -> Plan:
    """Remove a list: empty it in one commit (atomic for readers), tombstone its entries for
    compaction, and its own tombstone last. A deletion cut short leaves the list, empty, to be
    deleted again with the ids still on the topic (the book's superseded ones): a list
    tombstone first left no list to delete again, and those entries' plates on the topic."""
    version = next_version(current, now_ms)
    emptied = replace(current, version=version, epoch=version, updated_at_ms=now_ms)
    records: list[Record] = [(list_key(current.list_id), encode_list_config(emptied))]
    records.extend((entry_key(current.list_id, e), None) for e in live_entry_ids)
    records.append((list_key(current.list_id), None))
    return Plan(None, records)
