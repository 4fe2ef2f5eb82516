"""A hotlist write plans from the list as the topic has it, not from a book that lags.

Every write commits a whole list configuration at a version derived from the book's. Planned
from a book that had not read the write before it (another replica's, or this replica's own
when it was slow to come back), it undid that change (a list made covert shown to operators
again) or got a version below the list's (acknowledged, never applied). Found by a read-only
review with two API replicas on one bus."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from pydantic import SecretStr

from anpr.bus.base import Record
from anpr.bus.local import LocalBus
from anpr.settings import CommonSettings
from anpr.topics import Topics
from api.app import create_app
from api.archive.sqlite_reads import SqliteReadStore
from api.settings import ApiSettings
from api.store.sqlite import SqliteStore
from tests.support.wait import until

ADMIN = "test-admin-token-0123456789abcdef0123456789"
AUTH = {"Authorization": f"Bearer {ADMIN}"}
LIST = {"name": "L", "category": "c", "priority": 2, "match": "exact", "covert": False}


@contextlib.asynccontextmanager
async def replicas(count: int, **settings: Any) -> AsyncIterator[list[tuple[Any, Any]]]:
    topics = Topics.from_prefix("anpr.")
    bus = LocalBus(None, topics.specs(CommonSettings()))
    await bus.start()
    out: list[tuple[Any, Any]] = []
    try:
        async with contextlib.AsyncExitStack() as stack:
            for _ in range(count):
                config = ApiSettings(admin_token=SecretStr(ADMIN), consumer_poll_ms=20, **settings)
                app = create_app(config, bus, store=SqliteStore(None), reads=SqliteReadStore(None))
                await stack.enter_async_context(app.router.lifespan_context(app))
                client = await stack.enter_async_context(
                    httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://a")
                )
                await until(lambda app=app: app.state.service.ready, timeout_s=10)
                out.append((app, client))
            yield out
    finally:
        await bus.stop()


def slow_book(app: Any, delay_s: float) -> None:
    """This replica's hotlist follower applies each record `delay_s` late (consumer lag)."""
    hotlists = app.state.service.hotlists
    apply = hotlists._apply

    async def late(record: Record) -> None:
        await asyncio.sleep(delay_s)
        apply(record)

    hotlists._follower._apply = late


async def test_a_write_on_a_lagging_replica_keeps_the_write_before_it() -> None:
    async with replicas(2) as [(_, a), (b_app, b)]:
        assert (await a.put("/v1/hotlists/L", json=LIST, headers=AUTH)).status_code in (200, 201)
        await until(lambda: b_app.state.service.hotlists.book.config("L") is not None)
        slow_book(b_app, 0.3)
        covert = await a.put("/v1/hotlists/L", json={**LIST, "covert": True}, headers=AUTH)
        assert covert.status_code == 200 and covert.json()["covert"] is True
        upsert = await b.post(
            "/v1/hotlists/L/entries", json=[{"entry_id": "b", "plate": "BBB222"}], headers=AUTH
        )
        assert upsert.status_code == 200, upsert.text
        assert upsert.json()["version"] > covert.json()["version"]
        listed = (await a.get("/v1/hotlists/L", headers=AUTH)).json()
        assert listed["version"] == upsert.json()["version"]
        assert listed["covert"] is True, "the upsert on B did not undo A's change"


async def test_a_write_after_one_not_yet_visible_here_is_refused_not_reverting() -> None:
    async with replicas(1, write_visible_timeout_s=0.2) as [(app, client)]:
        assert (await client.put("/v1/hotlists/X", json=LIST, headers=AUTH)).status_code in (
            200,
            201,
        )
        slow_book(app, 0.5)
        covert = await client.put("/v1/hotlists/X", json={**LIST, "covert": True}, headers=AUTH)
        assert covert.status_code == 200
        upsert = await client.post(
            "/v1/hotlists/X/entries", json=[{"entry_id": "e", "plate": "EEE555"}], headers=AUTH
        )
        assert upsert.status_code == 503, upsert.text  # retry later: nothing was changed
        book = app.state.service.hotlists.book
        await until(lambda: book.config("X") is not None and book.config("X").covert, 5)
        retried = await client.post(
            "/v1/hotlists/X/entries", json=[{"entry_id": "e", "plate": "EEE555"}], headers=AUTH
        )
        assert retried.status_code == 200, retried.text
        assert (await client.get("/v1/hotlists/X", headers=AUTH)).json()["covert"] is True


async def test_a_write_waits_for_a_book_that_is_still_folding_it() -> None:
    # Bounded by the book's progress, not by a fixed time: a 1M-entry upload takes the book
    # seconds to fold, and its answer gave up before (a GET right after did not show it).
    async with replicas(1, write_visible_timeout_s=0.3) as [(app, client)]:
        assert (await client.put("/v1/hotlists/P", json=LIST, headers=AUTH)).status_code in (
            200,
            201,
        )
        slow_book(app, 0.05)  # 21 records: about a second, longer than the timeout
        entries = [{"entry_id": f"e{n}", "plate": f"PPP{n:03d}"} for n in range(20)]
        upsert = await client.post("/v1/hotlists/P/entries", json=entries, headers=AUTH)
        assert upsert.status_code == 200, upsert.text
        listed = (await client.get("/v1/hotlists/P", headers=AUTH)).json()
        assert listed["version"] == upsert.json()["version"]
        assert listed["entries"] == 20
