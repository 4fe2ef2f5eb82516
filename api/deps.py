"""FastAPI dependencies: the service and the authenticated caller, by role (contract section 2).

`Operator` admits operator, supervisor and admin; `Supervisor` supervisor and admin; `Admin`
admin; `Auditor` auditor and admin; `Manager` manager and admin; `Investigator` investigator,
supervisor and admin (admin may do everything); `HitSearcher` an operator's roles and the
investigator. Integrator tokens are valid but may do nothing
here: 403. A request without `Authorization` may authenticate with the console's session cookie
instead (`api.console.sessions`, CSRF-checked on writes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import Depends, Request

from anpr.auth import BOOTSTRAP_ADMIN, Principal, Role
from api.console.sessions import SESSION_COOKIE, principal_from_cookie
from api.errors import forbidden, unauthorized, unavailable
from api.service import ApiService


async def get_service(request: Request) -> ApiService:
    service: ApiService = request.app.state.service
    return service


Service = Annotated[ApiService, Depends(get_service)]


async def get_principal(request: Request, service: Service) -> Principal:
    header = request.headers.get("authorization")
    if header is None and SESSION_COOKIE in request.cookies:
        # The console: a session cookie instead of a token (CSRF-checked on writes).
        return await principal_from_cookie(service, request)
    principal = service.authenticate(header)
    if principal is None:
        if not service.registry_loaded:
            # Registry tokens are unknown until the registry topic is replayed.
            raise unavailable(
                "the API is still loading the registry", service.settings.retry_after_s
            )
        raise unauthorized()
    return principal


Caller = Annotated[Principal, Depends(get_principal)]


class RoleCheck:
    """The dependency that admits callers of `role` or of one of `alternatives` (and those
    `Principal.has` lets act as one of them).

    A class rather than a closure so that the API's guard (`api.guard`) can read the roles off a
    route's dependencies and refuse a caller of another role before the body is read."""

    def __init__(self, role: Role, *alternatives: Role) -> None:
        self.roles: tuple[Role, ...] = (role, *alternatives)

    async def __call__(self, principal: Caller) -> Principal:
        if not admits(principal, self.roles):
            raise forbidden(refusal(principal, self.roles))
        return principal


def admits(principal: Principal, roles: Sequence[Role]) -> bool:
    return any(principal.has(role) for role in roles)


def refusal(principal: Principal, roles: Sequence[Role]) -> str:
    needed = " or ".join(role.value for role in roles)
    return f"role {principal.role.value} may not do this ({needed} needed)"


Operator = Annotated[Principal, Depends(RoleCheck(Role.OPERATOR))]
Supervisor = Annotated[Principal, Depends(RoleCheck(Role.SUPERVISOR))]
Admin = Annotated[Principal, Depends(RoleCheck(Role.ADMIN))]
Auditor = Annotated[Principal, Depends(RoleCheck(Role.AUDITOR))]
Manager = Annotated[Principal, Depends(RoleCheck(Role.MANAGER))]  # manager and admin
Investigator = Annotated[Principal, Depends(RoleCheck(Role.INVESTIGATOR))]
# Searching hits: operator and up, or an investigator (by plate, with a reason: contract sec. 2).
HitSearcher = Annotated[Principal, Depends(RoleCheck(Role.OPERATOR, Role.INVESTIGATOR))]

__all__ = [
    "BOOTSTRAP_ADMIN",
    "Admin",
    "Auditor",
    "Caller",
    "HitSearcher",
    "Investigator",
    "Manager",
    "Operator",
    "Service",
    "Supervisor",
]
