"""A camera's commissioning evidence in one-hour slots over the last 24 hours, in one flat array.

Camera health looks at the last hour (`window.MinuteBuckets`); commissioning needs a longer look
(a quiet camera takes hours to send 100 reads) and a little more detail: confidence and
heartbeat-gap histograms, rejections by reason, reads carrying images and reads carrying the
camera's own `read_id`. Each
camera costs a fixed ~6 KB; adding evidence is O(1) and a window sum touches at most 24 slots.
Pure.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum

from api.health.histogram import (
    CONFIDENCE_BOUNDS,
    GAP_BOUNDS_S,
    Histogram,
    confidence_bin,
    gap_bin,
)

HOUR_MS = 3_600_000
SLOTS = 24
# One event never adds more than this (a malformed count must not overflow the array).
MAX_ADD = 1 << 31
# Rejection reasons are the gateway's bounded set (the root of the field in error); anything
# else, and any reason past the first few of an hour, is counted as `other`.
MAX_REASONS = 24
_REASON = re.compile(r"^[a-z_]{1,32}$")


class Tally(IntEnum):
    READS = 1
    REJECTED = 2
    DUPLICATES = 3
    WITH_CONFIDENCE = 4
    WITH_IMAGES = 5
    OWN_READ_ID = 6
    HEARTBEATS = 7


_CONF_BASE = len(Tally) + 1  # slot layout: [hour, tallies..., confidence bins..., gap bins...]
_CONF_BINS = len(CONFIDENCE_BOUNDS) - 1
_GAP_BASE = _CONF_BASE + _CONF_BINS
_GAP_BINS = len(GAP_BOUNDS_S) - 1
_WIDTH = _GAP_BASE + _GAP_BINS


@dataclass(frozen=True, slots=True)
class LedgerTotals:
    """The evidence of the hours asked for; `first_at` is the earliest evidence ever added."""

    first_at: int | None
    reads: int
    rejected: int
    duplicates: int
    with_confidence: int
    with_images: int
    own_read_ids: int
    heartbeats: int
    confidence: Histogram
    heartbeat_gaps: Histogram
    rejected_by_reason: Mapping[str, int] = field(default_factory=dict)


class HourlyLedger:
    __slots__ = ("_data", "_reasons", "first_at")

    def __init__(self) -> None:
        self._data = array("q", ([-1] + [0] * (_WIDTH - 1)) * SLOTS)
        # Rejections by reason per slot, made when a slot first sees a rejection.
        self._reasons: list[dict[str, int] | None] = [None] * SLOTS
        self.first_at: int | None = None

    def _slot(self, at_ms: int, now_ms: int) -> int | None:
        """The base index of the slot of `at_ms`; None when older than 24 h or after `now_ms`
        (so a late event can never recycle the slot of a newer hour)."""
        hour = at_ms // HOUR_MS
        current = now_ms // HOUR_MS
        if not current - SLOTS < hour <= current or at_ms > now_ms:
            return None
        base = (hour % SLOTS) * _WIDTH
        data = self._data
        if data[base] != hour:
            data[base] = hour
            for i in range(1, _WIDTH):
                data[base + i] = 0
            self._reasons[hour % SLOTS] = None
        if self.first_at is None or at_ms < self.first_at:
            self.first_at = at_ms
        return base

    def add(self, at_ms: int, tally: Tally, now_ms: int, n: int = 1) -> None:
        base = self._slot(at_ms, now_ms) if n > 0 else None
        if base is not None:
            self._data[base + tally] += min(n, MAX_ADD)

    def add_rejected(
        self, at_ms: int, now_ms: int, *, count: int, by_reason: Mapping[str, object]
    ) -> None:
        """`count` rejected reads; `by_reason` says why (the gateway's reason labels)."""
        base = self._slot(at_ms, now_ms) if count > 0 else None
        if base is None:
            return
        self._data[base + Tally.REJECTED] += min(count, MAX_ADD)
        slot = at_ms // HOUR_MS % SLOTS
        reasons = self._reasons[slot]
        if reasons is None:
            reasons = self._reasons[slot] = {}
        for reason, n in by_reason.items():
            if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
                continue
            known = _REASON.match(reason) and (reason in reasons or len(reasons) < MAX_REASONS)
            key = reason if known else "other"
            reasons[key] = reasons.get(key, 0) + min(n, MAX_ADD)

    def add_read(
        self,
        at_ms: int,
        now_ms: int,
        *,
        confidence: float | None,
        has_images: bool,
        own_read_id: bool,
    ) -> None:
        base = self._slot(at_ms, now_ms)
        if base is None:
            return
        data = self._data
        data[base + Tally.READS] += 1
        if confidence is not None:
            data[base + Tally.WITH_CONFIDENCE] += 1
            data[base + _CONF_BASE + confidence_bin(confidence)] += 1
        if has_images:
            data[base + Tally.WITH_IMAGES] += 1
        if own_read_id:
            data[base + Tally.OWN_READ_ID] += 1

    def add_reads(
        self,
        at_ms: int,
        now_ms: int,
        *,
        reads: int,
        first_at_ms: int,
        confidence_bins: Sequence[int],
        with_images: int,
        own_read_ids: int,
    ) -> None:
        """A gateway's aggregate of reads from `first_at_ms` to `at_ms`, all in one hour
        (`ingest.camerastats`): confidence in tenths."""
        base = self._slot(at_ms, now_ms) if reads > 0 else None
        if base is None:
            return
        if first_at_ms < at_ms and self.first_at is not None and first_at_ms < self.first_at:
            self.first_at = first_at_ms
        data = self._data
        data[base + Tally.READS] += min(reads, MAX_ADD)
        data[base + Tally.WITH_CONFIDENCE] += min(sum(confidence_bins), MAX_ADD)
        for i, n in enumerate(confidence_bins[:_CONF_BINS]):
            data[base + _CONF_BASE + i] += min(n, MAX_ADD)
        data[base + Tally.WITH_IMAGES] += min(with_images, MAX_ADD)
        data[base + Tally.OWN_READ_ID] += min(own_read_ids, MAX_ADD)

    def add_heartbeat(self, at_ms: int, now_ms: int, *, gap_ms: int | None) -> None:
        """A heartbeat and, when the one before it is known, the gap since that one."""
        base = self._slot(at_ms, now_ms)
        if base is None:
            return
        self._data[base + Tally.HEARTBEATS] += 1
        if gap_ms is not None and gap_ms > 0:
            self._data[base + _GAP_BASE + gap_bin(gap_ms / 1000)] += 1

    def totals(self, now_ms: int, hours: int) -> LedgerTotals:
        """Sums over the current hour and the `hours - 1` before it."""
        current = now_ms // HOUR_MS
        data = self._data
        sums = [0] * _WIDTH
        reasons: dict[str, int] = {}
        for hour in range(current - min(max(hours, 1), SLOTS) + 1, current + 1):
            base = (hour % SLOTS) * _WIDTH
            if data[base] == hour:
                for i in range(1, _WIDTH):
                    sums[i] += data[base + i]
                for reason, n in (self._reasons[hour % SLOTS] or {}).items():
                    reasons[reason] = reasons.get(reason, 0) + n
        return LedgerTotals(
            first_at=self.first_at,
            reads=sums[Tally.READS],
            rejected=sums[Tally.REJECTED],
            duplicates=sums[Tally.DUPLICATES],
            with_confidence=sums[Tally.WITH_CONFIDENCE],
            with_images=sums[Tally.WITH_IMAGES],
            own_read_ids=sums[Tally.OWN_READ_ID],
            heartbeats=sums[Tally.HEARTBEATS],
            confidence=Histogram(CONFIDENCE_BOUNDS, tuple(sums[_CONF_BASE:_GAP_BASE])),
            heartbeat_gaps=Histogram(GAP_BOUNDS_S, tuple(sums[_GAP_BASE:_WIDTH])),
            rejected_by_reason=dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
        )
