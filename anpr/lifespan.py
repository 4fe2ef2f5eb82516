"""The lifespan every service's app runs: start the service, serve, stop it.

One definition instead of a copy in each `create_app`. A service's `start` may be plain (it
only spawns supervised tasks) or a coroutine (it opens a store first); `stop` is awaited even
when serving ends with an error. The caller owns the bus: started before, stopped after.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

from fastapi import FastAPI


class Service(Protocol):
    def start(self) -> Awaitable[None] | None: ...

    async def stop(self) -> None: ...


def service_lifespan(service: Service) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        started = service.start()
        if started is not None:
            await started
        try:
            yield
        finally:
            await service.stop()

    return lifespan
