"""Per-camera aggregates of what the gateway accepted and refused, for the API's camera health.

The gateway validates every read anyway; it folds what camera health needs into one small
record per camera and minute, published every second on the gateway-events topic
(`anpr.codecs.records.GatewayEventRecord`, counts kind), so the API never decodes the reads
topic:

- `reads`, `first_at`/`last_at` (received_at of the first and last read: last seen);
- `with_confidence`, `low_confidence` (below `LOW_CONFIDENCE`) and `confidence_bins` (tenths,
  [0, 0.1) ... [0.9, 1.0]) for the commissioning histogram;
- `with_images`, `own_read_ids` (reads carrying the camera's own `read_id`);
- `skews`: the clock-skew sketch, received_at - captured_at of the last `SKEW_SAMPLES` reads
  (the API's monitor keeps the median of the last 64 anyway, so nothing is lost);
- `rejected` with `rejected_by_reason`/`rejected_by_detail`, and `duplicates`.

Counts are kept per (camera, minute of the event) so that every count of a record falls in the
minute of its `at`, as the API's minute buckets expect. Pure: no clock, no I/O.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from typing import Any

from anpr.reads import ReadRecord

LOW_CONFIDENCE = 0.5
CONFIDENCE_BINS = 10
SKEW_SAMPLES = 64
MINUTE_MS = 60_000
# The inner bounds of the tenths, as the API's histogram has them (0.5 goes to [0.5, 0.6)).
_INNER_BOUNDS = tuple(i / CONFIDENCE_BINS for i in range(1, CONFIDENCE_BINS))
DERIVED_PREFIX = "d-"  # `anpr.reads.derive_read_id`: a read sent without its own read_id

AggregateKey = tuple[str, int]  # (camera_id, minute)


class CameraCounts:
    """What one gateway saw of one camera in one minute since its previous flush."""

    __slots__ = (
        "at",
        "bins",
        "duplicates",
        "first_at",
        "low_confidence",
        "own_read_ids",
        "reads",
        "rejected",
        "rejected_details",
        "skews",
        "with_confidence",
        "with_images",
    )

    def __init__(self) -> None:
        self.at = 0
        self.first_at = 0
        self.reads = 0
        self.with_confidence = 0
        self.low_confidence = 0
        self.bins = [0] * CONFIDENCE_BINS
        self.with_images = 0
        self.own_read_ids = 0
        self.skews: list[int] = []
        self.rejected: Counter[str] = Counter()
        self.rejected_details: Counter[str] = Counter()
        self.duplicates = 0

    def _stamp(self, at: int) -> None:
        if at > self.at:
            self.at = at

    def add_reads(self, at: int, reads: list[ReadRecord]) -> None:
        """Reads of this camera received at `at` (one request's): what is the same for all of
        them is counted once."""
        if not self.reads or at < self.first_at:
            self.first_at = at
        self._stamp(at)
        self.reads += len(reads)
        bins = self.bins
        for read in reads:
            confidence = read.get("confidence")
            if confidence is not None:
                self.with_confidence += 1
                self.low_confidence += confidence < LOW_CONFIDENCE
                bins[bisect_right(_INNER_BOUNDS, min(max(confidence, 0.0), 1.0))] += 1
            if read.get("images"):
                self.with_images += 1
            if not read["read_id"].startswith(DERIVED_PREFIX):
                self.own_read_ids += 1
        skews = self.skews
        skews.extend([at - read["captured_at_ms"] for read in reads[-SKEW_SAMPLES:]])
        if len(skews) > 2 * SKEW_SAMPLES:
            del skews[:-SKEW_SAMPLES]

    def add_rejected(self, at: int, reason: str, detail: str | None) -> None:
        self._stamp(at)
        self.rejected[reason] += 1
        if detail is not None:
            self.rejected_details[detail] += 1

    def add_duplicate(self, at: int) -> None:
        self._stamp(at)
        self.duplicates += 1

    def merge(self, other: CameraCounts) -> None:
        """Add counts not published (kept for the next flush)."""
        if other.reads and (not self.reads or other.first_at < self.first_at):
            self.first_at = other.first_at
        self._stamp(other.at)
        self.reads += other.reads
        self.with_confidence += other.with_confidence
        self.low_confidence += other.low_confidence
        self.bins = [a + b for a, b in zip(self.bins, other.bins, strict=True)]
        self.with_images += other.with_images
        self.own_read_ids += other.own_read_ids
        self.skews = (other.skews + self.skews)[-SKEW_SAMPLES:]
        self.rejected.update(other.rejected)
        self.rejected_details.update(other.rejected_details)
        self.duplicates += other.duplicates

    def fields(self) -> dict[str, Any]:
        """The counts fields of a gateway-events record (without v, camera_id)."""
        out: dict[str, Any] = {
            "at": self.at,
            "rejected": sum(self.rejected.values()),
            "rejected_by_reason": dict(self.rejected),
            "rejected_by_detail": dict(self.rejected_details),
            "duplicates": self.duplicates,
        }
        if self.reads:
            out.update(
                reads=self.reads,
                first_at=self.first_at,
                last_at=self.at,
                with_confidence=self.with_confidence,
                low_confidence=self.low_confidence,
                confidence_bins=list(self.bins),
                with_images=self.with_images,
                own_read_ids=self.own_read_ids,
                skews=self.skews[-SKEW_SAMPLES:],
            )
        return out


class CameraAggregates:
    """Every camera's counts since the last flush, per minute."""

    def __init__(self) -> None:
        self.counts: dict[AggregateKey, CameraCounts] = {}

    def __bool__(self) -> bool:
        return bool(self.counts)

    def at(self, camera_id: str, at_ms: int) -> CameraCounts:
        key = (camera_id, at_ms // MINUTE_MS)
        counts = self.counts.get(key)
        if counts is None:
            counts = self.counts[key] = CameraCounts()
        return counts

    def add_reads(self, reads: list[ReadRecord]) -> None:
        """Reads made durable, usually one request's: grouped by camera and time received, so
        each group costs one lookup (0.8 µs per read read by read, `benchmarks.read_costs`)."""
        if len(reads) == 1:  # a single-read request: no grouping to pay for
            read = reads[0]
            self.at(read["camera_id"], read["received_at"]).add_reads(read["received_at"], reads)
            return
        groups: dict[tuple[str, int], list[ReadRecord]] = {}
        for read in reads:
            key = (read["camera_id"], read["received_at"])
            group = groups.get(key)
            if group is None:
                groups[key] = [read]
            else:
                group.append(read)
        for (camera_id, at), group in groups.items():
            self.at(camera_id, at).add_reads(at, group)

    def take(self) -> dict[AggregateKey, CameraCounts]:
        counts, self.counts = self.counts, {}
        return counts

    def restore(self, taken: dict[AggregateKey, CameraCounts]) -> None:
        for key, counts in taken.items():
            mine = self.counts.get(key)
            if mine is None:
                self.counts[key] = counts
            else:
                mine.merge(counts)
