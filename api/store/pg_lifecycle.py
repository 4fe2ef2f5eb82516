"""The camera connection lifecycle (the rollout report) on PostgreSQL, a mixin of `PostgresStore`.

The twin of the "camera connection lifecycle" section of `api.store.sqlite`: kinds in
`ONCE_KINDS` are one row per camera (a partial unique index, migration 0003) whose earliest
event wins, whatever the order replicas observe them in; other kinds are appended.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from api.store.base import TRIM_CAMERAS, LifecycleEvent
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
        # By camera (stable: a camera's events keep their order): replicas flush the same
        # cameras, and two transactions taking their rows in opposite orders deadlock.
        events = sorted(events, key=lambda e: e.camera_id)
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

    async def trim_lifecycle(self, groups: Sequence[Collection[str]], keep: int) -> int:
        kinds = sorted({k for group in groups for k in group})
        async with connection(self.pool) as conn:
            cur = await conn.execute(
                "SELECT camera_id FROM camera_lifecycle WHERE kind = ANY(%s)"
                " GROUP BY camera_id HAVING count(*) > %s",
                (kinds, keep),
            )
            cameras = [row[0] for row in await cur.fetchall()]
        case = " ".join(f"WHEN kind = ANY(%s) THEN {n}" for n in range(len(groups)))
        removed = 0
        for start in range(0, len(cameras), TRIM_CAMERAS):
            chunk = cameras[start : start + TRIM_CAMERAS]
            async with connection(self.pool) as conn:
                cur = await conn.execute(
                    "DELETE FROM camera_lifecycle WHERE seq IN (SELECT seq FROM (SELECT seq,"  # noqa: S608
                    f" row_number() OVER (PARTITION BY camera_id, CASE {case} END"
                    " ORDER BY at DESC, seq DESC) AS rn FROM camera_lifecycle"
                    " WHERE camera_id = ANY(%s) AND kind = ANY(%s)) ranked WHERE rn > %s)",
                    (*[sorted(g) for g in groups], chunk, kinds, keep),
                )
                removed += max(cur.rowcount, 0)
        return removed
