"""Past-read matching in the archive: its settings, jobs, selections and metrics. Pure apart
from the Prometheus registry."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram

from anpr.hotlists import Entry, MatchMode
from api.archive.base import PastRead
from api.archive.pastmatch_plan import CandidatePlan

HOUR_MS = 3600 * 1000


@dataclass(frozen=True, slots=True)
class PastMatchConfig:
    """`ANPR_PAST_MATCH_*` (docs/configuration.md); the bounds are stated in docs/matching.md."""

    hours: int = 24
    max_candidates: int = 200_000
    max_patterns: int = 1000
    archive_wait_s: float = 30.0
    publish_timeout_s: float = 10.0


@dataclass(slots=True)
class Job:
    job_id: str
    list_id: str
    version: int
    mode: MatchMode
    hours: int
    committed_at: int
    entries: dict[str, Entry] = field(default_factory=dict)
    covert: bool = False  # then in no metric: PastMatchMetrics

    @property
    def since(self) -> int:
        return self.committed_at - self.hours * HOUR_MS


@dataclass(slots=True)
class Selection:
    """Candidate reads of a job: raw read -> the entries to try it against."""

    reads: dict[bytes, set[str]] = field(default_factory=dict)
    truncated: bool = False

    def add(
        self, rows: list[PastRead], plan: CandidatePlan, *, by_pattern: bool, near: bool = False
    ) -> None:
        """`near`: the rows of the fuzzy scans (`CandidatePlan.skeleton_likes`)."""
        for row in rows:
            named = plan.entries_for(row.plate_skeleton, by_pattern=by_pattern)
            if near:
                named |= plan.entries_near(row.plate_skeleton)
            self.reads.setdefault(row.raw, set()).update(named)


class PastMatchMetrics:
    """Jobs by how they ended (bounded label), candidates, and the selection's time. No list is
    named, and a covert list's jobs are not counted at all (`/metrics` needs no token: a count
    would move when a covert list gets entries)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.jobs = Counter(
            "anpr_archive_past_match_jobs_total",
            "Past-match jobs run by the archive, by state left (running, done, failed).",
            ["state"],
            registry=registry,
        )
        self.candidates = Counter(
            "anpr_archive_past_match_candidates_total",
            "Archived reads replayed to the matchers by past-read matching.",
            registry=registry,
        )
        self.truncated = Counter(
            "anpr_archive_past_match_truncated_total",
            "Past-match jobs that reached a bound (docs/matching.md).",
            registry=registry,
        )
        self.select_seconds = Histogram(
            "anpr_archive_past_match_select_seconds",
            "Time to select the candidate reads of one past-match job.",
            buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800),
            registry=registry,
        )
