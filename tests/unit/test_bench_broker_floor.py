"""The broker floor's report table: both latencies, or why it was not measured."""

from __future__ import annotations

from benchmarks.broker_floor import section
from simulator.stats import summarize


def test_the_table_shows_both_latencies_and_the_command() -> None:
    floor = {
        "sends": 3,
        "rate": 20.0,
        "record_bytes": 300,
        "ack_ms": summarize([2.0, 3.0, 9.0]),
        "fetched_ms": summarize([2.5, 3.5, 10.0]),
        "command": "python -m benchmarks.broker_floor --bootstrap b:1 --sends 3",
    }
    text = "\n".join(section(floor))
    assert "| the broker's ack (acks=all) | 3.0 | 9.0 | 9.0 | 9.0 | 4.67 |" in text
    assert "| fetched | 3.5 | 10.0 | 10.0 | 10.0 | 5.33 |" in text
    assert "`python -m benchmarks.broker_floor --bootstrap b:1 --sends 3`" in text


def test_a_failed_measurement_says_so_and_a_skipped_one_shows_nothing() -> None:
    assert "Not measured: exit 1: no broker" in "\n".join(section({"error": "exit 1: no broker"}))
    assert section(None) == []
