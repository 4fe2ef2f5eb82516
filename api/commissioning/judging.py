"""How one acceptance criterion is judged: pass or fail by its limit, `insufficient_data`
without enough evidence (never a pass), and observation gates that are met or not yet met but
never fail. `Kind` is what a criterion is (id, title, unit) and builds its judgement, so each
rule in `api.commissioning.criteria` says only what it measures. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from api.commissioning.model import Criterion, Limit, Status


def share_of(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def judge(measured: float | None, limit: Limit, *, enough: bool) -> Status:
    if not enough or measured is None:
        return Status.INSUFFICIENT_DATA
    return Status.PASS if limit.holds(measured) else Status.FAIL


def gate(measured: float, limit: Limit) -> Status:
    """Observation gates are met or not yet met; they never fail."""
    return Status.PASS if limit.holds(measured) else Status.INSUFFICIENT_DATA


@dataclass(frozen=True, slots=True)
class Kind:
    """What a criterion is (its id, title and unit); `of` builds its judgement."""

    id: str
    title: str
    unit: str

    def of(
        self,
        status: Status,
        measured: float | None,
        limit: Limit,
        *,
        samples: int,
        detail: str,
        evidence: Mapping[str, float | int | None] | None = None,
    ) -> Criterion:
        return Criterion(
            id=self.id,
            title=self.title,
            status=status,
            measured=measured,
            unit=self.unit,
            threshold=limit,
            samples=samples,
            detail=detail,
            evidence=evidence or {},
        )

    def judged(
        self,
        measured: float | None,
        limit: Limit,
        *,
        enough: bool,
        samples: int,
        detail: str,
        evidence: Mapping[str, float | int | None] | None = None,
    ) -> Criterion:
        """Pass or fail by `limit`; insufficient data unless there is `enough` evidence."""
        status = judge(measured, limit, enough=enough)
        return self.of(status, measured, limit, samples=samples, detail=detail, evidence=evidence)
