"""Retention for the embedded bus file: Kafka deletes old records of the reads, hits, heartbeats,
gateway-events and audit topics by their `retention.ms`; in embedded mode nobody did, so the bus
file kept every read and hit for ever (issue 11, item 6). One small periodic job, run by
`anpr run` next to the servers, applies the same per-topic retention (`anpr.topics`). A failed
round never ends it (it is not one of the supervised services: a job of `serve_all`, whose end
would stop every service of the process).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable, Sequence

from anpr.bus.local import LocalBus
from anpr.clock import now_ms
from anpr.topics import TopicSpec

log = logging.getLogger(__name__)

PURGE_INTERVAL_S = 300.0


# Records deleted per statement: each holds the event loop (the embedded bus is on it) and the
# file's write lock while SQLite zeroes their pages; a read with pictures takes about 0.25 ms.
PURGE_BATCH = 200


async def purge_once(bus: LocalBus, specs: Sequence[TopicSpec], now: int) -> dict[str, int]:
    """Records removed per topic (only topics with a time retention; compacted ones keep), a
    batch at a time with the loop run in between: a backlog of expired reads (after downtime,
    or a retention lowered) held it for seconds in one statement."""
    removed: dict[str, int] = {}
    for spec in specs:
        retention = spec.config.get("retention.ms")
        if spec.compacted or retention is None:
            continue
        removed[spec.name] = 0
        while True:
            deleted = bus.purge(spec.name, now - int(retention), limit=PURGE_BATCH)
            removed[spec.name] += deleted
            if deleted < PURGE_BATCH:
                break
            await asyncio.sleep(0)
    return removed


async def retention_loop(
    bus: LocalBus,
    specs: Sequence[TopicSpec],
    stop: asyncio.Event,
    *,
    interval_s: float = PURGE_INTERVAL_S,
    clock: Callable[[], int] = now_ms,
) -> None:
    """Purge now and then every `interval_s` until `stop` is set. A round that fails (the file
    locked past its busy timeout by `anpr admin` in another process, say) is logged and tried
    again at the next: retention is late, the services it runs beside go on."""
    while not stop.is_set():
        try:
            removed = await purge_once(bus, specs, clock())
        except sqlite3.Error as exc:
            log.warning("embedded bus retention failed, tried again in %.0f s: %s", interval_s, exc)
        else:
            if any(removed.values()):
                log.info("embedded bus retention removed %s", removed)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval_s)
