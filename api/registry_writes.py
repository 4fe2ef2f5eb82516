"""Publishing registry and hotlist writes: bus failures become 503, outcomes are counted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from anpr.errors import AnprError
from api.errors import ApiError, unavailable

if TYPE_CHECKING:
    from api.service import ApiService


@asynccontextmanager
async def publishing(service: ApiService, kind: str) -> AsyncIterator[None]:
    """Around a publish: a bus failure answers 503 with Retry-After (nothing was changed, or
    the change is retried safely: every write is idempotent per key)."""
    try:
        yield
    except ApiError:
        raise
    except AnprError as exc:
        service.metrics.registry_writes.labels(kind, "failed").inc()
        raise unavailable(
            f"the change could not be published, retry later ({exc})",
            service.settings.retry_after_s,
        ) from exc
    service.metrics.registry_writes.labels(kind, "published").inc()
