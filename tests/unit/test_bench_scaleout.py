"""The ratio 2 instances / 1 instance per benchmark round."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.scaleout import scale_ratios

CASES: dict[str, tuple[list[dict[str, Any]], list[float], float | None]] = {
    "two rounds": (
        [{"1": {"reads_per_s": 1000}, "2": {"reads_per_s": 1500}},
         {"1": {"reads_per_s": 2000}, "2": {"reads_per_s": 1000}}],
        [1.5, 0.5], 1.0,
    ),
    "rounded to two digits": (
        [{"1": {"reads_per_s": 3}, "2": {"reads_per_s": 4}}], [1.33], 1.33,
    ),
    "a round without the 2-instance run is skipped": (
        [{"1": {"reads_per_s": 10}}, {"1": {"reads_per_s": 10}, "2": {"reads_per_s": 9}}],
        [0.9], 0.9,
    ),
    "a zero base is skipped, not divided by": (
        [{"1": {"reads_per_s": 0}, "2": {"reads_per_s": 9}}], [], None,
    ),
    "no rounds": ([], [], None),
}  # fmt: skip


@pytest.mark.parametrize("name", list(CASES))
def test_scale_ratios(name: str) -> None:
    rounds, ratios, median = CASES[name]
    out = scale_ratios(rounds)
    assert out["ratios"] == ratios
    assert out["median_ratio"] == median


def test_other_key() -> None:
    rounds = [{"1": {"requests_per_s": 10, "reads_per_s": 0}, "2": {"requests_per_s": 25}}]
    assert scale_ratios(rounds, key="requests_per_s")["ratios"] == [2.5]
