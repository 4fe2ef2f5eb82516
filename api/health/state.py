"""The health of one camera: evidence in, a status out, through written-down transitions. Pure.

Statuses and what moves a camera between them (every threshold is in `Thresholds`):

- `never_seen`: no read and no heartbeat since the camera was registered.
- `offline`: no read and no heartbeat for `offline_after` = max(15 min, 3 x the expected gap
  between reads, where the gap is 1 h / `expected_reads_per_hour`).
- `degraded`: alive, but at least one of:
  - heartbeats without reads for max(5 min, 3 x the expected gap) (5 min of grace after the
    camera is first seen);
  - `reads_last_1h` below 25 % of `expected_reads_per_hour` (only once the camera has been
    observed by this replica for a full hour, and only when the registered rate is at least
    8 an hour: below that, an hour without reads is ordinary chance);
  - |`clock_skew_ms`| over 5 s, with at least 5 recent reads (median of received_at -
    captured_at over the last 64 reads of the last hour: transport delay is included);
  - `low_confidence_ratio` over 0.3, with at least 10 reads carrying a confidence in the last
    hour (a read is low-confidence below 0.5);
  - rejected reads over 20 % of (accepted + rejected) in the last hour, with at least 10.
- `online`: alive and none of the above.

`duplicate_ratio` (resends / (accepted + resends), last hour) is reported but never degrades a
camera: resending after a network outage is correct behaviour.

Each monitor also keeps a camera's commissioning evidence over the last 24 hours
(`ledger.HourlyLedger`), read by `api.commissioning`; it never affects the status. A move from
`live` back to `commissioning` starts that evidence again (`restart_commissioning`).

Allowed transitions: `never_seen` -> any other status; `online`, `degraded` and `offline` move
freely among themselves; nothing returns to `never_seen` (a deleted and re-registered camera
starts over with a new machine).
"""

from __future__ import annotations

import statistics
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from anpr.errors import IllegalTransition
from api.health.ledger import HourlyLedger, Tally
from api.health.window import Counter, MinuteBuckets

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
MAX_SCALED_MS = 30 * 24 * HOUR_MS  # a camera silent for a month is silent whatever its rate


class CameraStatus(StrEnum):
    NEVER_SEEN = "never_seen"
    ONLINE = "online"
    DEGRADED = "degraded"
    OFFLINE = "offline"


TRANSITIONS: Mapping[CameraStatus, frozenset[CameraStatus]] = {
    CameraStatus.NEVER_SEEN: frozenset(
        {CameraStatus.ONLINE, CameraStatus.DEGRADED, CameraStatus.OFFLINE}
    ),
    CameraStatus.ONLINE: frozenset({CameraStatus.DEGRADED, CameraStatus.OFFLINE}),
    CameraStatus.DEGRADED: frozenset({CameraStatus.ONLINE, CameraStatus.OFFLINE}),
    CameraStatus.OFFLINE: frozenset({CameraStatus.ONLINE, CameraStatus.DEGRADED}),
}


def advance(current: CameraStatus, target: CameraStatus) -> CameraStatus:
    """`target` when the move is allowed (staying put is not a move); `IllegalTransition` when
    it is not, for instance back to `never_seen`: `_classify` never asks for that once a camera
    has been seen, so such a request is a bug and is raised, not ignored."""
    if target is current or target in TRANSITIONS[current]:
        return target
    raise IllegalTransition("camera status", current.value, target.value)


@dataclass(frozen=True, slots=True)
class Thresholds:
    offline_after_ms: int = 15 * MINUTE_MS
    gap_factor: float = 3.0
    no_reads_after_ms: int = 5 * MINUTE_MS
    low_rate_fraction: float = 0.25
    min_rate_for_low_rate: float = 8.0
    max_clock_skew_ms: int = 5_000
    min_skew_samples: int = 5
    skew_samples: int = 64
    low_confidence: float = 0.5
    max_low_confidence_ratio: float = 0.3
    max_rejected_share: float = 0.2
    min_ratio_samples: int = 10

    def scaled(self, base_ms: int, expected_reads_per_hour: float | None) -> int:
        """`base_ms`, or `gap_factor` expected gaps between reads when that is longer."""
        if not expected_reads_per_hour:
            return base_ms
        # Capped: a rate of 1e-303 (accepted before 2026-12-02) made the float infinite and
        # int() raise, a 500 on every camera listing and on /metrics.
        gap_ms = min(self.gap_factor * HOUR_MS / expected_reads_per_hour, MAX_SCALED_MS)
        return max(base_ms, int(gap_ms))


DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True, slots=True)
class HealthReport:
    status: CameraStatus
    status_since: int | None
    reasons: tuple[str, ...]
    last_read_at: int | None
    last_heartbeat_at: int | None
    reads_last_5m: int
    reads_last_1h: int
    clock_skew_ms: int | None
    low_confidence_ratio: float | None
    rejected_last_1h: int
    duplicate_ratio: float | None


@dataclass(frozen=True, slots=True)
class ReadAggregate:
    """A gateway's counts of one camera's accepted reads in one minute (see the gateway-events
    record, `anpr.codecs.records.GatewayEventRecord`)."""

    reads: int
    first_at: int
    last_at: int
    with_confidence: int = 0
    low_confidence: int = 0
    confidence_bins: Sequence[int] = ()
    with_images: int = 0
    own_read_ids: int = 0
    skews: Sequence[int] = ()


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


class CameraMonitor:
    """The evidence about one camera and its current status. Times are epoch ms."""

    __slots__ = (
        "_buckets",
        "_skews",
        "expected_reads_per_hour",
        "first_seen",
        "last_heartbeat_at",
        "last_read_at",
        "ledger",
        "observed_since",
        "status",
        "status_since",
        "thresholds",
    )

    def __init__(
        self,
        *,
        observed_since: int,
        expected_reads_per_hour: float | None = None,
        thresholds: Thresholds = DEFAULT_THRESHOLDS,
    ) -> None:
        self.thresholds = thresholds
        self.expected_reads_per_hour = expected_reads_per_hour
        self.observed_since = observed_since
        self.first_seen: int | None = None
        self.last_read_at: int | None = None
        self.last_heartbeat_at: int | None = None
        self.status = CameraStatus.NEVER_SEEN
        self.status_since: int | None = None
        self._buckets = MinuteBuckets()
        self._skews: deque[tuple[int, int]] = deque(maxlen=thresholds.skew_samples)
        self.ledger = HourlyLedger()

    def _seen(self, at: int) -> None:
        if self.first_seen is None or at < self.first_seen:
            self.first_seen = at

    def observe_read(
        self,
        *,
        received_at: int,
        captured_at: int | None,
        confidence: float | None,
        now: int,
        has_images: bool = False,
        own_read_id: bool = False,
    ) -> None:
        self._seen(received_at)
        self.ledger.add_read(
            received_at, now, confidence=confidence, has_images=has_images, own_read_id=own_read_id
        )
        if self.last_read_at is None or received_at > self.last_read_at:
            self.last_read_at = received_at
        self._buckets.add(received_at, Counter.READS, now)
        if confidence is not None:
            self._buckets.add(received_at, Counter.WITH_CONFIDENCE, now)
            if confidence < self.thresholds.low_confidence:
                self._buckets.add(received_at, Counter.LOW_CONFIDENCE, now)
        if captured_at is not None:
            self._skews.append((received_at, received_at - captured_at))

    def observe_reads(self, agg: ReadAggregate, now: int) -> None:
        """A gateway's aggregate of this camera's reads, all in the minute of `agg.last_at`."""
        if agg.reads <= 0:
            return
        self._seen(agg.first_at)
        at = agg.last_at
        self.ledger.add_reads(
            at,
            now,
            reads=agg.reads,
            first_at_ms=agg.first_at,
            confidence_bins=agg.confidence_bins,
            with_images=agg.with_images,
            own_read_ids=agg.own_read_ids,
        )
        if self.last_read_at is None or at > self.last_read_at:
            self.last_read_at = at
        buckets = self._buckets
        buckets.add(at, Counter.READS, now, agg.reads)
        if agg.with_confidence > 0:
            buckets.add(at, Counter.WITH_CONFIDENCE, now, agg.with_confidence)
        if agg.low_confidence > 0:
            buckets.add(at, Counter.LOW_CONFIDENCE, now, agg.low_confidence)
        self._skews.extend((at, skew) for skew in agg.skews)

    def observe_heartbeat(self, *, received_at: int, now: int | None = None) -> None:
        """`now` defaults to `received_at`. The gap since the previous heartbeat is evidence
        only when that one was seen by this replica (not remembered from an earlier run)."""
        self._seen(received_at)
        previous = self.last_heartbeat_at
        gap = None
        if previous is not None and previous >= self.observed_since:
            gap = received_at - previous
        self.ledger.add_heartbeat(received_at, received_at if now is None else now, gap_ms=gap)
        if previous is None or received_at > previous:
            self.last_heartbeat_at = received_at

    def observe_gateway(
        self,
        *,
        at: int,
        rejected: int,
        duplicates: int,
        now: int,
        rejected_by_reason: Mapping[str, object] | None = None,
    ) -> None:
        if rejected:
            self._buckets.add(at, Counter.REJECTED, now, rejected)
            self.ledger.add_rejected(at, now, count=rejected, by_reason=rejected_by_reason or {})
        if duplicates:
            self._buckets.add(at, Counter.DUPLICATES, now, duplicates)
            self.ledger.add(at, Tally.DUPLICATES, now, duplicates)

    def restore(
        self, *, first_seen: int, last_read_at: int | None, last_heartbeat_at: int | None
    ) -> None:
        """What a previous run remembered (reads and heartbeats newer than that still win)."""
        self._seen(first_seen)
        if last_read_at is not None and (self.last_read_at or 0) < last_read_at:
            self.last_read_at = last_read_at
        if last_heartbeat_at is not None and (self.last_heartbeat_at or 0) < last_heartbeat_at:
            self.last_heartbeat_at = last_heartbeat_at

    def restart_commissioning(self) -> None:
        """The camera was put back in commissioning (a replaced device, say): its evidence and
        its clock-skew samples start again, so the old device's cannot pass the new one."""
        self.ledger = HourlyLedger()
        self._skews.clear()

    def clock_skew(self, now: int) -> tuple[int | None, int]:
        """The median of received_at - captured_at over the recent reads, and how many."""
        recent = [skew for at, skew in self._skews if now - at <= HOUR_MS]
        if not recent:
            return None, 0
        return int(statistics.median(recent)), len(recent)

    def evaluate(self, now: int) -> HealthReport:
        """The report at `now`; moves `status` when the evidence calls for an allowed move."""
        hour = self._buckets.totals(now, 60)
        reads_1h = hour[Counter.READS]
        with_conf = hour[Counter.WITH_CONFIDENCE]
        low_conf = hour[Counter.LOW_CONFIDENCE]
        rejected = hour[Counter.REJECTED]
        duplicates = hour[Counter.DUPLICATES]
        skew, skew_n = self.clock_skew(now)
        low_ratio = _ratio(low_conf, with_conf)
        target, reasons = self._classify(
            now, reads_1h, skew, skew_n, with_conf, low_ratio, rejected
        )
        moved = advance(self.status, target)
        if moved is not self.status:
            self.status = moved
            self.status_since = now
        return HealthReport(
            status=self.status,
            status_since=self.status_since,
            reasons=reasons if self.status is target else (),
            last_read_at=self.last_read_at,
            last_heartbeat_at=self.last_heartbeat_at,
            reads_last_5m=self._buckets.total(now, 5, Counter.READS),
            reads_last_1h=reads_1h,
            clock_skew_ms=skew,
            low_confidence_ratio=low_ratio,
            rejected_last_1h=rejected,
            duplicate_ratio=_ratio(duplicates, reads_1h + duplicates),
        )

    def _classify(
        self,
        now: int,
        reads_1h: int,
        skew: int | None,
        skew_n: int,
        with_conf: int,
        low_ratio: float | None,
        rejected: int,
    ) -> tuple[CameraStatus, tuple[str, ...]]:
        t = self.thresholds
        rate = self.expected_reads_per_hour
        activity = max(self.last_read_at or 0, self.last_heartbeat_at or 0)
        if self.first_seen is None or not activity:
            return CameraStatus.NEVER_SEEN, ()
        offline_after = t.scaled(t.offline_after_ms, rate)
        if now - activity > offline_after:
            return CameraStatus.OFFLINE, (f"no read or heartbeat for {offline_after // 1000} s",)
        reasons: list[str] = []
        no_reads_after = t.scaled(t.no_reads_after_ms, rate)
        if now - (self.last_read_at or self.first_seen) > no_reads_after:
            reasons.append(f"heartbeats but no reads for {no_reads_after // 1000} s")
        watched = now - max(self.first_seen, self.observed_since)
        if (
            rate
            and rate >= t.min_rate_for_low_rate
            and watched >= HOUR_MS
            and reads_1h < t.low_rate_fraction * rate
        ):
            reasons.append(f"{reads_1h} reads in the last hour, expected about {rate:g}")
        if skew is not None and skew_n >= t.min_skew_samples and abs(skew) > t.max_clock_skew_ms:
            reasons.append(f"clock skew {skew} ms")
        if (
            low_ratio is not None
            and with_conf >= t.min_ratio_samples
            and low_ratio > t.max_low_confidence_ratio
        ):
            reasons.append(f"{low_ratio:.0%} of reads below confidence {t.low_confidence}")
        attempts = reads_1h + rejected
        if attempts >= t.min_ratio_samples and rejected / attempts > t.max_rejected_share:
            reasons.append(f"{rejected} of {attempts} reads rejected in the last hour")
        return (CameraStatus.DEGRADED if reasons else CameraStatus.ONLINE), tuple(reasons)
