"""Failed console sign-ins are limited per client address (`api.console.signin_limit`)."""

from __future__ import annotations

import httpx
import pytest

from api.console.signin_limit import SignInLimiter
from tests.unit.api_fixtures import ADMIN_TOKEN, ApiHarness, running_api


def browser(api: ApiHarness, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=api.app, client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://api")


async def test_ten_failed_sign_ins_from_one_address_are_answered_429() -> None:
    async with running_api() as api:
        async with browser(api, "10.0.0.7") as guesser, browser(api, "10.0.0.8") as desk:
            for i in range(10):
                wrong = await guesser.post("/console/session", json={"token": f"guess-{i}"})
                assert wrong.status_code == 401, i
            limited = await guesser.post("/console/session", json={"token": "guess-10"})
            assert limited.status_code == 429
            assert 1 <= int(limited.headers["retry-after"]) <= 60
            assert limited.json()["errors"] == [
                {"field": "token", "message": limited.json()["errors"][0]["message"]}
            ]
            # Not even the right token is checked from there: a 200 would tell a right guess.
            right = await guesser.post("/console/session", json={"token": ADMIN_TOKEN})
            assert right.status_code == 429
            # Another address is not affected.
            other = await desk.post("/console/session", json={"token": api.tokens["operator"]})
            assert other.status_code == 200
        assert api.service.metrics.console_sign_ins.labels("limited")._value.get() == 2


async def test_successful_sign_ins_are_never_counted() -> None:
    async with running_api() as api, browser(api, "10.0.0.9") as desk:
        for _ in range(30):
            ok = await desk.post("/console/session", json={"token": api.tokens["operator"]})
            assert ok.status_code == 200
        for i in range(9):
            wrong = await desk.post("/console/session", json={"token": f"typo-{i}"})
            assert wrong.status_code == 401
        ok = await desk.post("/console/session", json={"token": api.tokens["operator"]})
        assert ok.status_code == 200


def test_the_limit_lifts_once_the_failures_are_a_window_old() -> None:
    limiter = SignInLimiter(max_failures=3, window_s=60)
    for t in (0, 1_000, 2_000):
        assert limiter.retry_after_s("a", t) is None
        limiter.failed("a", t)
    assert limiter.retry_after_s("a", 2_000) == 58
    assert limiter.retry_after_s("a", 59_999) == 1
    assert limiter.retry_after_s("a", 60_000) is None
    limiter.failed("a", 60_000)  # the failures at 1 s, 2 s and 60 s: 3 within a minute
    assert limiter.retry_after_s("a", 60_000) == 1
    assert limiter.retry_after_s("b", 60_000) is None


def test_memory_is_bounded_by_the_number_of_addresses() -> None:
    limiter = SignInLimiter(max_failures=2, window_s=60, max_addresses=100)
    for i in range(10_000):
        limiter.failed(f"10.1.{i // 256}.{i % 256}", i)
        assert len(limiter) <= 100
    # The most recent addresses are the ones kept.
    last = "10.1.39.15"  # i = 9999
    limiter.failed(last, 10_000)
    assert limiter.retry_after_s(last, 10_000) is not None


def test_expired_addresses_are_forgotten_first() -> None:
    limiter = SignInLimiter(max_failures=2, window_s=60, max_addresses=3)
    limiter.failed("old", 0)
    limiter.failed("hot", 70_000)
    limiter.failed("hot", 70_001)
    limiter.failed("new-1", 70_002)
    limiter.failed("new-2", 70_003)  # "old" is out of the window: it goes, "hot" stays
    assert limiter.retry_after_s("hot", 70_004) is not None
    assert len(limiter) == 3


async def test_sign_ins_while_the_registry_loads_are_503_and_never_counted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Registry tokens are unknown until the registry topic is replayed: a sign-in then was
    answered 401 "not a valid token" (an operator told to fetch a new token at every API
    restart) and counted as a failed guess, so a control room retrying through a restart was
    locked out for a minute once the API was up."""
    async with running_api() as api, browser(api, "10.0.0.10") as desk:
        follower = api.service.registry_follower
        follower.caught_up.clear()
        loaded = api.service.registry.tokens
        monkeypatch.setattr(api.service.registry, "tokens", {})  # as right after a start
        try:
            for _ in range(12):
                early = await desk.post("/console/session", json={"token": api.tokens["operator"]})
                assert early.status_code == 503, early.text
                assert early.headers["retry-after"] == str(api.service.settings.retry_after_s)
                assert "set-cookie" not in early.headers
            # The bootstrap admin token needs no registry.
            admin = await desk.post("/console/session", json={"token": ADMIN_TOKEN})
            assert admin.status_code == 200
        finally:
            monkeypatch.setattr(api.service.registry, "tokens", loaded)
            follower.caught_up.set()
        assert len(api.service.sign_in_limiter) == 0
        assert api.service.metrics.console_sign_ins.labels("unavailable")._value.get() == 12
        ok = await desk.post("/console/session", json={"token": api.tokens["operator"]})
        assert ok.status_code == 200
