"""Timeouts uvicorn lacks: a request's headers, and then its body, must arrive in bounded time.

uvicorn's `timeout_keep_alive` only covers the idle time between requests; once a byte of a
request has arrived nothing bounds how slowly the rest may come (slowloris). httptools has no
limit on the size of the headers either (`h11_max_incomplete_event_size` applies to h11 only).
`protocol_with_timeouts` returns uvicorn's httptools protocol with:

- a header timer, armed when the connection opens and when a new request begins, disarmed when
  the headers are complete: on expiry the client gets `408` and the connection is closed;
- a body timer, armed when the headers are complete, disarmed when the body is complete: on
  expiry the connection is closed (the app sees a disconnect);
- a bound on the headers' total size: over it the parser stops, uvicorn answers `400` and
  closes the connection.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from anpr.errors import AnprError

MAX_HEADER_BYTES = 64 * 1024


class HeadersTooLarge(AnprError):
    """Raised inside the parser's header callback to stop it."""


def _reply(protocol: HttpToolsProtocol, status: bytes) -> None:
    transport = protocol.transport
    if transport.is_closing():
        return
    transport.write(b"HTTP/1.1 " + status + b"\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
    transport.close()


def protocol_with_timeouts(
    *, header_timeout_s: float, body_timeout_s: float, max_header_bytes: int = MAX_HEADER_BYTES
) -> type[HttpToolsProtocol]:
    class TimedHttpToolsProtocol(HttpToolsProtocol):
        _header_timer: asyncio.TimerHandle | None = None
        _body_timer: asyncio.TimerHandle | None = None
        _header_bytes = 0

        def _cancel(self) -> None:
            for timer in (self._header_timer, self._body_timer):
                if timer is not None:
                    timer.cancel()
            self._header_timer = self._body_timer = None

        def _arm_header_timer(self) -> None:
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(
                    header_timeout_s, _reply, self, b"408 Request Timeout"
                )

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm_header_timer()

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel()
            super().connection_lost(exc)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._header_bytes = 0
            self._arm_header_timer()

        def on_header(self, name: bytes, value: bytes) -> None:
            self._header_bytes += len(name) + len(value) + 4
            if self._header_bytes > max_header_bytes:
                # Stops the parser; uvicorn answers 400 and closes the connection.
                raise HeadersTooLarge(f"request headers over {max_header_bytes} bytes")
            super().on_header(name, value)

        def on_headers_complete(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None
            self._body_timer = self.loop.call_later(body_timeout_s, self.transport.close)
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            if self._body_timer is not None:
                self._body_timer.cancel()
                self._body_timer = None
            super().on_message_complete()

    return TimedHttpToolsProtocol


def http_protocol(header_timeout_s: float, body_timeout_s: float) -> Any:
    """What to pass as uvicorn's `http`: the timed protocol."""
    return protocol_with_timeouts(header_timeout_s=header_timeout_s, body_timeout_s=body_timeout_s)
