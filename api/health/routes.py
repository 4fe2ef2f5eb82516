"""`/healthz`, `/readyz` and `/metrics` (no authentication)."""

from __future__ import annotations

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.responses import JSONResponse, Response

from anpr.health_routes import exposition
from api.deps import Service
from api.health.schemas import Alive, Readiness

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Alive, responses={503: {"model": Alive}})
async def healthz(service: Service) -> Response:
    runtime = service.runtime
    body = Alive(status="alive" if runtime.alive else "failing", tasks=runtime.health()["tasks"])
    return JSONResponse(body.model_dump(), status_code=200 if runtime.alive else 503)


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
async def readyz(service: Service) -> Response:
    body = Readiness(
        status="ready" if service.ready else "not_ready",
        registry_loaded=service.registry_loaded,
        hotlists_loaded=service.hotlists.loaded,
        hits_caught_up=service.hits_caught_up,
        loops=service.runtime.readiness(),
    )
    return JSONResponse(body.model_dump(), status_code=200 if service.ready else 503)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
)
async def metrics(service: Service) -> Response:
    await service.refresh_health_metrics()  # forgotten cameras' rows go at the next save
    service.hotlists.refresh_metrics()
    body = await exposition(service.metrics.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
