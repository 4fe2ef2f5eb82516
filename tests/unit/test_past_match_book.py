"""The API's fold of the past-match job topic: each list shows its newest job, in its latest
state; a late record of an older job never hides a newer one."""

from __future__ import annotations

from typing import Any

import pytest

from anpr.codecs import PAST_MATCH
from anpr.errors import InvalidRecord
from api.hotlists.pastmatch import PastMatchBook
from api.hotlists.pastmatch_out import past_match_out


def job(version: int, state: str, **extra: Any) -> tuple[bytes, bytes]:
    record: dict[str, Any] = {
        "v": 1,
        "job_id": f"stolen@{version}",
        "list_id": "stolen",
        "version": version,
        "state": state,
        "entries": 1,
        "since": 0,
        "until": 1000,
        "candidates": 2,
        "hits": 0,
        "truncated": False,
        "at": 1000,
        **extra,
    }
    return f"stolen@{version}".encode(), PAST_MATCH.encode(record)  # type: ignore[arg-type]


def test_newest_job_in_its_latest_state() -> None:
    book = PastMatchBook()
    book.apply(*job(1, "pending"))
    book.apply(*job(1, "running"))
    book.apply(*job(2, "pending"))
    book.apply(*job(1, "done", hits=4))  # the matcher finishing the older job, late
    shown = book.job("stolen")
    assert shown is not None and (shown["version"], shown["state"]) == (2, "pending")
    book.apply(*job(2, "done", hits=1))
    out = past_match_out(book.job("stolen"))
    assert out is not None and (out.state, out.hits, out.until) == (
        "done",
        1,
        "1970-01-01T00:00:01Z",
    )
    assert book.job("other") is None and past_match_out(None) is None


def test_tombstones_and_bad_records() -> None:
    book = PastMatchBook()
    book.apply(*job(3, "done"))
    book.apply(b"stolen@2", None)  # an older job's tombstone
    assert book.job("stolen") is not None
    book.apply(b"stolen@3", None)
    assert book.job("stolen") is None
    with pytest.raises(InvalidRecord):
        book.apply(*job(4, "exploded"))
    with pytest.raises(InvalidRecord):
        book.apply(None, b"{}")
