"""The test harness's free ports: each handed out once per process, so two services of one
stack never get the same port (one of them then failed to start: "address already in use")."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import ports


class PickedAgain:
    """A socket whose OS picks the ports of `picks` in turn, the first one twice."""

    picks: Iterator[int]

    def __init__(self) -> None:
        self.port = 0

    def __enter__(self) -> PickedAgain:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def bind(self, address: tuple[str, int]) -> None:
        self.port = next(self.picks)

    def getsockname(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)


def test_a_port_the_os_picks_again_is_not_handed_out_twice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    PickedAgain.picks = iter([61001, 61001, 61002])
    fake: Any = PickedAgain
    monkeypatch.setattr(ports.socket, "socket", fake)
    monkeypatch.setattr(ports, "_handed", set())
    assert [ports.free_port(), ports.free_port()] == [61001, 61002]
