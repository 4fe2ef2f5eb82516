"""The hit outcome report's aggregation, from store counts to groups. Table-driven."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from api.reports.aggregate import BUCKET_MS, GroupBy, aggregate
from api.store.notifications import OutcomeCount as C


def ms(iso: str) -> str:
    """A 15-minute bucket key for a UTC time."""
    at = int(datetime.fromisoformat(iso).replace(tzinfo=UTC).timestamp() * 1000)
    return str(at - at % BUCKET_MS)


Row = tuple[str, int, int, float | None]  # key, hits, acknowledged, false-positive share

CASES: list[tuple[str, GroupBy, list[C], str, list[Row]]] = [
    ("nothing", GroupBy.LIST, [], "UTC", []),
    (
        "share is false positives over acknowledged, unacknowledged left out",
        GroupBy.LIST,
        [C("stolen", "false_positive", 1), C("stolen", "confirmed", 3), C("stolen", None, 6)],
        "UTC",
        [("stolen", 10, 4, 0.25)],
    ),
    (
        "no acknowledged hit: no share (null, not 0)",
        GroupBy.CAMERA,
        [C("cam-1", None, 5)],
        "UTC",
        [("cam-1", 5, 0, None)],
    ),
    (
        "lists with most false positives first, then most hits",
        GroupBy.LIST,
        [
            C("a", "confirmed", 50),
            C("b", "false_positive", 2),
            C("c", "false_positive", 2),
            C("c", None, 1),
            C("d", "false_positive", 9),
        ],
        "UTC",
        [("d", 9, 9, 1.0), ("c", 3, 2, 1.0), ("b", 2, 2, 1.0), ("a", 50, 50, 0.0)],
    ),
    (
        "by outcome in a fixed order, unacknowledged last",
        GroupBy.OUTCOME,
        [C("", None, 4), C("", "no_action", 1), C("", "confirmed", 2), C("", "dispatched", 3)],
        "UTC",
        [
            ("confirmed", 2, 2, 0.0),
            ("dispatched", 3, 3, 0.0),
            ("no_action", 1, 1, 0.0),
            ("unacknowledged", 4, 0, None),
        ],
    ),
    (
        "by UTC day, buckets folded, days in order",
        GroupBy.DAY,
        [
            C(ms("2026-03-02T00:00:00"), "false_positive", 1),
            C(ms("2026-03-01T23:45:00"), "confirmed", 1),
            C(ms("2026-03-01T00:15:00"), "false_positive", 1),
        ],
        "UTC",
        [("2026-03-01", 2, 2, 0.5), ("2026-03-02", 1, 1, 1.0)],
    ),
    (
        "by day in Brussels (UTC+1 in March): 23:15 UTC is the next day",
        GroupBy.DAY,
        [
            C(ms("2026-03-01T23:15:00"), "confirmed", 1),
            C(ms("2026-03-01T22:45:00"), "confirmed", 1),
        ],
        "Europe/Brussels",
        [("2026-03-01", 1, 1, 0.0), ("2026-03-02", 1, 1, 0.0)],
    ),
    (
        "by day in Kolkata (UTC+5:30): a bucket at 18:30 UTC starts the next day",
        GroupBy.DAY,
        [
            C(ms("2026-03-01T18:15:00"), None, 1),
            C(ms("2026-03-01T18:30:00"), None, 1),
        ],
        "Asia/Kolkata",
        [("2026-03-01", 1, 0, None), ("2026-03-02", 1, 0, None)],
    ),
]


@pytest.mark.parametrize(("case", "group_by", "rows", "zone", "expected"), CASES)
def test_aggregate(
    case: str, group_by: GroupBy, rows: list[C], zone: str, expected: list[Row]
) -> None:
    groups, total = aggregate(rows, group_by, tz=ZoneInfo(zone))
    got = [(g.key, g.hits, g.acknowledged, g.false_positive_share) for g in groups]
    assert got == expected, case
    assert total.hits == sum(r.count for r in rows)
    assert total.acknowledged == sum(r.count for r in rows if r.outcome)
    assert sum(g.unacknowledged for g in groups) == total.unacknowledged


def test_total_share_and_outcome_counts() -> None:
    rows = [C("a", "false_positive", 3), C("b", "confirmed", 1), C("b", "no_action", 2)]
    groups, total = aggregate(rows, GroupBy.LIST)
    assert total.false_positive_share == 0.5
    assert total.outcomes == {
        "confirmed": 1,
        "false_positive": 3,
        "dispatched": 0,
        "no_action": 2,
    }
    assert {g.key: g.outcomes["no_action"] for g in groups} == {"a": 0, "b": 2}
