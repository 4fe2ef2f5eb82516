"""A match: one applicable (read, list, entry) pair and how it matched (contract section 6)."""

from __future__ import annotations

from dataclasses import dataclass

from anpr.hits import MatchKind, MatchSource
from anpr.hotlists import ListConfig


@dataclass(frozen=True, slots=True)
class Match:
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
