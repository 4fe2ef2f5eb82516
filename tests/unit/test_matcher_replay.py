"""Past-read matching, the matcher's pure step: a replayed read gives hits only for the entries
it names, marked historical, with the usual hit_id; a job's end completes its state."""

from __future__ import annotations

from anpr.bus.base import Record
from anpr.codecs import REPLAY
from anpr.codecs.pastmatch import PastMatchJobRecord, ReplayRecord
from anpr.hits import derive_hit_id
from anpr.hotlists import MatchMode
from matcher.replay import decode_all, handle_replay
from matcher.state import MatcherState
from tests.support.factories import make_config, make_entry, make_read

JOB = "stolen@7"


def state() -> MatcherState:
    s = MatcherState()
    s.index.replace_list(
        make_config("stolen", version=7, match=MatchMode.OCR),
        [
            make_entry("new", "AB123CD"),
            make_entry("old", "AB123CD"),
            make_entry("pat", pattern="AB1*"),
        ],
    )
    return s


def record(offset: int, replay: ReplayRecord) -> Record:
    return Record("replay", 0, offset, JOB.encode(), REPLAY.encode(replay), 0)


def replayed(offset: int, plate: str, entries: list[str], list_id: str = "stolen") -> Record:
    read = make_read(plate, read_id=f"r{offset}")
    return record(
        offset,
        {
            "v": 1,
            "kind": "read",
            "job_id": JOB,
            "list_id": list_id,
            "version": 7,
            "read": read,
            "entries": entries,
        },
    )


def end(offset: int) -> Record:
    job: PastMatchJobRecord = {
        "v": 1,
        "job_id": JOB,
        "list_id": "stolen",
        "version": 7,
        "state": "running",
        "entries": 2,
        "since": 0,
        "until": 10,
        "candidates": 3,
        "hits": 0,
        "truncated": False,
        "at": 5,
    }
    return record(
        offset,
        {"v": 1, "kind": "end", "job_id": JOB, "list_id": "stolen", "version": 7, "job": job},
    )


def run(records: list[Record], tallies: dict[str, set[str]], s: MatcherState | None = None):  # type: ignore[no-untyped-def]
    decoded, poison = decode_all(records)
    result = handle_replay(decoded, s or state(), tallies, now_ms=1000)
    return result, poison


def test_only_the_named_entries_give_hits_marked_historical() -> None:
    result, poison = run([replayed(0, "AB123CD", ["new", "pat"])], {})
    assert not poison and not result.poison
    assert sorted(h["entry_id"] for h in result.hits) == ["new", "pat"]  # not "old"
    assert all(h.get("historical") is True for h in result.hits)
    new = next(h for h in result.hits if h["entry_id"] == "new")
    assert new["hit_id"] == derive_hit_id("r0", "cam-1", "stolen", "new")
    assert new["match"]["kind"] == "exact"


def test_the_rules_still_decide() -> None:
    result, _ = run([replayed(0, "A8123CD", ["new"]), replayed(1, "ZZ999", ["new"])], {})
    assert [(h["read"]["read_id"], h["match"]["kind"]) for h in result.hits] == [("r0", "ocr")]


def test_the_end_completes_the_job_with_the_hits_of_every_batch() -> None:
    tallies: dict[str, set[str]] = {}
    first, _ = run([replayed(0, "AB123CD", ["new"])], tallies)
    assert first.done == []
    second, _ = run([replayed(1, "A8123CD", ["new"]), replayed(2, "XX", ["new"]), end(3)], tallies)
    assert len(second.done) == 1
    done = second.done[0]
    assert (done["state"], done["hits"], done["candidates"], done["at"]) == ("done", 2, 3, 1000)
    assert JOB not in tallies


def test_a_read_replayed_twice_counts_its_hits_once() -> None:
    """A job run again after its archive stopped mid-publish replays its first candidates a
    second time (and a redone batch does the same): the same hit ids, counted once."""
    tallies: dict[str, set[str]] = {}
    run([replayed(0, "AB123CD", ["new"]), replayed(1, "A8123CD", ["new"])], tallies)
    again, _ = run([replayed(0, "AB123CD", ["new"]), replayed(1, "A8123CD", ["new"])], tallies)
    assert len(again.hits) == 2  # published again: the API stores each hit once
    last, _ = run([replayed(2, "XX", ["new"]), end(3)], tallies)
    assert last.done[0]["hits"] == 2


def test_reads_of_a_removed_list_are_skipped_and_bad_records_set_aside() -> None:
    s = state()
    s.index.remove_list("stolen")
    bad = Record("replay", 0, 9, JOB.encode(), b'{"v": 1, "kind": 3}', 0)
    empty = record(8, {"v": 1, "kind": "read", "job_id": JOB, "list_id": "x", "version": 1})
    result, poison = run([replayed(0, "AB123CD", ["new"]), bad], {}, s)
    assert result.hits == [] and len(poison) == 1
    result, poison = run([empty], {}, state())
    assert len(result.poison) == 1
