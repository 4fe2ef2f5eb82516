"""A small HTTP/1.1 keep-alive POST client for the fault tests' load driver.

httpx costs about a millisecond of CPU per request; on a 2-core machine the load driver would
then compete with the gateway it overloads. This client does only what the driver needs: POST a
prepared body on a pool of keep-alive connections and return status, headers and body
(`Content-Length` answers only, which is what uvicorn sends for JSON). Like
`simulator/rawhttp.py`, which returns no headers (the driver needs `Retry-After`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


class RawHttpError(Exception):
    """Below HTTP: connection refused or lost, timeout, unparseable answer."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


# uvicorn closes a keep-alive connection idle for 5 s; reusing one it is closing would read
# EOF for a request the server never saw. Idle connections older than this are not reused.
MAX_IDLE_S = 2.0


class _Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.idle_since = time.monotonic()

    def reusable(self) -> bool:
        fresh = time.monotonic() - self.idle_since < MAX_IDLE_S
        return fresh and not self.reader.at_eof() and not self.writer.is_closing()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


class RawClient:
    def __init__(self, base_url: str, *, connections: int, timeout_s: float) -> None:
        parts = urlsplit(base_url)
        assert parts.hostname and parts.port, base_url
        self.host, self.port = parts.hostname, parts.port
        self.timeout_s = timeout_s
        self._idle: list[_Conn] = []
        self._slots = asyncio.Semaphore(connections)

    async def _connection(self) -> _Conn:
        while self._idle:
            conn = self._idle.pop()
            if conn.reusable():
                return conn
            conn.close()
        try:
            reader, writer = await asyncio.open_connection(self.host, self.port)
        except OSError as exc:
            raise RawHttpError(f"connect: {exc}") from exc
        return _Conn(reader, writer)

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> Answer:
        head = f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        head += f"Content-Length: {len(body)}\r\n\r\n"
        async with self._slots:
            conn = await self._connection()
            try:
                async with asyncio.timeout(self.timeout_s):
                    conn.writer.write(head.encode() + body)
                    answer, keep = await self._read(conn.reader)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
                conn.close()
                raise RawHttpError(f"{type(exc).__name__}: {exc}") from exc
            except BaseException:
                conn.close()
                raise
            if keep:
                conn.idle_since = time.monotonic()
                self._idle.append(conn)
            else:
                conn.close()
            return answer

    @staticmethod
    async def _read(reader: asyncio.StreamReader) -> tuple[Answer, bool]:
        raw = await reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        body = await reader.readexactly(length) if length else b""
        return Answer(status, headers, body), headers.get("connection", "") != "close"

    def close(self) -> None:
        for conn in self._idle:
            conn.close()
        self._idle.clear()
