"""What a matcher knows: the hotlists (fold + index) and the cameras' zones and states.

Pure: records in, index updates out. The service feeds it from the compacted topics.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

from anpr.hotlists import EntriesChanged, Entry, HotlistBook, ListChange, ListReplaced, Retain
from anpr.registry import CameraState, RegistryView
from matcher.index import HotlistIndex

NO_ZONES: frozenset[str] = frozenset()
# Entries applied to the index between two hand-backs of the loop: 2,000 took 4-6 ms here
# (50,000 held the loop 125-200 ms per chunk while a 1M-entry list was built).
CHUNK = 2_000


class MatcherState:
    def __init__(self) -> None:
        # The index holds the live entries; the book keeps only what is staged.
        self.book = HotlistBook(retain=Retain.NOTHING)
        self.index = HotlistIndex()
        self.registry = RegistryView()

    def hotlist_changes(self, key: bytes | None, value: bytes | None) -> list[ListChange]:
        """Fold one hotlist record; raises InvalidRecord for a malformed one."""
        return self.book.apply(key, value)

    def apply_change(self, change: ListChange) -> None:
        self.index.apply(change)

    def hotlist_changes_in_steps(
        self, key: bytes | None, value: bytes | None
    ) -> Generator[None, None, list[ListChange]]:
        """`hotlist_changes` a step at a time (`HotlistBook.changes_in_steps`)."""
        return self.book.changes_in_steps(key, value)

    def apply_in_steps(self, change: ListChange) -> Iterator[None]:
        """`apply_change`, handing back every `CHUNK` entries (a few ms of work each).

        A replaced list is built aside and installed at once: reads matched between two steps
        see the old list, never a mix. Entries upserted or deleted go live chunk by chunk, each
        on its own, as they would record by record. Then the entries the change carried are
        dropped chunk by chunk (a million took 120 ms to free at once).
        """
        if isinstance(change, ListReplaced) and len(change.entries) > CHUNK:
            builder = self.index.begin_replace(change.config)
            entries = change.entries
            for start in range(0, len(entries), CHUNK):
                builder.add(entries[start : start + CHUNK])
                yield
            self.index.install(builder)
            yield from _drop(entries)
        elif (
            isinstance(change, EntriesChanged) and len(change.upserts) + len(change.deletes) > CHUNK
        ):
            list_id, deletes, upserts = change.list_id, change.deletes, change.upserts
            for start in range(0, len(deletes), CHUNK):
                self.index.delete(list_id, deletes[start : start + CHUNK])
                yield
            for start in range(0, len(upserts), CHUNK):
                self.index.upsert(list_id, upserts[start : start + CHUNK])
                yield
            yield from _drop(upserts)
        else:
            self.apply_change(change)

    def camera_zones(self, camera_id: str) -> frozenset[str]:
        camera = self.registry.cameras.get(camera_id)
        return camera.zones if camera is not None else NO_ZONES

    def is_commissioning(self, camera_id: str, received_at: int) -> bool:
        """Whether a read the camera sent at `received_at` is a test read: by the camera's
        state when the gateway received it, not when it is matched (a read queued across a
        change of state, or matched again from the archive, keeps the state it came in)."""
        camera = self.registry.cameras.get(camera_id)
        return camera is not None and camera.state_at(received_at) is CameraState.COMMISSIONING


def _drop(items: list[Entry]) -> Iterator[None]:
    """Empties `items` from its end, `CHUNK` at a time (the last references to the entries)."""
    while items:
        del items[-CHUNK:]
        yield
