"""Console sessions: a browser signs in with its token once and then carries a cookie.

`EventSource` cannot send `Authorization`, so the console signs in by token into a server-side
session (contract section 7): the cookie holds a random session id (only its SHA-256 is stored,
in the API store, so every replica knows the session), HttpOnly and SameSite=Strict. The session
remembers the hash of the registry token it was opened with: revoking the token ends its sessions
at once, and their open hit streams too (`StillAllowed`).

The bootstrap `ANPR_ADMIN_TOKEN` is chosen by a person and may be guessable, so a session opened
with it stores no hash of it, which anyone with the database or a backup could test guesses
against. It stores `bootstrap:` and an HMAC of the session id keyed by the token: checking a guess
needs the session id too, which only the browser's cookie holds. Each request recomputes it, so
replacing or unsetting `ANPR_ADMIN_TOKEN` ends those sessions.

CSRF: a request authenticated by the cookie that is not GET/HEAD/OPTIONS must carry the
session's CSRF token in `X-CSRF-Token` (a synchronizer token, handed out at sign-in and by
`GET /console/session`, never in a cookie). A cross-site page can neither read that token nor
send the cookie (SameSite=Strict); the header check holds even where SameSite is not enforced.
Requests with `Authorization: Bearer` are unaffected: Bearer auth works as before.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request
from starlette.responses import Response

from anpr.auth import BOOTSTRAP_ADMIN, Principal, Role
from api.errors import ApiError, forbidden, unauthorized, unavailable
from api.service import ApiService
from api.store.alerts import ConsoleSession
from api.store.base import StoreUnavailable

SESSION_COOKIE = "anpr_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Roles that may not use the console (integrators push reads; nothing here is theirs).
REFUSED_ROLES = frozenset({Role.INTEGRATOR})
NO_SESSION = "no valid console session"
NO_CSRF = "missing or wrong X-CSRF-Token header (console session)"


def session_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class SignedIn:
    session_id: str
    session: ConsoleSession
    principal: Principal


# Prefix of a bootstrap session's `token_hash`; a registry token's is 64 hex digits.
BOOTSTRAP_BINDING = "bootstrap:"


def _bootstrap_binding(admin_token_hash: str, session_id: str) -> str:
    mac = hmac.new(admin_token_hash.encode(), session_id.encode(), hashlib.sha256)
    return BOOTSTRAP_BINDING + mac.hexdigest()


def _stored_token_hash(principal: Principal, session_id: str) -> str:
    """What a new session remembers of the token it was opened with."""
    if principal.bootstrap:
        return _bootstrap_binding(principal.token_hash, session_id)
    return principal.token_hash


def _still_valid(service: ApiService, session_id: str, session: ConsoleSession) -> Principal | None:
    """The principal of the session's token, if that token is still valid."""
    if not session.token_hash.startswith(BOOTSTRAP_BINDING):
        return service.registry.tokens.get(session.token_hash)
    admin = service.admin_token_hash
    if admin is None:
        return None
    if not hmac.compare_digest(session.token_hash, _bootstrap_binding(admin, session_id)):
        return None
    return Principal(Role.ADMIN, BOOTSTRAP_ADMIN, admin, bootstrap=True)


def _token_principal(service: ApiService, token_hash: str) -> Principal | None:
    admin = service.admin_token_hash
    if admin is not None and hmac.compare_digest(token_hash, admin):
        return Principal(Role.ADMIN, BOOTSTRAP_ADMIN, token_hash, bootstrap=True)
    return service.registry.tokens.get(token_hash)


async def sign_in(service: ApiService, token: str, address: str) -> SignedIn:
    """A session for `token`; `address` is the client's, for the limit on failed sign-ins
    (`api.console.signin_limit`). 503 while the registry loads, for a token not known yet."""
    limiter = service.sign_in_limiter
    wait_s = limiter.retry_after_s(address, service.clock())
    if wait_s is not None:
        service.metrics.console_sign_ins.labels("limited").inc()
        raise ApiError(
            429,
            "token: too many failed sign-ins from this address; try again later",
            errors=[{"field": "token", "message": "too many failed sign-ins from this address"}],
            headers={"Retry-After": str(wait_s)},
        )
    principal = service.authenticate(f"Bearer {token}") if token else None
    if principal is None and not service.registry_loaded:
        # Registry tokens are unknown until the registry is replayed: not a wrong guess.
        service.metrics.console_sign_ins.labels("unavailable").inc()
        raise unavailable("the API is still loading the registry", service.settings.retry_after_s)
    if principal is None:
        limiter.failed(address, service.clock())
        service.metrics.console_sign_ins.labels("refused").inc()
        raise ApiError(401, "token: not a valid token", errors=[
            {"field": "token", "message": "not a valid token"}
        ])  # fmt: skip
    if principal.role in REFUSED_ROLES:
        service.metrics.console_sign_ins.labels("refused").inc()
        raise forbidden(f"role {principal.role.value} may not use the console")
    now = service.clock()
    session_id = secrets.token_urlsafe(32)
    session = ConsoleSession(
        session_hash=session_hash(session_id),
        token_hash=_stored_token_hash(principal, session_id),
        name=principal.name,
        role=principal.role.value,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + int(service.settings.console_session_ttl_s * 1000),
    )
    await service.store.create_session(session)
    service.metrics.console_sign_ins.labels("ok").inc()
    return SignedIn(session_id, session, principal)


async def current(service: ApiService, request: Request) -> SignedIn | None:
    """The session of the request's cookie, if any and still valid (expired: None)."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id or len(session_id) > 200:
        return None
    session = await service.store.get_session(session_hash(session_id), now=service.clock())
    if session is None:
        return None
    if not service.registry_loaded:
        # Tokens are unknown until the registry is replayed: not a reason to end the session.
        raise unavailable("the API is still loading the registry", service.settings.retry_after_s)
    principal = _still_valid(service, session_id, session)
    if principal is None:
        await service.store.delete_session(session.session_hash)
        return None
    return SignedIn(session_id, session, principal)


async def end(service: ApiService, request: Request) -> None:
    """Sign-out: end the session of the request's cookie, if any (403 without its CSRF token).
    Only the store is asked, not the registry: a session can be ended while the API starts."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id or len(session_id) > 200:
        return
    session = await service.store.get_session(session_hash(session_id), now=service.clock())
    if session is None:
        return
    sent = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
        raise forbidden(NO_CSRF)
    await service.store.delete_session(session.session_hash)


async def cookie_refusal(
    service: ApiService,
    session_id: str,
    *,
    method: str,
    csrf: str | None,
    refused: Callable[[Principal], str | None],
) -> tuple[int, str] | None:
    """For the API's guard, before any body is read: None when the session cookie may go on to
    the route, else the status to answer and why (401 no valid session, 403 a write without its
    CSRF token, or a role the route does not admit: `refused` says why). The route's
    dependencies check again."""
    if not session_id or len(session_id) > 200:
        return 401, NO_SESSION
    if not service.registry_loaded:
        return None  # the dependency answers 503 meanwhile
    session = await service.store.get_session(session_hash(session_id), now=service.clock())
    principal = None if session is None else _still_valid(service, session_id, session)
    if session is None or principal is None:
        return 401, NO_SESSION
    if method not in SAFE_METHODS and not hmac.compare_digest(
        (csrf or "").encode(), session.csrf_token.encode()
    ):
        return 403, NO_CSRF
    why = refused(principal)
    return None if why is None else (403, why)


async def principal_from_cookie(service: ApiService, request: Request) -> Principal:
    """The caller of a cookie-authenticated request; 401 without a valid session, 403 when a
    write lacks the session's CSRF token."""
    signed_in = await current(service, request)
    if signed_in is None:
        raise unauthorized()
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), signed_in.session.csrf_token.encode()):
            raise forbidden(NO_CSRF)
    return signed_in.principal


# The longest the sign-out look-up of a long request may hold its next write back.
SESSION_CHECK_S = 1.0


class StillAllowed:
    """Whether the caller of a long request (the hit stream) may still be served: its token
    not revoked (a registry look-up, every call), and for a console session, the session not
    expired (every call) nor signed out (the store, at most every `recheck_s`: a stream is
    woken for each hit, and every replica must learn of a sign-out made on another)."""

    def __init__(
        self, service: ApiService, token_hash: str, session: ConsoleSession | None, recheck_s: float
    ) -> None:
        self._service = service
        self._token_hash = token_hash
        self._session = session
        self._recheck_ms = int(recheck_s * 1000)
        self._checked = service.clock()

    async def __call__(self) -> bool:
        service = self._service
        if _token_principal(service, self._token_hash) is None:
            return False
        session = self._session
        if session is None:
            return True
        now = service.clock()
        if now >= session.expires_at:
            return False
        if now - self._checked < self._recheck_ms:
            return True
        self._checked = now
        try:
            # Bounded: the stream waits for this before its next write (a hit, a keep-alive).
            async with asyncio.timeout(SESSION_CHECK_S):
                return await service.store.get_session(session.session_hash, now=now) is not None
        except TimeoutError:
            return True  # a slow store: asked again at a wake an interval later
        except StoreUnavailable:
            return False  # unknown: the client reconnects and is checked afresh


async def still_allowed(
    service: ApiService, request: Request, principal: Principal, *, recheck_s: float
) -> StillAllowed:
    """The `StillAllowed` of a request whose caller is `principal`."""
    session = None
    if request.headers.get("authorization") is None and SESSION_COOKIE in request.cookies:
        signed_in = await current(service, request)
        if signed_in is None:
            raise unauthorized()
        session = signed_in.session
    return StillAllowed(service, principal.token_hash, session, recheck_s)


def set_cookie(
    response: Response, request: Request, signed_in: SignedIn, secure: bool | None
) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        signed_in.session_id,
        max_age=max(1, (signed_in.session.expires_at - signed_in.session.created_at) // 1000),
        path="/",
        httponly=True,
        samesite="strict",
        secure=came_over_https(request) if secure is None else secure,
    )


def came_over_https(request: Request) -> bool:
    """Whether the browser reached us over https: directly, or through a proxy that says so.

    The proxy's header is believed from anyone: a client that sends it on plain http only gets
    a Secure cookie its browser will not send back, while behind a TLS-terminating proxy (an
    ingress, not 127.0.0.1, so uvicorn leaves the scheme at http) the cookie was sent without
    Secure, and a plain-http request to the host would carry it in clear."""
    if request.url.scheme == "https":
        return True
    forwarded = request.headers.get("x-forwarded-proto")
    if forwarded is not None:
        return forwarded.split(",")[0].strip().lower() == "https"
    first = request.headers.get("forwarded", "").split(",")[0]
    return any(
        part.strip().lower() in ("proto=https", 'proto="https"') for part in first.split(";")
    )


def clear_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
