"""The hotlist model: a list's configuration and its entries (contract sections 4 and 6).

`EntrySpec` is an entry as a user uploads it; `Entry` is the same entry once it belongs to a list
at a version, as it travels on `anpr.hotlists.v1`. Both are frozen and slotted: a matcher may hold
millions of them in staging while a list is being replaced.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from anpr.reads import MAX_PLATE_LEN

PRIORITY_MIN = 1
PRIORITY_MAX = 5
# A pattern needs this many literal (non-wildcard) characters after normalization.
MIN_PATTERN_LITERALS = 3
# Free-text fields (reason, action, list name, category) are bounded so one entry stays small.
MAX_TEXT_LEN = 1024
MAX_ZONE_LEN = 128
MAX_ZONES = 64
WILDCARDS = "?*"
# Hits of one vehicle on one entry within this many seconds form one alert (0: every hit alerts).
GROUP_WINDOW_DEFAULT_S = 600
GROUP_WINDOW_MAX_S = 7 * 24 * 3600
# The longest past-match window a list may ask for (a month of archived reads).
PAST_MATCH_HOURS_MAX = 24 * 31

__all__ = [
    "GROUP_WINDOW_DEFAULT_S",
    "GROUP_WINDOW_MAX_S",
    "MAX_PLATE_LEN",
    "MAX_TEXT_LEN",
    "MAX_ZONES",
    "MAX_ZONE_LEN",
    "MIN_PATTERN_LITERALS",
    "PAST_MATCH_HOURS_MAX",
    "PRIORITY_MAX",
    "PRIORITY_MIN",
    "WILDCARDS",
    "Entry",
    "EntrySpec",
    "ListConfig",
    "MatchMode",
    "pattern_literals",
]


class MatchMode(StrEnum):
    """How far a list's plate entries reach: each mode includes the ones before it."""

    EXACT = "exact"
    OCR = "ocr"
    FUZZY = "fuzzy"


@dataclass(frozen=True, slots=True, kw_only=True)
class ListConfig:
    """A hotlist's configuration at a committed `version`.

    `epoch` is the version of the list's last full replacement: the live entries are exactly those
    whose version v satisfies `epoch <= v <= version`. `group_window_s` is how long hits of one
    vehicle on one entry keep joining the same alert in the API (0: every hit is an alert).
    """

    list_id: str
    name: str
    category: str
    priority: int
    match: MatchMode
    covert: bool
    version: int
    epoch: int
    updated_at_ms: int
    group_window_s: int = GROUP_WINDOW_DEFAULT_S
    # Hours of archived reads that new entries are matched against (None: ANPR_PAST_MATCH_HOURS).
    past_match_hours: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EntrySpec:
    """One hotlist entry as uploaded: exactly one of `plate` or `pattern`, both normalized.

    `zones` is sorted and empty for "everywhere"; `None` bounds and priority mean "not set".
    """

    entry_id: str
    plate: str | None = None
    pattern: str | None = None
    country: str | None = None
    zones: tuple[str, ...] = ()
    valid_from_ms: int | None = None
    valid_until_ms: int | None = None
    reason: str | None = None
    action: str | None = None
    priority: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry(EntrySpec):
    """An entry of list `list_id` written at list version `version`."""

    list_id: str
    version: int


def pattern_literals(pattern: str) -> int:
    """Number of literal characters in a normalized pattern."""
    return len(pattern) - pattern.count("?") - pattern.count("*")
