"""A camera's commissioning evidence, taken from the health tracker this replica keeps.

The observation window runs from the latest of: when this replica started watching (evidence is
not replayed from before a restart), the camera's first evidence (since it was last put back
from `live` into `commissioning`, which empties the ledger), and the start of the oldest
hour asked for (at most 24); it ends now. Counts are per whole hour slot, so a window asked for
as `hours=2` covers the current hour and the one before it. Clock skew is the health monitor's:
the median over the latest reads of the last hour.
"""

from __future__ import annotations

from anpr.registry import Camera
from api.commissioning.criteria import DEFAULT_THRESHOLDS, AcceptanceThresholds, evaluate
from api.commissioning.model import HOUR_MS, CommissioningReport, CommissioningStats
from api.health.ledger import SLOTS
from api.health.tracker import HealthTracker

MAX_HOURS = SLOTS


def gather(tracker: HealthTracker, camera: Camera, now: int, *, hours: int) -> CommissioningStats:
    monitor = tracker.monitor(camera.camera_id)
    hours = min(max(hours, 1), MAX_HOURS)
    totals = monitor.ledger.totals(now, hours)
    oldest_slot = (now // HOUR_MS - hours + 1) * HOUR_MS
    first = totals.first_at if totals.first_at is not None else now
    skew, skew_samples = monitor.clock_skew(now)
    return CommissioningStats(
        now=now,
        window_start=min(now, max(monitor.observed_since, first, oldest_slot)),
        expected_reads_per_hour=camera.expected_reads_per_hour,
        reads=totals.reads,
        rejected=totals.rejected,
        duplicates=totals.duplicates,
        with_confidence=totals.with_confidence,
        confidence=totals.confidence,
        with_images=totals.with_images,
        own_read_ids=totals.own_read_ids,
        clock_skew_ms=skew,
        skew_samples=skew_samples,
        heartbeats=totals.heartbeats,
        heartbeat_gaps=totals.heartbeat_gaps,
        rejected_by_reason=totals.rejected_by_reason,
    )


def assess(
    tracker: HealthTracker,
    camera: Camera,
    now: int,
    *,
    hours: int = MAX_HOURS,
    thresholds: AcceptanceThresholds = DEFAULT_THRESHOLDS,
) -> tuple[CommissioningStats, CommissioningReport]:
    """The camera's evidence and its judgement against `thresholds`."""
    stats = gather(tracker, camera, now, hours=hours)
    return stats, evaluate(stats, thresholds)
