"""The audit log and covert lists: an auditor (not cleared for covert) sees that an action on a
covert list, hit or alert happened, by whom and when, but not what it was on; an admin sees the
whole entry; `/metrics` (no token) does not count such entries."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from anpr.audit_wire import AuditRecord
from anpr.auth import Principal, Role
from anpr.bus.base import Record
from api.audit.ingest import AuditIngest
from api.audit.log import Action
from api.metrics import ApiMetrics
from api.store.sqlite import SqliteStore
from tests.unit.api_fixtures import ApiHarness, make_hit, running_api

COVERT_LIST = {
    "name": "Operation Nightjar",
    "category": "surveillance",
    "priority": 1,
    "match": "exact",
    "covert": True,
}


@pytest.fixture
async def api() -> AsyncIterator[ApiHarness]:
    async with running_api() as harness:
        yield harness


async def _entries(api: ApiHarness, role: str) -> list[dict[str, Any]]:
    response = await api.client.get("/v1/audit", params={"limit": 100}, headers=api.auth(role))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _hotlist_actions(api: ApiHarness) -> float:
    registry = api.service.metrics.registry
    return sum(
        registry.get_sample_value("anpr_api_audit_entries_total", {"action": a.value}) or 0.0
        for a in (Action.HOTLIST_CONFIG, Action.HOTLIST_UPSERT, Action.HIT_ACKNOWLEDGE)
    )


async def test_an_auditor_sees_covert_entries_redacted_and_an_admin_whole(
    api: ApiHarness,
) -> None:
    supervisor = api.auth("supervisor")
    before = _hotlist_actions(api)
    put = await api.client.put("/v1/hotlists/nightjar", json=COVERT_LIST, headers=supervisor)
    assert put.status_code in (200, 201), put.text
    upsert = await api.client.post(
        "/v1/hotlists/nightjar/entries",
        json=[{"entry_id": "e1", "plate": "NJ123"}],
        headers=supervisor,
    )
    assert upsert.status_code == 200, upsert.text
    hit = make_hit(list_id="nightjar", covert=True)
    await api.publish_hits(hit)
    ack = await api.client.post(
        f"/v1/hits/{hit['hit_id']}/acknowledge",
        json={"outcome": "no_action", "note": "Nightjar team informed"},
        headers=supervisor,
    )
    assert ack.status_code == 200, ack.text
    overt = await api.client.put(
        "/v1/hotlists/stolen",
        json={**COVERT_LIST, "name": "Stolen", "covert": False},
        headers=supervisor,
    )
    assert overt.status_code in (200, 201), overt.text

    seen = await _entries(api, "auditor")
    text = repr(seen)
    assert "nightjar" not in text.lower() and "NJ123" not in text and hit["hit_id"] not in text
    covert = [e for e in seen if e["target"] == "covert"]
    assert [e["action"] for e in covert] == ["hit.acknowledge", "hotlist.upsert", "hotlist.config"]
    assert all(
        e["reason"] is None and set(e["detail"]) <= {"covert", "actor_token_id"} for e in covert
    )
    assert all(e["actor"] == "supervisor-1" for e in covert)
    assert [e["target"] for e in seen if e["action"] == "hotlist.config"] == ["stolen", "covert"]

    whole = await _entries(api, "admin")
    assert {e["target"] for e in whole} >= {"nightjar", hit["hit_id"]}
    assert [e["seq"] for e in whole] == [e["seq"] for e in seen]  # no gap that would count
    # /metrics needs no token: only the overt list's change is counted.
    assert _hotlist_actions(api) - before == 1


async def test_entries_written_before_the_mark_are_redacted_by_the_list_they_name(
    api: ApiHarness,
) -> None:
    put = await api.client.put(
        "/v1/hotlists/nightjar", json=COVERT_LIST, headers=api.auth("supervisor")
    )
    assert put.status_code in (200, 201), put.text
    old = Principal(Role.SUPERVISOR, "old-supervisor", "h" * 64)
    await api.service.audit.record(old, Action.HOTLIST_REPLACE, "nightjar", detail={"entries": 9})
    await api.service.audit.record(old, Action.HOTLIST_DELETE_ENTRY, "nightjar/e1")
    seen = await _entries(api, "auditor")
    assert [e["target"] for e in seen if e["actor"] == "old-supervisor"] == ["covert", "covert"]


async def test_cli_audit_records_marked_covert_are_in_no_count() -> None:
    """A CLI record marked covert (`anpr hotlist load` of a covert list) is left out of the
    audit count; counted among the records consumed, it was counted by difference."""
    store, metrics = SqliteStore(None), ApiMetrics(CollectorRegistry())
    await store.open()
    try:
        covert = AuditRecord("hotlist.replace", "nightjar", "cli:ops@host", detail={"covert": True})
        overt = AuditRecord("hotlist.replace", "stolen", "cli:ops@host", detail={"entries": 3})
        records = [
            Record("anpr.audit.v1", 0, i, None, r.encode(), 0)
            for i, r in enumerate((covert, overt))
        ]
        assert await AuditIngest(store, metrics).handle_batch(records) == []
    finally:
        await store.close()
    sample = metrics.registry.get_sample_value
    assert sample("anpr_api_audit_entries_total", {"action": "hotlist.replace"}) == 1
    assert sample("anpr_api_records_consumed_total", {"topic": "audit"}) == 1


@pytest.mark.parametrize("role", ["operator", "investigator"])
async def test_a_search_naming_a_covert_list_counts_alike_for_who_may_not_see_it(
    api: ApiHarness, role: str
) -> None:
    """An operator's or investigator's plate search naming a list is counted on `/metrics`
    (no token) whether the list is covert or does not exist: were it left out for a covert
    list, a guessed list id was confirmed covert by a counter that did not move."""
    put = await api.client.put(
        "/v1/hotlists/nightjar", json=COVERT_LIST, headers=api.auth("supervisor")
    )
    assert put.status_code in (200, 201), put.text
    registry = api.service.metrics.registry

    def searches() -> float:
        labels = {"action": Action.HITS_SEARCH.value}
        return registry.get_sample_value("anpr_api_audit_entries_total", labels) or 0.0

    counted = []
    for list_id in ("nightjar", "no-such-list"):
        before = searches()
        response = await api.client.get(
            "/v1/hits",
            params={"plate": "NJ123", "reason": "case 2026/77", "list_id": list_id},
            headers=api.auth(role),
        )
        assert response.status_code == 200, response.text
        assert response.json()["items"] == []
        counted.append(searches() - before)
    assert counted == [1, 1]
    # The entry of the covert list's search still shows an auditor nothing of it.
    searched = [e for e in await _entries(api, "auditor") if e["action"] == "hits.search"]
    assert [e["target"] for e in searched] == ["NJ123", "covert"]
    assert "nightjar" not in repr(searched).lower()
