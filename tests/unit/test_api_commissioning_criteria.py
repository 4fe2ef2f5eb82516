"""The acceptance criteria as a pure function: named cases, each starting from a camera that
passes everything and changing one thing. Plus the histogram quantiles the criteria read."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from api.commissioning.criteria import (
    CHECKS,
    DEFAULT_THRESHOLDS,
    AcceptanceThresholds,
    evaluate,
    verdict_of,
)
from api.commissioning.model import CommissioningStats, Status, Verdict
from api.health.histogram import (
    CONFIDENCE_BOUNDS,
    GAP_BOUNDS_S,
    Histogram,
    confidence_bin,
    gap_bin,
)

MIN = 60_000
HOUR = 60 * MIN
NOW = 1_750_000_000_000


def conf_hist(counts: dict[float, int]) -> Histogram:
    bins = [0] * (len(CONFIDENCE_BOUNDS) - 1)
    for value, n in counts.items():
        bins[confidence_bin(value)] += n
    return Histogram(CONFIDENCE_BOUNDS, tuple(bins))


def gap_hist(counts: dict[float, int]) -> Histogram:
    bins = [0] * (len(GAP_BOUNDS_S) - 1)
    for gap_s, n in counts.items():
        bins[gap_bin(gap_s)] += n
    return Histogram(GAP_BOUNDS_S, tuple(bins))


def make_stats(**overrides: Any) -> CommissioningStats:
    """Two hours of a camera registered at 120 reads an hour that does everything right."""
    values: dict[str, Any] = {
        "now": NOW,
        "window_start": NOW - 2 * HOUR,
        "expected_reads_per_hour": 120.0,
        "reads": 240,
        "rejected": 2,
        "duplicates": 3,
        "with_confidence": 240,
        "confidence": conf_hist({0.92: 200, 0.81: 30, 0.45: 10}),
        "with_images": 0,
        "own_read_ids": 240,
        "clock_skew_ms": 800,
        "skew_samples": 64,
        "heartbeats": 120,
        "heartbeat_gaps": gap_hist({60: 110, 70: 9}),
    }
    values.update(overrides)
    return CommissioningStats(**values)


def statuses(stats: CommissioningStats, **thresholds: Any) -> dict[str, Status]:
    t = dataclasses.replace(DEFAULT_THRESHOLDS, **thresholds)
    return {c.id: c.status for c in evaluate(stats, t).criteria}


P, F, WAIT, NA = Status.PASS, Status.FAIL, Status.INSUFFICIENT_DATA, Status.NOT_APPLICABLE

CASES: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Status], Verdict]] = [
    ("everything right", {}, {}, {"valid_reads": P, "read_ids": P, "images": NA}, Verdict.PASS),
    (
        "exactly the minimum window and sample",
        {
            "window_start": NOW - HOUR,
            "reads": 100,
            "rejected": 0,
            "with_confidence": 100,
            "confidence": conf_hist({0.9: 100}),
            "own_read_ids": 100,
            "heartbeats": 45,
            "heartbeat_gaps": gap_hist({60: 44}),
            "expected_reads_per_hour": 100.0,
        },
        {},
        {"observation_window": P, "sample_size": P, "heartbeat_count": P, "read_rate": P},
        Verdict.PASS,
    ),
    (
        "twenty minutes in: not enough to judge",
        {"window_start": NOW - 20 * MIN, "reads": 40, "with_confidence": 40, "own_read_ids": 40},
        {},
        {
            "observation_window": WAIT,
            "sample_size": WAIT,
            "valid_reads": WAIT,
            "heartbeat_count": WAIT,
            "heartbeat_gaps": WAIT,
            "confidence_present": WAIT,
            "read_ids": WAIT,
            "read_rate": WAIT,
        },
        Verdict.INSUFFICIENT_DATA,
    ),
    (
        "a long window of a quiet camera, too few reads",
        {
            "reads": 60,
            "with_confidence": 60,
            "confidence": conf_hist({0.9: 60}),
            "own_read_ids": 60,
            "expected_reads_per_hour": 30.0,
        },
        {},
        {"observation_window": P, "sample_size": WAIT, "read_rate": P, "confidence_median": P},
        Verdict.INSUFFICIENT_DATA,
    ),
    (
        "valid share exactly at 0.95",
        {"reads": 190, "rejected": 10, "own_read_ids": 190, "with_confidence": 190},
        {},
        {"valid_reads": P},
        Verdict.PASS,
    ),
    ("too many rejected", {"rejected": 20}, {}, {"valid_reads": F}, Verdict.FAIL),
    (
        "rejections fail early, before the window is complete",
        {"window_start": NOW - 20 * MIN, "reads": 50, "rejected": 100, "own_read_ids": 50},
        {},
        {"observation_window": WAIT, "valid_reads": F},
        Verdict.FAIL,
    ),
    (
        "camera clock an hour ahead (time zone)",
        {"clock_skew_ms": -3_600_000},
        {},
        {"clock_skew": F},
        Verdict.FAIL,
    ),
    ("clock skew exactly at 5 s", {"clock_skew_ms": 5000}, {}, {"clock_skew": P}, Verdict.PASS),
    (
        "large skew on too few reads",
        {"clock_skew_ms": 9000, "skew_samples": 5},
        {},
        {"clock_skew": WAIT},
        Verdict.INSUFFICIENT_DATA,
    ),
    (
        "no clock skew measured",
        {"clock_skew_ms": None, "skew_samples": 0},
        {},
        {"clock_skew": WAIT},
        Verdict.INSUFFICIENT_DATA,
    ),
    (
        "no heartbeats at all",
        {"heartbeats": 0, "heartbeat_gaps": gap_hist({})},
        {},
        {"heartbeat_count": F, "heartbeat_gaps": F},
        Verdict.FAIL,
    ),
    (
        "heartbeats for half the window only",
        {"heartbeats": 60, "heartbeat_gaps": gap_hist({60: 59})},
        {},
        {"heartbeat_count": F, "heartbeat_gaps": P},
        Verdict.FAIL,
    ),
    (
        "irregular heartbeats",
        {"heartbeat_gaps": gap_hist({60: 100, 300: 19})},
        {},
        {"heartbeat_count": P, "heartbeat_gaps": F},
        Verdict.FAIL,
    ),
    (
        "95 % of gaps within 120 s: the bound passes",
        {"heartbeat_gaps": gap_hist({110: 95, 150: 5})},
        {},
        {"heartbeat_gaps": P},
        Verdict.PASS,
    ),
    (
        "94 % of gaps within 120 s: fails",
        {"heartbeat_gaps": gap_hist({110: 94, 150: 6})},
        {},
        {"heartbeat_gaps": F},
        Verdict.FAIL,
    ),
    (
        "no confidence sent",
        {"with_confidence": 0, "confidence": conf_hist({})},
        {},
        {"confidence_present": F, "confidence_median": WAIT, "low_confidence": WAIT},
        Verdict.FAIL,
    ),
    (
        "confidence on 85 % of reads",
        {"with_confidence": 204, "confidence": conf_hist({0.9: 204})},
        {},
        {"confidence_present": F, "confidence_median": P},
        Verdict.FAIL,
    ),
    (
        "median confidence too low",
        {"confidence": conf_hist({0.62: 240})},
        {},
        {"confidence_median": F, "low_confidence": P},
        Verdict.FAIL,
    ),
    (
        "median confidence exactly at 0.7",
        {"confidence": conf_hist({0.65: 120, 0.75: 120})},
        {},
        {"confidence_median": P},
        Verdict.PASS,
    ),
    (
        "too many reads below 0.5",
        {"confidence": conf_hist({0.9: 180, 0.3: 60})},
        {},
        {"confidence_median": P, "low_confidence": F},
        Verdict.FAIL,
    ),
    (
        "low share exactly 0.2 passes",
        {"confidence": conf_hist({0.9: 192, 0.3: 48})},
        {},
        {"low_confidence": P},
        Verdict.PASS,
    ),
    (
        "images required and sent",
        {"with_images": 240},
        {"images_required": True},
        {"images": P},
        Verdict.PASS,
    ),
    (
        "images required, missing on most reads",
        {"with_images": 100},
        {"images_required": True},
        {"images": F},
        Verdict.FAIL,
    ),
    ("images missing but not required", {"with_images": 0}, {}, {"images": NA}, Verdict.PASS),
    ("derived read_ids only", {"own_read_ids": 0}, {}, {"read_ids": P}, Verdict.PASS),
    (
        "own read_id on half of the reads",
        {"own_read_ids": 120},
        {},
        {"read_ids": F},
        Verdict.FAIL,
    ),
    (
        "read rate under half the registered rate",
        {"reads": 110, "own_read_ids": 110, "with_confidence": 110},
        {},
        {"read_rate": F},
        Verdict.FAIL,
    ),
    (
        "read rate over one and a half times the registered rate",
        {"reads": 400, "own_read_ids": 400, "with_confidence": 400},
        {},
        {"read_rate": F},
        Verdict.FAIL,
    ),
    (
        "no expected rate registered",
        {"expected_reads_per_hour": None},
        {},
        {"read_rate": NA},
        Verdict.PASS,
    ),
    (
        "an expected rate of 0 is no expectation",
        {"expected_reads_per_hour": 0.0},
        {},
        {"read_rate": NA},
        Verdict.PASS,
    ),
    (
        "a never seen camera",
        {
            "window_start": NOW,
            "reads": 0,
            "rejected": 0,
            "duplicates": 0,
            "with_confidence": 0,
            "confidence": conf_hist({}),
            "own_read_ids": 0,
            "clock_skew_ms": None,
            "skew_samples": 0,
            "heartbeats": 0,
            "heartbeat_gaps": gap_hist({}),
        },
        {},
        {c.__name__: WAIT for c in CHECKS if c.__name__ not in ("images",)},
        Verdict.INSUFFICIENT_DATA,
    ),
]


@pytest.mark.parametrize(
    ("stats", "thresholds", "expected", "verdict"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_acceptance_criteria(
    stats: dict[str, Any],
    thresholds: dict[str, Any],
    expected: dict[str, Status],
    verdict: Verdict,
) -> None:
    made = make_stats(**stats)
    got = statuses(made, **thresholds)
    assert {k: got[k] for k in expected} == expected
    t = dataclasses.replace(DEFAULT_THRESHOLDS, **thresholds)
    assert evaluate(made, t).verdict is verdict


def test_report_carries_measured_values_thresholds_and_evidence() -> None:
    report = evaluate(make_stats())
    by_id = {c.id: c for c in report.criteria}
    assert [c.id for c in report.criteria] == [check.__name__ for check in CHECKS]
    assert report.window_start == NOW - 2 * HOUR
    assert report.window_end == NOW
    assert report.summary == "meets every acceptance criterion: ready to go live"
    valid = by_id["valid_reads"]
    assert (valid.measured, valid.threshold.min, valid.samples) == (round(240 / 242, 4), 0.95, 242)
    assert valid.evidence == {"accepted": 240, "rejected": 2}
    assert by_id["clock_skew"].threshold.max == 5000
    assert by_id["heartbeat_count"].threshold.min == 90  # 75 % of 120 over two hours
    assert by_id["read_rate"].measured == 120.0
    assert (by_id["read_rate"].threshold.min, by_id["read_rate"].threshold.max) == (60.0, 180.0)
    assert by_id["read_ids"].evidence == {
        "own_read_id_share": 1.0,
        "duplicates": 3,
        "duplicate_ratio": round(3 / 243, 4),
    }
    assert by_id["low_confidence"].measured == round(10 / 240, 4)


def test_clock_ahead_is_named_and_summaries_list_the_criteria() -> None:
    report = evaluate(make_stats(clock_skew_ms=-7000, rejected=50))
    skew = next(c for c in report.criteria if c.id == "clock_skew")
    assert skew.measured == 7000
    assert skew.evidence == {"median_ms": -7000}
    assert "ahead" in skew.detail
    assert report.summary == "fails valid_reads, clock_skew"
    waiting = evaluate(make_stats(window_start=NOW - 30 * MIN))
    assert waiting.summary.startswith("not enough evidence yet for observation_window")


def test_thresholds_are_parameters() -> None:
    strict = AcceptanceThresholds(max_clock_skew_ms=500, min_reads=500)
    got = statuses(make_stats(), **dataclasses.asdict(strict))
    assert got["clock_skew"] is F
    assert got["sample_size"] is WAIT


@pytest.mark.parametrize(
    ("statuses_", "verdict"),
    [
        pytest.param([P, NA, P], Verdict.PASS, id="pass and not applicable"),
        pytest.param([P, WAIT, P], Verdict.INSUFFICIENT_DATA, id="one lacking evidence"),
        pytest.param([WAIT, F, P], Verdict.FAIL, id="a fail wins over lacking evidence"),
    ],
)
def test_verdict_of(statuses_: list[Status], verdict: Verdict) -> None:
    base = evaluate(make_stats()).criteria[0]
    criteria = tuple(dataclasses.replace(base, status=s) for s in statuses_)
    assert verdict_of(criteria) is verdict


@pytest.mark.parametrize(
    ("counts", "q", "expected"),
    [
        pytest.param({}, 0.5, None, id="empty"),
        pytest.param({0.95: 10}, 0.5, 0.95, id="one bin: its middle"),
        pytest.param({0.65: 5, 0.75: 5}, 0.5, 0.7, id="halves meet at the bound"),
        pytest.param({0.05: 1, 0.95: 3}, 0.25, 0.1, id="first quarter ends a bin"),
    ],
)
def test_confidence_quantiles(counts: dict[float, int], q: float, expected: float | None) -> None:
    got = conf_hist(counts).quantile(q)
    assert got == expected if expected is None else got == pytest.approx(expected)


def test_gap_quantiles_and_shares() -> None:
    hist = gap_hist({60: 90, 100: 5, 3600: 5})
    assert hist.quantile(0.9) == pytest.approx(60)
    assert hist.quantile(0.95) == pytest.approx(120)
    assert hist.quantile(0.99) == 1800  # the open last bin answers its lower bound
    assert hist.share_below(120) == pytest.approx(0.95)
    assert hist.share_below(45) == 0
    assert conf_hist({0.3: 1, 0.9: 3}).share_below(0.5) == 0.25
    assert Histogram.empty(GAP_BOUNDS_S).share_below(120) is None


@pytest.mark.parametrize(
    ("value", "bin_"),
    [(0.0, 0), (0.099, 0), (0.1, 1), (0.5, 5), (0.7, 7), (1.0, 9), (1.5, 9), (-1.0, 0)],
)
def test_confidence_bins_put_a_bound_in_the_bin_above(value: float, bin_: int) -> None:
    assert confidence_bin(value) == bin_


@pytest.mark.parametrize(
    ("gap_s", "bin_"), [(1, 0), (30, 0), (30.5, 1), (60, 2), (120, 5), (121, 6), (1e6, 10)]
)
def test_gap_bins_put_a_bound_in_the_bin_below(gap_s: float, bin_: int) -> None:
    assert gap_bin(gap_s) == bin_
    assert GAP_BOUNDS_S[bin_] < gap_s <= GAP_BOUNDS_S[bin_ + 1]


def test_histogram_shape_is_checked() -> None:
    with pytest.raises(ValueError, match="one bound more"):
        Histogram((0, 1), (1, 2))


def test_the_connection_standard_quotes_these_criteria_and_thresholds() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "connection-standard.md").read_text()
    rows = dict(re.findall(r"^\| `(\w+)` \| (\S+) \|$", doc, flags=re.MULTILINE))
    defaults = dataclasses.asdict(DEFAULT_THRESHOLDS)
    assert {name: rows.get(name) for name in defaults} == {k: str(v) for k, v in defaults.items()}
    for check in CHECKS:
        assert f"\n| `{check.__name__}` | " in doc, check.__name__
