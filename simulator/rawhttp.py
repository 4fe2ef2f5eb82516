"""A minimal HTTP/1.1 keep-alive client for the load generator (`anpr simulate --client raw`).

httpx costs about a millisecond of CPU per request here (measured: ~450 requests/s on a core
against a server that answers at once, 32 connections), so a load generator built on it
measures itself, not the gateway, with one read per request. This client only does what the
load needs: POST a body on a pool of keep-alive connections and read back the status and the
body (Content-Length or chunked). Anything else (redirects, TLS, HTTP/2) is out of scope.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

MAX_HEAD = 64 * 1024


class RawHttpError(Exception):
    """The request failed below HTTP (connection refused or lost, timeout, bad response)."""


class _Connection(asyncio.Protocol):
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes, bool]] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(RawHttpError(f"connection lost: {exc or 'closed by peer'}"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is not None and not self.waiter.done():
            try:
                parsed = _parse(self.buffer)
            except RawHttpError as exc:
                self.waiter.set_exception(exc)
                return
            if parsed is not None:
                self.waiter.set_result(parsed)

    def send(self, request: bytes) -> asyncio.Future[tuple[int, bytes, bool]]:
        assert self.transport is not None  # noqa: S101 - set by connection_made
        self.buffer.clear()
        self.waiter = self.loop.create_future()
        self.transport.write(request)
        return self.waiter

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


def _parse(buffer: bytearray) -> tuple[int, bytes, bool] | None:
    """(status, body, keep-alive) of a complete response at the start of `buffer`, else None."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        if len(buffer) > MAX_HEAD:
            raise RawHttpError("response head too long")
        return None
    head = bytes(buffer[:end]).split(b"\r\n")
    try:
        status = int(head[0].split(b" ", 2)[1])
    except (IndexError, ValueError) as exc:
        raise RawHttpError(f"bad status line {head[0][:80]!r}") from exc
    length, chunked, keep_alive = None, False, True
    for line in head[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            keep_alive = b"close" not in value.lower()
    start = end + 4
    if chunked:
        body, pos = bytearray(), start
        while True:
            line_end = buffer.find(b"\r\n", pos)
            if line_end < 0:
                return None
            size = int(bytes(buffer[pos:line_end]).split(b";")[0], 16)
            if len(buffer) < line_end + 2 + size + 2:
                return None
            if size == 0:
                return status, bytes(body), keep_alive
            body += buffer[line_end + 2 : line_end + 2 + size]
            pos = line_end + 2 + size + 2
    if length is None:
        return (status, b"", keep_alive) if status in (204, 304) else None
    if len(buffer) < start + length:
        return None
    return status, bytes(buffer[start : start + length]), keep_alive


class RawPool:
    """Up to `connections` keep-alive connections to one host; `post` waits for a free one."""

    def __init__(self, base_url: str, connections: int, timeout_s: float = 60.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"only http://host:port URLs: {base_url!r}")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.host_header = parts.netloc.encode()
        self.timeout_s = timeout_s
        self._idle: list[_Connection] = []
        self._slots = asyncio.Semaphore(connections)

    async def _connection(self) -> _Connection:
        while self._idle:
            conn = self._idle.pop()
            if not conn.closed:
                return conn
        loop = asyncio.get_running_loop()
        try:
            _, conn = await loop.create_connection(lambda: _Connection(loop), self.host, self.port)
        except OSError as exc:
            raise RawHttpError(f"cannot connect to {self.host}:{self.port}: {exc}") from exc
        return conn

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        head = [b"POST ", path.encode(), b" HTTP/1.1\r\nHost: ", self.host_header, b"\r\n"]
        for name, value in headers.items():
            head += [name.encode(), b": ", value.encode(), b"\r\n"]
        head += [b"Content-Length: ", str(len(body)).encode(), b"\r\n\r\n", body]
        async with self._slots:
            conn = await self._connection()
            try:
                status, content, keep_alive = await asyncio.wait_for(
                    conn.send(b"".join(head)), self.timeout_s
                )
            except TimeoutError as exc:
                conn.close()
                raise RawHttpError(f"no answer within {self.timeout_s} s") from exc
            except BaseException:
                conn.close()  # a half-read answer must not be read by the next request
                raise
            if keep_alive and not conn.closed:
                self._idle.append(conn)
            else:
                conn.close()
        return status, content

    def close(self) -> None:
        for conn in self._idle:
            conn.close()
        self._idle.clear()
