"""No work before authentication: an ASGI guard in front of every API route.

FastAPI reads and parses a JSON body before it resolves the dependencies that check the token,
so a large body sent without a token cost seconds of the event loop (issue 11). This guard runs
before routing does anything with the body:

1. It finds the route the request is for. Routes that need a caller (their dependencies include
   `api.deps.get_principal`) are guarded; `/healthz`, `/readyz`, `/metrics`, the docs and unknown
   paths are not. The set is derived from the routes themselves, so a new route is guarded as
   soon as it asks for a caller.
2. For a guarded route it authenticates from the `Authorization` header alone: no or a bad
   token answers 401 (503 while the registry is still loading) without reading a byte of body.
   Without that header, the console's session cookie is checked instead (a valid session, and
   its CSRF token on writes), also before the body; while the registry loads, 503 at once. A
   caller whose role the route does not admit (its `api.deps.RoleCheck` dependencies) is
   answered 403 here too, unread: an integrator's token, which lives on cameras, cannot make
   the API parse a 16 MiB hotlist.
3. It bounds the body of every route: a declared `Content-Length` over the route's limit answers
   413 at once; a body streamed past it stops with 413 as soon as the limit is crossed.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import orjson
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import cookie_parser
from starlette.routing import BaseRoute, compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from anpr.auth import Principal, Role
from anpr.errors import AnprError
from anpr.http import error_body, field_error_body
from anpr.openapi_docs import depends_on
from api.deps import RoleCheck, admits, get_principal, refusal
from api.errors import BEARER_CHALLENGE, STORE_UNAVAILABLE, STORE_UNAVAILABLE_HEADERS
from api.store.base import StoreUnavailable


@dataclass(frozen=True, slots=True)
class RouteGuard:
    """What the guard enforces for one route."""

    needs_caller: bool
    max_body_bytes: int
    # Each `RoleCheck` of the route: the caller must hold one of its roles.
    roles: frozenset[tuple[Role, ...]] = frozenset()

    def refused(self, principal: Principal) -> str | None:
        """Why `principal` may not call the route (the dependency's words); None if it may."""
        for roles in sorted(self.roles):
            if not admits(principal, roles):
                return refusal(principal, roles)
        return None


class GuardTable:
    """Route -> guard, built once from the app's routes (FastAPI's effective routes: included
    routers are walked through `iter_route_contexts`)."""

    def __init__(
        self,
        routes: Sequence[BaseRoute],
        *,
        marker: Callable[..., object],
        default_limit: int,
        limits: dict[tuple[str, str], int],
    ) -> None:
        self._entries: list[tuple[re.Pattern[str], frozenset[str], BaseRoute, RouteGuard]] = []
        for context in iter_route_contexts(routes):
            path, route = context.path, context.original_route
            if path is None:
                continue
            methods = frozenset(context.methods or ())
            needs_caller = isinstance(route, APIRoute) and depends_on(route, marker)
            limit = max((limits.get((m, path), default_limit) for m in methods), default=0)
            roles = required_roles(route) if isinstance(route, APIRoute) else frozenset()
            guard = RouteGuard(needs_caller, limit or default_limit, roles)
            self._entries.append((compile_path(path)[0], methods, route, guard))
        self._default = RouteGuard(needs_caller=False, max_body_bytes=default_limit)

    def lookup(self, scope: Scope) -> tuple[BaseRoute | None, RouteGuard]:
        path, method = scope["path"], scope["method"]
        partial: tuple[BaseRoute | None, RouteGuard] | None = None
        for pattern, methods, route, guard in self._entries:
            if pattern.match(path) is None:
                continue
            if not methods or method in methods or (method == "HEAD" and "GET" in methods):
                return route, guard
            if partial is None:  # right path, other method: FastAPI answers 405, not 403
                partial = route, dataclasses.replace(guard, roles=frozenset())
        return partial or (None, self._default)

    def guards(self) -> list[tuple[str, RouteGuard]]:
        """(path pattern, guard) of every route, for tests and diagnostics."""
        return [(pattern.pattern, guard) for pattern, _, _, guard in self._entries]


class BodyTooLarge(AnprError, HTTPException):
    """A body over the route's bound; an `HTTPException` too, so Starlette answers it as a 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the body is over this route's limit of {limit} bytes")


class AuthFirstMiddleware:
    """See the module docstring. `authenticate` maps an Authorization header to a caller;
    `loading` says the registry is not replayed yet (tokens unknown: 503, not 401)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        table: Callable[[], GuardTable],
        authenticate: Callable[[str | None], Principal | None],
        loading: Callable[[], bool],
        retry_after_s: int,
        cookie: tuple[str, CookieCheck] | None = None,
    ) -> None:
        self.app = app
        self._table = table
        self._authenticate = authenticate
        self._cookie = cookie
        self._loading = loading
        self._retry_after_s = retry_after_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route, guard = self._table().lookup(scope)
        if route is not None:
            scope.setdefault("route", route)  # the request metrics label refusals by route too
        headers = Headers(scope=scope)
        if guard.needs_caller:
            authorization = headers.get("authorization")
            if authorization is None and self._cookie is not None:
                name, check = self._cookie
                session_id = _cookie_value(headers, name)
                if session_id is not None and self._loading():
                    # No session can be checked until the registry is replayed: answered now,
                    # not by the route's dependency after its body was read.
                    await self._still_loading(send)
                    return
                if session_id is not None:
                    try:
                        refused = await check(
                            session_id,
                            method=scope["method"],
                            csrf=headers.get("x-csrf-token"),
                            refused=guard.refused,
                        )
                    except StoreUnavailable:
                        # Out here the app's error handlers do not apply: answered as they
                        # would (503), not left to the server's 500.
                        body = error_body(STORE_UNAVAILABLE)
                        await _send(send, 503, body, STORE_UNAVAILABLE_HEADERS)
                        return
                    if refused is not None:
                        status, detail = refused
                        await _answer(send, status, detail, None)
                        return
                    await self.app(scope, _bounded(receive, guard.max_body_bytes), send)
                    return
            principal = self._authenticate(authorization)
            if principal is None:
                if self._loading():
                    await self._still_loading(send)
                else:
                    await _answer(send, 401, "missing or invalid bearer token", BEARER_CHALLENGE)
                return
            why = guard.refused(principal)
            if why is not None:
                await _answer(send, 403, why, None)
                return
        limit = guard.max_body_bytes
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _answer(send, 413, BodyTooLarge(limit).detail, None)
            return
        await self.app(scope, _bounded(receive, limit), send)

    async def _still_loading(self, send: Send) -> None:
        await _answer(
            send,
            503,
            "the API is still loading the registry",
            {"Retry-After": str(self._retry_after_s)},
        )


class CookieCheck(Protocol):
    """None when the session may go on to the route, else the status and why."""

    def __call__(
        self,
        session_id: str,
        *,
        method: str,
        csrf: str | None,
        refused: Callable[[Principal], str | None],
    ) -> Awaitable[tuple[int, str] | None]: ...


def required_roles(route: APIRoute) -> frozenset[tuple[Role, ...]]:
    """The roles of the route's `RoleCheck` dependencies, at any depth."""
    roles: set[tuple[Role, ...]] = set()
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, RoleCheck):
            roles.add(dep.call.roles)
        stack.extend(dep.dependencies)
    return frozenset(roles)


def _cookie_value(headers: Headers, name: str) -> str | None:
    raw = headers.get("cookie")
    if raw is None:
        return None
    return cookie_parser(raw).get(name)


def _bounded(receive: Receive, limit: int) -> Receive:
    received = 0

    async def bounded() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                # Raised inside the route's body read; the app's handler answers 413.
                raise BodyTooLarge(limit)
        return message

    return bounded


async def _answer(send: Send, status: int, detail: str, headers: dict[str, str] | None) -> None:
    field = {401: "authorization", 403: "authorization", 503: "registry"}.get(status, "body")
    await _send(send, status, field_error_body(detail, field), headers)


async def _send(
    send: Send, status: int, content: dict[str, object], headers: dict[str, str] | None
) -> None:
    body = orjson.dumps(content)
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        # The body is not read: the connection cannot be reused.
        (b"connection", b"close"),
    ]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


def install_guard(
    app: FastAPI,
    *,
    authenticate: Callable[[str | None], Principal | None],
    loading: Callable[[], bool],
    retry_after_s: int,
    default_limit: int,
    limits: dict[tuple[str, str], int],
    cookie: tuple[str, CookieCheck] | None = None,
) -> None:
    """Add the guard to `app`; its table is built from the routes on the first request (after
    every router is included)."""
    built: list[GuardTable] = []

    def table() -> GuardTable:
        if not built:
            built.append(
                GuardTable(
                    app.routes, marker=get_principal, default_limit=default_limit, limits=limits
                )
            )
        return built[0]

    app.add_middleware(
        AuthFirstMiddleware,
        table=table,
        authenticate=authenticate,
        loading=loading,
        retry_after_s=retry_after_s,
        cookie=cookie,
    )
