"""The acceptance criteria of the connection standard (`docs/connection-standard.md`): a camera's
evidence in, a report with a verdict out. Pure: no clock, no I/O; every threshold is in
`AcceptanceThresholds` and the document quotes these defaults.

Each criterion is `pass`, `fail`, `insufficient_data` (too few samples or too short a window to
judge: never a pass) or `not_applicable` (images when the deployment does not require them, the
read rate of a camera registered without `expected_reads_per_hour`). The verdict is `fail` when
any criterion fails, else `insufficient_data` when any lacks data (the observation window and the
sample size included), else `pass`. A fault with enough evidence fails early, before the window
is complete; a pass needs the whole window.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from api.commissioning.judging import Kind, gate, judge, share_of
from api.commissioning.model import (
    HOUR_MS,
    CommissioningReport,
    CommissioningStats,
    Criterion,
    Limit,
    Status,
    Verdict,
)


@dataclass(frozen=True, slots=True)
class AcceptanceThresholds:
    min_window_ms: int = HOUR_MS
    min_reads: int = 100
    min_valid_share: float = 0.95
    max_clock_skew_ms: int = 5_000
    min_skew_samples: int = 20
    min_confidence_share: float = 0.9
    min_confidence_samples: int = 50
    min_median_confidence: float = 0.7
    low_confidence: float = 0.5
    max_low_confidence_share: float = 0.2
    images_required: bool = False
    min_image_share: float = 0.95
    # The share of reads on the camera's dominant read_id scheme (its own ids, or none at all).
    min_read_id_consistency: float = 0.99
    rate_tolerance: float = 0.5
    heartbeat_interval_s: int = 60
    max_heartbeat_gap_p95_s: float = 120
    min_heartbeat_coverage: float = 0.75


DEFAULT_THRESHOLDS = AcceptanceThresholds()


Check = Callable[[CommissioningStats, AcceptanceThresholds], Criterion]


def observation_window(s: CommissioningStats, t: AcceptanceThresholds) -> Criterion:
    hours = round(s.window_ms / HOUR_MS, 2)
    limit = Limit(min=t.min_window_ms / HOUR_MS)
    return Kind("observation_window", "Observation window", "h").of(
        gate(hours, limit),
        hours,
        limit,
        samples=s.reads,
        detail=f"observed for {hours:g} h; at least {limit.min:g} h are needed to judge",
    )


def sample_size(s: CommissioningStats, t: AcceptanceThresholds) -> Criterion:
    limit = Limit(min=t.min_reads)
    return Kind("sample_size", "Reads observed", "reads").of(
        gate(s.reads, limit),
        s.reads,
        limit,
        samples=s.reads,
        detail=f"{s.reads} reads accepted; at least {t.min_reads} are needed to judge",
    )


def valid_reads(s: CommissioningStats, t: AcceptanceThresholds) -> Criterion:
    attempts = s.reads + s.rejected
    share = share_of(s.reads, attempts)
    limit = Limit(min=t.min_valid_share)
    return Kind("valid_reads", "Share of valid reads", "share").judged(
        share,
        limit,
        enough=attempts >= t.min_reads,
        samples=attempts,
        detail=f"{s.reads} accepted, {s.rejected} rejected by the gateway; `rejected.<reason>` "
        "names the field at fault",
        evidence={
            "accepted": s.reads,
            "rejected": s.rejected,
            **{f"rejected.{reason}": n for reason, n in s.rejected_by_reason.items()},
        },
    )


def clock_skew(s: CommissioningStats, t: AcceptanceThresholds) -> Criterion:
    skew = abs(s.clock_skew_ms) if s.clock_skew_ms is not None else None
    limit = Limit(max=t.max_clock_skew_ms)
    ahead = s.clock_skew_ms is not None and s.clock_skew_ms < 0
    return Kind("clock_skew", "Clock skew", "ms").judged(
        skew,
        limit,
        enough=s.skew_samples >= t.min_skew_samples,
        samples=s.skew_samples,
        detail="|median of received_at - captured_at| over the latest reads of the last hour, "
        "transport delay included" + ("; the camera's clock is ahead" if ahead else ""),
        evidence={"median_ms": s.clock_skew_ms},
    )


def heartbeat_count(s: CommissioningStats, t: AcceptanceThresholds) -> Criterion:
    expected = s.window_ms / 1000 / t.heartbeat_interval_s
    limit = Limit(min=math.ceil(t.min_heartbeat_coverage * expected))
    return Kind("heartbeat_count", "Heartbeats received", "heartbeats").judged(
        s.heartbeats,
        limit,
        enough=s.window_ms >= t.min_window_ms,
        samples=s.heartbeats,
        detail=f"one every {t.heartbeat_interval_s} s would be {int(expected)} over the window; "
        f"at least {t.min_heartbeat_coverage:.0%} of that is needed",
    )


def heartbeat_gaps(s: CommissioningStats, t: AcceptanceThresholds) -> Criterion:
    gaps = s.heartbeat_gaps.total
    p95 = s.heartbeat_gaps.quantile(0.95)
    median = s.heartbeat_gaps.quantile(0.5)
    measured = round(p95, 1) if p95 is not None else None
    limit = Limit(max=t.max_heartbeat_gap_p95_s)
    enough = s.window_ms >= t.min_window_ms
    status = judge(measured, limit, enough=enough)
    if enough and measured is None:
        status = Status.FAIL  # a whole window without two heartbeats in a row
    return Kind("heartbeat_gaps", "Heartbeat regularity (95th percentile gap)", "s").of(
        status,
        measured,
        limit,
        samples=gaps,
        detail=f"{gaps} gaps between heartbeats; expected about {t.heartbeat_interval_s} s each",
        evidence={"median_gap_s": round(median, 1) if median is not None else None},
    )


def confidence_present(s: CommissioningStats, t: AcceptanceThresholds) -> Criterion:
    share = share_of(s.with_confidence, s.reads)
    limit = Limit(min=t.min_confidence_share)
    return Kind("confidence_present", "Reads with a confidence", "share").judged(
        share,
        limit,
        enough=s.reads >= t.min_reads,
        samples=s.reads,
        detail=f"{s.with_confidence} of {s.reads} reads carry a confidence",
    )


def confidence_median(s: CommissioningStats, t: AcceptanceThresholds) -> Criterion:
    median = s.confidence.quantile(0.5)
    measured = round(median, 3) if median is not None else None
    limit = Limit(min=t.min_median_confidence)
    return Kind("confidence_median", "Median confidence", "confidence").judged(
        measured,
        limit,
        enough=s.with_confidence >= t.min_confidence_samples,
        samples=s.with_confidence,
        detail="of the reads carrying a confidence (a histogram in tenths, interpolated)",
    )


def low_confidence(s: CommissioningStats, t: AcceptanceThresholds) -> Criterion:
    share = s.confidence.share_below(t.low_confidence)
    measured = round(share, 4) if share is not None else None
    limit = Limit(max=t.max_low_confidence_share)
    return Kind("low_confidence", f"Reads below confidence {t.low_confidence:g}", "share").judged(
        measured,
        limit,
        enough=s.with_confidence >= t.min_confidence_samples,
        samples=s.with_confidence,
        detail=f"share of the reads carrying a confidence that are below {t.low_confidence:g}",
    )


def images(s: CommissioningStats, t: AcceptanceThresholds) -> Criterion:
    share = share_of(s.with_images, s.reads)
    limit = Limit(min=t.min_image_share)
    if t.images_required:
        status = judge(share, limit, enough=s.reads >= t.min_reads)
    else:
        status = Status.NOT_APPLICABLE
    required = "required" if t.images_required else "not required"
    return Kind("images", "Reads with images", "share").of(
        status,
        share,
        limit,
        samples=s.reads,
        detail=f"{s.with_images} of {s.reads} reads carry an image ({required})",
    )


def read_ids(s: CommissioningStats, t: AcceptanceThresholds) -> Criterion:
    own = share_of(s.own_read_ids, s.reads)
    consistency = round(max(own, 1 - own), 4) if own is not None else None
    limit = Limit(min=t.min_read_id_consistency)
    status = judge(consistency, limit, enough=s.reads >= t.min_reads)
    if own is None:
        detail = "no reads yet"
    elif status is Status.FAIL:
        detail = (
            "the camera sends its own read_id on some reads only: a resend that carries an id "
            "the first copy lacked (or the reverse) is not recognised as a duplicate"
        )
    elif own >= 0.5:
        detail = "the camera sends its own read_id: a resend with the same id is recognised"
    else:
        detail = (
            "the camera sends no read_id: ids are derived from (camera, captured_at, plate), so "
            "a resend with the same captured_at and plate is recognised"
        )
    return Kind("read_ids", "Stable read_ids on resend", "share").of(
        status,
        consistency,
        limit,
        samples=s.reads,
        detail=detail,
        evidence={
            "own_read_id_share": own,
            "duplicates": s.duplicates,
            "duplicate_ratio": share_of(s.duplicates, s.reads + s.duplicates),
        },
    )


def read_rate(s: CommissioningStats, t: AcceptanceThresholds) -> Criterion:
    kind = Kind("read_rate", "Read rate", "reads/h")
    expected = s.expected_reads_per_hour
    hours = s.window_ms / HOUR_MS
    rate = round(s.reads / hours, 1) if hours > 0 else None
    if not expected:
        return kind.of(
            Status.NOT_APPLICABLE,
            rate,
            Limit(),
            samples=s.reads,
            detail="the camera is registered without expected_reads_per_hour",
        )
    limit = Limit(
        min=round(expected * (1 - t.rate_tolerance), 1),
        max=round(expected * (1 + t.rate_tolerance), 1),
    )
    return kind.judged(
        rate,
        limit,
        enough=s.window_ms >= t.min_window_ms,
        samples=s.reads,
        detail=f"accepted reads per hour over the window; registered: {expected:g} an hour",
        evidence={"expected_reads_per_hour": expected},
    )


CHECKS: tuple[Check, ...] = (
    observation_window,
    sample_size,
    valid_reads,
    clock_skew,
    heartbeat_count,
    heartbeat_gaps,
    confidence_present,
    confidence_median,
    low_confidence,
    images,
    read_ids,
    read_rate,
)


def verdict_of(criteria: tuple[Criterion, ...]) -> Verdict:
    statuses = {c.status for c in criteria}
    if Status.FAIL in statuses:
        return Verdict.FAIL
    if Status.INSUFFICIENT_DATA in statuses:
        return Verdict.INSUFFICIENT_DATA
    return Verdict.PASS


def _summary(verdict: Verdict, criteria: tuple[Criterion, ...]) -> str:
    failed = [c.id for c in criteria if c.status is Status.FAIL]
    waiting = [c.id for c in criteria if c.status is Status.INSUFFICIENT_DATA]
    if verdict is Verdict.FAIL:
        return f"fails {', '.join(failed)}"
    if verdict is Verdict.INSUFFICIENT_DATA:
        return f"not enough evidence yet for {', '.join(waiting)}"
    return "meets every acceptance criterion: ready to go live"


def evaluate(
    stats: CommissioningStats, thresholds: AcceptanceThresholds = DEFAULT_THRESHOLDS
) -> CommissioningReport:
    criteria = tuple(check(stats, thresholds) for check in CHECKS)
    verdict = verdict_of(criteria)
    return CommissioningReport(
        verdict=verdict,
        summary=_summary(verdict, criteria),
        window_start=stats.window_start,
        window_end=stats.now,
        criteria=criteria,
    )
