"""Publishing registry and hotlist writes: bus failures become 503, outcomes are counted.

A write on a covert list (its configuration, entries or webhook targets) is counted nowhere on
`/metrics` (no token): its audit entry is not counted, so counting the write would count it by
difference; neither is its request (`anpr.accesslog`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from anpr.accesslog import leave_out_of_request_metrics
from anpr.errors import AnprError
from api.errors import ApiError, unavailable

if TYPE_CHECKING:
    from api.service import ApiService


@asynccontextmanager
async def publishing(
    service: ApiService, kind: str, *, covert: bool = False
) -> AsyncIterator[None]:
    """Around a publish: a bus failure answers 503 with Retry-After (nothing was changed, or
    the change is retried safely: every write is idempotent per key). `covert`: a write on a
    covert list, not counted."""
    if covert:
        leave_out_of_request_metrics()
    try:
        yield
    except ApiError:
        raise
    except AnprError as exc:
        if not covert:
            service.metrics.registry_writes.labels(kind, "failed").inc()
        raise unavailable(
            f"the change could not be published, retry later ({exc})",
            service.settings.retry_after_s,
        ) from exc
    if not covert:
        service.metrics.registry_writes.labels(kind, "published").inc()
