"""`/healthz`, `/readyz` and `/metrics` of the gateway (no authentication)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from anpr.http import JSONBytes
from ingest.deps import Service
from ingest.schemas import Health

router = APIRouter()


@router.get("/healthz", response_model=Health, responses={503: {"model": Health}})
async def healthz(service: Service) -> Response:
    runtime = service.runtime
    if runtime.alive:
        return JSONBytes({"status": "alive", "detail": runtime.health()})
    return JSONBytes({"status": "failing", "detail": runtime.health()}, status_code=503)


@router.get("/readyz", response_model=Health, responses={503: {"model": Health}})
async def readyz(service: Service) -> Response:
    detail = {
        "registry_loaded": service.registry_loaded,
        "cameras": len(service.registry.cameras),
        "loops": service.runtime.readiness(),
    }
    if service.ready:
        return JSONBytes({"status": "ready", "detail": detail})
    return JSONBytes({"status": "not_ready", "detail": detail}, status_code=503)


@router.get("/metrics", response_class=Response)
async def metrics(service: Service) -> Response:
    service.metrics.registry_ready.set(1 if service.registry_loaded else 0)
    return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)
