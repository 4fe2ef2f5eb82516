"""Planning hotlist writes: record order, versions and epochs, and what the fold makes of them."""

from __future__ import annotations

import orjson
import pytest

from anpr.hotlists import (
    EntrySpec,
    HotlistBook,
    ListReplaced,
    MatchMode,
    next_version,
    plan_delete_entry,
    plan_delete_list,
    plan_put_config,
    plan_replace_entries,
    plan_upsert_entries,
    stream_replace_entries,
)
from tests.support.factories import make_config


def specs(*ids: str) -> list[EntrySpec]:
    return [EntrySpec(entry_id=i, plate=f"PL{i.upper()}") for i in ids]


def kinds(records: list[tuple[str, bytes | None]]) -> list[str]:
    out = []
    for key, value in records:
        if value is None:
            out.append(f"tomb:{key}")
        else:
            out.append(f"{orjson.loads(value)['kind']}:{key}@{orjson.loads(value)['version']}")
    return out


@pytest.mark.parametrize(
    ("previous", "now", "expected"),
    [
        pytest.param(None, 0, 1, id="new-list-clock-zero"),
        pytest.param(None, 1000, 1000, id="new-list-uses-clock"),
        pytest.param(7, 5, 8, id="clock-behind"),
        pytest.param(7, 9, 9, id="clock-ahead"),
    ],
)
def test_next_version(previous: int | None, now: int, expected: int) -> None:
    current = None if previous is None else make_config(version=previous)
    assert next_version(current, now) == expected


def test_put_config_creates_an_empty_list_with_its_own_epoch() -> None:
    plan = plan_put_config(
        None,
        list_id="l",
        name="L",
        category="c",
        priority=2,
        match=MatchMode.OCR,
        covert=True,
        now_ms=50,
    )
    assert plan.config is not None and (plan.config.version, plan.config.epoch) == (50, 50)
    assert kinds(plan.records) == ["list:l@50"]


def test_put_config_keeps_the_epoch() -> None:
    plan = plan_put_config(
        make_config("l", version=4, epoch=2),
        list_id="l",
        name="L2",
        category="c",
        priority=1,
        match=MatchMode.FUZZY,
        covert=False,
        now_ms=0,
    )
    assert plan.config is not None
    assert (plan.config.version, plan.config.epoch, plan.config.name) == (5, 2, "L2")


def test_replace_publishes_entries_then_commit_then_tombstones() -> None:
    current = make_config("l", version=4, epoch=2)
    plan = plan_replace_entries(current, specs("a", "b"), live_entry_ids=["b", "z"], now_ms=0)
    assert kinds(plan.records) == ["entry:l/a@5", "entry:l/b@5", "list:l@5", "tomb:l/z"]
    assert plan.config is not None and plan.config.epoch == 5 and plan.entries == 2


def test_replace_rejects_repeated_entry_ids() -> None:
    with pytest.raises(ValueError, match="twice"):
        plan_replace_entries(make_config(), specs("a", "a"), live_entry_ids=[], now_ms=0)


def test_streamed_replace_yields_the_same_records() -> None:
    current = make_config("l", version=1)
    config, records = stream_replace_entries(
        current, iter(specs("a", "b")), live_entry_ids=["c"], now_ms=0
    )
    planned = plan_replace_entries(current, specs("a", "b"), live_entry_ids=["c"], now_ms=0)
    assert config == planned.config and list(records) == planned.records


def test_upsert_and_delete_entry_keep_the_epoch() -> None:
    current = make_config("l", version=3, epoch=3)
    upsert = plan_upsert_entries(current, specs("a"), now_ms=0)
    assert kinds(upsert.records) == ["entry:l/a@4", "list:l@4"] and upsert.entries == 1
    delete = plan_delete_entry(current, "a", now_ms=0)
    assert kinds(delete.records) == ["tomb:l/a", "list:l@4"]
    assert delete.config is not None and delete.config.epoch == 3


def test_delete_list_empties_the_list_first_and_tombstones_it_last() -> None:
    plan = plan_delete_list(make_config("l", version=3, epoch=1), live_entry_ids=["a"], now_ms=0)
    assert plan.config is None and kinds(plan.records) == ["list:l@4", "tomb:l/a", "tomb:l"]
    emptied = orjson.loads(plan.records[0][1] or b"")
    assert (emptied["version"], emptied["epoch"]) == (4, 4)


def test_plans_fold_into_the_intended_state() -> None:
    book = HotlistBook()
    now = iter(range(1, 100))

    def publish(records: list[tuple[str, bytes | None]]) -> list[object]:
        changes: list[object] = []
        for key, value in records:
            changes.extend(book.apply(key, value))
        return changes

    created = plan_put_config(
        None,
        list_id="l",
        name="L",
        category="c",
        priority=3,
        match=MatchMode.EXACT,
        covert=False,
        now_ms=next(now),
    )
    publish(created.records)
    assert created.config is not None
    upsert = plan_upsert_entries(created.config, specs("a", "b"), now_ms=next(now))
    publish(upsert.records)
    assert upsert.config is not None
    replaced = plan_replace_entries(
        upsert.config, specs("b", "c"), live_entry_ids=book.entry_ids("l"), now_ms=next(now)
    )
    changes = publish(replaced.records)
    assert [type(c) for c in changes] == [ListReplaced]
    assert set(book.entries("l")) == {"b", "c"} and book.config("l") == replaced.config
    assert replaced.config is not None
    publish(plan_delete_entry(replaced.config, "b", now_ms=next(now)).records)
    assert set(book.entries("l")) == {"c"}
