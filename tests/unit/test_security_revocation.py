"""A revoked token, a signed-out or expired console session: an open hit stream ends with it.

The hit stream is the one request that lasts: without these checks a stream opened before the
revocation went on delivering hits (covert ones to a supervisor) for as long as the client
kept the connection open. A revoked token ends it before the next write; a sign-out within a
keep-alive interval (the store is asked that often, so a sign-out on another replica counts).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from anpr.auth import hash_token
from tests.support.factories import unique
from tests.unit.api_fixtures import ApiHarness, SseClient, make_hit, running_api


@pytest.fixture(scope="module")
async def api() -> AsyncIterator[ApiHarness]:
    async with running_api() as harness:
        yield harness


async def _new_token(api: ApiHarness, role: str) -> str:
    created = await api.client.post(
        "/v1/tokens", json={"role": role, "name": unique("leaver")}, headers=api.auth()
    )
    assert created.status_code == 201, created.text
    token: str = created.json()["token"]
    return token


async def _revoke(api: ApiHarness, token: str) -> None:
    await api.service.registry_writer.revoke_token(hash_token(token))
    await api.until(lambda: hash_token(token) not in api.service.registry.tokens)


async def _ends_without_the_hit(api: ApiHarness, stream: SseClient) -> None:
    hit = make_hit(camera_id=unique("cam"), plate="REVOKED1")
    await api.publish_hits(hit)
    await asyncio.wait_for(stream.finished.wait(), 2.0)
    events = []
    with pytest.raises(TimeoutError):
        while True:
            events.append(await stream.next_event(timeout_s=0.1))
    assert all(event.id != hit["hit_id"] for event in events)


async def test_a_bearer_stream_ends_when_its_token_is_revoked(api: ApiHarness) -> None:
    token = await _new_token(api, "supervisor")
    headers = {"Authorization": f"Bearer {token}"}
    async with SseClient(api.app, "/v1/hits/stream", headers) as stream:
        assert stream.status == 200
        await stream.next_event()
        await _revoke(api, token)
        await _ends_without_the_hit(api, stream)


async def test_a_cookie_stream_ends_when_its_token_is_revoked(api: ApiHarness) -> None:
    token = await _new_token(api, "operator")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api.app), base_url="http://api"
    ) as client:
        assert (await client.post("/console/session", json={"token": token})).status_code == 200
        cookie = f"anpr_session={client.cookies['anpr_session']}"
    async with SseClient(api.app, "/v1/hits/stream", {"Cookie": cookie}) as stream:
        assert stream.status == 200
        await stream.next_event()
        await _revoke(api, token)
        await _ends_without_the_hit(api, stream)


async def test_a_cookie_stream_ends_when_the_session_is_signed_out(api: ApiHarness) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api.app), base_url="http://api"
    ) as client:
        signed = await client.post("/console/session", json={"token": api.tokens["operator"]})
        cookie = f"anpr_session={client.cookies['anpr_session']}"
        async with SseClient(api.app, "/v1/hits/stream", {"Cookie": cookie}) as stream:
            assert stream.status == 200
            await stream.next_event()
            out = await client.delete(
                "/console/session", headers={"X-CSRF-Token": signed.json()["csrf_token"]}
            )
            assert out.status_code == 204
            # A sign-out is looked up in the store once a keep-alive interval (0.2 s here): the
            # stream ends at its next keep-alive after that, with no hit to wake it.
            await asyncio.wait_for(stream.finished.wait(), 2.0)
            await _ends_without_the_hit(api, stream)


async def test_a_slow_session_look_up_does_not_hold_back_the_next_hit(
    api: ApiHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sign-out check asks the store at every wake once an interval has passed: a store
    answering slowly (a pool waited for, up to 10 s) held back the hit that woke the stream
    (and the keep-alive due after it) for as long. The look-up is bounded; the stream goes on
    and asks again at a later wake."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api.app), base_url="http://api"
    ) as client:
        await client.post("/console/session", json={"token": api.tokens["operator"]})
        cookie = f"anpr_session={client.cookies['anpr_session']}"
    async with SseClient(api.app, "/v1/hits/stream", {"Cookie": cookie}) as stream:
        assert stream.status == 200
        await stream.next_event()
        stalled = asyncio.Event()

        async def slow(*args: object, **kwargs: object) -> None:
            stalled.set()
            await asyncio.sleep(30)

        monkeypatch.setattr(api.service.store, "get_session", slow)
        await asyncio.wait_for(stalled.wait(), 5.0)  # a wake asked the (slow) store
        hit = make_hit(camera_id=unique("cam"), plate="SLOWSTORE1")
        await api.publish_hits(hit)
        ids = []
        while hit["hit_id"] not in ids:
            ids.append((await stream.next_event(timeout_s=3.0)).id)
