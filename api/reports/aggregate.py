"""The hit outcome report: counts per group and the false-positive share. Pure.

The store counts hits by (key, acknowledgement outcome) (`NotificationStore.hit_outcome_counts`);
`aggregate` folds those counts into the report's groups. The false-positive share of a group is
`false_positive / acknowledged`: hits not acknowledged yet have no outcome and are left out of
it; a group with no acknowledged hit has no share (null), not 0.

For `group_by=day` the store counts per 15-minute bucket of `matched_at` (UTC); every time zone
in use is offset from UTC by a multiple of 15 minutes, so each bucket lies within one local day,
and the buckets are folded into days of the requested zone here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from api.store.base import Outcome
from api.store.notifications import OutcomeCount, ReportDimension

BUCKET_MS = 15 * 60 * 1000
UNACKNOWLEDGED = "unacknowledged"
OUTCOME_ORDER = [o.value for o in Outcome] + [UNACKNOWLEDGED]


class GroupBy(StrEnum):
    LIST = "list"
    CAMERA = "camera"
    OUTCOME = "outcome"
    DAY = "day"

    @property
    def dimension(self) -> ReportDimension:
        return {
            GroupBy.LIST: ReportDimension.LIST,
            GroupBy.CAMERA: ReportDimension.CAMERA,
            GroupBy.OUTCOME: ReportDimension.NONE,
            GroupBy.DAY: ReportDimension.BUCKET,
        }[self]


@dataclass
class GroupCounts:
    key: str
    hits: int = 0
    acknowledged: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: {o.value: 0 for o in Outcome})

    @property
    def unacknowledged(self) -> int:
        return self.hits - self.acknowledged

    @property
    def false_positive_share(self) -> float | None:
        if self.acknowledged == 0:
            return None
        return self.outcomes[Outcome.FALSE_POSITIVE.value] / self.acknowledged

    def add(self, outcome: str | None, count: int) -> None:
        self.hits += count
        if outcome is not None:
            self.acknowledged += count
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + count


def _day(bucket_key: str, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(int(bucket_key) / 1000, UTC).astimezone(tz).date().isoformat()


def aggregate(
    rows: Iterable[OutcomeCount], group_by: GroupBy, *, tz: ZoneInfo | None = None
) -> tuple[list[GroupCounts], GroupCounts]:
    """The groups, in report order, and the total over all of them."""
    zone = tz or ZoneInfo("UTC")
    groups: dict[str, GroupCounts] = {}
    total = GroupCounts("total")
    for row in rows:
        if group_by is GroupBy.OUTCOME:
            key = row.outcome or UNACKNOWLEDGED
        elif group_by is GroupBy.DAY:
            key = _day(row.key, zone)
        else:
            key = row.key
        groups.setdefault(key, GroupCounts(key)).add(row.outcome, row.count)
        total.add(row.outcome, row.count)
    ordered = list(groups.values())
    if group_by is GroupBy.DAY:
        ordered.sort(key=lambda g: g.key)
    elif group_by is GroupBy.OUTCOME:
        ordered.sort(key=lambda g: OUTCOME_ORDER.index(g.key))
    else:
        # The groups that need attention first: most false positives, then most hits.
        ordered.sort(key=lambda g: (-g.outcomes[Outcome.FALSE_POSITIVE.value], -g.hits, g.key))
    return ordered, total
