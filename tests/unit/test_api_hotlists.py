"""Hotlist management over HTTP: configuration, atomic CSV/NDJSON replacement with per-line
errors, upserts, deletions, matcher status, roles and audit. Writes go through the
`anpr.hotlists` planner onto the hotlists topic."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from anpr.bus.base import Message
from anpr.bus.local import LocalBus
from anpr.clock import now_ms
from anpr.hotlists import parse_entries_csv, plan_replace_entries, plan_upsert_entries
from anpr.threadwork import FINE_SWITCH_S
from api.hotlists import routes as hotlist_routes
from api.hotlists import service as hotlist_service
from tests.support.factories import unique
from tests.support.wait import until
from tests.unit.api_fixtures import ApiHarness, running_api

CSV = (
    "entry_id,plate,country,zones,valid_from,valid_until,reason,action\n"
    "e1,1-ABC-123,BE,north;south,,,stolen,stop\n"
    "e2,--,BE,,,,bad plate,\n"
    "e3,XYZ789,,,,2030-01-01T00:00:00Z,,\n"
    "e1,DUP111,,,,,,\n"
)


@pytest.fixture(scope="module")
async def api() -> AsyncIterator[ApiHarness]:
    async with running_api() as harness:
        yield harness


async def create_list(api: ApiHarness, **fields: Any) -> tuple[str, dict[str, Any]]:
    list_id = unique("list")
    body = {"name": "Stolen", "category": "stolen", "priority": 2, "match": "ocr", **fields}
    response = await api.client.put(
        f"/v1/hotlists/{list_id}", json=body, headers=api.auth("supervisor")
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return list_id, result


async def upload(
    api: ApiHarness, list_id: str, body: str | bytes, content_type: str, role: str = "supervisor"
) -> Any:
    return await api.client.put(
        f"/v1/hotlists/{list_id}/entries",
        content=body,
        headers={**api.auth(role), "Content-Type": content_type},
    )


def hotlist_records(bus: LocalBus, topic: str, list_id: str) -> list[tuple[str, Any]]:
    rows = bus.db.execute(
        "SELECT key, value FROM log WHERE topic=? ORDER BY off", (topic,)
    ).fetchall()
    return [
        (key.decode(), orjson.loads(value) if value else None)
        for key, value in rows
        if key.decode().split("/")[0] == list_id
    ]


async def test_create_configure_and_read_a_list(api: ApiHarness) -> None:
    list_id, created = await create_list(api, covert=True)
    assert created["list_id"] == list_id
    assert created["entries"] == 0
    assert created["covert"] is True
    assert created["match"] == "ocr"
    assert created["matchers"] == []
    changed = await api.client.put(
        f"/v1/hotlists/{list_id}",
        json={"name": "Stolen 2", "category": "stolen", "priority": 1},
        headers=api.auth("admin"),
    )
    assert changed.status_code == 200
    assert changed.json()["version"] > created["version"]
    got = await api.client.get(f"/v1/hotlists/{list_id}", headers=api.auth("supervisor"))
    assert got.json()["name"] == "Stolen 2"
    assert got.json()["match"] == "exact"
    listing = await api.client.get("/v1/hotlists", headers=api.auth("supervisor"))
    assert list_id in {item["list_id"] for item in listing.json()["items"]}


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"name": "x", "category": "c", "priority": 9}, {"priority"}),
        ({"name": "x", "category": "c", "priority": 1, "match": "loose"}, {"match"}),
        ({"category": "c", "priority": 1, "covert": "maybe"}, {"name", "covert"}),
        # Not read loosely: `true` would be P1 (red, two beeps), "3" a guess at what was meant.
        ({"name": "x", "category": "c", "priority": True}, {"priority"}),
        ({"name": "x", "category": "c", "priority": "3"}, {"priority"}),
        ({"name": "x", "category": "c", "priority": 2, "group_window_s": "60"}, {"group_window_s"}),
        (
            {"name": "x", "category": "c", "priority": 2, "past_match_hours": True},
            {"past_match_hours"},
        ),
    ],
)
async def test_config_validation_names_fields(
    api: ApiHarness, body: dict[str, Any], fields: set[str]
) -> None:
    response = await api.client.put(
        f"/v1/hotlists/{unique('l')}", json=body, headers=api.auth("supervisor")
    )
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == fields


async def test_bad_list_id_is_422(api: ApiHarness) -> None:
    response = await api.client.put(
        "/v1/hotlists/bad%20id",
        json={"name": "x", "category": "c", "priority": 1},
        headers=api.auth("supervisor"),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "list_id"


@pytest.mark.parametrize("role", ["operator", "auditor", "integrator"])
async def test_hotlists_are_for_supervisors(api: ApiHarness, role: str) -> None:
    list_id, _ = await create_list(api)
    headers = api.auth(role)
    calls = [
        api.client.get("/v1/hotlists", headers=headers),
        api.client.get(f"/v1/hotlists/{list_id}", headers=headers),
        api.client.put(
            f"/v1/hotlists/{list_id}",
            json={"name": "x", "category": "c", "priority": 1},
            headers=headers,
        ),
        upload(api, list_id, CSV, "text/csv", role=role),
        api.client.post(f"/v1/hotlists/{list_id}/entries", json=[], headers=headers),
        api.client.delete(f"/v1/hotlists/{list_id}/entries/e1", headers=headers),
    ]
    for call in calls:
        assert (await call).status_code == 403
    assert (await api.client.get("/v1/hotlists")).status_code == 401


async def test_an_upload_is_parsed_and_planned_with_the_gil_handed_over_often(
    api: ApiHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker thread holds the GIL; at the default 5 ms switch interval the loop that
    streams hits ran ~30 turns a second while a large upload was parsed (anpr.threadwork)."""
    seen: dict[str, float] = {}

    def watched(module: Any, name: str) -> None:
        original = getattr(module, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            seen[name] = sys.getswitchinterval()
            return original(*args, **kwargs)

        monkeypatch.setattr(module, name, call)

    watched(hotlist_routes, "parse_upload")
    watched(hotlist_service, "stream_replace_entries")
    list_id, _ = await create_list(api)
    assert (await upload(api, list_id, CSV, "text/csv")).status_code == 200
    assert seen == {
        "parse_upload": pytest.approx(FINE_SWITCH_S, rel=0.05),
        "stream_replace_entries": pytest.approx(FINE_SWITCH_S, rel=0.05),
    }
    assert sys.getswitchinterval() > FINE_SWITCH_S


async def test_csv_replace_reports_bad_lines_and_is_atomic_on_the_topic(api: ApiHarness) -> None:
    list_id, created = await create_list(api)
    response = await upload(api, list_id, CSV, "text/csv; charset=utf-8")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["entries"] == 2
    assert body["version"] > created["version"]
    assert [(r["line"], r["errors"][0]["field"]) for r in body["rejected"]] == [
        (3, "plate"),
        (5, "entry_id"),
    ]
    got = (await api.client.get(f"/v1/hotlists/{list_id}", headers=api.auth("supervisor"))).json()
    assert got["entries"] == 2
    assert got["version"] == body["version"]
    records = hotlist_records(api.bus, api.topics.hotlists, list_id)
    keys = [key for key, _ in records]
    assert keys[-1] == list_id  # the commit comes after the entries
    assert set(keys[:-1]) == {f"{list_id}/e1", f"{list_id}/e3"}
    # A second replacement drops e3 (tombstoned after the commit) and adds e4.
    ndjson = b'{"entry_id":"e1","plate":"1ABC123"}\n\n{"entry_id":"e4","pattern":"1-AB*"}\n'
    response = await upload(api, list_id, ndjson, "application/x-ndjson")
    assert response.status_code == 200
    assert response.json()["entries"] == 2
    assert response.json()["rejected"] == []
    records = hotlist_records(api.bus, api.topics.hotlists, list_id)
    assert records[-1] == (f"{list_id}/e3", None)
    got = (await api.client.get(f"/v1/hotlists/{list_id}", headers=api.auth("supervisor"))).json()
    assert got["entries"] == 2


async def test_unusable_upload_changes_nothing(api: ApiHarness) -> None:
    list_id, _ = await create_list(api)
    await upload(api, list_id, CSV, "text/csv")
    before = (await api.client.get(f"/v1/hotlists/{list_id}", headers=api.auth("admin"))).json()
    response = await upload(api, list_id, "id,number\n1,2\n", "text/csv")
    assert response.status_code == 422
    body = response.json()
    assert body["rejected"][0]["line"] == 1
    assert body["errors"][0]["field"] == "header"
    assert body["version"] == before["version"]
    after = (await api.client.get(f"/v1/hotlists/{list_id}", headers=api.auth("admin"))).json()
    assert after["version"] == before["version"]
    assert after["entries"] == 2
    assert (await upload(api, list_id, b"\xff\xfe", "text/csv")).status_code == 422
    response = await upload(api, list_id, "a,b", "application/xml")
    assert response.status_code == 415
    empty = await upload(api, list_id, "entry_id,plate\n", "text/csv")
    assert empty.status_code == 200
    assert empty.json()["entries"] == 0
    after = (await api.client.get(f"/v1/hotlists/{list_id}", headers=api.auth("admin"))).json()
    assert after["entries"] == 0


async def test_upsert_and_delete_entries(api: ApiHarness) -> None:
    list_id, _ = await create_list(api)
    url = f"/v1/hotlists/{list_id}/entries"
    response = await api.client.post(
        url,
        json=[
            {"entry_id": "a", "plate": "AAA111", "valid_from": "2024-01-01T00:00:00Z"},
            {"entry_id": "b", "plate": "BBB222", "priority": 9},
            {"entry_id": "c", "pattern": "CCC*"},
        ],
        headers=api.auth("supervisor"),
    )
    assert response.status_code == 200
    body = response.json()
    assert body["entries"] == 2
    assert [(r["line"], r["errors"][0]["field"]) for r in body["rejected"]] == [(2, "priority")]
    response = await api.client.post(
        url, json=[{"entry_id": "a", "plate": "AAA999"}], headers=api.auth("supervisor")
    )
    assert response.json()["entries"] == 1
    got = (await api.client.get(f"/v1/hotlists/{list_id}", headers=api.auth("admin"))).json()
    assert got["entries"] == 2
    assert (await api.client.delete(f"{url}/a", headers=api.auth("supervisor"))).status_code == 204
    got = (await api.client.get(f"/v1/hotlists/{list_id}", headers=api.auth("admin"))).json()
    assert got["entries"] == 1
    assert (await api.client.delete(f"{url}/a", headers=api.auth("supervisor"))).status_code == 404
    bad = await api.client.post(url, json={"entry_id": "x"}, headers=api.auth("supervisor"))
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "body"
    none = await api.client.post(url, json=[{"plate": "X"}], headers=api.auth("supervisor"))
    assert none.status_code == 422
    assert none.json()["rejected"][0]["errors"][0]["field"] == "entry_id"


async def test_unknown_lists_are_404(api: ApiHarness) -> None:
    headers = api.auth("supervisor")
    assert (await api.client.get("/v1/hotlists/nope", headers=headers)).status_code == 404
    assert (await upload(api, "nope", CSV, "text/csv")).status_code == 404
    post = await api.client.post("/v1/hotlists/nope/entries", json=[], headers=headers)
    assert post.status_code == 404
    delete = await api.client.delete("/v1/hotlists/nope/entries/e1", headers=headers)
    assert delete.status_code == 404
    assert (await api.client.delete("/v1/hotlists/nope", headers=headers)).status_code == 404


async def test_delete_a_list(api: ApiHarness) -> None:
    list_id, _ = await create_list(api)
    await upload(api, list_id, CSV, "text/csv")
    response = await api.client.delete(f"/v1/hotlists/{list_id}", headers=api.auth("supervisor"))
    assert response.status_code == 204
    got = await api.client.get(f"/v1/hotlists/{list_id}", headers=api.auth("supervisor"))
    assert got.status_code == 404


async def test_matcher_applied_versions(api: ApiHarness) -> None:
    list_id, created = await create_list(api)
    version = created["version"]
    topic = api.service.settings.matcher_status_topic
    for matcher_id, applied in (("m-1", version), ("m-2", version - 1)):
        await api.publish(
            topic,
            matcher_id,
            {"v": 1, "kind": "matcher_status", "matcher_id": matcher_id,
             "applied": {list_id: applied}, "ready": True, "at": now_ms()},
        )  # fmt: skip
    await api.publish(topic, "m-junk", b"{nope")
    await api.until(lambda: len(api.service.hotlists.matchers.matchers) >= 2)
    got = (await api.client.get(f"/v1/hotlists/{list_id}", headers=api.auth("supervisor"))).json()
    by_id = {m["matcher_id"]: m for m in got["matchers"]}
    assert by_id["m-1"]["applied_version"] == version
    assert by_id["m-1"]["up_to_date"] is True
    assert by_id["m-2"]["up_to_date"] is False


async def test_hotlist_changes_are_audited(api: ApiHarness) -> None:
    list_id, _ = await create_list(api)
    await upload(api, list_id, CSV, "text/csv")
    await api.client.post(
        f"/v1/hotlists/{list_id}/entries",
        json=[{"entry_id": "z", "plate": "ZZZ1"}],
        headers=api.auth("supervisor"),
    )
    await api.client.delete(f"/v1/hotlists/{list_id}/entries/z", headers=api.auth("supervisor"))
    audit = await api.client.get("/v1/audit?limit=500", headers=api.auth("auditor"))
    mine = [e for e in audit.json()["items"] if e["target"].split("/")[0] == list_id]
    assert [e["action"] for e in mine] == [
        "hotlist.delete_entry",
        "hotlist.upsert",
        "hotlist.replace",
        "hotlist.config",
    ]
    assert mine[2]["detail"]["entries"] == 2
    assert mine[2]["detail"]["rejected"] == 2
    assert all(e["actor"] == "supervisor-1" for e in mine)


async def test_large_writes_are_planned_off_the_event_loop(
    api: ApiHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.hotlists import routes, service

    threads: dict[str, str] = {}

    def recorded(module: Any, name: str) -> None:
        real = getattr(module, name)

        def run(*args: Any, **kwargs: Any) -> Any:
            threads[name] = threading.current_thread().name
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, run)

    for name in ("stream_replace_entries", "plan_upsert_entries", "plan_delete_list"):
        recorded(service, name)
    recorded(routes, "parse_upload")
    list_id, _ = await create_list(api)
    replaced = await upload(api, list_id, CSV, "text/csv")
    assert replaced.status_code == 200, replaced.text
    upserted = await api.client.post(
        f"/v1/hotlists/{list_id}/entries",
        json=[{"entry_id": "e9", "plate": "NEW999"}],
        headers=api.auth("supervisor"),
    )
    assert upserted.status_code == 200, upserted.text
    deleted = await api.client.delete(f"/v1/hotlists/{list_id}", headers=api.auth("supervisor"))
    assert deleted.status_code in (200, 204), deleted.text
    assert set(threads) == {
        "stream_replace_entries",
        "plan_upsert_entries",
        "plan_delete_list",
        "parse_upload",
    }
    assert threading.current_thread().name not in threads.values()


def big_csv(count: int) -> str:
    return "entry_id,plate\n" + "".join(f"e{n},AB{n:06d}\n" for n in range(count))


@contextlib.asynccontextmanager
async def part_way(api: ApiHarness, list_id: str, count: int) -> AsyncIterator[list[int]]:
    """The staged entry counts of `list_id` that other work, run by the loop between two of its
    turns, saw strictly between none and `count` (a write part published, or part folded)."""
    staged = api.service.hotlists.book.staged
    seen: list[int] = []

    async def watch() -> None:
        while True:
            await asyncio.sleep(0)
            if 0 < (n := len(staged(list_id))) < count:
                seen.append(n)

    watcher = asyncio.create_task(watch())
    try:
        yield seen
    finally:
        watcher.cancel()


async def test_a_large_upload_hands_the_loop_back_while_it_is_written(api: ApiHarness) -> None:
    # Done in one go on the embedded bus, a 1M-entry upload held the loop for 29 s: no hit
    # streamed, no health probe answered.
    list_id, _ = await create_list(api)
    count = 30_000
    async with part_way(api, list_id, count) as seen:
        response = await upload(api, list_id, big_csv(count), "text/csv")
    assert response.status_code == 200, response.text
    assert response.json()["entries"] == count and response.json()["rejected"] == []
    assert api.service.hotlists.book.entry_count(list_id) == count
    assert seen, "nothing else ran while the entries were published and folded"


async def test_the_book_folds_a_large_list_in_slices(api: ApiHarness) -> None:
    # Records already on the topic (a replica starting, or another replica's upload) are folded
    # with the loop run in between, not in one go (1M entries: 17 s).
    list_id, _ = await create_list(api)
    count = 30_000
    hot = api.service.hotlists
    current = hot.book.config(list_id)
    assert current is not None
    specs, _ = parse_entries_csv(big_csv(count))
    plan = plan_replace_entries(current, specs, live_entry_ids=[], now_ms=now_ms())
    assert plan.config is not None
    messages = [Message(api.topics.hotlists, k.encode(), v) for k, v in plan.records]
    async with part_way(api, list_id, count) as seen:
        await api.bus.publish(messages, timeout_s=5.0)  # in one go: nothing ran meanwhile
        version = plan.config.version
        await until(lambda: hot.book.committed_version(list_id) == version, timeout_s=20)
    assert hot.book.entry_count(list_id) == count
    assert seen, "nothing else ran while the book folded the entries"


async def test_a_write_interrupted_before_its_commit_shows_as_staged(api: ApiHarness) -> None:
    """A write that died after some of its entry records (a 503 mid-upload, a crash): its
    entries wait for a commit that never comes. Supervisors see them on the list, ops on
    /metrics (overt lists only), and re-sending the whole list drops them."""
    list_id, _ = await create_list(api)
    covert_id, _ = await create_list(api, covert=True)
    await upload(api, list_id, "entry_id,plate\nkept,KEEP1\n", "text/csv")
    for target in (list_id, covert_id):
        current = api.service.hotlists.book.config(target)
        assert current is not None
        plan = plan_upsert_entries(
            current, parse_entries_csv("entry_id,plate\nx1,AAA1\nx2,AAA2\n")[0], now_ms=now_ms()
        )
        await api.bus.publish(  # every record but the last, the commit
            [Message(api.topics.hotlists, k.encode(), v) for k, v in plan.records[:-1]],
            timeout_s=1.0,
        )

    async def shown(target: str) -> dict[str, Any]:
        got = await api.client.get(f"/v1/hotlists/{target}", headers=api.auth("supervisor"))
        result: dict[str, Any] = got.json()
        return result

    await until(lambda: len(api.service.hotlists.book.staged(covert_id)) == 2)
    got = await shown(list_id)
    assert (got["entries"], got["staged_entries"]) == (1, 2)
    assert (await shown(covert_id))["staged_entries"] == 2
    metrics = (await api.client.get("/metrics")).text
    assert f'anpr_api_hotlist_staged_entries{{list_id="{list_id}"}} 2.0' in metrics
    assert covert_id not in metrics
    # Re-sent whole: the interrupted write's entries are dropped, not made live.
    response = await upload(api, list_id, "entry_id,plate\nkept,KEEP1\n", "text/csv")
    assert response.status_code == 200, response.text
    got = await shown(list_id)
    assert (got["entries"], got["staged_entries"]) == (1, 0)
    metrics = (await api.client.get("/metrics")).text
    assert f'anpr_api_hotlist_staged_entries{{list_id="{list_id}"}} 0.0' in metrics


async def test_deleting_or_replacing_a_list_tombstones_an_interrupted_writes_entries(
    api: ApiHarness,
) -> None:
    """The entries a write left staged (it died before its commit) hold plates: a deletion of
    the list, or a replacement without them, must tombstone them on the compacted topic too,
    else compaction keeps them there for ever."""
    deleted, _ = await create_list(api)
    replaced, _ = await create_list(api)
    for target in (deleted, replaced):
        await upload(api, target, "entry_id,plate\nkept,KEEP1\n", "text/csv")
        current = api.service.hotlists.book.config(target)
        assert current is not None
        plan = plan_upsert_entries(
            current, parse_entries_csv("entry_id,plate\nx1,AAA1\nx2,AAA2\n")[0], now_ms=now_ms()
        )
        await api.bus.publish(  # every record but the last, the commit
            [Message(api.topics.hotlists, k.encode(), v) for k, v in plan.records[:-1]],
            timeout_s=1.0,
        )
    await until(lambda: len(api.service.hotlists.book.staged(replaced)) == 2)
    response = await api.client.delete(f"/v1/hotlists/{deleted}", headers=api.auth("supervisor"))
    assert response.status_code == 204, response.text
    response = await upload(api, replaced, "entry_id,plate\nnew,NEW1\n", "text/csv")
    assert response.status_code == 200, response.text

    def compacted(list_id: str) -> dict[str, Any]:
        latest = dict(hotlist_records(api.bus, api.topics.hotlists, list_id))
        return {key: value for key, value in latest.items() if value is not None}

    assert compacted(deleted) == {}
    assert set(compacted(replaced)) == {replaced, f"{replaced}/new"}


async def list_an_interrupted_replacement_left(
    api: ApiHarness, monkeypatch: pytest.MonkeyPatch
) -> str:
    """A list of `kept` and `gone`, replaced by `kept` alone with the replacement dying after
    its commit, before the tombstone of `gone`: the book no longer counts `gone`, but its
    record (its plate) is still on the compacted topic."""
    from anpr.errors import BusUnavailable

    list_id, _ = await create_list(api)
    publish = api.bus.publish
    calls = 0

    async def third_fails(*args: Any, **kwargs: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:  # the first tombstone, after the entry and the commit
            raise BusUnavailable("kafka went away")
        await publish(*args, **kwargs)

    await upload(api, list_id, "entry_id,plate\nkept,KEEP1\ngone,GONE1\n", "text/csv")
    with monkeypatch.context() as patch:
        patch.setattr(hotlist_service, "PUBLISH_CHUNK", 1)
        patch.setattr(api.bus, "publish", third_fails)
        response = await upload(api, list_id, "entry_id,plate\nkept,KEEP1\n", "text/csv")
    assert response.status_code == 503, response.text
    await until(lambda: api.service.hotlists.book.entry_count(list_id) == 1)
    return list_id


def compacted(api: ApiHarness, list_id: str) -> set[str]:
    """The keys of `list_id` whose latest record on the topic is not a tombstone."""
    latest = dict(hotlist_records(api.bus, api.topics.hotlists, list_id))
    return {key for key, value in latest.items() if value is not None}


async def test_the_entries_an_interrupted_replacement_dropped_are_tombstoned_by_the_next(
    api: ApiHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The list's next replacement or deletion must tombstone them, else compaction keeps them
    for ever."""
    replaced = await list_an_interrupted_replacement_left(api, monkeypatch)
    deleted = await list_an_interrupted_replacement_left(api, monkeypatch)
    response = await upload(api, replaced, "entry_id,plate\nnew,NEW1\n", "text/csv")
    assert response.status_code == 200, response.text
    response = await api.client.delete(f"/v1/hotlists/{deleted}", headers=api.auth("supervisor"))
    assert response.status_code == 204, response.text
    assert compacted(api, replaced) == {replaced, f"{replaced}/new"}
    assert compacted(api, deleted) == set()


async def test_the_entries_an_interrupted_replacement_dropped_are_tombstoned_by_an_upsert(
    api: ApiHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As by the next replacement, by the next upsert or single deletion: a list kept up to date
    by upserts alone would otherwise keep the dropped entries' plates on the topic for ever."""
    upserted = await list_an_interrupted_replacement_left(api, monkeypatch)
    deleted_from = await list_an_interrupted_replacement_left(api, monkeypatch)
    headers = api.auth("supervisor")
    response = await api.client.post(
        f"/v1/hotlists/{upserted}/entries",
        json=[{"entry_id": "new", "plate": "NEW1"}],
        headers=headers,
    )
    assert response.status_code == 200, response.text
    response = await api.client.delete(f"/v1/hotlists/{deleted_from}/entries/kept", headers=headers)
    assert response.status_code in (200, 204), response.text

    assert compacted(api, upserted) == {upserted, f"{upserted}/kept", f"{upserted}/new"}
    assert compacted(api, deleted_from) == {deleted_from}
    assert set(api.service.hotlists.book.superseded_ids(upserted)) == set()


async def test_an_upload_with_a_bom_keeps_its_first_entry(api: ApiHarness) -> None:
    list_id, _ = await create_list(api)
    lines = '{"entry_id":"e1","plate":"AB123"}\n{"entry_id":"e2","plate":"CD123"}\n'
    array = '[{"entry_id":"e1","plate":"AB123"},{"entry_id":"e2","plate":"CD123"}]'
    for body, content_type in ((lines, "application/x-ndjson"), (array, "application/json")):
        response = await upload(api, list_id, "\ufeff" + body, content_type)
        assert response.status_code == 200, (content_type, response.text)
        assert (response.json()["entries"], response.json()["rejected"]) == (2, [])


async def test_a_write_that_died_half_way_is_audited_as_interrupted(
    api: ApiHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write answered 503 after some of its records were published has effects (a deletion
    emptied the list; staged entries go live with the next change): who made it is in the
    audit log, marked interrupted."""
    from anpr.errors import BusUnavailable

    list_id, _ = await create_list(api)
    await upload(api, list_id, "entry_id,plate\ne1,AB123\ne2,CD123\n", "text/csv")
    publish = api.bus.publish
    calls = 0

    async def second_fails(*args: Any, **kwargs: Any) -> None:
        nonlocal calls
        calls += 1
        if calls % 2 == 0:
            raise BusUnavailable("kafka went away")
        await publish(*args, **kwargs)

    monkeypatch.setattr(hotlist_service, "PUBLISH_CHUNK", 1)
    monkeypatch.setattr(api.bus, "publish", second_fails)
    supervisor = api.auth("supervisor")
    replaced = await upload(api, list_id, "entry_id,plate\nn1,EF123\nn2,GH123\n", "text/csv")
    assert replaced.status_code == 503, replaced.text
    await until(lambda: len(api.service.hotlists.book.staged(list_id)) == 1)
    deleted = await api.client.delete(f"/v1/hotlists/{list_id}", headers=supervisor)
    assert deleted.status_code == 503, deleted.text
    assert api.service.hotlists.book.entry_count(list_id) == 0  # it emptied the list
    monkeypatch.undo()
    audit = await api.client.get("/v1/audit?limit=500", headers=api.auth("admin"))
    mine = [e for e in audit.json()["items"] if e["target"].split("/")[0] == list_id]
    assert [(e["action"], e["detail"].get("interrupted")) for e in mine[:2]] == [
        ("hotlist.delete", True),
        ("hotlist.replace", True),
    ]


async def test_a_deletion_interrupted_half_way_can_be_retried_until_no_entry_is_left(
    api: ApiHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deletion that died after some of its records: retried (the 503 says it may be), it
    must still tombstone the entries whose tombstones did not go out, else their plates stay
    on the compacted topic for ever, with no list left to delete."""
    from anpr.errors import BusUnavailable

    list_id, _ = await create_list(api)
    await upload(api, list_id, "entry_id,plate\ne1,AB123\ne2,CD123\n", "text/csv")
    publish = api.bus.publish
    calls = 0

    async def second_fails(*args: Any, **kwargs: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise BusUnavailable("kafka went away")
        await publish(*args, **kwargs)

    supervisor = api.auth("supervisor")
    with monkeypatch.context() as patch:
        patch.setattr(hotlist_service, "PUBLISH_CHUNK", 1)
        patch.setattr(api.bus, "publish", second_fails)
        response = await api.client.delete(f"/v1/hotlists/{list_id}", headers=supervisor)
    assert response.status_code == 503, response.text
    response = await api.client.delete(f"/v1/hotlists/{list_id}", headers=supervisor)
    assert response.status_code == 204, response.text
    latest = dict(hotlist_records(api.bus, api.topics.hotlists, list_id))
    assert {key for key, value in latest.items() if value is not None} == set()


async def test_an_upload_that_is_not_utf8_names_the_line_of_the_bad_byte(api: ApiHarness) -> None:
    """A Latin-1 `é` in one reason of a large export: the supervisor needs the line to fix."""
    list_id, _ = await create_list(api)
    body = b"entry_id,plate,reason\ne1,AB123,ok\ne2,CD123,caf\xe9\n"
    response = await upload(api, list_id, body, "text/csv")
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [
        {"field": "body", "message": "not UTF-8 (line 3, byte 46)"}
    ]


# JSON orjson refuses as a whole for one value (Python's JSON reads them: the stdlib json FastAPI
# used refused the first alone, with a 400 naming no item).
REFUSED_VALUES = ["7" * 5000, "1e400", "NaN", '"\\ud800"']


@pytest.mark.parametrize("value", REFUSED_VALUES, ids=["5000 digits", "1e400", "NaN", "surrogate"])
async def test_a_json_upload_with_a_value_orjson_refuses_names_the_item_and_field(
    api: ApiHarness, value: str
) -> None:
    list_id, _ = await create_list(api)
    body = f'[{{"entry_id":"a","plate":"AAA111"}},{{"entry_id":"b","plate":{value}}}]'
    response = await upload(api, list_id, body, "application/json")
    assert response.status_code == 200, response.text
    assert response.json()["entries"] == 1
    assert [(r["line"], r["errors"][0]["field"]) for r in response.json()["rejected"]] == [
        (2, "plate")
    ]
    alone = await upload(
        api, list_id, body.replace('"a","plate":"AAA111"', '"a"'), "application/json"
    )
    assert alone.status_code == 422, alone.text
    assert {(e["field"], e["message"].split(":")[0]) for e in alone.json()["errors"]} == {
        ("plate", "line 1"),
        ("plate", "line 2"),
    }


async def test_an_upsert_is_parsed_on_a_worker_with_the_gil_handed_over_often(
    api: ApiHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FastAPI parsed the JSON body parameter on the event loop: up to 16 MiB, no hit streamed
    meanwhile. It is read raw and parsed as an upload is."""
    seen: list[tuple[str, float]] = []
    real = hotlist_routes.parse_upload

    def parse(*args: Any, **kwargs: Any) -> Any:
        seen.append((threading.current_thread().name, sys.getswitchinterval()))
        return real(*args, **kwargs)

    monkeypatch.setattr(hotlist_routes, "parse_upload", parse)
    list_id, _ = await create_list(api)
    response = await api.client.post(
        f"/v1/hotlists/{list_id}/entries",
        json=[{"entry_id": "a", "plate": "AAA111"}],
        headers=api.auth("supervisor"),
    )
    assert response.status_code == 200, response.text
    assert len(seen) == 1
    thread, interval = seen[0]
    assert thread != threading.current_thread().name
    assert interval == pytest.approx(FINE_SWITCH_S, rel=0.05)


@pytest.mark.parametrize("value", REFUSED_VALUES, ids=["5000 digits", "1e400", "NaN", "surrogate"])
async def test_an_upsert_with_a_value_orjson_refuses_names_the_item_and_field(
    api: ApiHarness, value: str
) -> None:
    """An integer of 5,000 digits was a 400 `There was an error parsing the body`."""
    list_id, _ = await create_list(api)
    body = f'[{{"entry_id":"a","plate":"AAA111"}},{{"entry_id":"b","plate":{value}}}]'
    response = await api.client.post(
        f"/v1/hotlists/{list_id}/entries",
        content=body,
        headers={**api.auth("supervisor"), "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["entries"] == 1
    assert [(r["line"], r["errors"][0]["field"]) for r in response.json()["rejected"]] == [
        (2, "plate")
    ]


@pytest.mark.parametrize(
    ("body", "content_type", "field"),
    [
        (b'{"entry_id": "x"}', "application/json", "body"),
        (b"[" + b'{"entry_id":"x","plate":"X1"},' * 100_000 + b"{}]", "application/json", "body"),
        (b"[{", "application/json", "body"),
        (b"", None, "body"),
        (b"[]", "text/plain", "content-type"),
    ],
    ids=["not-an-array", "over-100000", "not-json", "empty", "not-json-content-type"],
)
async def test_an_upsert_that_cannot_be_read_is_a_422_naming_the_field(
    api: ApiHarness, body: bytes, content_type: str | None, field: str
) -> None:
    list_id, _ = await create_list(api)
    headers = api.auth("supervisor")
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = await api.client.post(
        f"/v1/hotlists/{list_id}/entries", content=body, headers=headers
    )
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]
