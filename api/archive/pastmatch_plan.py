"""Past-read matching, the pure part: which entries changed, and which archived reads to try.

The archive never decides a hit (the rules of contract section 6 live in `matcher/` only). It
selects *candidates*: reads that may match, by necessary conditions the read store can index.

- `EntryDiff` folds the hotlist changes of each commit and keeps a fingerprint of every live
  entry's matching fields (plate or pattern, country, zones, validity), so it can tell the
  entries a commit added or changed from the ones a replacement merely re-sent.
- `plan_candidates` turns a job's entries into skeleton keys and pattern scans:
  - `exact` and `ocr` need the read's skeleton to equal the entry's: one key per entry, looked
    up on the archive's `plate_skeleton` index;
  - `fuzzy` (skeletons at Levenshtein distance 1, both at least 5 long) adds every skeleton at
    distance 1 over the skeleton alphabet: at most 28(2L + 1) + L keys for an entry of length L
    (435 for 7 characters), still on the index;
  - a `pattern` entry becomes a `LIKE` over `plate_norm` (`?` -> `_`, `*` -> `%`), a scan of
    the window: at most `max_patterns` pattern entries per job are scanned, the rest are left
    out and the job says `truncated`;
  - a `fuzzy` entry with letters of another script (kept by normalization, amended section 6)
    can be misread as any letter of that script, which no list of keys holds: its substitutions
    and insertions are also found by `LIKE`s over `plate_skeleton` with one `_` where the edit
    is, a scan of the window counted with the pattern entries.
Candidate readings of a read (`candidates`) are not indexed by the archive, so past matching
finds matches on the read's own plate only (docs/matching.md).
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

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
from anpr.normalize import skeleton

# Both the read and the entry need this many characters for a fuzzy match (contract section 6).
FUZZY_MIN_LEN = 5
# Every character a skeleton of a Latin plate can hold: OCR look-alikes folded to their class.
SKELETON_ALPHABET = "".join(sorted({skeleton(ch) for ch in string.ascii_uppercase + string.digits}))


def fingerprint(entry: Entry) -> int:
    """A hash of what decides whether an entry matches a read (not reason, action, priority)."""
    return hash(
        (
            entry.plate,
            entry.pattern,
            entry.country,
            entry.zones,
            entry.valid_from_ms,
            entry.valid_until_ms,
        )
    )


@dataclass(slots=True)
class Committed:
    """The entries a commit added or changed (`config` as committed)."""

    config: ListConfig
    entries: list[Entry] = field(default_factory=list)


class EntryDiff:
    """Folds hotlist changes; `apply` gives the new or changed entries of each list touched."""

    def __init__(self) -> None:
        self._prints: dict[str, dict[str, int]] = {}
        self.configs: dict[str, ListConfig] = {}

    def __len__(self) -> int:
        return sum(len(p) for p in self._prints.values())

    def apply(self, changes: Iterable[ListChange]) -> list[Committed]:
        """The changes of one record, in order; one `Committed` per list with new entries."""
        out: dict[str, Committed] = {}
        for change in changes:
            if isinstance(change, ListReplaced):
                config = change.config
                self.configs[config.list_id] = config
                before = self._prints.get(config.list_id, {})
                after: dict[str, int] = {e.entry_id: fingerprint(e) for e in change.entries}
                self._prints[config.list_id] = after
                fresh = [e for e in change.entries if before.get(e.entry_id) != after[e.entry_id]]
                if fresh:
                    out[config.list_id] = Committed(config, fresh)
            elif isinstance(change, ListConfigChanged):
                self.configs[change.config.list_id] = change.config
            elif isinstance(change, EntriesChanged):
                prints = self._prints.setdefault(change.list_id, {})
                for entry_id in change.deletes:
                    prints.pop(entry_id, None)
                current = self.configs.get(change.list_id)
                for entry in change.upserts:
                    value = fingerprint(entry)
                    if prints.get(entry.entry_id) == value:
                        continue
                    prints[entry.entry_id] = value
                    if current is not None:
                        committed = out.setdefault(change.list_id, Committed(current))
                        committed.config = current
                        committed.entries.append(entry)
            elif isinstance(change, ListRemoved):
                self._prints.pop(change.list_id, None)
                self.configs.pop(change.list_id, None)
                out.pop(change.list_id, None)
        return list(out.values())


def fuzzy_skeletons(skel: str) -> set[str]:
    """Every skeleton at Levenshtein distance exactly 1 from `skel` with at least
    `FUZZY_MIN_LEN` characters (substitutions, deletions, insertions over the alphabet)."""
    out: set[str] = set()
    for i in range(len(skel) + 1):
        head, tail = skel[:i], skel[i:]
        for ch in SKELETON_ALPHABET:
            out.add(head + ch + tail)  # insertion
            if tail and ch != tail[0]:
                out.add(head + ch + tail[1:])  # substitution
        if tail:
            out.add(head + tail[1:])  # deletion
    out.discard(skel)
    return {s for s in out if len(s) >= FUZZY_MIN_LEN}


def like_of(pattern: str) -> str:
    """A normalized pattern as SQL LIKE (letters and digits only besides the wildcards)."""
    return pattern.replace("?", "_").replace("*", "%")


@dataclass(slots=True)
class CandidatePlan:
    """What to ask the read store for, and which entries each answer is tried against."""

    by_skeleton: dict[str, set[str]] = field(default_factory=dict)
    patterns: dict[str, str] = field(default_factory=dict)  # entry_id -> LIKE
    # Fuzzy entries of other scripts, entry_id -> skeleton (scanned by `skeleton_likes`).
    fuzzy_scans: dict[str, str] = field(default_factory=dict)
    left_out: int = 0  # pattern and fuzzy-scan entries over the bound

    @property
    def truncated(self) -> bool:
        return self.left_out > 0

    def entries_for(self, read_skeleton: str, *, by_pattern: bool) -> set[str]:
        named = set(self.by_skeleton.get(read_skeleton, ()))
        if by_pattern:
            named.update(self.patterns)
        return named

    def skeleton_likes(self) -> list[str]:
        """`LIKE`s over `plate_skeleton` for the skeletons one substitution or insertion away
        from a fuzzy scan entry's (deletions are keys in `by_skeleton`)."""
        likes: set[str] = set()
        for skel in self.fuzzy_scans.values():
            for i in range(len(skel) + 1):
                likes.add(skel[:i] + "_" + skel[i:])
                if i < len(skel):
                    likes.add(skel[:i] + "_" + skel[i + 1 :])
        return sorted(likes)

    def entries_near(self, read_skeleton: str) -> set[str]:
        """The fuzzy scan entries whose skeleton is at distance 1 from `read_skeleton`."""
        if len(read_skeleton) < FUZZY_MIN_LEN:
            return set()
        return {e for e, s in self.fuzzy_scans.items() if _one_edit(s, read_skeleton)}


def _one_edit(a: str, b: str) -> bool:
    """Whether the Levenshtein distance between a and b is exactly 1."""
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    if abs(len(a) - len(b)) != 1:
        return False
    longer, shorter = (a, b) if len(a) > len(b) else (b, a)
    i = 0
    while i < len(shorter) and longer[i] == shorter[i]:
        i += 1
    return longer[i + 1 :] == shorter[i:]


def plan_candidates(
    mode: MatchMode, entries: Sequence[Entry], *, max_patterns: int
) -> CandidatePlan:
    """Skeleton keys and pattern scans for `entries` of a list matching in `mode`."""
    plan = CandidatePlan()
    for entry in entries:
        if entry.plate is not None:
            skel = skeleton(entry.plate)
            keys = {skel}
            if mode is MatchMode.FUZZY and len(skel) >= FUZZY_MIN_LEN:
                keys |= fuzzy_skeletons(skel)
                if not skel.isascii():
                    if len(plan.patterns) + len(plan.fuzzy_scans) < max_patterns:
                        plan.fuzzy_scans[entry.entry_id] = skel
                    else:
                        plan.left_out += 1
            for key in keys:
                plan.by_skeleton.setdefault(key, set()).add(entry.entry_id)
        elif entry.pattern is not None:
            if len(plan.patterns) + len(plan.fuzzy_scans) < max_patterns:
                plan.patterns[entry.entry_id] = like_of(entry.pattern)
            else:
                plan.left_out += 1
    return plan
