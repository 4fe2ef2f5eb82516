"""benchmarks.sqlite_commits: both writers, both checkpoint modes, both ways of placing hits,
figures that add up."""

from __future__ import annotations

from pathlib import Path

from benchmarks.sqlite_commits import _mib, _summary, measure, measure_placing


def test_summary_quantiles_and_slow_batches(tmp_path: Path) -> None:
    wal = tmp_path / "x-wal"
    wal.write_bytes(b"\0" * 2**20)
    result = _summary([float(n) for n in range(1, 101)], _mib(wal), 3)
    assert result["batches"] == 100
    assert (result["p50_ms"], result["p90_ms"], result["p99_ms"], result["max_ms"]) == (
        50.0,
        90.0,
        99.0,
        100.0,
    )
    assert result["over_5ms"] == 95
    assert result["wal_mib"] == 1.0
    assert result["side_checkpoints"] == 3


async def test_a_short_run_times_both_writers_in_both_modes() -> None:
    rows = await measure(batches=10, rounds=1)
    assert [(r["what"], r["checkpoints"]) for r in rows] == [
        ("store", "inline"),
        ("store", "side"),
        ("bus", "inline"),
        ("bus", "side"),
    ]
    assert [r["batches"] for r in rows] == [10, 10, 4, 4]
    store_side = rows[1]
    assert store_side["side_checkpoints"] >= 1  # the first write starts one
    assert rows[0]["side_checkpoints"] is None
    assert all(0 < r["p50_ms"] <= r["p99_ms"] <= r["max_ms"] for r in rows)


async def test_placing_runs_both_ways_in_alternating_order() -> None:
    rows = await measure_placing(batches=5, rounds=2, hits=4)
    assert [(r["round"], r["placing"]) for r in rows] == [
        (1, "apart"),
        (1, "together"),
        (2, "together"),
        (2, "apart"),
    ]
    assert all(r["batches"] == 5 and r["cpu_ms"] > 0 for r in rows)
