"""Issue 11, item 2: unauthenticated `/metrics` and `/readyz` never name a covert list nor count
one on its own. Since 2026-12-02 covert lists and hits are in no series at all, totals included:
an aggregate `list_id="covert"` moved when a camera's read hit a covert list (an oracle), and
a total counted them by difference with what an operator is shown."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from anpr.bus.base import Message
from anpr.clock import now_ms
from anpr.codecs import REPLAY
from anpr.codecs.pastmatch import ReplayRecord
from anpr.hotlists import MatchMode, parse_entry_list, plan_put_config, plan_replace_entries
from tests.support.factories import make_read
from tests.support.wait import until
from tests.unit.api_fixtures import SseClient, make_hit, running_api
from tests.unit.test_matcher_service import Rig, entries, rig

__all__ = ["rig"]  # the fixture, re-used


async def _add_list(rig: Rig, list_id: str, *, covert: bool, plates: tuple[str, ...]) -> None:
    put = plan_put_config(
        None,
        list_id=list_id,
        name=list_id,
        category="c",
        priority=2,
        match=MatchMode.EXACT,
        covert=covert,
        now_ms=now_ms(),
    )
    assert put.config is not None
    await rig.publish_plan(put)
    specs, _ = parse_entry_list(entries(*plates))
    await rig.publish_plan(
        plan_replace_entries(put.config, specs, live_entry_ids=(), now_ms=now_ms())
    )


def _samples(text: str, name: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                out[sample.labels.get("list_id", "")] = sample.value
    return out


@pytest.fixture
async def client(rig: Rig) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=rig.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://matcher") as c:
        yield c


async def test_matcher_metrics_and_readyz_leave_covert_lists_out(
    rig: Rig, client: httpx.AsyncClient
) -> None:
    before = (await client.get("/metrics")).text
    await _add_list(rig, "covert-ops", covert=True, plates=("COV111", "COV222"))
    await _add_list(rig, "covert-two", covert=True, plates=("COV333",))
    await rig.applied()
    assert len(await rig.hits_for(await rig.send("COV111"))) == 1
    assert len(await rig.hits_for(await rig.send("COV333"))) == 1
    assert len(await rig.hits_for(await rig.send("AAA111"))) == 1

    text = (await client.get("/metrics")).text
    assert "covert-" not in text
    assert not [
        sample
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if any("covert" in value for value in sample.labels.values())
    ]
    # M is the rig's marker list (tests/unit/test_matcher_service.py).
    assert _samples(text, "anpr_matcher_list_entries") == {"L": 2, "M": 1}
    assert _samples(text, "anpr_matcher_list_version_applied").keys() == {"L", "M"}
    assert _samples(text, "anpr_matcher_index_entries") == {"": 3}
    assert _samples(text, "anpr_matcher_hits_total") == {"L": 1}
    assert _samples(before, "anpr_matcher_hits_total") == {}

    ready = (await client.get("/readyz")).text
    assert "covert" not in ready and '"L"' not in ready
    assert (await client.get("/readyz")).json()["detail"]["lists_loaded"] == 2


HIT_SERIES = (
    "anpr_api_hits_stored_total",
    "anpr_api_hits_duplicate_total",
    "anpr_api_alert_sightings_total",
    "anpr_api_records_consumed_total",
    "anpr_api_hits_streamed_total",
    "anpr_api_hit_delivery_seconds_count",
)


def _hit_series(text: str) -> dict[tuple[str, str], float]:
    out: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in HIT_SERIES:
                labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                out[(sample.name, labels)] = sample.value
    return out


async def test_api_metrics_never_name_nor_count_a_covert_hit() -> None:
    async with running_api() as api:
        async with SseClient(api.app, "/v1/hits/stream", api.auth("supervisor")) as stream:
            await stream.next_event()
            overt = make_hit(list_id="stolen")
            await api.publish_hits(overt)
            assert (await stream.next_hit()).id == overt["hit_id"]
            before = _hit_series((await api.client.get("/metrics")).text)
            covert = make_hit(list_id="covert-ops", covert=True)
            await api.publish_hits(covert, covert)  # stored once, then a duplicate
            assert (await stream.next_hit()).id == covert["hit_id"]  # the supervisor sees it
        text = (await api.client.get("/metrics")).text
        readyz = (await api.client.get("/readyz")).text
        assert "covert-ops" not in text
        assert "covert-ops" not in readyz
        assert "list_id" not in text  # the API has no per-list series at all
        assert before[("anpr_api_hits_stored_total", "")] == 1
        assert _hit_series(text) == before


REQUEST_SERIES = (
    "anpr_api_requests_total",
    "anpr_api_request_seconds_count",
    "anpr_api_registry_writes_total",
    "anpr_api_audit_entries_total",
)


def _request_series(text: str) -> dict[tuple[str, str], float]:
    """The request and write counts, but the scrapes' own (`/metrics`)."""
    out: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in REQUEST_SERIES and sample.labels.get("route") != "/metrics":
                labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                out[(sample.name, labels)] = sample.value
    return out


async def test_api_request_and_write_counts_leave_covert_writes_out() -> None:
    """An overt write moves the route's request count, the registry writes and the audit
    count together; a write on a covert list, an acknowledgement of a covert hit or a plate
    search naming a covert list moves none of them (the audit count leaves them out, so a
    request count that did not would count them by difference)."""
    config = {"name": "N", "category": "c", "priority": 1, "match": "exact", "covert": True}
    async with running_api() as api:
        sup, admin = api.auth("supervisor"), api.auth("admin")
        overt = {**config, "covert": False}
        assert (await api.client.put("/v1/hotlists/s", json=overt, headers=sup)).is_success
        hit = make_hit(list_id="nightjar", covert=True)
        before = _request_series((await api.client.get("/metrics")).text)

        put = await api.client.put("/v1/hotlists/nightjar", json=config, headers=sup)
        assert put.status_code == 200, put.text
        entries = "/v1/hotlists/nightjar/entries"
        up = await api.client.post(entries, json=[{"entry_id": "e1", "plate": "NJ1"}], headers=sup)
        assert up.status_code == 200, up.text
        csv = await api.client.put(
            entries,
            content=b"entry_id,plate\ne1,NJ1\ne2,NJ2\n",
            headers={**sup, "Content-Type": "text/csv"},
        )
        assert csv.status_code == 200, csv.text
        assert (await api.client.delete(f"{entries}/e2", headers=sup)).status_code == 204
        hook = await api.client.put(
            "/v1/hotlists/nightjar/webhooks/w1",
            json={"url": "https://receiver.example/hook"},
            headers=admin,
        )
        assert hook.is_success, hook.text
        gone = await api.client.delete("/v1/hotlists/nightjar/webhooks/w1", headers=admin)
        assert gone.status_code == 204, gone.text
        await api.publish_hits(hit)
        ack = await api.client.post(
            f"/v1/hits/{hit['hit_id']}/acknowledge", json={"outcome": "no_action"}, headers=sup
        )
        assert ack.status_code == 200, ack.text
        search = await api.client.get(
            "/v1/hits",
            params={"plate": "NJ1", "reason": "case 7", "list_id": "nightjar"},
            headers=sup,
        )
        assert search.status_code == 200, search.text
        assert (await api.client.delete("/v1/hotlists/nightjar", headers=sup)).status_code == 204
        assert _request_series((await api.client.get("/metrics")).text) == before

        assert (await api.client.put("/v1/hotlists/s", json=overt, headers=sup)).is_success
        after = _request_series((await api.client.get("/metrics")).text)
        moved = {key for key, value in after.items() if value != before.get(key)}
        assert moved == {
            ("anpr_api_requests_total", "route=/v1/hotlists/{list_id},status=200"),
            ("anpr_api_request_seconds_count", "route=/v1/hotlists/{list_id}"),
            ("anpr_api_registry_writes_total", "kind=hotlist,outcome=published"),
            ("anpr_api_audit_entries_total", "action=hotlist.config"),
        }


async def test_matcher_past_match_counts_leave_covert_lists_out(
    rig: Rig, client: httpx.AsyncClient
) -> None:
    """The archive counts the candidates of overt lists' jobs only
    (`anpr_archive_past_match_candidates_total`): the matcher's counts of the reads it replays
    and the historical hits they give must leave covert lists out too, or their difference
    counts a covert list's new entries and its past hits."""
    await _add_list(rig, "covert-ops", covert=True, plates=("COV111",))
    await rig.applied()

    def replayed(list_id: str, plate: str) -> Message:
        read = make_read(plate, read_id=f"past-{plate}", camera_id="cam-1")
        record: ReplayRecord = {
            "v": 1,
            "kind": "read",
            "job_id": f"{list_id}@1",
            "list_id": list_id,
            "version": rig.versions[list_id],
            "read": read,
            "entries": [f"e-{plate}"],
        }
        # One key, one partition: the covert read is handled before the overt one.
        return Message(rig.topics.reads_replay, b"job", REPLAY.encode(record))

    await rig.bus.publish([replayed("covert-ops", "COV111"), replayed("L", "AAA111")], timeout_s=5)
    registry = rig.app.state.service.metrics.registry

    def overt_hits() -> float | None:
        return registry.get_sample_value("anpr_matcher_past_match_hits_total")

    await until(lambda: (overt_hits() or 0) >= 1, timeout_s=10)
    assert len(await rig.hits_for("past-COV111")) == 1  # the covert list's past hit is made
    text = (await client.get("/metrics")).text
    assert _samples(text, "anpr_matcher_past_match_reads_total") == {"": 1}
    assert _samples(text, "anpr_matcher_past_match_hits_total") == {"": 1}
