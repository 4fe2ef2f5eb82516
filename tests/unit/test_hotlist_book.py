"""The fold of `anpr.hotlists.v1`: staging, atomic replacement, tombstones, replay safety."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from anpr.errors import InvalidRecord
from anpr.hotlists import (
    EntriesChanged,
    Entry,
    EntrySpec,
    HotlistBook,
    ListConfig,
    ListConfigChanged,
    ListRemoved,
    ListReplaced,
    MatchMode,
    Record,
    Retain,
    encode_entry,
    encode_list_config,
    entry_key,
    plan_delete_entry,
    plan_delete_list,
    plan_put_config,
    plan_replace_entries,
    plan_upsert_entries,
)
from anpr.hotlists import book as book_module
from matcher.index import HotlistIndex
from tests.support.factories import make_config


def entry_record(entry_id: str, version: int, plate: str = "1ABC123", list_id: str = "l") -> Record:
    spec = EntrySpec(entry_id=entry_id, plate=plate)
    return entry_key(list_id, entry_id), encode_entry(spec, list_id=list_id, version=version)


def config_record(version: int, epoch: int, list_id: str = "l", **overrides: object) -> Record:
    config = make_config(list_id, version=version, epoch=epoch, **overrides)
    return list_id, encode_list_config(config)


def feed(book: HotlistBook, records: Iterable[Record]) -> list[object]:
    changes: list[object] = []
    for key, value in records:
        changes.extend(book.apply(key, value))
    return changes


def live(book: HotlistBook, list_id: str = "l") -> dict[str, str | None]:
    return {k: e.plate for k, e in book.entries(list_id).items()}


def test_new_list_commits_its_staged_entries() -> None:
    book = HotlistBook()
    assert feed(book, [entry_record("a", 1), entry_record("b", 1)]) == []
    assert book.config("l") is None and book.committed_version("l") == 0
    changes = feed(book, [config_record(1, 1)])
    assert len(changes) == 1 and isinstance(changes[0], ListReplaced)
    assert {e.entry_id for e in changes[0].entries} == {"a", "b"}
    assert set(live(book)) == {"a", "b"} and book.entry_count("l") == 2


def test_staged_entries_are_invisible_until_their_commit() -> None:
    book = HotlistBook()
    feed(book, [entry_record("a", 1), config_record(1, 1)])
    assert feed(book, [entry_record("b", 2), entry_record("a", 2, "NEW1")]) == []
    assert live(book) == {"a": "1ABC123"}
    assert set(book.staged("l")) == {"a", "b"}
    changes = feed(book, [config_record(2, 1)])
    assert isinstance(changes[0], ListConfigChanged) and changes[0].config.version == 2
    assert isinstance(changes[1], EntriesChanged)
    assert {e.entry_id for e in changes[1].upserts} == {"a", "b"}
    assert live(book) == {"a": "NEW1", "b": "1ABC123"} and book.staged("l") == {}


def test_replacement_is_atomic_and_later_tombstones_are_no_ops() -> None:
    book = HotlistBook()
    feed(book, [entry_record("a", 1), entry_record("b", 1), config_record(1, 1)])
    assert feed(book, [entry_record("c", 2), entry_record("b", 2, "B2")]) == []
    assert live(book) == {"a": "1ABC123", "b": "1ABC123"}
    changes = feed(book, [config_record(2, 2)])
    assert len(changes) == 1 and isinstance(changes[0], ListReplaced)
    assert {e.entry_id for e in changes[0].entries} == {"b", "c"}
    assert live(book) == {"b": "B2", "c": "1ABC123"}
    assert feed(book, [(entry_key("l", "a"), None)]) == []


def test_commit_leaves_later_versions_staged() -> None:
    book = HotlistBook()
    feed(book, [config_record(1, 1), entry_record("a", 2), entry_record("b", 3)])
    feed(book, [config_record(2, 1)])
    assert set(live(book)) == {"a"} and set(book.staged("l")) == {"b"}


def test_replacement_drops_staged_entries_older_than_its_epoch() -> None:
    book = HotlistBook()
    feed(book, [config_record(1, 1), entry_record("orphan", 2), entry_record("new", 3)])
    changes = feed(book, [config_record(3, 3)])
    assert isinstance(changes[0], ListReplaced)
    assert [e.entry_id for e in changes[0].entries] == ["new"]
    assert book.staged("l") == {}


def test_orphans_of_an_interrupted_write_are_committed_by_the_next_commit() -> None:
    book = HotlistBook()
    feed(book, [config_record(1, 1), entry_record("orphan", 2)])
    feed(book, [config_record(3, 1)])
    assert set(live(book)) == {"orphan"}


@pytest.mark.parametrize(
    ("version", "expect_change"),
    [
        pytest.param(2, True, id="redelivered-at-committed-version"),
        pytest.param(1, False, id="older-than-epoch"),
    ],
)
def test_entries_at_or_below_the_committed_version(version: int, expect_change: bool) -> None:
    book = HotlistBook()
    feed(book, [config_record(1, 1), config_record(2, 2)])
    changes = feed(book, [entry_record("a", version)])
    assert bool(changes) is expect_change
    assert ("a" in live(book)) is expect_change


def test_older_or_repeated_configs_are_ignored() -> None:
    book = HotlistBook()
    feed(book, [config_record(3, 1)])
    assert feed(book, [config_record(3, 1)]) == []
    assert feed(book, [config_record(2, 1, name="old")]) == []
    config = book.config("l")
    assert config is not None and config.version == 3 and config.name == "l vehicles"


def test_entry_tombstone_removes_live_and_staged_at_once() -> None:
    book = HotlistBook()
    feed(book, [entry_record("a", 1), config_record(1, 1), entry_record("a", 2, "A2")])
    changes = feed(book, [(entry_key("l", "a"), None)])
    assert changes == [EntriesChanged("l", deletes=["a"])]
    assert live(book) == {} and book.staged("l") == {}
    assert feed(book, [config_record(2, 1)])[1:] == []


def test_list_tombstone_removes_the_list_and_everything_staged() -> None:
    book = HotlistBook()
    feed(book, [entry_record("a", 1), config_record(1, 1), entry_record("b", 2)])
    assert feed(book, [("l", None)]) == [ListRemoved("l")]
    assert book.configs == {} and book.staged("l") == {}
    assert feed(book, [("l", None), ("other", None), (entry_key("x", "y"), None)]) == []


@pytest.mark.parametrize(
    "record",
    [
        pytest.param(
            ("l", encode_entry(EntrySpec(entry_id="a", plate="A1"), list_id="l", version=1)),
            id="entry-under-list-key",
        ),
        pytest.param(("l/a", entry_record("a", 1, list_id="m")[1]), id="entry-of-another-list"),
        pytest.param(("l/b", entry_record("a", 1)[1]), id="entry-under-another-id"),
        pytest.param(("m", config_record(1, 1)[1]), id="config-under-another-list"),
        pytest.param(("l/a", b"{"), id="garbage"),
        pytest.param(("bad key", None), id="bad-key"),
    ],
)
def test_invalid_records_raise_and_change_nothing(record: Record) -> None:
    book = HotlistBook()
    feed(book, [entry_record("a", 1), config_record(1, 1)])
    with pytest.raises(InvalidRecord):
        book.apply(*record)
    assert live(book) == {"a": "1ABC123"}


def test_retain_nothing_and_ids() -> None:
    records = [entry_record("a", 1), entry_record("b", 1), config_record(1, 1)]
    bare, ids = HotlistBook(retain=Retain.NOTHING), HotlistBook(retain=Retain.IDS)
    feed(bare, records)
    feed(ids, records)
    assert bare.entry_count("l") is None and ids.entry_count("l") == 2
    assert set(ids.entry_ids("l")) == {"a", "b"}
    with pytest.raises(ValueError, match="retain"):
        bare.entries("l")
    with pytest.raises(ValueError, match="retain"):
        ids.entries("l")
    missing = (entry_key("l", "zz"), None)
    assert feed(bare, [missing]) == [EntriesChanged("l", deletes=["zz"])]
    assert feed(ids, [missing]) == []


def test_entries_a_replacement_dropped_stay_superseded_until_their_tombstones() -> None:
    # A replacement at 2 that kept only "a" and died before the tombstones of "b" and "c".
    log = [
        *(entry_record(e, 1) for e in "abc"),
        config_record(1, 1),
        entry_record("a", 2),
        config_record(2, 2),
    ]
    for records in (log, compact(log, drop_tombstones=True)):  # live, and replayed
        book, bare = HotlistBook(retain=Retain.IDS), HotlistBook(retain=Retain.NOTHING)
        feed(book, records)
        index_changes = feed(bare, records)
        assert set(book.entry_ids("l")) == {"a"} and set(book.superseded_ids("l")) == {"b", "c"}
        replaced = [c for c in index_changes if isinstance(c, ListReplaced)][-1]
        assert [e.entry_id for e in replaced.entries] == ["a"]  # never matched again
        with pytest.raises(ValueError, match="retain"):
            bare.superseded_ids("l")
        feed(book, [(entry_key("l", "b"), None), entry_record("c", 3), config_record(3, 2)])
        assert set(book.entry_ids("l")) == {"a", "c"} and set(book.superseded_ids("l")) == set()
        feed(book, [entry_record("c", 1)])  # an old record written again
        assert set(book.superseded_ids("l")) == set()
        feed(book, [entry_record("d", 1)])
        assert set(book.superseded_ids("l")) == {"d"}


# --- in steps ----------------------------------------------------------------------------------


def replace_records(count: int, version: int, list_id: str = "l") -> list[Record]:
    return [entry_record(f"e{n}", version, list_id=list_id) for n in range(count)] + [
        config_record(version, version, list_id=list_id)
    ]


def seen(book: HotlistBook) -> tuple[object, ...]:
    """What a reader sees of list `l`."""
    return (book.config("l"), sorted(book.entry_ids("l")), book.entry_count("l"))


@pytest.mark.parametrize("retain", [Retain.IDS, Retain.ENTRIES])
def test_a_large_commit_is_folded_in_steps_and_seen_before_or_after(
    retain: Retain, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(book_module, "STEP", 10)
    stepped, whole = HotlistBook(retain=retain), HotlistBook(retain=retain)
    for version, count in ((1, 35), (2, 47)):
        *entries, commit = replace_records(count, version)
        for key, value in entries:
            assert list(stepped.apply_in_steps(key, value)) == []
            whole.apply(key, value)
        before = seen(stepped)
        whole.apply(*commit)
        after = seen(whole)
        states = [seen(stepped) for _ in stepped.apply_in_steps(*commit)]
        # The entries gone over and the new ones set aside (before), the old ones freed (after).
        assert all(state in (before, after) for state in states)
        assert states.count(before) > 1 and states.count(after) > 1
        assert states == sorted(states, key=lambda state: state == after)
        assert seen(stepped) == after
        assert (
            set(stepped.entry_ids("l"))
            == set(whole.entry_ids("l"))
            == {f"e{n}" for n in range(count)}
        )
        assert stepped.staged("l") == whole.staged("l") == {}
        if retain is Retain.ENTRIES:
            assert stepped.entries("l") == whole.entries("l")
    removal = ("l", None)
    assert sum(1 for _ in stepped.apply_in_steps(*removal)) > 1
    whole.apply(*removal)
    assert stepped.config("l") is whole.config("l") is None


def test_a_small_record_is_folded_in_one_step() -> None:
    book = HotlistBook(retain=Retain.IDS)
    for key, value in replace_records(3, 1):
        assert list(book.apply_in_steps(key, value)) == []
    assert book.entry_count("l") == 3


# --- replay of a compacted log -----------------------------------------------------------------

LISTS = ("a", "b")
IDS = ("e1", "e2", "e3", "e4")
PLATES = ("1ABC123", "1A8C123", "XY99Z", "Q0D")

spec_strategy = st.builds(
    lambda entry_id, plate, pattern: EntrySpec(
        entry_id=entry_id, plate=None if pattern else plate, pattern="1AB*" if pattern else None
    ),
    st.sampled_from(IDS),
    st.sampled_from(PLATES),
    st.sampled_from((False, False, False, True)),
)
op_strategy = st.tuples(
    st.sampled_from(
        ("config", "replace", "replace", "upsert", "upsert", "upsert", "delete", "drop")
    ),
    st.sampled_from(LISTS),
    st.lists(spec_strategy, max_size=4, unique_by=lambda s: s.entry_id),
    st.sampled_from(tuple(MatchMode)),
    st.sampled_from((None, None, None, 0, 1, 2, 3, 4)),
)


class Writer:
    """Plays the API: plans each operation against its own book and publishes to a log."""

    def __init__(self) -> None:
        self.log: list[Record] = []
        self.book = HotlistBook(retain=Retain.IDS)
        self.now = 0

    def publish(self, records: list[Record], crash_at: int | None = None) -> None:
        for key, value in records[:crash_at]:
            self.log.append((key, value))
            self.book.apply(key, value)

    def run(self, op: tuple[str, str, list[EntrySpec], MatchMode, int | None]) -> None:
        kind, list_id, specs, mode, crash_at = op
        self.now += 1
        current = self.book.config(list_id)
        if kind == "config" or current is None:
            plan = plan_put_config(
                current,
                list_id=list_id,
                name=list_id,
                category="c",
                priority=3,
                match=mode,
                covert=False,
                now_ms=self.now,
            )
        elif kind == "replace":
            plan = plan_replace_entries(
                current, specs, live_entry_ids=self.on_topic(list_id), now_ms=self.now
            )
        elif kind == "upsert":
            plan = plan_upsert_entries(
                current, specs, now_ms=self.now, superseded=self.superseded(list_id)
            )
        elif kind == "delete":
            entry_id = specs[0].entry_id if specs else "e1"
            superseded = self.superseded(list_id)
            plan = plan_delete_entry(current, entry_id, now_ms=self.now, superseded=superseded)
        else:
            plan = plan_delete_list(current, live_entry_ids=self.on_topic(list_id), now_ms=self.now)
        self.publish(plan.records, crash_at)

    def superseded(self, list_id: str) -> list[str]:
        """The ids an upsert or a single deletion tombstones, as the API has them."""
        return sorted(self.book.superseded_ids(list_id))

    def on_topic(self, list_id: str) -> list[str]:
        """The ids a replacement or a list deletion tombstones unless kept, as the API has them."""
        book = self.book
        return sorted(
            {*book.entry_ids(list_id), *book.staged(list_id), *book.superseded_ids(list_id)}
        )

    def delete_all(self) -> None:
        for list_id, config in self.book.configs.items():
            self.now += 1
            plan = plan_delete_list(config, live_entry_ids=self.on_topic(list_id), now_ms=self.now)
            self.publish(plan.records)

    def recover(self) -> None:
        """What a retried write does in the end: commit every list once more."""
        for list_id, config in self.book.configs.items():
            self.now += 1
            self.publish(
                plan_put_config(
                    config,
                    list_id=list_id,
                    name=config.name,
                    category=config.category,
                    priority=config.priority,
                    match=config.match,
                    covert=config.covert,
                    now_ms=self.now,
                ).records
            )


def compact(log: list[Record], *, drop_tombstones: bool) -> list[Record]:
    last = {key: offset for offset, (key, _) in enumerate(log)}
    kept = [log[offset] for offset in sorted(last.values())]
    return [(k, v) for k, v in kept if v is not None or not drop_tombstones]


def state(records: list[Record]) -> tuple[dict[str, ListConfig], dict[str, dict[str, Entry]]]:
    book = HotlistBook()
    feed(book, records)
    configs = book.configs
    return configs, {list_id: dict(book.entries(list_id)) for list_id in configs}


def index_state(records: list[Record]) -> tuple[dict[str, ListConfig], dict[str, dict[str, str]]]:
    book, index = HotlistBook(retain=Retain.NOTHING), HotlistIndex(purge_at_once=0)
    for key, value in records:
        for change in book.apply(key, value):
            index.apply(change)
    configs = index.configs
    return configs, {list_id: index.entries_of(list_id) for list_id in configs}


def plates_of(entries: dict[str, dict[str, Entry]]) -> dict[str, dict[str, str]]:
    return {
        list_id: {k: e.plate or e.pattern or "" for k, e in by_id.items()}
        for list_id, by_id in entries.items()
    }


@settings(max_examples=150, deadline=None)
@given(st.lists(op_strategy, max_size=14))
def test_replaying_a_compacted_log_gives_the_same_state(
    ops: list[tuple[str, str, list[EntrySpec], MatchMode, int | None]],
) -> None:
    writer = Writer()
    for op in ops:
        writer.run(op)
    writer.recover()
    full = state(writer.log)
    assert full[0] == writer.book.configs
    assert state(compact(writer.log, drop_tombstones=False)) == full
    assert state(compact(writer.log, drop_tombstones=True)) == full
    # A matcher keeps nothing but its index: the changes it is given build the same state.
    assert index_state(writer.log) == (full[0], plates_of(full[1]))
    assert index_state(compact(writer.log, drop_tombstones=True)) == (full[0], plates_of(full[1]))
    event(f"live entries: {min(sum(map(len, full[1].values())), 3)}")


@settings(max_examples=150, deadline=None)
@given(st.lists(op_strategy, max_size=14))
def test_no_entry_record_outlives_its_list(
    ops: list[tuple[str, str, list[EntrySpec], MatchMode, int | None]],
) -> None:
    """Whatever writes were cut short (before their commit, after it, within a deletion),
    deleting every list leaves no entry record, no plate, for compaction to keep."""
    writer = Writer()
    for op in ops:
        writer.run(op)
    writer.delete_all()
    assert writer.book.configs == {}
    assert compact(writer.log, drop_tombstones=True) == []


@settings(max_examples=150, deadline=None)
@given(st.lists(op_strategy, max_size=14))
def test_an_upsert_leaves_on_the_topic_only_records_a_commit_made_live(
    ops: list[tuple[str, str, list[EntrySpec], MatchMode, int | None]],
) -> None:
    """Whatever writes were cut short, a list's next upsert (even of no entry) tombstones the
    records no commit can make live any more: a list kept up to date by upserts alone holds no
    plate on the compacted topic that it no longer lists."""
    writer = Writer()
    for op in ops:
        writer.run(op)
    for list_id, config in sorted(writer.book.configs.items()):
        writer.now += 1
        plan = plan_upsert_entries(
            config, [], now_ms=writer.now, superseded=writer.superseded(list_id)
        )
        writer.publish(plan.records)
    kept = compact(writer.log, drop_tombstones=True)
    for list_id in writer.book.configs:
        on_topic = {key.split("/", 1)[1] for key, _ in kept if key.startswith(f"{list_id}/")}
        assert on_topic == set(writer.book.entry_ids(list_id)), list_id
        assert set(writer.book.superseded_ids(list_id)) == set()
