"""Webhook delivery through the real broker, end to end: targets configured on the API, hits on
the hits topic, `anpr notify` as a real process delivering to a local receiver that verifies
every signature. The receiver is down for 20 s while hits arrive, and the notifier is killed
(SIGKILL) and restarted during the outage: every hit is still delivered to each of its targets,
once per delivery id, never a covert hit to a target that does not allow covert hits, and the
API's delivery log shows every delivery."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from anpr.bus.base import Message
from anpr.bus.kafka import KafkaBus
from anpr.topics import Topics
from anpr.webhooks import delivery_id
from api.app import create_app
from api.settings import ApiSettings
from api.store.sqlite import SqliteStore
from tests.support.receiver import Receiver, free_port
from tests.unit.api_fixtures import make_hit

ADMIN = "notify-test-admin-token-0123456789abcdef"
OUTAGE_S = 20.0


async def until(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"not reached in {timeout_s} s: {what}")
        await asyncio.sleep(0.05)


class Notifier:
    """`anpr notify` as a child process, and its metrics over HTTP."""

    def __init__(self, bootstrap: str, prefix: str, tmp: Path) -> None:
        self.port = free_port()
        self.log = tmp / f"notify-{self.port}.log"
        env = {
            **os.environ,
            "ANPR_KAFKA_BOOTSTRAP": bootstrap,
            "ANPR_TOPIC_PREFIX": prefix,
            "ANPR_TOPIC_PARTITIONS": "3",
            "ANPR_DATA_DIR": str(tmp),
            "ANPR_NOTIFY_PORT": str(self.port),
            "ANPR_WEBHOOK_ALLOW_HTTP_LOOPBACK": "true",
            "ANPR_NOTIFY_TRUST_ENV": "false",
            "ANPR_NOTIFY_BACKOFF_BASE_S": "0.2",
            "ANPR_NOTIFY_BACKOFF_CAP_S": "2",
            "ANPR_NOTIFY_RETRY_WINDOW_S": "90",
            "ANPR_NOTIFY_MAX_IN_FLIGHT": "16",
        }
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "anpr", "notify"], env=env, stdout=out, stderr=out
            )

    def tail(self) -> str:
        return self.log.read_text()[-4000:]

    async def get(self, path: str) -> httpx.Response | None:
        assert self.proc.poll() is None, self.tail()
        try:
            async with httpx.AsyncClient(trust_env=False) as client:
                return await client.get(f"http://127.0.0.1:{self.port}{path}", timeout=2)
        except httpx.HTTPError:
            return None

    async def wait_ready(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while True:
            response = await self.get("/readyz")
            if response is not None and response.status_code == 200:
                return
            assert loop.time() < deadline, self.tail()
            await asyncio.sleep(0.2)

    async def metric(self, name: str, **labels: str) -> float:
        """The sum of the samples of `name` whose labels include `labels`."""
        response = await self.get("/metrics")
        if response is None:
            return 0.0
        return sum(
            sample.value
            for family in text_string_to_metric_families(response.text)
            for sample in family.samples
            if sample.name == name and labels.items() <= sample.labels.items()
        )

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@asynccontextmanager
async def api_on(bus: KafkaBus, prefix: str, tmp: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = ApiSettings(
        admin_token=SecretStr(ADMIN),
        kafka_bootstrap=bus.bootstrap,
        topic_prefix=prefix,
        topic_partitions=3,
        data_dir=tmp,
        consumer_poll_ms=50,
        webhook_allow_http_loopback=True,
    )
    app = create_app(settings, bus, store=SqliteStore(None))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://api",
            headers={"Authorization": f"Bearer {ADMIN}"},
        ) as client:
            await until(lambda: app.state.service.ready, 60, "API ready")
            yield client


async def configure(api: httpx.AsyncClient, receiver: Receiver) -> None:
    for list_id, covert in (("stolen", False), ("covert-ops", True)):
        response = await api.put(
            f"/v1/hotlists/{list_id}",
            json={"name": list_id, "category": "stolen", "priority": 2, "match": "exact",
                  "covert": covert},
        )  # fmt: skip
        assert response.status_code in (200, 201), response.text
    targets: dict[str, tuple[str, dict[str, Any]]] = {
        "all-stolen": ("stolen", {}),
        "urgent-only": ("stolen", {"min_priority": 1}),
        "covert-refused": ("covert-ops", {"covert_allowed": False}),
        "covert-allowed": ("covert-ops", {"covert_allowed": True}),
    }
    for target_id, (list_id, options) in targets.items():
        response = await api.put(
            f"/v1/hotlists/{list_id}/webhooks/{target_id}", json={"url": receiver.url, **options}
        )
        assert response.status_code == 201, response.text
        receiver.secrets[target_id] = response.json()["secret"]


def expected_deliveries(hits: list[dict[str, Any]]) -> set[str]:
    """Written out from the rules, independently of `notify.routing`."""
    out: set[str] = set()
    for hit in hits:
        if hit["list_id"] == "stolen":
            out.add(delivery_id(hit["hit_id"], "all-stolen"))
            if hit["priority"] == 1:
                out.add(delivery_id(hit["hit_id"], "urgent-only"))
        else:
            out.add(delivery_id(hit["hit_id"], "covert-allowed"))
    return out


async def publish(bus: KafkaBus, topics: Topics, hits: list[dict[str, Any]]) -> None:
    await bus.publish(
        [Message(topics.hits, h["hit_id"].encode(), orjson.dumps(h)) for h in hits], timeout_s=30
    )


@pytest.mark.kafka
@pytest.mark.timeout(300)
async def test_every_hit_delivered_once_per_delivery_id_across_an_outage_and_a_restart(
    kafka_bus: KafkaBus, topic_prefix: str, tmp_path: Path
) -> None:
    topics = Topics.from_prefix(topic_prefix)
    receiver = Receiver(secrets={})
    await receiver.start()
    notifiers: list[Notifier] = []
    try:
        async with api_on(kafka_bus, topic_prefix, tmp_path) as api:
            await configure(api, receiver)
            first = Notifier(kafka_bus.bootstrap, topic_prefix, tmp_path)
            notifiers.append(first)
            await first.wait_ready()

            # 1. Receiver up: delivered at once.
            before = [make_hit(list_id="stolen", priority=2) for _ in range(5)]
            await publish(kafka_bus, topics, before)
            want_before = expected_deliveries(before)
            await until(lambda: want_before <= receiver.accepted.keys(), 30, "first hits")

            # 2. Receiver down for 20 s; hits keep coming, the notifier retries.
            await receiver.stop()
            down_at = asyncio.get_running_loop().time()
            during = [make_hit(list_id="stolen", priority=1 + i % 2) for i in range(20)]
            during += [make_hit(list_id="covert-ops", covert=True, priority=1) for _ in range(4)]
            await publish(kafka_bus, topics, during)
            want_during = expected_deliveries(during)
            # Covert hits' deliveries are in no metric (/metrics needs no token).
            counted = len(expected_deliveries([h for h in during if not h["covert"]]))
            # Every delivery of the batch has failed at least once (connection refused).
            failed_before_kill = 0.0

            async def refused() -> float:
                return await first.metric("anpr_notify_attempts_total", result="connect_error")

            loop = asyncio.get_running_loop()
            deadline = loop.time() + 30
            while (failed_before_kill := await refused()) < counted:
                assert loop.time() < deadline, first.tail()
                await asyncio.sleep(0.2)

            # 3. The notifier dies mid-retry; a new one takes over the group.
            first.kill()
            second = Notifier(kafka_bus.bootstrap, topic_prefix, tmp_path)
            notifiers.append(second)
            # It took over the uncommitted batch: it is retrying it (it is not "ready", i.e.
            # caught up, until the receiver is back).
            deadline = loop.time() + 60
            while await second.metric("anpr_notify_attempts_total") < counted:
                assert loop.time() < deadline, second.tail()
                await asyncio.sleep(0.2)
            await until(lambda: loop.time() - down_at >= OUTAGE_S, OUTAGE_S + 5, "the 20 s outage")
            assert receiver.accepted.keys() == want_before, "nothing got through the outage"

            # 4. Receiver back on the same port: everything arrives.
            await receiver.start()
            want = want_before | want_during
            await until(lambda: want <= receiver.accepted.keys(), 60, "every delivery")

            # The delivery log on the API shows each delivery as delivered, once.
            async def logged() -> dict[str, str]:
                out: dict[str, str] = {}
                cursor = None
                while True:
                    params: dict[str, Any] = {"limit": 500}
                    if cursor:
                        params["cursor"] = cursor
                    page = (await api.get("/v1/notifications/deliveries", params=params)).json()
                    out.update({d["delivery_id"]: d["outcome"] for d in page["items"]})
                    cursor = page["next_cursor"]
                    if cursor is None:
                        return out

            deadline = loop.time() + 30
            while set((log := await logged()).keys()) != want:
                assert loop.time() < deadline, (sorted(want - log.keys())[:3], second.tail())
                await asyncio.sleep(0.2)
            assert set(log.values()) == {"delivered"}
            delivered = await second.metric("anpr_notify_deliveries_total", outcome="delivered")
            assert delivered == counted
            assert failed_before_kill >= counted
    finally:
        for notifier in notifiers:
            notifier.stop()
        await receiver.stop()

    assert receiver.rejected == [], "every request carried a valid signature"
    assert receiver.accepted.keys() == want
    # Once per delivery id: the receiver saw no delivery twice (the first notifier died before
    # any delivery of the outage batch succeeded, and the committed batch was not redone).
    assert {did: n for did, n in receiver.requests.items() if n > 1 and did in want} == {}
    by_target: dict[str, int] = {}
    for payload in receiver.accepted.values():
        by_target[payload["target_id"]] = by_target.get(payload["target_id"], 0) + 1
        assert payload["hit"]["hit_id"] in {h["hit_id"] for h in before + during}
    assert by_target == {"all-stolen": 25, "urgent-only": 10, "covert-allowed": 4}
    assert "covert-refused" not in by_target
