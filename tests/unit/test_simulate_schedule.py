"""The simulator's open-model schedule, statistics, bookkeeping and configuration (no network)."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from benchmarks.plan import highest_passing, next_step, passes
from benchmarks.profile import top_functions
from benchmarks.verify import Sent, compare_reads, metric_value
from simulator.feed import Feed
from simulator.fleet import FleetConfig, TimeFormat, make_fleet
from simulator.rawhttp import RawHttpError, _parse
from simulator.schedule import Schedule, SendStats
from simulator.simconfig import SimConfig
from simulator.sse import parse_events
from simulator.stats import percentile, summarize
from simulator.tally import HitTally
from simulator.traffic import PlannedRead, TimeText, Traffic, format_time, stamp

# --- schedule ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "batch", "duration", "requests", "interval"),
    [
        pytest.param(1000, 100, 20, 200, 0.1, id="batches"),
        pytest.param(50, 1, 60, 3000, 0.02, id="single"),
        pytest.param(12000, 100, 2.5, 300, 1 / 120, id="fractional-duration"),
        pytest.param(1, 10, 5, 1, 10, id="at-least-one"),
    ],
)
def test_schedule(rate: float, batch: int, duration: float, requests: int, interval: float) -> None:
    s = Schedule(rate, batch, duration)
    assert s.requests == requests
    assert s.interval_s == pytest.approx(interval)
    assert s.reads == requests * batch


def test_due_counts_by_the_clock_not_by_answers() -> None:
    s = Schedule(rate=100, batch=1, duration_s=1)
    assert s.due(-0.1) == 0
    assert s.due(0.0) == 1  # the first request is due at once
    assert s.due(0.095) == 10
    assert s.due(0.1) == 11
    assert s.due(50.0) == 100  # never more than the run holds
    assert [s.intended(k) for k in (0, 1, 50)] == pytest.approx([0.0, 0.01, 0.5])


@pytest.mark.parametrize(
    ("rate", "batch", "duration"), [(0, 1, 1), (-5, 1, 1), (10, 0, 1), (10, 1, 0)]
)
def test_schedule_rejects(rate: float, batch: int, duration: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        Schedule(rate, batch, duration)


def test_send_stats_late_and_latency_from_due() -> None:
    stats = SendStats(late_threshold_ms=10)
    stats.dispatched(0.5)
    stats.dispatched(25.0)
    stats.answered(0, "202", latency_ms=3.0, service_ms=2.5)
    stats.answered(1, "503", latency_ms=40.0, service_ms=15.0)
    stats.counted({"accepted": 100, "duplicates": 1, "rejected": [{"index": 3}]})
    summary = stats.summary(elapsed_s=2.0, batch=100)
    assert summary["late_sends"] == 1
    assert summary["statuses"] == {"202": 1, "503": 1}
    assert summary["requests_ok"] == 1
    assert summary["reads_accepted"] == 100 and summary["reads_rejected"] == 1
    assert summary["achieved_reads_per_s"] == 50.0
    assert summary["latency_ms"]["max"] == 40.0
    assert stats.failed_requests == [1]


# --- statistics ----------------------------------------------------------------------------------


def test_percentile_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 1.0) == 100.0
    assert percentile([7.0], 0.999) == 7.0
    with pytest.raises(ValueError, match="no samples"):
        percentile([], 0.5)


def test_summarize() -> None:
    assert summarize([])["p99"] is None
    out = summarize([5.0, 1.0, 3.0])
    assert out["count"] == 3 and out["p50"] == 3.0 and out["max"] == 5.0 and out["mean"] == 3.0


# --- what is owed, what arrived ------------------------------------------------------------------


def hit(read_id: str, list_id: str = "l", entry_id: str = "e", hit_id: str = "h") -> dict[str, Any]:
    return {
        "hit_id": hit_id,
        "list_id": list_id,
        "entry_id": entry_id,
        "read": {"read_id": read_id, "received_at": 1000},
        "match": {"kind": "exact", "source": "plate"},
        "latency_ms": {"ingest_to_match": 4},
    }


def test_tally_owed_arrived_missing_repeated() -> None:
    tally = HitTally(prefix="p-")
    tally.owe("p-1", "l", "e")
    tally.owe("p-2", "l", "e")
    assert tally.add(hit("p-1", hit_id="h1"), arrived_ms=1012.0, due_ms=lambda _: 990.0)
    assert not tally.add(hit("other-1", hit_id="h9"), arrived_ms=1012.0)
    assert tally.missing == [("p-2", "l", "e")]
    tally.add(hit("p-2", hit_id="h2"), arrived_ms=1020.0)
    tally.add(hit("p-2", hit_id="h2"), arrived_ms=1021.0)
    report = tally.report()
    assert tally.complete and not tally.ok
    assert report["owed_missing"] == 0 and report["repeated"] == 1
    assert report["duplicate_hit_ids"] == 1 and report["other_hits"] == 1
    assert report["received_to_stream_ms"]["p50"] == 20.0
    assert report["due_to_stream_ms"]["count"] == 1


def test_tally_hit_before_the_answer_is_not_outstanding() -> None:
    tally = HitTally(prefix="p-")
    tally.add(hit("p-1"), arrived_ms=1001.0)  # the stream can beat the 202
    tally.owe("p-1", "l", "e")
    assert tally.complete and tally.ok


def planned(expected: tuple[tuple[str, str], ...] = ()) -> PlannedRead:
    return PlannedRead(0, {"camera_id": "sim-cam-01", "plate": "1ABC123"}, 100, expected)


def test_feed_bodies_and_owed_hits_of_accepted_reads() -> None:
    fleet = make_fleet(FleetConfig(cameras=2, silent=0), seed=1)
    tally = HitTally(prefix="x-")
    feed = Feed(fleet, [planned((("l", "e1"),)), planned()], "x-", batch=3, tally=tally)
    body = orjson.loads(feed.body(1, 1_800_000_000_000.0))
    assert [r["read_id"] for r in body] == ["x-3", "x-4", "x-5"]
    feed.answered(1, 202, {"accepted": 2, "rejected": [{"index": 1}]})
    assert tally.owed == set()  # x-4 owed a hit, but it was rejected
    feed.body(0, 1_800_000_000_000.0)
    feed.answered(0, 202, {"accepted": 2, "rejected": [{"index": 2}]})
    assert tally.owed == {("x-0", "l", "e1")}  # x-2 too, but rejected
    assert feed.rejected_reads == [4, 2]
    feed.answered(2, 503, None)
    assert feed.failed_requests == [2]
    assert feed.due_of("x-4") == 1_800_000_000_000.0 and feed.due_of("y-4") is None
    single = Feed(fleet, [planned()], "s-", batch=1)
    assert orjson.loads(single.body(0, 1e12))["read_id"] == "s-0"


def test_feed_body_is_the_stamped_reads() -> None:
    fleet = make_fleet(FleetConfig(cameras=30), seed=2)
    pool = Traffic(fleet, [], seed=2).reads(300)
    feed = Feed(fleet, pool, "e-", batch=100)
    sent = 1_800_000_000_123
    for k in (0, 4):
        want = [
            stamp(pool[s % 300], fleet[pool[s % 300].camera], read_id=f"e-{s}", sent_ms=sent)
            for s in range(k * 100, (k + 1) * 100)
        ]
        assert orjson.loads(feed.body(k, float(sent))) == want


def test_time_text_matches_format_time() -> None:
    text, rng = TimeText(), random.Random(1)
    for ms in [1_800_000_000_000, 1_800_000_000_001, *(rng.randint(0, 2**41) for _ in range(3000))]:
        for fmt in TimeFormat:
            assert orjson.loads(text.json(ms, fmt)) == format_time(ms, fmt), (ms, fmt)


def test_sent_reads_and_topic_comparison() -> None:
    sent = Sent(
        "p-", requests=3, batch=2, failed_requests=frozenset({1}), rejected_reads=frozenset({5})
    )
    assert list(sent.accepted()) == ["p-0", "p-1", "p-4"]
    ok = compare_reads([sent], Counter({"p-0": 1, "p-1": 1, "p-4": 1, "other": 1}))
    assert ok["ok"] and ok["accepted"] == 3
    assert list(sent.refused()) == ["p-2", "p-3"]
    stored = compare_reads([sent], Counter({"p-0": 1, "p-1": 1, "p-2": 1, "p-4": 1}))
    assert stored["ok"] and stored["stored_though_refused"] == 1  # a 503 that reached Kafka
    bad = compare_reads([sent], Counter({"p-0": 2, "p-9": 1}))
    assert not bad["ok"]
    assert (bad["missing"], bad["repeated"], bad["unexpected"]) == (2, 1, 1)


# --- server-sent events --------------------------------------------------------------------------


def test_parse_events_keeps_the_incomplete_tail() -> None:
    raw = (
        b"retry: 2000\n\n: keep-alive\n\n"
        b'event: hit\nid: h1\ndata: {"a": 1}\n\nevent: hit\nid: h2\nda'
    )
    events, rest = parse_events(raw)
    assert events == [("hit", "h1", b'{"a": 1}')]
    assert rest == b"event: hit\nid: h2\nda"
    more, rest = parse_events(rest + b"ta: {}\r\n\r\n")
    assert more == [("hit", "h2", b"{}")] and rest == b""


# --- the benchmark's step search and configuration ------------------------------------------------


def run(rate: float, ok: bool) -> dict[str, Any]:
    return {
        "offered_reads_per_s": rate,
        "send": {
            "achieved_reads_per_s": rate,
            "late_sends": 0,
            "requests_sent": 100,
            "statuses": {"202": 100},
        },
        "hits": {"ok": True, "received_to_stream_ms": {"p99": 50.0 if ok else 500.0}},
    }


def test_passes_needs_the_rate_achieved() -> None:
    assert passes(run(1000, True))
    slow = run(1000, True)
    slow["send"]["achieved_reads_per_s"] = 900
    assert not passes(slow)
    assert not passes(run(1000, False))


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        pytest.param([(1000, True), (5000, True), (12000, True)], 18000, id="all-pass-go-up"),
        pytest.param([(1000, True), (5000, False)], 3000, id="bisect"),
        pytest.param([(1000, True), (1050, False)], None, id="tight"),
        pytest.param([(1000, False)], 500, id="nothing-passes"),
    ],
)
def test_next_step(history: list[tuple[float, bool]], expected: float | None) -> None:
    assert next_step([run(r, ok) for r, ok in history]) == expected


def test_highest_passing() -> None:
    assert highest_passing([run(1000, True), run(3000, True), run(5000, False)]) == 3000
    assert highest_passing([run(1000, False)]) is None


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"rate": 0}, id="rate"),
        pytest.param({"batch": 0}, id="batch"),
        pytest.param({"hit_share": 1.5}, id="hit-share"),
        pytest.param({"cameras": 0}, id="cameras"),
        pytest.param({"setup": False}, id="no-setup-needs-token"),
        pytest.param({"hotlist_entries": 10}, id="entries"),
        pytest.param({"connections": 0}, id="connections"),
    ],
)
def test_sim_config_rejects(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        SimConfig(**overrides)


def test_sim_config_defaults_are_the_demo(tmp_path: Path) -> None:
    config = SimConfig(data_dir=tmp_path)
    assert (config.cameras, config.rate, config.batch, config.setup) == (50, 50.0, 1, True)
    assert SimConfig(setup=False, token="t").token == "t"


# --- profiles and metrics ------------------------------------------------------------------------


def test_top_functions_self_and_inclusive() -> None:
    collapsed = (
        "MainThread;run (a.py:1);work (b.py:2);encode (c.py:3) 6\n"
        "MainThread;run (a.py:1);work (b.py:9) 4\n"
    )
    text = top_functions(collapsed)
    assert "10 samples" in text
    assert "  60.0   encode (c.py)" in text
    assert " 100.0   work (b.py)" in text


def test_metric_value() -> None:
    text = '# HELP x\nanpr_matcher_reads_matched_total 1234.0\nother{a="b"} 2\n'
    assert metric_value(text, "anpr_matcher_reads_matched_total") == 1234.0
    assert metric_value(text, "missing") is None


# --- the load generator's minimal HTTP client (parsing only; no sockets here) ---------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(
            b"HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\n{}", (202, b"{}", True), id="length"
        ),
        pytest.param(b"HTTP/1.1 202 Accepted\r\ncontent-length: 5\r\n\r\n{}", None, id="partial"),
        pytest.param(b"HTTP/1.1 503 Service", None, id="head-partial"),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
            (200, b"abcde", True),
            id="chunked",
        ),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
            None,
            id="chunk-partial",
        ),
        pytest.param(
            b"HTTP/1.1 413 Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
            (413, b"", False),
            id="close",
        ),
    ],
)
def test_raw_http_parse(raw: bytes, expected: tuple[int, bytes, bool] | None) -> None:
    assert _parse(bytearray(raw)) == expected


def test_raw_http_parse_rejects_garbage() -> None:
    with pytest.raises(RawHttpError, match="status line"):
        _parse(bytearray(b"garbage\r\n\r\n"))
