"""`benchmarks.rounds.in_turn`: contestants run in the given order, then reversed, round after
round, so that neither side always runs first."""

from __future__ import annotations

from benchmarks.rounds import in_turn


def test_the_order_is_reversed_every_other_round() -> None:
    contestants = ["matcher", "plain", "kstreams", "mix"]
    assert [in_turn(contestants, n) for n in range(3)] == [
        ["matcher", "plain", "kstreams", "mix"],
        ["mix", "kstreams", "plain", "matcher"],
        ["matcher", "plain", "kstreams", "mix"],
    ]
    assert contestants == ["matcher", "plain", "kstreams", "mix"]  # the caller's list untouched


def test_over_two_rounds_each_contestant_runs_first_once() -> None:
    firsts = {in_turn(["uvicorn", "minimal"], n)[0] for n in range(2)}
    assert firsts == {"uvicorn", "minimal"}
