"""`POST /v1/integrators` and `POST /v1/tokens` (admin). Writes go through `RegistryWriter`."""

from __future__ import annotations

from fastapi import APIRouter

from anpr.auth import Role, hash_token, reserved_token_name, token_name_taken
from anpr.registry import token_id
from api.audit.log import Action
from api.deps import Admin, Service
from api.errors import conflict, invalid
from api.registry_writes import publishing
from api.responses import error_responses
from api.tokens.schemas import IntegratorCreated, IntegratorIn, TokenCreated, TokenIn

router = APIRouter(tags=["administration"])


@router.post(
    "/v1/integrators",
    status_code=201,
    response_model=IntegratorCreated,
    responses=error_responses(401, 403, 409, 422, 503),
)
async def create_integrator(
    body: IntegratorIn, principal: Admin, service: Service
) -> IntegratorCreated:
    async with service.registry_lock:
        if body.integrator_id in service.registry.integrators:
            raise conflict(f"integrator {body.integrator_id!r} exists", "integrator_id")
        async with publishing(service, "integrator"):
            token = await service.registry_writer.create_integrator(body.integrator_id, body.name)
        digest = hash_token(token)
        await service.registry_changed.wait_for(
            lambda: (
                body.integrator_id in service.registry.integrators
                and digest in service.registry.tokens
            ),
            service.settings.write_visible_timeout_s,
        )
    await service.audit.record(
        principal, Action.INTEGRATOR_CREATE, body.integrator_id, detail={"name": body.name}
    )
    return IntegratorCreated(integrator_id=body.integrator_id, token=token)


@router.post(
    "/v1/tokens",
    status_code=201,
    response_model=TokenCreated,
    responses=error_responses(401, 403, 409, 422, 503),
)
async def create_token(body: TokenIn, principal: Admin, service: Service) -> TokenCreated:
    role = Role(body.role)
    reserved = reserved_token_name(body.name)
    if reserved is not None:
        raise invalid("name", reserved)
    async with service.registry_lock:
        if token_name_taken(body.name, (p.name for p in service.registry.tokens.values())):
            raise conflict(f"a token named {body.name!r} exists", "name")
        async with publishing(service, "token"):
            token = await service.registry_writer.create_token(role, body.name)
        digest = hash_token(token)
        await service.registry_changed.wait_for(
            lambda: digest in service.registry.tokens, service.settings.write_visible_timeout_s
        )
    await service.audit.record(
        principal,
        Action.TOKEN_CREATE,
        f"token/{token_id(digest)}",
        detail={"role": role.value, "name": body.name},
    )
    return TokenCreated(token=token, role=role.value, name=body.name)
