"""`NotificationStore` on SQLite: the delivery log table and the hit outcome counts query.

A mixin of `SqliteStore` (it uses the store's connection, on the store's thread); the table is in
`api.store.schema`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from anpr.deliveries import DeliveryResult
from api.store.base import HitFilter
from api.store.notifications import (
    DeliveryFilter,
    OutcomeCount,
    ReportDimension,
    StoredDelivery,
)
from api.store.sqlite_thread import SqliteOnThread, purge_in_batches, write_transaction

_COLUMNS = (
    "delivery_id, hit_id, target_id, list_id, covert, outcome, attempts, status_code, error, "
    "first_attempt_at, finished_at"
)
_GROUP_KEY = {
    ReportDimension.LIST: "list_id",
    ReportDimension.CAMERA: "camera_id",
    ReportDimension.NONE: "''",
}


class SqliteNotifications(SqliteOnThread):
    """Mixed into `SqliteStore`; every method runs its statements on the store's thread."""

    async def add_deliveries(self, results: Sequence[DeliveryResult]) -> int:
        def run(db: sqlite3.Connection) -> int:
            if not results:
                return 0
            rows = [
                (
                    r.delivery_id,
                    r.hit_id,
                    r.target_id,
                    r.list_id,
                    int(r.covert),
                    r.outcome.value,
                    r.attempts,
                    r.status_code,
                    r.error,
                    r.first_attempt_at,
                    r.finished_at,
                )
                for r in results
            ]
            with write_transaction(db):
                # A redelivery after a restart ends with a new outcome under the same id: keep the
                # latest; the row keeps its seq (its place in the log).
                before = db.total_changes
                db.executemany(
                    f"INSERT INTO deliveries ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)"  # noqa: S608
                    " ON CONFLICT (delivery_id) DO UPDATE SET outcome=excluded.outcome,"
                    " attempts=excluded.attempts, status_code=excluded.status_code,"
                    " error=excluded.error, first_attempt_at=excluded.first_attempt_at,"
                    " finished_at=excluded.finished_at"
                    " WHERE excluded.finished_at >= deliveries.finished_at",
                    rows,
                )
                written = db.total_changes - before
            return written

        return await self.sql(run)

    async def query_deliveries(
        self, flt: DeliveryFilter, *, before_seq: int | None, limit: int
    ) -> list[StoredDelivery]:
        def run(db: sqlite3.Connection) -> list[StoredDelivery]:
            clauses: list[str] = []
            params: list[Any] = []
            for clause, value in (
                ("finished_at >= ?", flt.since),
                ("finished_at < ?", flt.until),
                ("target_id = ?", flt.target_id),
                ("hit_id = ?", flt.hit_id),
                ("outcome = ?", flt.outcome),
                ("seq < ?", before_seq),
            ):
                if value is not None:
                    clauses.append(clause)
                    params.append(value)
            where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
            rows = db.execute(
                f"SELECT seq, {_COLUMNS} FROM deliveries {where} "  # noqa: S608 - constant clauses
                "ORDER BY seq DESC LIMIT ?",
                (*params, limit),
            ).fetchall()
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

        return await self.sql(run)

    async def purge_deliveries(self, *, before: int) -> int:
        return await purge_in_batches(
            self,
            table="deliveries",
            key="seq",
            where="finished_at < ?",
            params=(before,),
            counted="covert = 0",  # covert hits' deliveries: removed, not counted (`Store.purge`)
        )

    async def hit_outcome_counts(
        self, flt: HitFilter, *, dimension: ReportDimension, bucket_ms: int = 0
    ) -> list[OutcomeCount]:
        def run(db: sqlite3.Connection) -> list[OutcomeCount]:
            from api.store.sqlite import hit_where  # the hits query's own filter

            clauses, params = hit_where(flt)
            if dimension is ReportDimension.BUCKET:
                if bucket_ms <= 0:
                    raise ValueError("bucket_ms must be positive")
                key = "CAST((matched_at - (matched_at % ?)) AS TEXT)"
                params = [bucket_ms, *params]
            else:
                key = _GROUP_KEY[dimension]
            where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
            rows = db.execute(
                f"SELECT {key} AS k, ack_outcome, COUNT(*) FROM hits {where} "  # noqa: S608
                "GROUP BY k, ack_outcome",
                params,
            ).fetchall()
            return [OutcomeCount(str(k), outcome, int(n)) for k, outcome, n in rows]

        return await self.sql(run)
