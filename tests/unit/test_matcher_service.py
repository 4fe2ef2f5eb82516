"""The matcher service on the in-process bus: ready only once loaded, live hotlist changes take
effect within a second, a replaced list is swapped whole, commissioning cameras give test hits."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass

import orjson
import pytest
from fastapi import FastAPI

from anpr.bus.base import Message
from anpr.bus.local import LocalBus
from anpr.clock import ms_to_rfc3339, now_ms
from anpr.hotlists import (
    ListConfig,
    MatchMode,
    parse_entry_list,
    plan_delete_entry,
    plan_put_config,
    plan_replace_entries,
    plan_upsert_entries,
)
from anpr.hotlists.plan import Plan
from anpr.registry import CameraSpec, CameraState, RegistryWriter
from anpr.settings import CommonSettings
from anpr.topics import Topics
from matcher.app import create_app
from matcher.settings import MatcherSettings
from tests.support.gateway import read_topic, values
from tests.support.wait import until

_ids = itertools.count()


@dataclass
class Rig:
    bus: LocalBus
    topics: Topics
    app: FastAPI
    config: ListConfig

    async def publish_plan(self, plan: Plan) -> None:
        await self.bus.publish(
            [Message(self.topics.hotlists, k.encode(), v) for k, v in plan.records], timeout_s=5
        )
        assert plan.config is not None or not plan.records
        if plan.config is not None:
            self.config = plan.config

    async def send(self, plate: str, camera: str = "cam-1") -> str:
        read_id = f"r{next(_ids)}"
        now = now_ms()
        read = {
            "v": 1,
            "read_id": read_id,
            "camera_id": camera,
            "integrator_id": "int-1",
            "captured_at": ms_to_rfc3339(now),
            "captured_at_ms": now,
            "received_at": now,
            "plate": plate,
            "plate_norm": plate,
        }
        await self.bus.publish(
            [Message(self.topics.reads, camera.encode(), orjson.dumps(read))], timeout_s=5
        )
        return read_id

    async def hits_for(self, read_id: str, wait_s: float = 1.0) -> list[dict[str, object]]:
        deadline = asyncio.get_running_loop().time() + wait_s
        while True:
            hits = [
                h
                for h in values(await read_topic(self.bus, self.topics.hits, timeout_s=0.05))
                if h["read"]["read_id"] == read_id
            ]  # type: ignore[index]
            if hits or asyncio.get_running_loop().time() > deadline:
                return hits


def entries(*plates: str) -> list[object]:
    return [{"entry_id": f"e-{p}", "plate": p} for p in plates]


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    topics = Topics.from_prefix("anpr.")
    bus = LocalBus(None, topics.specs(CommonSettings()))
    await bus.start()
    writer = RegistryWriter(bus, topics.registry)
    await writer.put_camera(CameraSpec(camera_id="cam-1", integrator_id="int-1", name="One"))
    await writer.put_camera(
        CameraSpec(
            camera_id="cam-test", integrator_id="int-1", name="T", state=CameraState.COMMISSIONING
        )
    )
    put = plan_put_config(
        None,
        list_id="L",
        name="L",
        category="stolen",
        priority=2,
        match=MatchMode.EXACT,
        covert=False,
        now_ms=now_ms(),
    )
    assert put.config is not None
    specs, _ = parse_entry_list(entries("AAA111", "BBB222"))
    replace = plan_replace_entries(put.config, specs, live_entry_ids=(), now_ms=now_ms())
    rig = Rig(bus, topics, create_app(MatcherSettings(matcher_poll_ms=20), bus), put.config)
    await rig.publish_plan(put)
    await rig.publish_plan(replace)
    async with rig.app.router.lifespan_context(rig.app):
        service = rig.app.state.service
        await until(lambda: service.ready, timeout_s=10)
        yield rig
    await bus.stop()


async def test_loaded_list_matches_and_reports_its_version(rig: Rig) -> None:
    assert len(await rig.hits_for(await rig.send("AAA111"))) == 1
    assert await rig.hits_for(await rig.send("ZZZ999"), wait_s=0.3) == []
    assert rig.app.state.service.state.index.versions() == {"L": rig.config.version}


async def test_upsert_and_delete_take_effect_within_a_second(rig: Rig) -> None:
    specs, _ = parse_entry_list(entries("CCC333"))
    await rig.publish_plan(plan_upsert_entries(rig.config, specs, now_ms=now_ms()))
    await asyncio.sleep(0.3)
    assert len(await rig.hits_for(await rig.send("CCC333"))) == 1
    await rig.publish_plan(plan_delete_entry(rig.config, "e-AAA111", now_ms=now_ms()))
    await asyncio.sleep(0.3)
    assert await rig.hits_for(await rig.send("AAA111"), wait_s=0.5) == []


async def test_replacement_is_whole(rig: Rig) -> None:
    specs, _ = parse_entry_list(entries("DDD444"))
    plan = plan_replace_entries(
        rig.config, specs, live_entry_ids={"e-AAA111", "e-BBB222"}, now_ms=now_ms()
    )
    # Publish the new entries but hold back the commit: nothing of the new list is visible yet.
    commit_at = next(i for i, (key, _) in enumerate(plan.records) if "/" not in key)
    await rig.bus.publish(
        [Message(rig.topics.hotlists, k.encode(), v) for k, v in plan.records[:commit_at]],
        timeout_s=5,
    )
    await asyncio.sleep(0.3)
    assert await rig.hits_for(await rig.send("DDD444"), wait_s=0.3) == []
    assert len(await rig.hits_for(await rig.send("BBB222"))) == 1
    await rig.bus.publish(
        [Message(rig.topics.hotlists, k.encode(), v) for k, v in plan.records[commit_at:]],
        timeout_s=5,
    )
    await asyncio.sleep(0.3)
    assert len(await rig.hits_for(await rig.send("DDD444"))) == 1
    assert await rig.hits_for(await rig.send("BBB222"), wait_s=0.3) == []


async def test_commissioning_camera_gives_test_hits(rig: Rig) -> None:
    (hit,) = await rig.hits_for(await rig.send("AAA111", camera="cam-test"))
    assert hit["test"] is True
    (live,) = await rig.hits_for(await rig.send("AAA111"))
    assert live["test"] is False
