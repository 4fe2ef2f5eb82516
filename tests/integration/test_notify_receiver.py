"""The delivery client against a real HTTP receiver on a loopback port (no broker): signatures
verify on the wire, and connections are kept alive and reused, not opened per hit (in
production each new connection is a TLS handshake)."""

from __future__ import annotations

import asyncio

import httpx
from prometheus_client import CollectorRegistry

from anpr.deliveries import DeliveryOutcome
from notify.backoff import Backoff
from notify.deliver import Deliverer
from notify.metrics import NotifyMetrics
from notify.routing import HitFields
from tests.support.receiver import Receiver
from tests.unit.api_fixtures import make_hit
from tests.unit.test_notify_routing import target

POOL = 4


async def test_connections_are_reused_across_deliveries() -> None:
    receiver = Receiver(secrets={})
    await receiver.start()
    tgt = target(url=receiver.url)
    receiver.secrets["t1"] = tgt.secret
    try:
        limits = httpx.Limits(max_connections=POOL)
        async with httpx.AsyncClient(trust_env=False, limits=limits) as client:
            deliverer = Deliverer(
                client,
                {"t1": tgt}.get,
                Backoff(base_s=0.1, cap_s=0.2, window_s=2),
                NotifyMetrics(CollectorRegistry()),
                allow_http_loopback=True,
            )
            results = []
            for _ in range(5):
                hits = [make_hit() for _ in range(20)]
                results += await asyncio.gather(
                    *(deliverer.deliver(h, HitFields.model_validate(h), "t1") for h in hits)
                )
    finally:
        await receiver.stop()
    assert {r.outcome for r in results} == {DeliveryOutcome.DELIVERED}
    assert len(receiver.accepted) == 100
    assert receiver.rejected == []
    assert len(receiver.clients) <= POOL, "one connection per hit: answers are not drained"
