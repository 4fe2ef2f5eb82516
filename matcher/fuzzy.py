"""Levenshtein distance one between skeletons, found through segment keys.

A read skeleton of L characters is cut into four segments of near-equal length. An edit of
distance one (a substitution, an insertion or a deletion) falls within one segment, counting an
edit at a boundary as in both; the read's other segments are then unchanged in the entry, the
ones before the edit at the same distance from the start and the ones after it at the same
distance from the end. So every entry at distance at most one agrees with the read on at least
one of four keys, key i being the read without its segment i (what precedes the segment and what
follows it), the entry's keys being taken with the cuts of the read's length. This is the
partition principle of Pass-Join (Li et al., VLDB 2011) with "all segments but one" as keys,
which keeps each key three quarters of the plate long: with three segments the middle key of a
7-character plate is its first two and last two characters, shared by half of all plates of a
20,000-entry fuzzy list in `make bench`'s mix; with four, a read finds a candidate in one case
in five and 0.24 candidates on average.

An entry of n characters is filed under its keys for reads of n - 1, n and n + 1 characters, so a
read costs four dictionary lookups, whatever its length, and every candidate found is verified
with `is_distance_one`. Keys and distances count characters: a skeleton of another script is
cut as text, not as UTF-8 bytes.
"""

from __future__ import annotations

from typing import AnyStr

# Both the read and the entry need at least this many characters for a fuzzy match.
MIN_FUZZY_LEN = 5


def cuts(length: int) -> tuple[int, int, int]:
    """Where a read of `length` characters is cut into its four segments."""
    return (length + 2) // 4, (2 * length + 2) // 4, (3 * length + 2) // 4


def segment_keys(text: AnyStr, length: int) -> tuple[AnyStr, AnyStr, AnyStr, AnyStr]:
    """The keys of `text` for reads of `length` characters (within one of its own length).

    Key i is the text without the read's segment i: what comes before that segment aligned to
    the start, what comes after it aligned to the end.
    """
    a, b, c = cuts(length)
    shift = len(text) - length
    return text[a + shift :], text[:a] + text[b + shift :], text[:b] + text[c + shift :], text[:c]


def fuzzy_length(skeleton: bytes) -> int:
    """The number of characters of a skeleton (not of its UTF-8 bytes)."""
    return len(skeleton) if skeleton.isascii() else len(skeleton.decode())


def skeleton_keys(skeleton: bytes, length: int) -> tuple[bytes, ...]:
    """`segment_keys` of a skeleton, cut by characters, as bytes."""
    if skeleton.isascii():
        return segment_keys(skeleton, length)
    return tuple(key.encode() for key in segment_keys(skeleton.decode(), length))


def skeletons_at_distance_one(a: bytes, b: bytes) -> bool:
    """`is_distance_one` of two skeletons, counted in characters."""
    if a.isascii() and b.isascii():
        return is_distance_one(a, b)
    return is_distance_one(a.decode(), b.decode())


def is_distance_one(a: AnyStr, b: AnyStr) -> bool:
    """True when the Levenshtein distance between a and b is exactly 1."""
    la, lb = len(a), len(b)
    if la == lb:
        differs = 0
        for x, y in zip(a, b, strict=True):
            if x != y:
                differs += 1
                if differs > 1:
                    return False
        return differs == 1
    if la == lb + 1:
        longer, shorter = a, b
    elif lb == la + 1:
        longer, shorter = b, a
    else:
        return False
    i = 0
    n = len(shorter)
    while i < n and longer[i] == shorter[i]:
        i += 1
    return longer[i + 1 :] == shorter[i:]
