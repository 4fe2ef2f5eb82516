"""`NotificationStore` on PostgreSQL: the delivery log and the hit outcome counts query.

The PostgreSQL twin of `api.store.sqlite_notifications` (a mixin of `PostgresStore`; the table is
in migration 0003). A delivery id is one row: a later outcome replaces an earlier one and the row
keeps its `seq`, its place in the log.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg_pool import AsyncConnectionPool

from anpr.deliveries import DeliveryResult
from api.store.base import HitFilter
from api.store.notifications import (
    DeliveryFilter,
    OutcomeCount,
    ReportDimension,
    StoredDelivery,
)
from api.store.pg_common import connection, hit_where, purge_in_batches

_COLUMNS = (
    "delivery_id, hit_id, target_id, list_id, covert, outcome, attempts, status_code, error, "
    "first_attempt_at, finished_at"
)
_GROUP_KEY = {
    ReportDimension.LIST: "list_id",
    ReportDimension.CAMERA: "camera_id",
    ReportDimension.NONE: "''",
}


class PgNotificationsMixin:
    """Mixed into `PostgresStore`, which provides `pool`."""

    @property
    def pool(self) -> AsyncConnectionPool[Any]:
        raise NotImplementedError

    async def add_deliveries(self, results: Sequence[DeliveryResult]) -> int:
        if not results:
            return 0
        async with connection(self.pool) as conn, conn.transaction():
            cur = conn.cursor()
            # Pipelined (psycopg 3.1+): one round trip for the batch; rowcount is its sum.
            await cur.executemany(
                f"INSERT INTO deliveries ({_COLUMNS}) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)"  # noqa: S608
                " ON CONFLICT (delivery_id) DO UPDATE SET outcome=excluded.outcome,"
                " attempts=excluded.attempts, status_code=excluded.status_code,"
                " error=excluded.error, first_attempt_at=excluded.first_attempt_at,"
                " finished_at=excluded.finished_at"
                " WHERE excluded.finished_at >= deliveries.finished_at",
                [
                    (r.delivery_id, r.hit_id, r.target_id, r.list_id, r.covert,
                     r.outcome.value, r.attempts, r.status_code, r.error,
                     r.first_attempt_at, r.finished_at)
                    for r in results
                ],
            )  # fmt: skip
            written: int = max(cur.rowcount, 0)
        return written

    async def query_deliveries(
        self, flt: DeliveryFilter, *, before_seq: int | None, limit: int
    ) -> list[StoredDelivery]:
        clauses: list[str] = []
        params: list[Any] = []
        for clause, value in (
            ("finished_at >= %s", flt.since),
            ("finished_at < %s", flt.until),
            ("target_id = %s", flt.target_id),
            ("hit_id = %s", flt.hit_id),
            ("outcome = %s", flt.outcome),
            ("seq < %s", before_seq),
        ):
            if value is not None:
                clauses.append(clause)
                params.append(value)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        async with connection(self.pool) as conn:
            cur = await conn.execute(
                f"SELECT seq, {_COLUMNS} FROM deliveries {where} "  # noqa: S608 - constant clauses
                "ORDER BY seq DESC LIMIT %s",
                (*params, limit),
            )
            rows = await cur.fetchall()
        out: list[StoredDelivery] = []
        for seq, did, hit, tgt, lst, covert, outcome, attempts, status, err, first, end in rows:
            result = DeliveryResult.model_validate(
                {
                    "delivery_id": did,
                    "hit_id": hit,
                    "target_id": tgt,
                    "list_id": lst,
                    "covert": bool(covert),
                    "outcome": outcome,
                    "attempts": attempts,
                    "status_code": status,
                    "error": err,
                    "first_attempt_at": first,
                    "finished_at": end,
                }
            )
            out.append(StoredDelivery(seq, result))
        return out

    async def purge_deliveries(self, *, before: int) -> int:
        # Covert hits' deliveries: removed, not counted (`Store.purge`).
        return await purge_in_batches(
            self.pool, "deliveries", "finished_at < %s", before, counted="NOT covert"
        )

    async def hit_outcome_counts(
        self, flt: HitFilter, *, dimension: ReportDimension, bucket_ms: int = 0
    ) -> list[OutcomeCount]:
        clauses, params = hit_where(flt)
        if dimension is ReportDimension.BUCKET:
            if bucket_ms <= 0:
                raise ValueError("bucket_ms must be positive")
            key = "(matched_at - (matched_at %% %s::bigint))::text"
            params = [bucket_ms, *params]
        else:
            key = _GROUP_KEY[dimension]
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        async with connection(self.pool) as conn:
            cur = await conn.execute(
                f"SELECT {key} AS k, ack_outcome, COUNT(*) FROM hits {where} "  # noqa: S608
                "GROUP BY 1, 2",
                params,
            )
            rows = await cur.fetchall()
        return [OutcomeCount(str(k), outcome, int(n)) for k, outcome, n in rows]
