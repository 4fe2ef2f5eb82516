"""The kernel's `/healthz`, `/readyz`, `/metrics` router (anpr/health_routes.py) and service
lifespan (anpr/lifespan.py), on a stand-in runtime and service."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter

from anpr.health_routes import health_router
from anpr.lifespan import service_lifespan


@dataclass
class FakeRuntime:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    is_alive: bool = True

    @property
    def alive(self) -> bool:
        return self.is_alive

    def health(self) -> dict[str, dict[str, dict[str, object]]]:
        return {"tasks": {"reads": {"state": "running" if self.is_alive else "stopped"}}}

    def readiness(self) -> dict[str, dict[str, object]]:
        return {"reads": {"state": "consuming", "caught_up": True}}


@dataclass
class Flags:
    ready: bool = False
    scrapes: int = 0


def app_for(runtime: FakeRuntime, flags: Flags) -> FastAPI:
    app = FastAPI()

    def scraped() -> None:
        flags.scrapes += 1

    app.include_router(
        health_router(
            runtime,
            ready=lambda: flags.ready,
            detail=lambda: {"registry_loaded": flags.ready, "cameras": 2},
            before_scrape=scraped,
        )
    )
    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


@pytest.mark.parametrize(
    ("alive", "code", "status", "task_state"),
    [
        pytest.param(True, 200, "alive", "running", id="within-crash-budget"),
        pytest.param(False, 503, "failing", "stopped", id="past-crash-budget"),
    ],
)
async def test_healthz_follows_the_runtime(
    alive: bool, code: int, status: str, task_state: str
) -> None:
    async with client(app_for(FakeRuntime(is_alive=alive), Flags())) as c:
        response = await c.get("/healthz")
    assert response.status_code == code
    assert response.json() == {
        "status": status,
        "detail": {"tasks": {"reads": {"state": task_state}}},
    }


@pytest.mark.parametrize(
    ("ready", "code", "status"),
    [
        pytest.param(True, 200, "ready", id="ready"),
        pytest.param(False, 503, "not_ready", id="not-ready"),
    ],
)
async def test_readyz_shows_the_service_detail_and_its_loops(
    ready: bool, code: int, status: str
) -> None:
    async with client(app_for(FakeRuntime(), Flags(ready=ready))) as c:
        response = await c.get("/readyz")
    assert response.status_code == code
    assert response.json() == {
        "status": status,
        "detail": {
            "registry_loaded": ready,
            "cameras": 2,
            "loops": {"reads": {"state": "consuming", "caught_up": True}},
        },
    }


async def test_metrics_refreshes_then_serves_the_process_registry() -> None:
    runtime, flags = FakeRuntime(), Flags()
    Counter("anpr_test_things", "Things.", registry=runtime.registry).inc(3)
    async with client(app_for(runtime, flags)) as c:
        first = await c.get("/metrics")
        await c.get("/metrics")
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/plain")
    assert "anpr_test_things_total 3.0" in first.text
    assert flags.scrapes == 2


@dataclass
class Recorder:
    events: list[str] = field(default_factory=list)


class PlainStart:
    def __init__(self, rec: Recorder) -> None:
        self.rec = rec

    def start(self) -> None:
        self.rec.events.append("start")

    async def stop(self) -> None:
        self.rec.events.append("stop")


class AsyncStart(PlainStart):
    async def start(self) -> None:  # type: ignore[override]
        self.rec.events.append("start")


@pytest.mark.parametrize("kind", [PlainStart, AsyncStart], ids=["plain-start", "async-start"])
async def test_the_lifespan_starts_then_stops_the_service(kind: type[PlainStart]) -> None:
    rec = Recorder()
    app = FastAPI(lifespan=service_lifespan(kind(rec)))
    async with app.router.lifespan_context(app):
        assert rec.events == ["start"]
    assert rec.events == ["start", "stop"]


async def test_the_lifespan_stops_the_service_when_serving_fails() -> None:
    rec = Recorder()
    app = FastAPI(lifespan=service_lifespan(PlainStart(rec)))
    with pytest.raises(RuntimeError, match="boom"):
        async with app.router.lifespan_context(app):
            raise RuntimeError("boom")
    assert rec.events == ["start", "stop"]
