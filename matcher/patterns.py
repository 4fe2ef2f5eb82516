"""Pattern entries (`?` = one character, `*` = zero or more, whole-plate match).

Each pattern is filed under its *anchor*, its longest literal fragment (every pattern has at least
three literal characters, so it has one). An Aho-Corasick automaton over the anchors finds, in one
pass over a read plate, the few patterns whose anchor occurs in it; each is then verified with a
compiled regular expression. Patterns are few next to plates, so the automaton (whose values are the
patterns filed under each anchor) is simply rebuilt, lazily at the next match, after a change.
"""

from __future__ import annotations

import re

import ahocorasick

from matcher.rules import Meta

_FRAGMENTS = re.compile(r"[^?*]+")


def anchor_of(pattern: str) -> str:
    """The pattern's longest literal fragment."""
    fragments: list[str] = _FRAGMENTS.findall(pattern)
    return max(fragments, key=len)


class PatternEntry:
    __slots__ = ("anchor", "entry_id", "meta", "pattern", "regex")

    def __init__(self, entry_id: str, pattern: str, meta: Meta) -> None:
        self.entry_id = entry_id
        self.pattern = pattern
        self.meta = meta
        self.anchor = anchor_of(pattern)
        body = "".join("." if ch == "?" else ".*" if ch == "*" else ch for ch in pattern)
        self.regex = re.compile(body, re.ASCII)


class PatternSet:
    """Pattern entries of every list, keyed by (list_id, entry_id)."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], PatternEntry] = {}
        self._by_anchor: dict[str, dict[tuple[str, str], PatternEntry]] = {}
        self._automaton: ahocorasick.Automaton | None = None
        self._stale = False

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, list_id: str, entry_id: str, pattern: str, meta: Meta) -> None:
        key = (list_id, entry_id)
        self.remove(list_id, entry_id)
        entry = PatternEntry(entry_id, pattern, meta)
        self._entries[key] = entry
        self._by_anchor.setdefault(entry.anchor, {})[key] = entry
        self._stale = True

    def remove(self, list_id: str, entry_id: str) -> bool:
        entry = self._entries.pop((list_id, entry_id), None)
        if entry is None:
            return False
        filed = self._by_anchor[entry.anchor]
        del filed[(list_id, entry_id)]
        if not filed:
            del self._by_anchor[entry.anchor]
        self._stale = True
        return True

    def _rebuild(self) -> ahocorasick.Automaton | None:
        self._stale = False
        self._automaton = None
        if self._by_anchor:
            self._automaton = ahocorasick.Automaton()
            for anchor, filed in self._by_anchor.items():
                self._automaton.add_word(anchor, tuple(filed.values()))
            self._automaton.make_automaton()
        return self._automaton

    def matches(self, plate: str) -> list[PatternEntry]:
        """Pattern entries matching the whole of `plate` (one may repeat)."""
        automaton = self._rebuild() if self._stale else self._automaton
        if automaton is None:
            return []
        # A loop, not a comprehension: most reads find no anchor, and a comprehension is a
        # function call of its own (Python 3.11).
        out: list[PatternEntry] = []
        for _, filed in automaton.iter(plate):
            for entry in filed:
                if entry.regex.fullmatch(plate) is not None:
                    out.append(entry)
        return out
