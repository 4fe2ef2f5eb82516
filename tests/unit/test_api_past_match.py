"""The API's side of past-read matching: a list's window in its configuration, and the job the
API folds from the past-match topic shown in `GET /v1/hotlists/{list_id}`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.unit.api_fixtures import ApiHarness, running_api, unique


@pytest.fixture(scope="module")
async def api() -> AsyncIterator[ApiHarness]:
    async with running_api() as harness:
        yield harness


def body(**fields: Any) -> dict[str, Any]:
    return {"name": "Stolen", "category": "stolen", "priority": 2, "match": "ocr", **fields}


async def test_the_window_is_part_of_the_list(api: ApiHarness) -> None:
    list_id = unique("list")
    path, auth = f"/v1/hotlists/{list_id}", api.auth("supervisor")
    created = await api.client.put(path, json=body(past_match_hours=6), headers=auth)
    assert created.status_code == 200, created.text
    assert (created.json()["past_match_hours"], created.json()["past_match"]) == (6, None)
    kept = await api.client.put(path, json=body(priority=3), headers=auth)
    assert kept.json()["past_match_hours"] == 6
    refused = await api.client.put(path, json=body(past_match_hours=0), headers=auth)
    assert refused.status_code == 422
    assert "past_match_hours" in refused.text


async def test_the_newest_job_is_shown(api: ApiHarness) -> None:
    list_id = unique("list")
    path, auth = f"/v1/hotlists/{list_id}", api.auth("supervisor")
    assert (await api.client.put(path, json=body(), headers=auth)).status_code == 200

    def job(version: int, state: str, hits: int = 0) -> dict[str, Any]:
        return {
            "v": 1,
            "job_id": f"{list_id}@{version}",
            "list_id": list_id,
            "version": version,
            "state": state,
            "entries": 3,
            "since": 0,
            "until": 3_600_000,
            "candidates": 5,
            "hits": hits,
            "truncated": False,
            "at": 3_600_500,
        }

    topic = api.topics.past_match
    await api.publish(topic, f"{list_id}@7", job(7, "running"))
    await api.publish(topic, f"{list_id}@9", job(9, "done", hits=2))
    await api.publish(topic, f"{list_id}@7", job(7, "done", hits=4))  # an older job, late
    sentinel = {**job(1, "done"), "job_id": "sentinel@1", "list_id": "sentinel"}
    await api.publish(topic, "sentinel@1", sentinel)  # once it is folded, so are the others
    for _ in range(250):
        if api.service.hotlists.past_match.job("sentinel") is not None:
            break
        await asyncio.sleep(0.02)
    got = await api.client.get(path, headers=auth)
    seen: dict[str, Any] | None = got.json()["past_match"]
    assert seen is not None
    assert (seen["job_id"], seen["state"], seen["hits"], seen["candidates"]) == (
        f"{list_id}@9",
        "done",
        2,
        5,
    )
    assert seen["until"] == "1970-01-01T01:00:00Z"
