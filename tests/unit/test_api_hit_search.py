"""`api.hits.search`: what a plate search's reason must be, and what its audit entry records.
Pure parts, tables of named cases (the route itself: test_api_hits.py)."""

from __future__ import annotations

import pytest

from api.hits.search import HitQuery, reason_problem
from api.store.base import HitStatus


@pytest.mark.parametrize(
    ("reason", "problem"),
    [
        pytest.param(None, "a plate search needs a reason", id="absent"),
        pytest.param("   ", "a plate search needs a reason", id="blank"),
        pytest.param("case\x0012", "must not contain control characters", id="control-char"),
        pytest.param(" ab  ", "at least 5 printable characters", id="too-short-once-stripped"),
        pytest.param("C-123", None, id="case-reference"),
        pytest.param("  stolen car report  ", None, id="free-text"),
    ],
)
def test_reason_problem(reason: str | None, problem: str | None) -> None:
    found = reason_problem(reason)
    if problem is None:
        assert found is None
    else:
        assert found is not None and found.startswith(problem)


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        pytest.param(HitQuery(plate="AB12"), {"first_page": True}, id="first-page-only"),
        pytest.param(
            HitQuery(
                plate="AB12",
                since="1000",
                camera_id="cam-1",
                status=HitStatus.NEW,
                cursor="abc",
            ),
            {"since": "1000", "camera_id": "cam-1", "status": "new", "first_page": False},
            id="filters-and-a-later-page",
        ),
    ],
)
def test_audit_detail_records_the_filters_given(query: HitQuery, detail: dict[str, object]) -> None:
    assert query.audit_detail() == detail
