"""Issue 11, item 2: unauthenticated `/metrics` and `/readyz` never name a covert list nor count
one on its own. The matcher folds every covert list into `list_id="covert"`; the API has no
per-list series at all."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from anpr.clock import now_ms
from anpr.hotlists import MatchMode, parse_entry_list, plan_put_config, plan_replace_entries
from matcher.metrics import COVERT_LABEL
from tests.unit.api_fixtures import make_hit, running_api
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


async def test_matcher_metrics_and_readyz_fold_covert_lists(
    rig: Rig, client: httpx.AsyncClient
) -> None:
    await _add_list(rig, "covert-ops", covert=True, plates=("COV111", "COV222"))
    await _add_list(rig, "covert-two", covert=True, plates=("COV333",))
    await rig.applied()
    assert len(await rig.hits_for(await rig.send("COV111"))) == 1
    assert len(await rig.hits_for(await rig.send("COV333"))) == 1
    assert len(await rig.hits_for(await rig.send("AAA111"))) == 1

    text = (await client.get("/metrics")).text
    assert "covert-ops" not in text and "covert-two" not in text
    # M is the rig's marker list (tests/unit/test_matcher_service.py).
    assert _samples(text, "anpr_matcher_list_entries") == {"L": 2, "M": 1, COVERT_LABEL: 3}
    assert _samples(text, "anpr_matcher_list_version_applied").keys() == {"L", "M"}
    hits = _samples(text, "anpr_matcher_hits_total")
    assert hits == {"L": 1, COVERT_LABEL: 2}

    ready = (await client.get("/readyz")).text
    assert "covert" not in ready and '"L"' not in ready
    assert (await client.get("/readyz")).json()["detail"]["lists_loaded"] == 4


async def test_api_metrics_never_name_a_covert_list() -> None:
    async with running_api() as api:
        await api.publish_hits(make_hit(list_id="covert-ops", covert=True))
        await api.publish_hits(make_hit(list_id="stolen"))
        text = (await api.client.get("/metrics")).text
        readyz = (await api.client.get("/readyz")).text
        assert "covert-ops" not in text
        assert "covert-ops" not in readyz
        assert "list_id" not in text  # the API has no per-list series at all
