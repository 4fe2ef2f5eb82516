"""The order of the contestants in each round of a side-by-side benchmark.

Whichever runs second in a round tends to do better on this machine (a warmer broker and page
cache): the matcher's read loop was 4-8 % faster run second than run first against the same
tree (`benchmarks/results/2026-12-01-loop-commits.md`). So the order is reversed every other
round (A B, B A, A B, ...), and a ratio taken over an even number of rounds gives neither side
that advantage.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def in_turn(contestants: Sequence[T], round_index: int) -> list[T]:
    """The contestants in the order they run in round `round_index` (from 0)."""
    ordered = list(contestants)
    return ordered if round_index % 2 == 0 else ordered[::-1]
