"""Ids a query names (filters, cursors, path ids, `Last-Event-ID`) that no record can have are
answered at the boundary, never handed to the store.

PostgreSQL cannot take a NUL in text: psycopg refuses the parameter with `DataError`, which is
not a store outage, so it was answered `500`. Here the SQLite stores' connections refuse NUL
text the same way, so each request below is what it is on PostgreSQL."""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import AsyncIterator, Iterable
from typing import Any

import orjson
import psycopg
import pytest
from psycopg.adapt import PyFormat, Transformer

import api.archive.sqlite_reads as sqlite_reads_module
import api.store.sqlite as sqlite_store_module
from anpr.sqlite_wal import connect_wal
from tests.unit.api_fixtures import ApiHarness, SseClient, running_api

NUL_ID = "cam-1\x00x"
REASON = "case 2026/0042"


def test_postgresql_refuses_text_with_a_nul() -> None:
    dumper = Transformer().get_dumper(NUL_ID, PyFormat.AUTO)
    with pytest.raises(psycopg.DataError, match="NUL"):
        dumper.dump(NUL_ID)


def _refuse_nul(params: Iterable[Any]) -> None:
    if any(isinstance(p, str) and "\x00" in p for p in params):
        raise psycopg.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")


class _NulRefusing:
    """A SQLite connection that refuses text parameters holding a NUL, as PostgreSQL does."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def execute(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        params = list(params)
        _refuse_nul(params)
        return self._db.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> sqlite3.Cursor:
        rows = [list(row) for row in rows]
        for row in rows:
            _refuse_nul(row)
        return self._db.executemany(sql, rows)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


def _connect_refusing_nul(target: str, **kwargs: Any) -> Any:
    return _NulRefusing(connect_wal(target, **kwargs))


@pytest.fixture(scope="module")
async def api() -> AsyncIterator[ApiHarness]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sqlite_store_module, "connect_wal", _connect_refusing_nul)
        patch.setattr(sqlite_reads_module, "connect_wal", _connect_refusing_nul)
        async with running_api() as harness:
            yield harness


def _cursor(*payload: object) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(payload))).decode().rstrip("=")


@pytest.mark.parametrize(
    ("role", "path", "params", "field"),
    [
        pytest.param("operator", "/v1/hits", {"camera_id": NUL_ID}, "camera_id", id="hits-camera"),
        pytest.param("operator", "/v1/hits", {"list_id": NUL_ID}, "list_id", id="hits-list"),
        pytest.param(
            "operator", "/v1/hits", {"cursor": _cursor("h1", 1, NUL_ID)}, "cursor", id="hits-cursor"
        ),
        pytest.param(
            "operator", "/v1/hits/counts", {"camera_id": NUL_ID}, "camera_id", id="counts-camera"
        ),
        pytest.param(
            "operator", "/v1/alerts", {"camera_id": NUL_ID}, "camera_id", id="alerts-camera"
        ),
        pytest.param(
            "operator",
            "/v1/alerts",
            {"cursor": _cursor("al1", 1, NUL_ID)},
            "cursor",
            id="alerts-cursor",
        ),
        pytest.param("auditor", "/v1/audit", {"actor": "eve\x00"}, "actor", id="audit-actor"),
        pytest.param(
            "investigator",
            "/v1/reads",
            {"camera_id": NUL_ID, "reason": REASON},
            "camera_id",
            id="reads-camera",
        ),
        pytest.param(
            "investigator",
            "/v1/reads",
            {"plate": "1ABC123", "reason": REASON, "cursor": _cursor("r1", 1, NUL_ID, "cam-1")},
            "cursor",
            id="reads-cursor",
        ),
        pytest.param(
            "admin",
            "/v1/notifications/deliveries",
            {"hit_id": NUL_ID},
            "hit_id",
            id="deliveries-hit",
        ),
    ],
)
async def test_an_id_no_record_can_have_is_422_naming_it(
    api: ApiHarness, role: str, path: str, params: dict[str, str], field: str
) -> None:
    response = await api.client.get(path, params=params, headers=api.auth(role))
    assert response.status_code == 422, response.text
    assert field in {e["field"] for e in response.json()["errors"]}


@pytest.mark.parametrize(
    ("role", "method", "path"),
    [
        pytest.param("operator", "GET", "/v1/hits/h-1%00x", id="hit"),
        pytest.param("operator", "POST", "/v1/hits/h-1%00x/acknowledge", id="acknowledge-hit"),
        pytest.param("operator", "GET", "/v1/alerts/al-1%00x", id="alert"),
        pytest.param("operator", "POST", "/v1/alerts/al-1%00x/acknowledge", id="acknowledge-alert"),
        pytest.param("investigator", "GET", "/v1/reads/r-1%00x?reason=case+2026", id="read"),
    ],
)
async def test_a_path_id_no_record_can_have_is_404(
    api: ApiHarness, role: str, method: str, path: str
) -> None:
    body = {"outcome": "no_action"} if method == "POST" else None
    response = await api.client.request(method, path, json=body, headers=api.auth(role))
    assert response.status_code == 404, response.text


async def test_a_last_event_id_no_hit_can_have_is_unknown(api: ApiHarness) -> None:
    path = "/v1/hits/stream?last_event_id=h-1%00x"
    async with SseClient(api.app, path, api.auth("operator")) as client:
        assert client.status == 200
        await client.next_event()  # retry: advice
        event = await client.next_event()
        assert "unknown Last-Event-ID" in event.comments[0]
