"""Token administration (admin): list, revoke and rotate (issue 11, item 5).

- `GET /v1/tokens`: every registry token by id (the first 16 hex digits of its hash), role, name,
  integrator and creation time; never the token.
- `DELETE /v1/tokens/{token_id}`: revoke. The tombstone is on the compacted registry topic, which
  every gateway, matcher and API replica follows: within seconds no process accepts the token.
- `POST /v1/integrators/{integrator_id}/token`: rotate. A new token is published first, then
  every earlier token of the integrator is revoked; the new one is shown once.

The bootstrap admin token (`ANPR_ADMIN_TOKEN`) is not in the registry: change the variable.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from anpr.auth import Role, hash_token
from anpr.clock import ms_to_rfc3339
from anpr.registry import token_id
from api.audit.log import Action
from api.deps import Admin, Service
from api.errors import conflict, not_found
from api.registry_writes import publishing
from api.responses import error_responses
from api.tokens.schemas import IntegratorCreated, TokenList, TokenOut

router = APIRouter(tags=["administration"])


@router.get("/v1/tokens", response_model=TokenList, responses=error_responses(401, 403))
async def list_tokens(principal: Admin, service: Service) -> TokenList:
    return TokenList(
        items=[
            TokenOut(
                token_id=info.token_id,
                role=info.role.value,
                name=info.name,
                integrator_id=info.integrator_id,
                created_at=ms_to_rfc3339(info.created_at) if info.created_at else None,
            )
            for info in service.registry.token_infos()
        ]
    )


@router.delete(
    "/v1/tokens/{token_id}",
    status_code=204,
    response_class=Response,
    responses=error_responses(401, 403, 404, 409, 503),
)
async def revoke_token(token_id: str, principal: Admin, service: Service) -> Response:
    async with service.registry_lock:
        hashes = service.registry.tokens_by_id(token_id)
        if not hashes:
            raise not_found(f"token {token_id!r}")
        if len(hashes) > 1:  # 64-bit ids: practically never
            raise conflict(f"token id {token_id!r} is ambiguous", "token_id")
        (digest,) = hashes
        revoked = service.registry.tokens[digest]
        async with publishing(service, "token"):
            await service.registry_writer.revoke_token(digest)
        await service.registry_changed.wait_for(
            lambda: digest not in service.registry.tokens,
            service.settings.write_visible_timeout_s,
        )
    await service.audit.record(
        principal,
        Action.TOKEN_REVOKE,
        f"token/{token_id}",
        detail={"role": revoked.role.value, "name": revoked.name},
    )
    return Response(status_code=204)


@router.post(
    "/v1/integrators/{integrator_id}/token",
    status_code=201,
    response_model=IntegratorCreated,
    responses=error_responses(401, 403, 404, 503),
)
async def rotate_integrator_token(
    integrator_id: str, principal: Admin, service: Service
) -> IntegratorCreated:
    async with service.registry_lock:
        integrator = service.registry.integrators.get(integrator_id)
        if integrator is None:
            raise not_found(f"integrator {integrator_id!r}")
        old = [
            digest
            for digest, p in service.registry.tokens.items()
            if p.role is Role.INTEGRATOR and p.integrator_id == integrator_id
        ]
        async with publishing(service, "token"):
            token = await service.registry_writer.rotate_integrator_token(
                integrator_id, integrator.name, old
            )
        digest = hash_token(token)
        await service.registry_changed.wait_for(
            lambda: (
                digest in service.registry.tokens
                and not any(d in service.registry.tokens for d in old)
            ),
            service.settings.write_visible_timeout_s,
        )
    await service.audit.record(
        principal,
        Action.TOKEN_ROTATE,
        f"integrator/{integrator_id}",
        detail={"token_id": token_id(digest), "revoked": [token_id(d) for d in old]},
    )
    return IntegratorCreated(integrator_id=integrator_id, token=token)
