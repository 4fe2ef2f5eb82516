"""The camera connection lifecycle (the rollout report) on PostgreSQL, a mixin of `PostgresStore`.

The twin of the "camera connection lifecycle" section of `api.store.sqlite`: kinds in
`ONCE_KINDS` are one row per camera (a partial unique index, migration 0003) whose earliest
event wins, whatever the order replicas observe them in; other kinds are appended.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from api.store.base import LifecycleEvent
from api.store.pg_common import connection


class PgLifecycleMixin:
    """Mixed into `PostgresStore`, which provides `pool`."""

    @property
    def pool(self) -> AsyncConnectionPool[Any]:
        raise NotImplementedError

    async def add_lifecycle(self, events: Sequence[LifecycleEvent]) -> int:
        if not events:
            return 0
        # executemany pipelines the statements (psycopg 3.1+): one round trip for the batch, not
        # one per event; a rollout's first flush or a network-wide outage makes 10,000 at once.
        async with connection(self.pool) as conn, conn.transaction():
            cur = conn.cursor()
            await cur.executemany(
                "INSERT INTO camera_lifecycle (camera_id, kind, at, detail)"
                " VALUES (%s,%s,%s,%s) ON CONFLICT (camera_id, kind) WHERE kind IN"
                " ('registered', 'first_contact', 'first_valid_read', 'first_heartbeat')"
                " DO UPDATE SET at = excluded.at, detail = excluded.detail"
                " WHERE excluded.at < camera_lifecycle.at",
                [(e.camera_id, e.kind, e.at, Jsonb(e.detail)) for e in events],
            )
            changed: int = max(cur.rowcount, 0)  # the sum over the batch
        return changed

    async def load_lifecycle(self) -> list[LifecycleEvent]:
        async with connection(self.pool) as conn:
            cur = await conn.execute(
                "SELECT camera_id, kind, at, detail FROM camera_lifecycle ORDER BY at, seq"
            )
            rows = await cur.fetchall()
        return [LifecycleEvent(c, k, at, detail) for c, k, at, detail in rows]

    async def forget_lifecycle(self, camera_ids: Sequence[str]) -> None:
        if camera_ids:
            async with connection(self.pool) as conn:
                await conn.execute(
                    "DELETE FROM camera_lifecycle WHERE camera_id = ANY(%s)", (list(camera_ids),)
                )
