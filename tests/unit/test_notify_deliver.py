"""One delivery against an in-process receiver (httpx.MockTransport): headers and signature,
retries on what is worth retrying, the retry window, cancellation, and the metrics."""

from __future__ import annotations

import asyncio
import inspect
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import orjson
import pytest
from prometheus_client import CollectorRegistry

from anpr.deliveries import DeliveryOutcome, DeliveryResult
from anpr.webhooks import WebhookTarget, delivery_id
from notify.backoff import Backoff
from notify.deliver import Deliverer
from notify.metrics import NotifyMetrics
from notify.routing import HitFields
from notify.signing import verify
from tests.unit.api_fixtures import make_hit
from tests.unit.test_notify_routing import target

Handler = Callable[[httpx.Request], httpx.Response]
AsyncHandler = Callable[[httpx.Request], Awaitable[httpx.Response]]


class FakeTime:
    """Sleeping advances a fake monotonic clock: the schedule runs without waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Harness:
    def __init__(
        self,
        handler: Handler | AsyncHandler,
        targets: dict[str, WebhookTarget],
        *,
        attempt_timeout_s: float = 10.0,
    ) -> None:
        self.requests: list[httpx.Request] = []
        self.targets = targets
        self.time = FakeTime()
        self.metrics = NotifyMetrics(CollectorRegistry())

        async def record(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            answer = handler(request)
            return await answer if inspect.isawaitable(answer) else answer

        self.client = httpx.AsyncClient(transport=httpx.MockTransport(record))
        self.deliverer = Deliverer(
            self.client,
            self.targets.get,
            Backoff(base_s=1.0, cap_s=8.0, window_s=30.0),
            self.metrics,
            allow_http_loopback=True,
            attempt_timeout_s=attempt_timeout_s,
            rng=random.Random(3),
            sleep=self.time.sleep,
            monotonic=self.time.monotonic,
        )

    async def deliver(self, hit: dict[str, Any], target_id: str = "t1") -> DeliveryResult:
        return await self.deliverer.deliver(hit, HitFields.model_validate(hit), target_id)

    def count(self, name: str, **labels: str) -> float:
        return self.metrics.registry.get_sample_value(name, labels) or 0.0


def statuses(*codes: int) -> Handler:
    answers = iter(codes)

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(next(answers))

    return handle


async def test_a_delivery_is_signed_and_carries_its_ids() -> None:
    tgt = target(url="https://dispatch.example/hook")
    harness = Harness(statuses(204), {"t1": tgt})
    hit = make_hit()
    result = await harness.deliver(hit)
    assert result.outcome is DeliveryOutcome.DELIVERED
    assert (result.attempts, result.status_code, result.error) == (1, 204, None)
    (request,) = harness.requests
    assert str(request.url) == "https://dispatch.example/hook"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-anpr-delivery"] == delivery_id(hit["hit_id"], "t1")
    assert request.headers["x-anpr-event"] == "hit"
    assert request.headers["x-anpr-attempt"] == "1"
    assert verify(
        tgt.secret,
        body=request.content,
        timestamp_header=request.headers["x-anpr-timestamp"],
        signature_header=request.headers["x-anpr-signature"],
        now_s=time.time(),
    )
    body = orjson.loads(request.content)
    assert body["hit"]["hit_id"] == hit["hit_id"]
    assert harness.count("anpr_notify_deliveries_total", target_id="t1", outcome="delivered") == 1
    assert harness.count("anpr_notify_attempts_total", target_id="t1", result="2xx") == 1
    await harness.client.aclose()


@pytest.mark.parametrize(
    ("case", "codes", "outcome", "attempts", "last_status"),
    [
        ("retried after 503 and 429", (503, 429, 200), DeliveryOutcome.DELIVERED, (3, 3), 200),
        ("400 is not retried", (400,), DeliveryOutcome.FAILED, (1, 1), 400),
        ("401 (bad signature) is not retried", (401,), DeliveryOutcome.FAILED, (1, 1), 401),
        ("a redirect is not followed", (302,), DeliveryOutcome.FAILED, (1, 1), 302),
        # Window 30 s, waits in [d/2, d] for d = 1, 2, 4, 8, 8...: 5 to 11 attempts fit.
        ("5xx until the window is over", (500,) * 50, DeliveryOutcome.FAILED, (5, 11), 500),
    ],
)
async def test_retries(
    case: str,
    codes: tuple[int, ...],
    outcome: DeliveryOutcome,
    attempts: tuple[int, int],
    last_status: int,
) -> None:
    harness = Harness(statuses(*codes), {"t1": target()})
    result = await harness.deliver(make_hit())
    assert result.outcome is outcome, case
    assert result.attempts == len(harness.requests), case
    assert attempts[0] <= result.attempts <= attempts[1], case
    assert result.status_code == last_status
    assert [r.headers["x-anpr-attempt"] for r in harness.requests] == [
        str(i) for i in range(1, result.attempts + 1)
    ]
    bodies = {r.content for r in harness.requests}
    assert len(bodies) == 1, "every attempt sends the same body"
    assert harness.time.now <= 30.0, "no attempt after the retry window"
    if outcome is DeliveryOutcome.FAILED and result.attempts > 1:
        assert harness.time.now + 0.5 * 8.0 > 30.0 - 8.0, "it did not give up early"
    assert all(0.5 <= s <= 8.0 for s in harness.time.sleeps)
    await harness.client.aclose()


async def test_network_errors_are_retried() -> None:
    calls = iter(["connect", "timeout", "ok"])

    def handle(request: httpx.Request) -> httpx.Response:
        what = next(calls)
        if what == "connect":
            raise httpx.ConnectError("refused", request=request)
        if what == "timeout":
            raise httpx.ReadTimeout("slow", request=request)
        return httpx.Response(200)

    harness = Harness(handle, {"t1": target()})
    result = await harness.deliver(make_hit())
    assert result.outcome is DeliveryOutcome.DELIVERED
    assert result.attempts == 3
    for label in ("connect_error", "timeout", "2xx"):
        assert harness.count("anpr_notify_attempts_total", target_id="t1", result=label) == 1


async def test_retry_after_is_honoured() -> None:
    answers = iter([httpx.Response(503, headers={"Retry-After": "6"}), httpx.Response(200)])
    harness = Harness(lambda request: next(answers), {"t1": target()})
    result = await harness.deliver(make_hit())
    assert result.outcome is DeliveryOutcome.DELIVERED
    assert harness.time.sleeps == [6.0]


async def test_a_retry_after_of_odd_digits_is_ignored_not_a_crash() -> None:
    # b"\xb2" reads as "²" (latin-1): str.isdigit() says yes, float() says no. The delivery
    # raised ValueError, which failed its whole batch of hits, over and over.
    answers = iter([httpx.Response(503, headers={"Retry-After": b"\xb2"}), httpx.Response(200)])
    harness = Harness(lambda request: next(answers), {"t1": target()})
    result = await harness.deliver(make_hit())
    assert result.outcome is DeliveryOutcome.DELIVERED
    assert result.attempts == 2
    assert all(0.5 <= s <= 1.0 for s in harness.time.sleeps), "the backoff, as without a header"


async def test_a_target_deleted_or_changed_mid_retry_cancels_the_delivery() -> None:
    targets = {"t1": target(), "t2": target("t2", covert_allowed=True)}

    def handle(request: httpx.Request) -> httpx.Response:
        # The admin acts while the receiver is failing: deletes t1, stops covert hits to t2.
        if request.headers["x-anpr-target"] == "t1":
            targets.pop("t1")
        else:
            targets["t2"] = target("t2", covert_allowed=False)
        return httpx.Response(503)

    harness = Harness(handle, targets)
    deleted = await harness.deliver(make_hit(), "t1")
    assert deleted.outcome is DeliveryOutcome.CANCELLED
    assert deleted.attempts == 1
    covert = await harness.deliver(make_hit(covert=True), "t2")
    assert covert.outcome is DeliveryOutcome.CANCELLED
    assert covert.attempts == 1
    assert len(harness.requests) == 2, "nothing sent once the target no longer takes the hit"


async def test_a_target_id_made_again_on_another_list_mid_retry_cancels_the_delivery() -> None:
    targets = {"t1": target()}

    def handle(request: httpx.Request) -> httpx.Response:
        # Deleted and made again, same id, for another list (with covert allowed, even).
        targets["t1"] = target(list_id="uninsured", covert_allowed=True)
        return httpx.Response(503)

    harness = Harness(handle, targets)
    result = await harness.deliver(make_hit(list_id="stolen"), "t1")
    assert result.outcome is DeliveryOutcome.CANCELLED
    assert len(harness.requests) == 1, "the old list's hit never went to the new target"


async def test_a_receiver_that_never_answers_is_a_timed_out_attempt() -> None:
    silent = asyncio.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        await silent.wait()
        return httpx.Response(200)

    harness = Harness(hang, {"t1": target()}, attempt_timeout_s=0.05)
    result = await harness.deliver(make_hit())
    assert result.outcome is DeliveryOutcome.FAILED
    assert result.error is not None and "no answer within 0.05 s" in result.error
    assert harness.count("anpr_notify_attempts_total", target_id="t1", result="timeout") > 1


async def test_an_answer_whose_body_trickles_does_not_hold_the_delivery() -> None:
    never = asyncio.Event()

    async def trickle() -> AsyncIterator[bytes]:
        yield b"O"
        await never.wait()  # a byte now and then would keep httpx's per-read timeout happy
        yield b"K"

    async def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=trickle())

    harness = Harness(answer, {"t1": target()}, attempt_timeout_s=0.05)
    loop = asyncio.get_running_loop()
    started = loop.time()
    result = await harness.deliver(make_hit())
    assert result.outcome is DeliveryOutcome.DELIVERED and result.attempts == 1
    assert loop.time() - started < 5


async def test_a_url_the_policy_refuses_is_never_requested() -> None:
    harness = Harness(statuses(200), {"t1": target(url="http://dispatch.example/hook")})
    result = await harness.deliver(make_hit())
    assert result.outcome is DeliveryOutcome.FAILED
    assert result.error is not None and "https" in result.error
    assert harness.requests == []


async def test_a_url_the_client_cannot_send_fails_the_delivery_not_the_batch() -> None:
    # A target stored before the URL policy knew such hosts: httpx raised InvalidURL out of
    # deliver(), which failed the whole batch of hits.
    harness = Harness(statuses(200), {"t1": target(url="https://\u2603.net/hook")})
    result = await harness.deliver(make_hit())
    assert result.outcome is DeliveryOutcome.FAILED
    assert result.error is not None and result.error.startswith("url ")
    assert harness.requests == []
    assert harness.count("anpr_notify_attempts_total", target_id="t1", result="refused_url") == 1
    await harness.client.aclose()


async def test_a_target_down_longer_than_the_window_fails_fast_with_a_probe_now_and_then() -> None:
    up = False

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200 if up else 503)

    harness = Harness(handle, {"t1": target()})  # window 30 s, cap 8 s
    first = await harness.deliver(make_hit())
    assert first.outcome is DeliveryOutcome.FAILED
    assert first.attempts > 1
    sent = len(harness.requests)
    streak = harness.deliverer.health.failing_since("t1")
    assert streak == 0.0, "the streak began at the first failure"
    # A delivery that starts before the streak's window is over retries until it ends...
    harness.time.now = max(harness.time.now, 25.0)
    late = await harness.deliver(make_hit())
    assert late.outcome is DeliveryOutcome.FAILED
    assert harness.time.now <= 30.0
    sent = len(harness.requests)
    # ...after it, one probe, then no attempt at all.
    harness.time.now = 30.0
    probe = await harness.deliver(make_hit())
    assert (probe.outcome, probe.attempts) == (DeliveryOutcome.FAILED, 1)
    skipped = [await harness.deliver(make_hit()) for _ in range(5)]
    assert {(r.outcome, r.attempts) for r in skipped} == {(DeliveryOutcome.FAILED, 0)}
    assert all(r.error is not None and "not attempted" in r.error for r in skipped)
    assert len(harness.requests) == sent + 1
    assert harness.count("anpr_notify_deliveries_total", target_id="t1", outcome="failed") == 8
    # After the probe interval the next delivery probes again; the receiver is back: delivered,
    # and the streak is over.
    harness.time.now += 8.0
    up = True
    back = await harness.deliver(make_hit())
    assert (back.outcome, back.attempts) == (DeliveryOutcome.DELIVERED, 1)
    assert harness.deliverer.health.failing_since("t1") is None
    assert (await harness.deliver(make_hit())).outcome is DeliveryOutcome.DELIVERED


async def test_a_failing_target_does_not_slow_another() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503 if request.headers["x-anpr-target"] == "t1" else 200)

    harness = Harness(handle, {"t1": target(), "t2": target("t2")})
    assert (await harness.deliver(make_hit(), "t1")).outcome is DeliveryOutcome.FAILED
    harness.time.now = 30.0  # the streak began at 0: its window is over
    assert (await harness.deliver(make_hit(), "t1")).attempts == 1  # the probe
    assert (await harness.deliver(make_hit(), "t1")).attempts == 0
    ok = await harness.deliver(make_hit(), "t2")
    assert (ok.outcome, ok.attempts) == (DeliveryOutcome.DELIVERED, 1)
