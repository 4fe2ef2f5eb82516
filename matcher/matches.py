"""A match: one applicable (read, list, entry) pair and how it matched (contract section 6).

A NamedTuple rather than a frozen dataclass: one is built per hit on the hot path, and a tuple is
built several times faster.
"""

from __future__ import annotations

from typing import NamedTuple

from anpr.hits import MatchKind, MatchSource
from anpr.hotlists import ListConfig


class Match(NamedTuple):
    """`entry_plate` is the entry's pattern for a pattern match; `priority` is the effective one."""

    config: ListConfig
    entry_id: str
    kind: MatchKind
    source: MatchSource
    read_plate: str
    entry_plate: str
    distance: int
    reason: str | None
    action: str | None
    priority: int

    @property
    def list_id(self) -> str:
        return self.config.list_id
