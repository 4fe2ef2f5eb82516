"""The push routes' lean handler (`ingest.pushroute`): what it fills, what it refuses."""

from __future__ import annotations

import pytest
from fastapi import Request
from fastapi.routing import APIRoute, APIRouter
from starlette.responses import Response

from anpr.auth import Principal
from ingest import routes_heartbeats, routes_reads, routes_vendor
from ingest.pushroute import PushRoute, _plain_parameters
from ingest.service import GatewayService


def test_path_and_query_parameters_are_filled_with_their_defaults() -> None:
    async def endpoint(
        fmt: str,
        request: Request,
        service: GatewayService,
        principal: Principal,
        camera_id: str | None = None,
    ) -> Response:
        return Response()

    assert _plain_parameters(endpoint) == {"fmt": None, "camera_id": None}


def test_a_parameter_the_lean_handler_cannot_fill_fails_at_import() -> None:
    async def endpoint(request: Request, limit: int = 3) -> Response:
        return Response()

    with pytest.raises(TypeError, match="limit must be str"):
        _plain_parameters(endpoint)


@pytest.mark.parametrize(
    "router", [routes_reads.router, routes_heartbeats.router, routes_vendor.router]
)
def test_every_push_route_is_served_by_the_lean_handler(router: APIRouter) -> None:
    routes = [r for r in router.routes if isinstance(r, APIRoute)]
    assert routes and all(isinstance(r, PushRoute) for r in routes)
