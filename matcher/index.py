"""The hotlist index: every live entry of every list, matched against a read without a scan.

Plate entries of all lists share one `PlateTable` keyed by skeleton, so a read costs one dict
lookup for its exact and OCR candidates (plus one per candidate reading), about L more for fuzzy
ones (L = plate length), and one Aho-Corasick pass for patterns (`matcher.patterns`), whatever the
number of entries or lists.

Each list has a *generation* whose token (`list_id#n`) is stored in its records. Only records of
live generations are visible to `match`. A replacement (`begin_replace` -> `ListBuilder.add` ...
-> `install`, or `replace_list` in one call) writes the new generation's records beside the old
ones, invisible, and `install` swaps the live generation in O(1): reads see the old list or the
new one, never a mixture. The old generation's records are then purged: at once when small,
otherwise a budget at a time by `purge()`, which the owner calls between batches.

Not thread-safe: mutate and match from one thread.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from anpr.codecs.readview import ReadView
from anpr.hotlists import (
    EntriesChanged,
    Entry,
    ListChange,
    ListConfig,
    ListConfigChanged,
    ListRemoved,
    ListReplaced,
    MatchMode,
)
from anpr.reads import ReadRecord
from matcher.fuzzy import MIN_FUZZY_LEN
from matcher.generation import ListGeneration
from matcher.lookup import find_matches, find_matches_of
from matcher.matches import Match
from matcher.ocr import SKELETON_BYTES, plate_of, variant_code
from matcher.patterns import PatternSet
from matcher.rules import TOKEN
from matcher.table import PlateTable

# A retired generation at most this big is purged at once; a bigger one waits for `purge()`.
PURGE_AT_ONCE = 20_000


class ListBuilder:
    """A list's next generation, being written; invisible to reads until `HotlistIndex.install`."""

    def __init__(self, index: HotlistIndex, generation: ListGeneration) -> None:
        self._index = index
        self.generation = generation

    @property
    def config(self) -> ListConfig:
        return self.generation.config

    def __len__(self) -> int:
        return len(self.generation)

    def add(self, entries: Iterable[Entry]) -> int:
        """Add entries (a repeated entry_id replaces the earlier one); returns how many."""
        put, count = self._index._put, 0
        for entry in entries:
            put(self.generation, entry, live=False)
            count += 1
        return count


class HotlistIndex:
    """All live hotlist entries; `match` gives every applicable hit of a read (section 6)."""

    def __init__(self, *, purge_at_once: int = PURGE_AT_ONCE) -> None:
        self._purge_at_once = purge_at_once
        self._table = PlateTable()
        self._patterns = PatternSet()
        self._lists: dict[str, ListGeneration] = {}  # list_id -> live generation
        self._live: dict[str, ListGeneration] = {}  # token -> live generation
        self._fuzzy_tokens: set[str] = set()  # tokens (live, building or retired) of fuzzy lists
        self._retired: deque[ListGeneration] = deque()
        self._generations = 0

    # --- state ---------------------------------------------------------------------------------

    def __len__(self) -> int:
        return sum(len(g) for g in self._lists.values())

    @property
    def configs(self) -> dict[str, ListConfig]:
        return {list_id: g.config for list_id, g in self._lists.items()}

    def config(self, list_id: str) -> ListConfig | None:
        generation = self._lists.get(list_id)
        return None if generation is None else generation.config

    def entry_count(self, list_id: str) -> int:
        generation = self._lists.get(list_id)
        return 0 if generation is None else len(generation)

    def versions(self) -> dict[str, int]:
        """The version of each list as applied here."""
        return {list_id: g.config.version for list_id, g in self._lists.items()}

    @property
    def purge_pending(self) -> int:
        """Records of retired generations still to be purged."""
        return sum(len(g.plates) for g in self._retired)

    def entries_of(self, list_id: str) -> dict[str, str]:
        """Entry id -> plate or pattern of a list's live entries (for tests and diagnostics)."""
        generation = self._lists.get(list_id)
        if generation is None:
            return {}
        out = {entry_id: pattern for entry_id, (pattern, _) in generation.patterns.items()}
        for entry_id, skeleton in generation.plates.items():
            for record_id, code, meta in self._table.records(skeleton):
                if record_id == entry_id and meta[TOKEN] == generation.token:
                    out[entry_id.decode()] = plate_of(skeleton, code)
        return out

    # --- entries -------------------------------------------------------------------------------

    def _new_generation(self, config: ListConfig) -> ListGeneration:
        self._generations += 1
        generation = ListGeneration(config, f"{config.list_id}#{self._generations}")
        if config.match is MatchMode.FUZZY:
            self._fuzzy_tokens.add(generation.token)
        return generation

    def _put(self, generation: ListGeneration, entry: Entry, *, live: bool) -> None:
        """Add or overwrite an entry of a generation (patterns are filed only when live)."""
        entry_id = entry.entry_id.encode()
        if entry_id in generation.plates or entry.entry_id in generation.patterns:
            self._drop(generation, entry.entry_id, live=live)
        meta = generation.meta(entry)
        plate = entry.plate
        if plate is None:
            pattern = entry.pattern or ""
            generation.patterns[entry.entry_id] = (pattern, meta)
            if live:
                self._patterns.add(generation.config.list_id, entry.entry_id, pattern, meta)
            return
        ascii_plate = plate.encode()
        skeleton = ascii_plate.translate(SKELETON_BYTES)
        self._table.add(skeleton, (entry_id, variant_code(ascii_plate), meta))
        generation.plates[entry_id] = skeleton
        if generation.token in self._fuzzy_tokens and len(plate) >= MIN_FUZZY_LEN:
            self._table.sync_fuzzy(skeleton, self._fuzzy_tokens.__contains__)

    def _drop(self, generation: ListGeneration, entry_id: str, *, live: bool) -> bool:
        skeleton = generation.plates.pop(entry_id.encode(), None)
        if skeleton is None:
            if generation.patterns.pop(entry_id, None) is None:
                return False
            if live:
                self._patterns.remove(generation.config.list_id, entry_id)
            return True
        self._table.remove(skeleton, generation.token, entry_id.encode())
        if self._table.fuzzy_indexed(skeleton):
            self._table.sync_fuzzy(skeleton, self._fuzzy_tokens.__contains__)
        return True

    # --- changes -------------------------------------------------------------------------------

    def apply(self, change: ListChange) -> None:
        """Apply one change from `HotlistBook.apply`."""
        if isinstance(change, ListReplaced):
            self.replace_list(change.config, change.entries, purge=False)
        elif isinstance(change, EntriesChanged):
            self.delete(change.list_id, change.deletes)
            self.upsert(change.list_id, change.upserts)
        elif isinstance(change, ListConfigChanged):
            self.set_config(change.config)
        elif isinstance(change, ListRemoved):
            self.remove_list(change.list_id)

    def set_config(self, config: ListConfig) -> None:
        """Create an empty list or change a list's configuration (its entries stay)."""
        generation = self._lists.get(config.list_id)
        if generation is None:
            self.install(self.begin_replace(config))
            return
        was_fuzzy = generation.config.match is MatchMode.FUZZY
        generation.config = config
        if was_fuzzy == (config.match is MatchMode.FUZZY):
            return
        if was_fuzzy:
            self._fuzzy_tokens.discard(generation.token)
        else:
            self._fuzzy_tokens.add(generation.token)
        for skeleton in set(generation.plates.values()):
            self._table.sync_fuzzy(skeleton, self._fuzzy_tokens.__contains__)

    def upsert(self, list_id: str, entries: Iterable[Entry]) -> int:
        """Add or overwrite entries of a known list (an unknown list is ignored); how many."""
        generation = self._lists.get(list_id)
        if generation is None:
            return 0
        count = 0
        for entry in entries:
            self._put(generation, entry, live=True)
            count += 1
        return count

    def delete(self, list_id: str, entry_ids: Iterable[str]) -> int:
        """Remove entries by id (unknown ones are ignored); how many were removed."""
        generation = self._lists.get(list_id)
        if generation is None:
            return 0
        return sum(self._drop(generation, entry_id, live=True) for entry_id in entry_ids)

    def begin_replace(self, config: ListConfig) -> ListBuilder:
        """Start writing a list's next generation; `install` it when complete (or `discard`).

        Changes of the same list that arrive meanwhile must be applied after `install`.
        """
        return ListBuilder(self, self._new_generation(config))

    def install(self, builder: ListBuilder) -> None:
        """Make a built generation the live one, at once; the previous one is retired."""
        new = builder.generation
        list_id = new.config.list_id
        old = self._lists.get(list_id)
        if old is not None:
            del self._live[old.token]
            for entry_id in old.patterns:
                self._patterns.remove(list_id, entry_id)
        for entry_id, (pattern, meta) in new.patterns.items():
            self._patterns.add(list_id, entry_id, pattern, meta)
        self._lists[list_id] = new
        self._live[new.token] = new
        if old is not None:
            self._retire(old)

    def discard(self, builder: ListBuilder) -> None:
        """Give up a generation that was being built."""
        self._retire(builder.generation)

    def replace_list(
        self, config: ListConfig, entries: Iterable[Entry], *, purge: bool = True
    ) -> None:
        """Replace (or create) a list with exactly these entries, at once for reads.

        With `purge` the previous generation is purged before returning, else as `install` does.
        """
        builder = self.begin_replace(config)
        builder.add(entries)
        self.install(builder)
        if purge:
            self.purge()

    def remove_list(self, list_id: str) -> None:
        generation = self._lists.pop(list_id, None)
        if generation is None:
            return
        del self._live[generation.token]
        for entry_id in generation.patterns:
            self._patterns.remove(list_id, entry_id)
        self._retire(generation)

    def _retire(self, generation: ListGeneration) -> None:
        self._retired.append(generation)
        if len(generation.plates) <= self._purge_at_once:
            self._retired.pop()
            self._purge_generation(generation, None)

    def _purge_generation(self, generation: ListGeneration, budget: int | None) -> int:
        token, table, plates = generation.token, self._table, generation.plates
        is_fuzzy = self._fuzzy_tokens.__contains__
        done = 0
        while plates and (budget is None or done < budget):
            entry_id, skeleton = plates.popitem()
            table.remove(skeleton, token, entry_id)
            if table.fuzzy_indexed(skeleton):
                table.sync_fuzzy(skeleton, is_fuzzy)
            done += 1
        if not plates:
            self._fuzzy_tokens.discard(token)
        return done

    def purge(self, budget: int | None = None) -> int:
        """Purge up to `budget` records of retired generations (all when None); how many remain."""
        while self._retired and (budget is None or budget > 0):
            done = self._purge_generation(self._retired[0], budget)
            if budget is not None:
                budget -= done
            if not self._retired[0].plates:
                self._retired.popleft()
        return self.purge_pending

    # --- matching ------------------------------------------------------------------------------

    def match(self, read: ReadRecord, camera_zones: frozenset[str]) -> list[Match]:
        """Every applicable hit of `read` seen by a camera in `camera_zones`, one per entry."""
        return find_matches(self._table, self._live, self._patterns, read, camera_zones)

    def match_view(self, read: ReadView, camera_zones: frozenset[str]) -> list[Match]:
        """`match` of a read decoded as the matcher's view (`anpr.codecs.readview`)."""
        return find_matches_of(
            self._table,
            self._live,
            self._patterns,
            read.plate_norm,
            read.candidates,
            read.country,
            read.captured_at_ms,
            camera_zones,
        )
