"""The records of commissioning: a camera's evidence, the judgement of one criterion and the
report. Pure data; the rules that fill them are in `api.commissioning.criteria`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from api.health.histogram import Histogram

HOUR_MS = 3_600_000


class Status(StrEnum):
    PASS = "pass"  # noqa: S105 - a status, not a password
    FAIL = "fail"
    INSUFFICIENT_DATA = "insufficient_data"
    NOT_APPLICABLE = "not_applicable"


class Verdict(StrEnum):
    PASS = "pass"  # noqa: S105 - a status, not a password
    FAIL = "fail"
    INSUFFICIENT_DATA = "insufficient_data"


@dataclass(frozen=True, slots=True)
class CommissioningStats:
    """A camera's evidence over its observation window [`window_start`, `now`] (epoch ms)."""

    now: int
    window_start: int
    expected_reads_per_hour: float | None
    reads: int
    rejected: int
    duplicates: int
    with_confidence: int
    confidence: Histogram
    with_images: int
    own_read_ids: int
    clock_skew_ms: int | None
    skew_samples: int
    heartbeats: int
    heartbeat_gaps: Histogram
    rejected_by_reason: Mapping[str, int] = field(default_factory=dict)

    @property
    def window_ms(self) -> int:
        return max(0, self.now - self.window_start)


@dataclass(frozen=True, slots=True)
class Limit:
    min: float | None = None
    max: float | None = None

    def holds(self, value: float) -> bool:
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)


@dataclass(frozen=True, slots=True, kw_only=True)
class Criterion:
    id: str
    title: str
    status: Status
    measured: float | None
    unit: str
    threshold: Limit
    samples: int
    detail: str
    evidence: Mapping[str, float | int | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CommissioningReport:
    verdict: Verdict
    summary: str
    window_start: int
    window_end: int
    criteria: tuple[Criterion, ...]
