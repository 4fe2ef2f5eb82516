"""FastAPI dependencies of the gateway: the service and the authenticated caller.

They are `async def` on purpose: FastAPI runs plain `def` dependencies in a thread pool, two
thread hops per request on the hot path (a third of the gateway's time with single reads)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from anpr.auth import Principal, Role
from ingest.service import GatewayService

CHALLENGE = {"WWW-Authenticate": 'Bearer, Basic realm="anpr-gateway"'}


async def get_service(request: Request) -> GatewayService:
    service: GatewayService = request.app.state.service
    return service


Service = Annotated[GatewayService, Depends(get_service)]


# The 503 while the duplicate memory is read back after a start (`ingest.peers`); its error
# names the field `dedup` (`ingest.app.http_error_response`).
WARMING = "the gateway is still reading back the recent reads' keys (duplicate detection)"


def pusher(request: Request, service: GatewayService) -> Principal:
    """An integrator (or an admin) allowed to push reads and heartbeats; raises the 503 (the
    registry, or the duplicate memory, not loaded yet), 401 or 403 otherwise."""
    if not service.registry_loaded:
        # Before the registry is loaded no integrator token is known: a 401 would tell a camera
        # its (valid) credentials are wrong, a 503 tells it to come back.
        raise HTTPException(
            503,
            "the gateway is still loading the registry",
            headers={"Retry-After": str(service.settings.retry_after_s)},
        )
    if not service.dedup_warm:
        # A camera resending right after a restart would be published again: its first copy
        # is in the keys the gateway is still reading back.
        raise HTTPException(
            503, WARMING, headers={"Retry-After": str(service.settings.retry_after_s)}
        )
    principal = service.authenticate(request.headers.get("authorization"))
    if principal is None:
        raise HTTPException(401, "missing or invalid credentials", headers=CHALLENGE)
    if not (principal.role is Role.INTEGRATOR or principal.role is Role.ADMIN):
        raise HTTPException(403, f"role {principal.role.value} may not push reads")
    return principal


async def get_pusher(request: Request, service: Service) -> Principal:
    """The dependency form of `pusher`: it documents the push routes' security in OpenAPI (the
    push routes themselves are served by `ingest.pushroute.PushRoute`, which calls `pusher`)."""
    return pusher(request, service)


Pusher = Annotated[Principal, Depends(get_pusher)]
