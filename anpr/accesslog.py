"""An access log of the requests that went wrong (4xx and 5xx), for every app, and request ids.

Each request gets an id: the caller's `X-Request-ID` when it is a short token of safe characters,
else a new random one. It is answered in `X-Request-ID`, set in the logging context (so every log
line written while handling the request carries it) and logged with the failures. A failure is
logged as `METHOD ROUTE STATUS` with the route *template*: never the raw path or the query string
(which may hold a plate), never a header (which may hold a token).
"""

from __future__ import annotations

import logging
import re
import secrets
import time

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from anpr.logs import request_id_var

log = logging.getLogger("anpr.access")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def request_id_of(headers: Headers) -> str:
    given = headers.get("x-request-id")
    if given and _SAFE_ID.match(given):
        return given
    return secrets.token_hex(8)


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(Headers(scope=scope))
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if status >= 400:
                route = getattr(scope.get("route"), "path", None) or "unmatched"
                log.log(
                    logging.WARNING if status >= 500 else logging.INFO,
                    "%s %s %d",
                    scope["method"],
                    route,
                    status,
                    extra={
                        "request_id": request_id,
                        "method": scope["method"],
                        "route": route,
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    },
                )
            request_id_var.reset(token)
