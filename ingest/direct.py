"""The gateway's app class: FastAPI, with the push routes' requests taken straight to their
handlers.

With one read per request, FastAPI's middleware stack and router cost a third of the gateway's
CPU (py-spy under `benchmarks.http_stack`: ten nested layers, each wrapping `send`), more than
the read's validation, dedup and publish together. The push routes (`POST /v1/reads`,
`/v1/heartbeats`, `/v1/ingest/{fmt}`) stay declared on FastAPI: the OpenAPI document is
FastAPI's, and their handler is the one `PushRoute` builds. `GatewayApp.__call__` sends a POST
to one of their paths straight to that handler, inside the same `AccessLogMiddleware` (request
id, access log, metrics by route template) the app's other routes have; an `HTTPException` is
answered by the app's own handler for it, anything else with a 500 in the one error body and
then raised on to the server (as Starlette's `ServerErrorMiddleware` does). Every other request,
and every request under a `root_path`, goes through FastAPI as before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from anpr.http import JSONBytes, error_body

log = logging.getLogger(__name__)


class GatewayApp(FastAPI):
    """FastAPI, plus `serve_directly`: see the module doc."""

    _direct: Sequence[tuple[APIRoute, ASGIApp]] = ()

    def serve_directly(
        self,
        routes: Sequence[APIRoute],
        *,
        wrap: Callable[[ASGIApp], ASGIApp],
        http_error: Callable[[HTTPException], Response],
    ) -> None:
        """Take POSTs to `routes` straight to their handlers, each wrapped by `wrap`."""
        direct: list[tuple[APIRoute, ASGIApp]] = []
        for route in routes:
            if route.methods != {"POST"}:
                raise ValueError(f"{route.path}: only POST routes are served directly")
            direct.append((route, wrap(_handler_app(route, http_error))))
        self._direct = tuple(direct)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and not scope.get("root_path"):
            path = scope["path"]
            for route, app in self._direct:
                match = route.path_regex.match(path)
                if match is None:
                    continue
                scope["app"] = self
                scope["route"] = route  # the metrics' and the access log's route template
                scope["path_params"] = {
                    name: route.param_convertors[name].convert(value)
                    for name, value in match.groupdict().items()
                }
                await app(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def _handler_app(route: APIRoute, http_error: Callable[[HTTPException], Response]) -> ASGIApp:
    handler = route.get_route_handler()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            response = await handler(Request(scope, receive))
        except HTTPException as exc:
            response = http_error(exc)
        except Exception:
            log.exception("unhandled error in %s %s", scope["method"], route.path)
            await JSONBytes(error_body("internal error"), status_code=500)(scope, receive, send)
            raise
        await response(scope, receive, send)

    return app
