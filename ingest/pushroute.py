"""The route class of the camera-facing push routes: FastAPI documents them, a lean handler
serves them.

FastAPI's dependency solving (`solve_dependencies`) cost a fifth of the gateway's CPU per
single-read request (py-spy, `benchmarks.http_stack`), for three fixed arguments. A push
endpoint declares its arguments as usual (`request`, `service: Service`, `principal: Pusher`,
path and query parameters as `str` or `str | None`), so the OpenAPI document is FastAPI's own;
`PushRoute.get_route_handler` (FastAPI's hook for custom route classes) then calls the endpoint
with them directly: the service from the app state, the caller from `deps.pusher` (the same
check `get_pusher` makes), other arguments from the path, else the query string.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.routing import APIRoute
from starlette.responses import Response

from ingest.deps import pusher

INJECTED = frozenset({"request", "service", "principal"})
PLAIN = (str, "str", str | None, "str | None")


def _plain_parameters(endpoint: Callable[..., Any]) -> dict[str, object]:
    """The endpoint's parameters besides the injected ones, with their defaults; a type the
    lean handler cannot fill (anything but `str` / `str | None`) fails at import."""
    plain: dict[str, object] = {}
    for name, parameter in inspect.signature(endpoint).parameters.items():
        if name in INJECTED:
            continue
        if parameter.annotation not in PLAIN:
            raise TypeError(f"push endpoint {endpoint.__name__}: {name} must be str or str | None")
        plain[name] = None if parameter.default is inspect.Parameter.empty else parameter.default
    return plain


class PushRoute(APIRoute):
    """An `APIRoute` whose handler skips FastAPI's dependency solving (see the module doc)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint = self.endpoint
        plain = _plain_parameters(endpoint)

        async def handle(request: Request) -> Response:
            service = request.app.state.service
            arguments: dict[str, Any] = {
                "request": request,
                "service": service,
                "principal": pusher(request, service),
            }
            for name, default in plain.items():
                value = request.path_params.get(name)
                arguments[name] = (
                    value if value is not None else request.query_params.get(name, default)
                )
            response: Response = await endpoint(**arguments)
            return response

        return handle
