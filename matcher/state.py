"""What a matcher knows: the hotlists (fold + index) and the cameras' zones and states.

Pure: records in, index updates out. The service feeds it from the compacted topics.
"""

from __future__ import annotations

from collections.abc import Iterator

from anpr.hotlists import HotlistBook, ListChange, ListReplaced, Retain
from anpr.registry import CameraState, RegistryView
from matcher.index import HotlistIndex, ListBuilder

NO_ZONES: frozenset[str] = frozenset()
REPLACE_CHUNK = 50_000


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

    def build_replacement(self, change: ListReplaced) -> Iterator[ListBuilder]:
        """Build a replaced list aside in chunks; yields between chunks, then installs it.

        Reads matched between two chunks still see the old list, never a mix.
        """
        builder = self.index.begin_replace(change.config)
        entries = change.entries
        for start in range(0, len(entries), REPLACE_CHUNK):
            builder.add(entries[start : start + REPLACE_CHUNK])
            yield builder
        self.index.install(builder)

    def camera_zones(self, camera_id: str) -> frozenset[str]:
        camera = self.registry.cameras.get(camera_id)
        return camera.zones if camera is not None else NO_ZONES

    def is_commissioning(self, camera_id: str) -> bool:
        camera = self.registry.cameras.get(camera_id)
        return camera is not None and camera.state is CameraState.COMMISSIONING
