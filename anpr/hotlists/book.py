"""The fold of the compacted topic `anpr.hotlists.v1` into hotlist state (no I/O).

Versioning protocol (what writers publish, see `anpr.hotlists.plan`): every change to a list bumps
its version V. Entry records carrying version V come first, the list configuration with version V
last: that record is the commit. `epoch` is the version of the last full replacement; after a
commit at V the live entries are exactly those with `epoch <= version <= V`.

The fold, per record:

- entry, version > committed V: staged (invisible until a commit reaches its version);
- entry, epoch <= version <= committed V: applied at once (a redelivery, or a replay);
- entry, version < epoch: dropped (superseded by a replacement);
- entry tombstone: removes the entry at once, staged and live;
- configuration at V: commits. If the epoch moved (a replacement) or the list is new, the live
  entries become the staged ones with `epoch <= version <= V` (`ListReplaced`); otherwise the staged
  entries with `version <= V` are applied (`ListConfigChanged`, then `EntriesChanged`). Staged
  entries above V stay staged. A configuration older than the committed one is ignored;
- list tombstone: removes the list, its live and its staged entries (`ListRemoved`).

Because compaction only removes records that a later record of the same key supersedes, replaying
the compacted topic gives the same state as replaying the full log, once every write has reached
its commit. (A write interrupted before its commit leaves staged entries; the list's next commit
makes them live, in both replays. Until then an interrupted overwrite of a live entry may show the
old value in one and not the other: a writer retries until its commit is published.) This needs
every record of a list on one partition (one partition, or partitioned by list id).

Memory: staged entries are always held (a replacement of 10M entries is staged in full until its
commit). Live entries are held according to `Retain`: a matcher keeps them only in its index
(`Retain.NOTHING`), the API keeps their ids to count them and to tombstone the ones a replacement
drops (`Retain.IDS`), tests and tools may keep everything (`Retain.ENTRIES`).

Superseded entries: a book that keeps live entries also keeps the ids of the entries whose record
on the topic no commit can make live again (a version below the list's epoch) until their
tombstones come. A replacement publishes those tombstones after its commit; if it died before
them, or the replay of a compacted topic shows such records before the list's commit, the
records still hold plates, and only a write that tombstones them (the list's next write:
replacement, upsert or deletion, see `superseded_ids`) lets compaction remove them. Normally
the set is empty once the replacement's tombstones are folded; at most it holds the ids the
last replacements dropped. A matcher (`Retain.NOTHING`) keeps none of this.

Steps: `apply_in_steps` folds a record as `apply` does, but a list record that moves many
entries (the commit of a replacement, a list's removal) pauses every `STEP` entries, so that an
owner on an event loop can run it in between (the API's book: a 1M-entry commit took 0.3-0.8 s
in one go, and dropping what it replaced 0.1-0.2 s more; a matcher's, which keeps no live
entries, 0.2 s). `changes_in_steps` does the same and gives the changes. The new live entries
are built aside and put in place at once, so readers between two steps see the list before the
record or after it, never half of it; what the record replaced is then freed in steps too.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping, Set
from dataclasses import dataclass, field
from enum import StrEnum

from anpr.errors import InvalidRecord
from anpr.hotlists.model import Entry, ListConfig
from anpr.hotlists.wire import EntryDecoder, decode_list_config, split_key


@dataclass(frozen=True, slots=True)
class ListReplaced:
    """The list is new or was replaced: its live entries are now exactly `entries`."""

    config: ListConfig
    entries: list[Entry]


@dataclass(frozen=True, slots=True)
class ListConfigChanged:
    """A commit that kept the list's entries (an `EntriesChanged` may follow)."""

    config: ListConfig


@dataclass(frozen=True, slots=True)
class EntriesChanged:
    """Live entries upserted and deleted (a delete of an unknown entry is a no-op)."""

    list_id: str
    upserts: list[Entry] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ListRemoved:
    list_id: str


ListChange = ListReplaced | ListConfigChanged | EntriesChanged | ListRemoved

# Entries a step of `apply_in_steps` goes over (a few ms of work).
STEP = 10_000

# What a list record leaves behind (replaced live entries, staged ones), to free.
_Leftover = list[Entry] | dict[str, Entry] | set[str]
# A list record folded in steps; returns its changes and its leftovers.
_ListSteps = Generator[None, None, tuple[list[ListChange], list[_Leftover]]]


class Retain(StrEnum):
    """Which live entries the book keeps besides its staging area."""

    NOTHING = "nothing"
    IDS = "ids"
    ENTRIES = "entries"


class _ListState:
    __slots__ = ("config", "live", "staged", "superseded")

    def __init__(self, retain: Retain) -> None:
        self.config: ListConfig | None = None
        self.staged: dict[str, Entry] = {}
        self.live: dict[str, Entry] | set[str] | None = (
            None if retain is Retain.NOTHING else set() if retain is Retain.IDS else {}
        )
        self.superseded: set[str] | None = None if retain is Retain.NOTHING else set()


class HotlistBook:
    """Folds hotlist records into list configurations, staged entries and (optionally) live ones."""

    def __init__(self, *, retain: Retain = Retain.ENTRIES) -> None:
        self._retain = retain
        self._lists: dict[str, _ListState] = {}
        self._decoder = EntryDecoder()

    # --- the fold ------------------------------------------------------------------------------

    def apply(self, key: str | bytes | None, value: bytes | None) -> list[ListChange]:
        """Fold one record; the changes to make to the live state, in order.

        Raises InvalidRecord (and nothing else) for a malformed key or value; the book is then
        unchanged.
        """
        list_id, entry_id = split_key(key)
        if entry_id is None:
            changes, _ = _all_steps(self._list_record(list_id, value))
            return changes
        return self._entry_record(list_id, entry_id, value)

    def apply_in_steps(self, key: str | bytes | None, value: bytes | None) -> Iterator[None]:
        """`apply` for an owner that needs no changes, a step at a time (see the module).

        Raises InvalidRecord at the first step, as `apply` does; the book is then unchanged.
        """
        list_id, entry_id = split_key(key)
        if entry_id is not None:
            self._entry_record(list_id, entry_id, value)
            return
        changes, leftovers = yield from self._list_record(list_id, value)
        for change in changes:
            if isinstance(change, ListReplaced):
                leftovers.append(change.entries)
            elif isinstance(change, EntriesChanged):
                leftovers.append(change.upserts)
        del changes
        for items in leftovers:
            yield from _free(items)

    def changes_in_steps(
        self, key: str | bytes | None, value: bytes | None
    ) -> Generator[None, None, list[ListChange]]:
        """`apply` a step at a time, for an owner that needs the changes (a matcher): they are
        the generator's return value. What the record replaced is freed in steps before it.

        Raises InvalidRecord at the first step, as `apply` does; the book is then unchanged.
        """
        list_id, entry_id = split_key(key)
        if entry_id is not None:
            return self._entry_record(list_id, entry_id, value)
        changes, leftovers = yield from self._list_record(list_id, value)
        for items in leftovers:
            yield from _free(items)
        return changes

    def _entry_record(self, list_id: str, entry_id: str, value: bytes | None) -> list[ListChange]:
        if value is None:
            return self._remove_entry(list_id, entry_id)
        return self._put_entry(self._decoder.decode(value, key=(list_id, entry_id)))

    def _list_record(self, list_id: str, value: bytes | None) -> _ListSteps:
        if value is None:
            return self._remove_list(list_id)
        config = decode_list_config(value)
        if config.list_id != list_id:
            raise InvalidRecord("list record under another list's key")
        return (yield from self._commit(config))

    def _state(self, list_id: str) -> _ListState:
        state = self._lists.get(list_id)
        if state is None:
            state = self._lists[list_id] = _ListState(self._retain)
        return state

    def _put_entry(self, entry: Entry) -> list[ListChange]:
        state = self._state(entry.list_id)
        config = state.config
        if config is None or entry.version > config.version:
            state.staged[entry.entry_id] = entry
            _unsupersede(state, entry.entry_id)
            return []
        if entry.version < config.epoch:
            live, superseded = state.live, state.superseded
            if superseded is not None and live is not None and entry.entry_id not in live:
                superseded.add(entry.entry_id)
            return []
        _unsupersede(state, entry.entry_id)
        self._set_live(state, [entry])
        return [EntriesChanged(entry.list_id, upserts=[entry])]

    def _remove_entry(self, list_id: str, entry_id: str) -> list[ListChange]:
        state = self._lists.get(list_id)
        if state is None:
            return []
        state.staged.pop(entry_id, None)
        _unsupersede(state, entry_id)
        if state.config is None:
            if not state.staged and not state.superseded:
                del self._lists[list_id]
            return []
        live = state.live
        if live is not None:
            if entry_id not in live:
                return []
            if isinstance(live, set):
                live.discard(entry_id)
            else:
                del live[entry_id]
        return [EntriesChanged(list_id, deletes=[entry_id])]

    def _commit(self, config: ListConfig) -> _ListSteps:
        state = self._state(config.list_id)
        old = state.config
        if old is not None and (config.version < old.version or config == old):
            return [], []
        epoch, version = config.epoch, config.version
        ready: list[Entry] = []
        later: dict[str, Entry] = {}
        # Ids of the records this commit leaves on the topic without making them live.
        superseded: set[str] | None = None if state.superseded is None else set()
        for count, (entry_id, entry) in enumerate(state.staged.items(), 1):
            if entry.version > version:
                later[entry_id] = entry
            elif entry.version >= epoch:
                ready.append(entry)
            elif superseded is not None:
                superseded.add(entry_id)
            if count % STEP == 0:
                yield
        replaced = old is None or epoch > old.epoch
        live = fresh = state.live
        if replaced and live is not None:
            fresh = set() if isinstance(live, set) else {}
            for start in range(0, len(ready), STEP):
                if start:
                    yield
                _add_live(fresh, ready[start : start + STEP])
            if superseded is not None:
                for count, entry_id in enumerate(live, 1):
                    if entry_id not in fresh:
                        superseded.add(entry_id)
                    if count % STEP == 0:
                        yield
        # The commit itself, in one go: a reader sees the list before it or after it.
        leftovers: list[_Leftover] = [state.staged]
        state.staged = later
        state.config = config
        if superseded:
            if state.superseded:
                state.superseded.update(superseded)
            else:
                state.superseded = superseded
        if replaced:
            if live is not None:
                leftovers.append(live)
                state.live = fresh
            return [ListReplaced(config, ready)], leftovers
        self._set_live(state, ready)
        changes: list[ListChange] = [ListConfigChanged(config)]
        if ready:
            changes.append(EntriesChanged(config.list_id, upserts=ready))
        return changes, leftovers

    def _remove_list(self, list_id: str) -> tuple[list[ListChange], list[_Leftover]]:
        state = self._lists.pop(list_id, None)
        if state is None:
            return [], []
        leftovers: list[_Leftover] = [state.staged]
        if state.live is not None:
            leftovers.append(state.live)
        if state.superseded:
            leftovers.append(state.superseded)
        if state.config is None:
            return [], leftovers
        return [ListRemoved(list_id)], leftovers

    @staticmethod
    def _set_live(state: _ListState, entries: list[Entry]) -> None:
        if state.live is not None:
            _add_live(state.live, entries)

    # --- views ---------------------------------------------------------------------------------

    @property
    def configs(self) -> dict[str, ListConfig]:
        """The committed lists (a new dict)."""
        return {k: s.config for k, s in self._lists.items() if s.config is not None}

    def config(self, list_id: str) -> ListConfig | None:
        state = self._lists.get(list_id)
        return None if state is None else state.config

    def committed_version(self, list_id: str) -> int:
        """The list's committed version, 0 when it has none."""
        config = self.config(list_id)
        return 0 if config is None else config.version

    def entry_count(self, list_id: str) -> int | None:
        """Live entries of a committed list; None when unknown or when live entries are not kept."""
        state = self._lists.get(list_id)
        if state is None or state.config is None or state.live is None:
            return None
        return len(state.live)

    def entry_ids(self, list_id: str) -> Set[str]:
        """Ids of the live entries (needs `Retain.IDS` or `Retain.ENTRIES`)."""
        state = self._lists.get(list_id)
        if state is None or state.config is None:
            return frozenset()
        if state.live is None:
            raise ValueError("this book does not retain live entries")
        return state.live if isinstance(state.live, set) else state.live.keys()

    def entries(self, list_id: str) -> Mapping[str, Entry]:
        """The live entries by id (needs `Retain.ENTRIES`)."""
        state = self._lists.get(list_id)
        if state is None or state.config is None:
            return {}
        if not isinstance(state.live, dict):
            raise ValueError("this book does not retain live entries")
        return state.live

    def superseded_ids(self, list_id: str) -> Set[str]:
        """Ids of entries whose records are on the topic at a version the list has replaced
        (neither live nor staged): the list's next write must tombstone them.
        Needs `Retain.IDS` or `Retain.ENTRIES`."""
        state = self._lists.get(list_id)
        if state is None:
            return frozenset()
        if state.superseded is None:
            raise ValueError("this book does not retain live entries")
        return state.superseded

    def staged(self, list_id: str) -> Mapping[str, Entry]:
        """Entries written at a version the list has not committed yet."""
        state = self._lists.get(list_id)
        return {} if state is None else state.staged


def _all_steps(steps: _ListSteps) -> tuple[list[ListChange], list[_Leftover]]:
    while True:
        try:
            next(steps)
        except StopIteration as done:
            result: tuple[list[ListChange], list[_Leftover]] = done.value
            return result


def _unsupersede(state: _ListState, entry_id: str) -> None:
    """A newer record of the entry (or its tombstone) replaced its superseded one."""
    superseded = state.superseded
    if superseded and entry_id in superseded:
        superseded.remove(entry_id)
        if not superseded:
            state.superseded = set()  # a set keeps its table once emptied: free it


def _add_live(live: dict[str, Entry] | set[str], entries: list[Entry]) -> None:
    if isinstance(live, set):
        live.update(e.entry_id for e in entries)
    else:
        for e in entries:
            live[e.entry_id] = e


def _free(items: _Leftover) -> Iterator[None]:
    """Empties `items` but its last `STEP`, a step at a time (each step frees what only `items`
    still held); the caller drops the rest."""
    while len(items) > STEP:
        if isinstance(items, list):
            del items[-STEP:]
        elif isinstance(items, set):
            for _ in range(STEP):
                items.pop()
        else:
            for _ in range(STEP):
                items.popitem()
        yield
