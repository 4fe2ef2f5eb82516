"""The delivery worker on the in-process bus (the `anpr run` composition): targets from the
registry topic, hits consumed with its group, outcomes published, offsets committed only after
every delivery of a batch ended, deliveries in flight bounded."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson
import pytest
from prometheus_client import CollectorRegistry

from anpr.bus.base import Message
from anpr.bus.local import LocalBus
from anpr.deliveries import DeliveryResult, decode_result
from anpr.errors import BusUnavailable
from anpr.runtime import Runtime
from anpr.topics import Topics
from anpr.webhooks import WebhookWriter, delivery_id
from notify.app import create_app
from notify.budget import NOTIFY_POLL_INTERVAL_S
from notify.metrics import NotifyMetrics
from notify.service import NotifyService
from notify.settings import NotifySettings
from tests.support.wait import until
from tests.unit.api_fixtures import make_hit
from tests.unit.test_notify_routing import target

AsyncHandler = Callable[[httpx.Request], Awaitable[httpx.Response]]


@asynccontextmanager
async def running(handler: AsyncHandler, **settings: Any) -> AsyncIterator[NotifyService]:
    config = NotifySettings(
        notify_backoff_base_s=0.01, notify_backoff_cap_s=0.05, notify_poll_ms=20, **settings
    )
    topics = Topics.from_prefix(config.topic_prefix)
    bus = LocalBus(None, topics.specs(config))
    await bus.start()
    writer = WebhookWriter(bus, topics.registry)
    await writer.put(target("t1", url="https://a.example/hook"))
    await writer.put(target("t2", url="https://b.example/hook", covert_allowed=True))
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    registry = CollectorRegistry()
    runtime = Runtime.for_process("notify", config, bus, registry)
    service = NotifyService(config, runtime, NotifyMetrics(registry), client=client)
    service.start()
    try:
        await until(lambda: service.ready)
        yield service
    finally:
        await service.stop()
        await client.aclose()
        await bus.stop()


async def publish(service: NotifyService, *hits: dict[str, Any]) -> None:
    await service.bus.publish(
        [Message(service.topics.hits, h["hit_id"].encode(), orjson.dumps(h)) for h in hits],
        timeout_s=1.0,
    )


def outcomes(service: NotifyService) -> dict[str, str]:
    bus = service.bus
    assert isinstance(bus, LocalBus)
    rows = bus.db.execute(
        "SELECT value FROM log WHERE topic=? ORDER BY off", (service.topics.deliveries,)
    ).fetchall()
    return {r.delivery_id: r.outcome.value for r in (decode_result(v) for (v,) in rows)}


def committed(service: NotifyService) -> int:
    bus = service.bus
    assert isinstance(bus, LocalBus)
    row = bus.db.execute(
        "SELECT off FROM group_offsets WHERE grp=? AND topic=?",
        (service.settings.group_id, service.topics.hits),
    ).fetchone()
    return int(row[0]) if row else 0


async def test_hits_go_to_their_targets_and_outcomes_are_published() -> None:
    seen: list[tuple[str, str]] = []

    async def accept(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.host, request.headers["x-anpr-delivery"]))
        return httpx.Response(200)

    async with running(accept) as service:
        plain, covert = make_hit(), make_hit(covert=True)
        other_list = make_hit(list_id="elsewhere")
        await service.bus.publish(
            [Message(service.topics.hits, b"junk", b"not a hit")], timeout_s=1.0
        )
        await publish(service, plain, covert, other_list)
        want = {
            delivery_id(plain["hit_id"], "t1"): "delivered",
            delivery_id(plain["hit_id"], "t2"): "delivered",
            delivery_id(covert["hit_id"], "t2"): "delivered",
        }
        await until(lambda: outcomes(service) == want)
        assert sorted(seen) == sorted(
            [
                ("a.example", delivery_id(plain["hit_id"], "t1")),
                ("b.example", delivery_id(plain["hit_id"], "t2")),
                ("b.example", delivery_id(covert["hit_id"], "t2")),
            ]
        ), "the covert hit never went to t1"
        await until(lambda: committed(service) == 4)
        registry = service.metrics.registry
        # /metrics needs no token: the covert hit is in no series (it would count it).
        assert registry.get_sample_value("anpr_notify_skipped_total", {"reason": "covert"}) is None
        delivered = {"target_id": "t2", "outcome": "delivered"}
        assert registry.get_sample_value("anpr_notify_deliveries_total", delivered) == 1
        assert (
            registry.get_sample_value(
                "anpr_invalid_records_total",
                {"process": "notify", "topic": service.topics.hits},
            )
            == 1
        )
        assert registry.get_sample_value("anpr_notify_hits_consumed_total") == 2  # overt only


async def test_offsets_wait_for_every_delivery_of_the_batch() -> None:
    receiver_up = asyncio.Event()

    async def flaky(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200 if receiver_up.is_set() else 503)

    async with running(flaky, notify_retry_window_s=60) as service:
        start = committed(service)
        hit = make_hit()
        await publish(service, hit)
        attempts = service.metrics.attempts.labels("t1", "5xx")
        await until(lambda: attempts._value.get() >= 3)
        assert committed(service) == start, "not committed while a delivery is retrying"
        assert outcomes(service) == {}
        receiver_up.set()
        await until(lambda: committed(service) == start + 1)
        assert set(outcomes(service).values()) == {"delivered"}


async def test_a_delivery_that_raises_cancels_the_others_of_its_batch() -> None:
    """A batch whose handling raises is redone (record by record): a delivery of it still
    under way would run on beside the redo, and send the same delivery id twice at once."""
    cancelled: list[str] = []

    async def accept(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200)

    async with running(accept) as service:
        real = service.deliverer.deliver
        started = asyncio.Event()

        async def deliver(hit: dict[str, Any], fields: Any, target_id: str) -> DeliveryResult:
            if target_id == "t2":
                started.set()
                try:
                    await asyncio.Event().wait()  # a slow receiver
                except asyncio.CancelledError:
                    cancelled.append(target_id)
                    raise
            await started.wait()
            raise RuntimeError("a bug in a delivery")

        service.deliverer.deliver = deliver  # type: ignore[method-assign]
        try:
            await publish(service, make_hit())
            await until(lambda: len(cancelled) >= 1)
        finally:
            service.deliverer.deliver = real  # type: ignore[method-assign]


async def test_a_failing_target_moved_by_an_administrator_is_tried_at_once() -> None:
    """Deliveries to a target whose receiver is down fail without an attempt (one probe now
    and then); its failures were the old address's once an administrator changes its URL."""

    async def accept(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200)

    async with running(accept) as service:
        health = service.deliverer.health
        health.failed("t1", 1.0)
        health.failed("t2", 1.0)
        writer = WebhookWriter(service.bus, service.topics.registry)
        await writer.put(target("t1", url="https://a2.example/hook"))
        await writer.put(target("t2", url="https://b.example/hook", description="renamed"))
        await until(lambda: service.registry.webhooks["t2"].description == "renamed")
        assert health.failing_since("t1") is None
        assert health.failing_since("t2") == 1.0  # same address: still failing


async def test_deliveries_in_flight_are_bounded() -> None:
    active = 0
    peak = 0
    release = asyncio.Event()

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await release.wait()
        active -= 1
        return httpx.Response(204)

    # A window of 60 s lets a batch hold three rounds of deliveries: more than fit in flight.
    async with running(slow, notify_max_in_flight=3, notify_retry_window_s=60) as service:
        hits = [make_hit() for _ in range(10)]
        await publish(service, *hits)
        await until(lambda: active == 3)
        assert service.metrics.in_flight._value.get() == 3
        release.set()
        await until(lambda: len(outcomes(service)) == 20)
        assert peak == 3
        assert set(outcomes(service).values()) == {"delivered"}


async def test_slow_receivers_hold_only_a_batch_that_ends_within_the_poll_interval() -> None:
    """Receivers that answer, slowly: the loop takes as many hits as can end within Kafka's
    poll interval in the worst case (two in flight, two targets a hit, and a publish timeout
    that leaves room for one round: one hit), commits them and polls again while the later
    hits' deliveries are still held. Taking the whole backlog as one batch, it polled again
    only once all ended."""
    hits = [make_hit() for _ in range(5)]
    gates = {delivery_id(h["hit_id"], t): asyncio.Event() for h in hits for t in ("t1", "t2")}
    arrived: list[str] = []

    async def slow(request: httpx.Request) -> httpx.Response:
        did = request.headers["x-anpr-delivery"]
        arrived.append(did)
        await gates[did].wait()
        return httpx.Response(204)

    # (900 - 40 - 2 x 330) // 130 = 1 round
    async with running(slow, notify_max_in_flight=2, result_publish_timeout_s=330) as service:
        assert service.budget.rounds == 1
        start = committed(service)
        await publish(service, *hits)
        first = {delivery_id(hits[0]["hit_id"], t) for t in ("t1", "t2")}
        await until(lambda: set(arrived) == first)
        for did in first:
            gates[did].set()
        await until(lambda: committed(service) == start + 1)
        second = {delivery_id(hits[1]["hit_id"], t) for t in ("t1", "t2")}
        await until(lambda: set(arrived) == first | second)
        assert committed(service) == start + 1, "not past the hit whose deliveries are held"
        for gate in gates.values():
            gate.set()
        await until(lambda: committed(service) == start + 5)
        assert sorted(arrived) == sorted(gates), "each delivery made once"
        assert set(outcomes(service).values()) == {"delivered"}


async def test_a_hit_published_again_is_not_delivered_again() -> None:
    seen: list[str] = []

    async def accept(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["x-anpr-delivery"])
        return httpx.Response(200)

    async with running(accept) as service:
        hit = make_hit()
        await publish(service, hit, hit)  # twice in one batch
        await until(lambda: len(outcomes(service)) == 2)
        await publish(service, hit)  # and again later, as a matcher replaying its batch would
        await until(lambda: committed(service) == 3)
        assert sorted(seen) == sorted(
            [delivery_id(hit["hit_id"], "t1"), delivery_id(hit["hit_id"], "t2")]
        )
        skipped = service.metrics.registry.get_sample_value(
            "anpr_notify_skipped_total", {"reason": "duplicate"}
        )
        assert skipped == 4


async def test_an_outcome_that_could_not_be_published_is_delivered_and_logged_on_the_redo() -> None:
    seen: list[str] = []

    async def accept(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["x-anpr-delivery"])
        return httpx.Response(200)

    async with running(accept) as service:
        real = service._publish
        # Both deliveries of the hit (t1, t2) and the retry of their outcomes fail.
        failures = [BusUnavailable("deliveries topic away")] * 3

        async def flaky(results: Sequence[DeliveryResult]) -> None:
            if failures:
                raise failures.pop()
            await real(results)

        service._publish = flaky  # type: ignore[method-assign]
        plain = make_hit()
        await publish(service, plain)
        wanted = delivery_id(plain["hit_id"], "t1")
        await until(lambda: outcomes(service).get(wanted) == "delivered", timeout_s=10)
        # The batch was redone once both publishes of its outcomes failed: delivered again
        # under the same delivery id, and this time logged.
        assert seen.count(wanted) == 2


async def test_the_hits_consumer_asks_kafka_for_the_poll_interval_its_batches_fit() -> None:
    async with running(lambda request: httpx.Response(204)) as service:
        assert service.budget.poll_interval_s == NOTIFY_POLL_INTERVAL_S
        assert service.hits_loop._max_poll_interval_s == NOTIFY_POLL_INTERVAL_S
        assert service.budget.rounds == 6  # the defaults: (900 - 40 - 2 x 10) // 130


async def test_no_count_of_webhook_targets_is_shown_without_a_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Targets of covert lists were counted on `/metrics` (`anpr_notify_targets`), on `/readyz`
    and in the start-up log, which need no token: how many covert lists feed partners' systems,
    by difference with what an admin of overt lists sees. Notify cannot tell covert lists
    without following the whole hotlists topic, so it shows no count at all."""
    caplog.set_level(logging.INFO, logger="notify.service")
    config = NotifySettings(notify_poll_ms=20)
    topics = Topics.from_prefix(config.topic_prefix)
    bus = LocalBus(None, topics.specs(config))
    await bus.start()
    await WebhookWriter(bus, topics.registry).put(target("t1", url="https://a.example/hook"))
    app = create_app(config, bus, client=httpx.AsyncClient(transport=httpx.MockTransport(ok)))
    try:
        async with app.router.lifespan_context(app):
            service = app.state.service
            await until(lambda: service.ready)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://n") as http:
                ready = (await http.get("/readyz")).json()
                metrics = (await http.get("/metrics")).text
    finally:
        await bus.stop()
    assert "targets" not in str(ready.get("detail", ready))
    assert "anpr_notify_targets" not in metrics
    logged = [r.getMessage() for r in caplog.records]
    assert not [m for m in logged if "target" in m and any(c.isdigit() for c in m)], logged


async def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200)
