"""The matcher through the real broker: hotlists and cameras from the compacted topics, reads in,
hits out; a matcher process killed mid-stream and restarted loses no hit and repeats the same
hit_ids."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from anpr.bus.base import Message
from anpr.bus.kafka import KafkaBus
from anpr.clock import now_ms
from anpr.hits import derive_hit_id
from anpr.hotlists import MatchMode, parse_entry_list, plan_put_config, plan_replace_entries
from anpr.registry import CameraSpec, RegistryWriter
from anpr.topics import Topics
from tests.support.factories import make_read
from tests.support.gateway import read_topic, values
from tests.support.ports import free_port

HITTING = 300
MISSING = 300


async def publish_hotlist(bus: KafkaBus, topics: Topics) -> None:
    config = plan_put_config(
        None,
        list_id="stolen",
        name="Stolen",
        category="stolen",
        priority=1,
        match=MatchMode.OCR,
        covert=False,
        now_ms=now_ms(),
    )
    assert config.config is not None
    specs, errors = parse_entry_list(
        [{"entry_id": f"e{i}", "plate": f"AB{i:04d}"} for i in range(HITTING)]
        + [{"entry_id": "zoned", "plate": "ZZ9999", "zones": ["elsewhere"]}]
    )
    assert not errors
    replace = plan_replace_entries(config.config, specs, live_entry_ids=(), now_ms=now_ms())
    records = config.records + replace.records
    await bus.publish([Message(topics.hotlists, k.encode(), v) for k, v in records], timeout_s=30)


def read(i: int, plate: str) -> dict[str, object]:
    return dict(
        make_read(plate, read_id=f"r{i}", captured_at_ms=now_ms() - 500, received_after_ms=500)
    )


def matcher_process(bootstrap: str, prefix: str, tmp: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "ANPR_KAFKA_BOOTSTRAP": bootstrap,
        "ANPR_TOPIC_PREFIX": prefix,
        "ANPR_DATA_DIR": str(tmp),
        "ANPR_MATCHER_PORT": str(port),
        "ANPR_MATCHER_BATCH_MAX": "25",
        "ANPR_TOPIC_PARTITIONS": "3",
    }
    with (tmp / f"matcher-{port}.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "anpr", "matcher"], env=env, stdout=log, stderr=log
        )


@pytest.mark.timeout(240)
async def test_killed_matcher_restarts_without_losing_hits(
    kafka_bus: KafkaBus, kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    topics = Topics.from_prefix(topic_prefix)
    writer = RegistryWriter(kafka_bus, topics.registry)
    await writer.put_camera(
        CameraSpec(camera_id="cam-1", integrator_id="int-1", name="One", zones=["city"])
    )
    await publish_hotlist(kafka_bus, topics)
    reads = [read(i, f"AB{i:04d}") for i in range(HITTING)]
    # An OCR variant of e0 (B -> 8) and a zone-restricted entry from outside its zone.
    reads += [read(HITTING + i, f"XY{i:04d}") for i in range(MISSING - 2)]
    reads += [read(90_000, "A80000"), read(90_001, "ZZ9999")]
    await kafka_bus.publish(
        [Message(topics.reads, b"cam-1", orjson.dumps(r)) for r in reads], timeout_s=30
    )
    expected = {derive_hit_id(f"r{i}", "cam-1", "stolen", f"e{i}") for i in range(HITTING)}
    expected.add(derive_hit_id("r90000", "cam-1", "stolen", "e0"))

    first_port, second_port = free_port(), free_port()
    first = matcher_process(kafka_bootstrap, topic_prefix, tmp_path, first_port)
    try:
        # Kill it with SIGKILL once it has produced some but not all hits.
        seen: list[object] = []
        for _ in range(120):
            assert first.poll() is None, (tmp_path / f"matcher-{first_port}.log").read_text()[
                -3000:
            ]
            seen = await read_topic(kafka_bus, topics.hits, timeout_s=0.5)
            if seen:
                break
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        killed_after = len(seen)
        assert killed_after > 0
        second = matcher_process(kafka_bootstrap, topic_prefix, tmp_path, second_port)
        try:
            hits = values(
                await read_topic(kafka_bus, topics.hits, expect=len(expected), timeout_s=90)
            )
        finally:
            second.terminate()
            second.wait(timeout=20)
    finally:
        if first.poll() is None:
            first.kill()
    ids = [h["hit_id"] for h in hits]
    assert set(ids) == expected, (tmp_path / f"matcher-{second_port}.log").read_text()[-3000:]
    ocr = next(h for h in hits if h["read"]["read_id"] == "r90000")
    assert ocr["match"]["kind"] == "ocr"
    assert ocr["latency_ms"]["ingest_to_match"] >= 0
