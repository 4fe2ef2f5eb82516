"""The file a `benchmarks.run` writes: a short or partial measurement never takes the name of
the day's full `make bench` run, whose results the README and docs quote."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from benchmarks.run import result_stem

AT = datetime(2026, 12, 1, 5, 53, 46, tzinfo=UTC)


def test_a_full_run_is_named_by_day_and_host() -> None:
    assert result_stem(AT, "vm", False, []) == "2026-12-01-vm"
    assert result_stem(AT, "vm", False, ["--keep", "--out-dir", "out"]) == "2026-12-01-vm"


@pytest.mark.parametrize(
    "argv",
    [
        ["--rates", "5000", "--parts", "e2e", "--hotlist-entries", "100000", "--duration", "30"],
        ["--parts=peers"],
        ["--service-env", "ANPR_KAFKA_LINGER_MS=2"],
        ["--warmup", "0"],
    ],
)
def test_a_partial_run_gets_its_own_name(argv: list[str]) -> None:
    assert result_stem(AT, "vm", False, argv) == "2026-12-01-vm-partial-055346"


def test_a_quick_run_keeps_its_name() -> None:
    assert result_stem(AT, "vm", True, ["--quick"]) == "2026-12-01-vm-quick"
