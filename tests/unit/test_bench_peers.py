"""The peers part of `make bench`: targets judged from the rounds, ratio by ratio."""

from __future__ import annotations

from typing import Any

from benchmarks.peers import peer_targets, peers_section


def stack_round(ours: int, peer: int, key: str) -> dict[str, Any]:
    return {"uvicorn": {key: ours}, "minimal": {key: peer}}


FOUND: dict[str, Any] = {
    "gateway": {
        "batch1": {
            "rounds": [
                stack_round(1500, 2000, "requests_per_cpu_s"),
                stack_round(1600, 2000, "requests_per_cpu_s"),
            ],
            "median_requests_per_cpu_s": {"uvicorn": 1550, "minimal": 2000},
        },
        "batch100": {
            "rounds": [
                stack_round(26_000, 25_000, "reads_per_s"),
                stack_round(32_000, 25_000, "reads_per_s"),
            ]
        },
    },
    "matcher": {
        "entries": 1_000_000,
        "rounds": [
            {
                "matcher": {"reads_per_s": 60_000},
                "plain": {"reads_per_s": 40_000},
                "kstreams": {"reads_per_s": 75_000},
                "mix": {"reads_per_s": 38_000, "entries": 2_000_000},
                "same_hits": True,
            }
        ],
        "median_ratio": 1.5,
        "median_kstreams_ratio": 0.8,
    },
}


def test_each_target_is_judged_from_the_median_of_the_round_ratios() -> None:
    judged = {t["target"]: (t["measured"], t["met"]) for t in peer_targets(FOUND)}
    single = (
        "gateway ≥ a minimal FastAPI + aiokafka endpoint (single reads, requests per server CPU-s)"
    )
    assert judged[single] == ("0.78× the peer (median; rounds 0.75, 0.80)", False)
    batches = "gateway ≥ a minimal FastAPI + aiokafka endpoint (batches of 100, reads/s)"
    assert judged[batches] == ("1.16× the peer (median; rounds 1.04, 1.28)", True)
    assert judged["gateway ≥ 3,000 single-read requests/s per core"] == (
        "1,550 per server CPU-s",
        False,
    )
    assert judged["gateway ≥ 30,000 reads/s in batches of 100, alone on the broker"] == (
        "29,000 reads/s",
        False,
    )
    matcher = "matcher ≥ 1.5× a plain aiokafka loop (exact list of 1,000,000 entries)"
    assert judged[matcher] == ("1.50× the plain loop (median; rounds 1.50)", True)
    assert judged["matcher ≥ a Kafka Streams app"] == (
        "0.80× the Streams app (median; rounds 0.80)",
        False,
    )
    assert judged["matcher with lists of every mode ≥ the plain aiokafka loop"] == (
        "0.95× the plain loop (median; rounds 0.95)",
        False,
    )


def test_the_report_shows_the_matcher_with_every_mode_against_the_plain_loop() -> None:
    rows = [line for line in peers_section(FOUND) if line.startswith("| matcher with lists")]
    assert rows == [
        "| matcher with lists of every mode (2,000,000 entries) vs plain aiokafka loop (the "
        "exact list), reads/s | 1 | 38,000 | 40,000 | 0.95 |"
    ]


def test_a_ratio_target_is_met_only_when_every_round_meets_it() -> None:
    def rounds(*peers: int) -> dict[str, Any]:
        return {
            **FOUND,
            "matcher": {
                "entries": 1_000_000,
                "rounds": [
                    {"matcher": {"reads_per_s": 100_000}, "kstreams": {"reads_per_s": p}}
                    for p in peers
                ],
            },
        }

    def streams(found: dict[str, Any]) -> tuple[str, bool]:
        (judged,) = [
            t for t in peer_targets(found) if t["target"] == "matcher ≥ a Kafka Streams app"
        ]
        return judged["measured"], judged["met"]

    # The median of these two passes (1.03), one round does not: not met.
    assert streams(rounds(133_333, 76_336)) == (
        "1.03× the Streams app (median; rounds 0.75, 1.31)",
        False,
    )
    assert streams(rounds(98_000, 90_000)) == (
        "1.07× the Streams app (median; rounds 1.02, 1.11)",
        True,
    )


def test_the_report_shows_each_matcher_peer_round_by_round() -> None:
    rows = [line for line in peers_section(FOUND) if line.startswith("| matcher vs")]
    assert rows == [
        "| matcher vs plain aiokafka loop, 1,000,000-entry exact list, reads/s | 1 | 60,000 "
        "| 40,000 | 1.50 |",
        "| matcher vs Kafka Streams app, 1,000,000-entry exact list, reads/s | 1 | 60,000 "
        "| 75,000 | 0.80 |",
    ]


def test_a_part_that_failed_is_not_measured_and_not_met() -> None:
    failed: dict[str, Any] = {"gateway": {"batch1": {"error": "exit 1: boom"}}, "matcher": {}}
    judged = peer_targets(failed)
    assert judged and not any(t["met"] for t in judged)
    assert any("not measured: exit 1: boom" in line for line in peers_section(failed))


def test_nothing_measured_gives_no_targets() -> None:
    assert peer_targets(None) == []


def test_a_peer_that_could_not_run_is_not_measured_and_the_other_still_is() -> None:
    found = {
        **FOUND,
        "matcher": {
            "entries": 1_000_000,
            "rounds": [
                {
                    "matcher": {"reads_per_s": 60_000},
                    "plain": {"reads_per_s": 50_000},
                    "kstreams": {"error": "exit 1: java is not on PATH"},
                }
            ],
        },
    }
    judged = {t["target"]: (t["measured"], t["met"]) for t in peer_targets(found)}
    assert judged["matcher ≥ a Kafka Streams app"] == ("not measured", False)
    plain = "matcher ≥ 1.5× a plain aiokafka loop (exact list of 1,000,000 entries)"
    assert judged[plain] == ("1.20× the plain loop (median; rounds 1.20)", False)
    rows = [line for line in peers_section(found) if line.startswith("| matcher vs")]
    assert rows[1] == (
        "| matcher vs Kafka Streams app | 1 | not measured: exit 1: java is not on PATH | | |"
    )
