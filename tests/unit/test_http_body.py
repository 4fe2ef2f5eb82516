"""`anpr.http.read_bounded_body`: the body as chunks arrive from the server, the limit on the
declared length and on the bytes received, a body read before, a client gone."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from starlette.requests import ClientDisconnect, Request
from starlette.types import Message

from anpr.http import read_bounded_body


def request(messages: Sequence[Message], headers: Sequence[tuple[bytes, bytes]] = ()) -> Request:
    pending = list(messages)
    taken: list[Message] = []

    async def receive() -> Message:
        message = pending.pop(0)
        taken.append(message)
        return message

    scope = {"type": "http", "method": "POST", "path": "/", "headers": list(headers)}
    made = Request(scope, receive)
    made.state.taken = taken
    return made


def chunk(body: bytes, *, more: bool) -> Message:
    return {"type": "http.request", "body": body, "more_body": more}


async def test_chunks_are_joined_and_kept_for_a_later_reader() -> None:
    req = request([chunk(b"ab", more=True), chunk(b"", more=True), chunk(b"cd", more=False)])
    assert await read_bounded_body(req, 10) == b"abcd"
    assert await req.body() == b"abcd"  # not read from the server again
    assert len(req.state.taken) == 3


async def test_over_the_limit_stops_reading_at_the_chunk_that_passes_it() -> None:
    req = request([chunk(b"abc", more=True), chunk(b"def", more=True), chunk(b"g", more=False)])
    assert await read_bounded_body(req, 5) is None
    assert len(req.state.taken) == 2


async def test_a_declared_length_over_the_limit_reads_nothing() -> None:
    req = request([chunk(b"abcdef", more=False)], headers=[(b"content-length", b"6")])
    assert await read_bounded_body(req, 5) is None
    assert req.state.taken == []


async def test_a_body_read_before_is_answered_from_the_request() -> None:
    req = request([chunk(b"abc", more=False)])
    assert await req.body() == b"abc"
    assert await read_bounded_body(req, 5) == b"abc"
    assert await read_bounded_body(req, 2) is None


async def test_a_client_gone_is_a_disconnect() -> None:
    req = request([chunk(b"ab", more=True), {"type": "http.disconnect"}])
    with pytest.raises(ClientDisconnect):
        await read_bounded_body(req, 10)
