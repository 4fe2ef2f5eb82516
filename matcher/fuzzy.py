"""Levenshtein distance one between skeletons, found through deletion neighbourhoods.

Two strings are at edit distance at most one only if they share a member of their deletion
neighbourhoods (the string itself and every string with one character removed). The index stores
the single-character deletions of each fuzzy entry's skeleton; a read looks up its own skeleton and
its deletions, and every candidate found that way is verified with `is_distance_one`.
"""

from __future__ import annotations

from typing import AnyStr

# Both the read and the entry need at least this many characters for a fuzzy match.
MIN_FUZZY_LEN = 5


def deletions(text: AnyStr) -> list[AnyStr]:
    """Every string obtained by removing one character (repeats included)."""
    return [text[:i] + text[i + 1 :] for i in range(len(text))]


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
