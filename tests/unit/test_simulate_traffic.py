"""The simulator's pure parts: OCR noise, the fleet, the demo hotlists and the reads built to hit.

The strongest check: every read the traffic says must hit a list entry does hit it when run
through the real pieces (the API's CSV parser, the gateway's read validation, the matcher's
index), so a benchmark that counts a missing hit as a failure is not fooled by its own traffic.
"""

from __future__ import annotations

import dataclasses
import random
import time
from typing import Any

import pytest

from anpr.hotlists import Entry, MatchMode, parse_entries_csv
from anpr.normalize import normalize_plate, skeleton
from anpr.reads import ReadLimits, validate_read
from matcher.index import HotlistIndex
from matcher.testing import make_config
from simulator.fleet import FleetConfig, TimeFormat, in_zone, make_fleet
from simulator.hotlists import CSV_HEADER, Probe, build_lists, plan_lists
from simulator.noise import Misread, NoiseConfig, ReadNoise, compact
from simulator.traffic import Traffic, format_time, stamp

NOW = 1_795_000_000_000


def noise(seed: int = 1, **config: float) -> ReadNoise:
    return ReadNoise(random.Random(seed), NoiseConfig(**config))


# --- noise -------------------------------------------------------------------------------------


def test_confusable_keeps_length_and_skeleton() -> None:
    n = noise()
    for plate in ("1ABC123", "GB123K", "B-AB 1234", "AB1234", "XXXXX"):
        out = n.confusable(plate, 2)
        base = compact(plate)
        assert len(out) == len(base)
        assert skeleton(out) == skeleton(base)
        assert sum(a != b for a, b in zip(out, base, strict=True)) <= 2


def test_confusable_without_lookalikes_is_unchanged() -> None:
    assert noise().confusable("XXXX", 2) == "XXXX"


@pytest.mark.parametrize("plate", ["1ABC123", "AB1234", "KX3"])
def test_missing_and_inserted_change_the_length_by_one(plate: str) -> None:
    n = noise(3)
    for _ in range(50):
        assert len(n.missing(plate)) == len(plate) - 1
        assert len(n.inserted(plate)) == len(plate) + 1


def test_missing_keeps_very_short_plates() -> None:
    assert noise().missing("AB") == "AB"


@pytest.mark.parametrize(
    ("config", "kind"),
    [
        pytest.param({"confusable": 0.0, "missing": 0.0, "extra": 0.0}, Misread.CLEAN, id="clean"),
        pytest.param({"confusable": 0.0, "missing": 1.0, "extra": 0.0}, Misread.MISSING, id="miss"),
        pytest.param({"confusable": 0.0, "missing": 0.0, "extra": 1.0}, Misread.EXTRA, id="extra"),
    ],
)
def test_observe_kinds(config: dict[str, float], kind: Misread) -> None:
    n = noise(5, **config)
    for _ in range(100):
        obs = n.observe("1-ABC-123")
        assert obs.misread is kind
        assert 0.0 <= obs.confidence <= 1.0
        if kind is not Misread.CLEAN:
            assert obs.confidence <= 0.75
            assert obs.candidates, "a misread always carries alternatives"
        assert all(conf <= obs.confidence for _, conf in obs.candidates)
        assert len({p for p, _ in obs.candidates}) == len(obs.candidates)


def test_observe_shares_roughly_as_configured() -> None:
    n = noise(11, confusable=0.2, missing=0.1, extra=0.1)
    kinds = [n.observe("1-ABC-123").misread for _ in range(5000)]
    assert 0.15 < kinds.count(Misread.CONFUSABLE) / 5000 < 0.25
    assert 0.55 < kinds.count(Misread.CLEAN) / 5000 < 0.65


@pytest.mark.parametrize(
    "config",
    [
        pytest.param({"confusable": 1.5}, id="over-one"),
        pytest.param({"missing": -0.1}, id="negative"),
        pytest.param({"confusable": 0.6, "missing": 0.3, "extra": 0.3}, id="sum-over-one"),
    ],
)
def test_noise_config_rejects(config: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        NoiseConfig(**config)


def test_noise_is_deterministic_for_a_seed() -> None:
    first = [noise(7).observe("GB-123-K") for _ in range(3)]
    assert first == [noise(7).observe("GB-123-K") for _ in range(3)]


# --- fleet ---------------------------------------------------------------------------------------


def test_fleet_shape() -> None:
    fleet = make_fleet(FleetConfig(cameras=50, skewed_share=0.1, silent=1), seed=1)
    assert len(fleet) == 50
    assert len({c.camera_id for c in fleet}) == 50
    assert [c.silent for c in fleet].count(True) == 1 and fleet[-1].silent
    wrong_clock = [c for c in fleet if abs(c.skew_ms) > 1000]
    assert len(wrong_clock) == 5
    assert any(c.skew_ms == 3_600_000 for c in make_fleet(FleetConfig(cameras=60), seed=2))
    assert all(c.zones for c in fleet)
    assert fleet == make_fleet(FleetConfig(cameras=50, skewed_share=0.1, silent=1), seed=1)


def test_in_zone_skips_silent_cameras() -> None:
    fleet = make_fleet(FleetConfig(cameras=10, silent=1), seed=1)
    assert len(in_zone(fleet, ())) == 9
    for i in in_zone(fleet, ("port",)):
        assert "port" in fleet[i].zones and not fleet[i].silent


@pytest.mark.parametrize(
    "config",
    [
        pytest.param({"cameras": 0}, id="no-camera"),
        pytest.param({"cameras": 3, "silent": 3}, id="all-silent"),
        pytest.param({"skewed_share": 2.0}, id="share"),
    ],
)
def test_fleet_config_rejects(config: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"camera|share"):
        FleetConfig(**config)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        (TimeFormat.EPOCH_MS, 1_767_225_600_123),
        (TimeFormat.RFC3339_UTC, "2026-01-01T00:00:00.123Z"),
        (TimeFormat.RFC3339_OFFSET, "2026-01-01T01:00:00.123+01:00"),
    ],
)
def test_format_time(fmt: TimeFormat, expected: object) -> None:
    assert format_time(1_767_225_600_123, fmt) == expected


def test_stamp_applies_capture_delay_and_clock_error() -> None:
    fleet = make_fleet(FleetConfig(cameras=5), seed=1)
    camera = dataclasses.replace(fleet[0], skew_ms=-90_000, time_format=TimeFormat.EPOCH_MS)
    read = Traffic(fleet, [], seed=1).read()
    body = stamp(read, camera, read_id="r-1", sent_ms=NOW)
    assert body["read_id"] == "r-1"
    assert body["captured_at"] == NOW - read.capture_delay_ms - 90_000
    assert "read_id" not in read.body, "the planned read is not changed"


# --- hotlists and the reads built to hit them ----------------------------------------------------


def test_plan_lists_shares() -> None:
    plans = plan_lists(1_000_000)
    assert sum(p.size for p in plans) == 1_000_000
    assert {p.match for p in plans} == {"exact", "ocr", "fuzzy"}
    assert sum(p.patterns for p in plans) == 500
    assert sum(1 for p in plans if p.zones) == 10
    small = plan_lists(2000)
    assert sum(p.size for p in small) == 2000 and len(small) == 6
    with pytest.raises(ValueError, match="100"):
        plan_lists(50)


def test_csv_is_what_the_api_accepts() -> None:
    for plan, csv_text, sample in build_lists(plan_lists(2000), seed=3, now_ms=NOW):
        assert csv_text.startswith(CSV_HEADER + "\n")
        specs, rejected = parse_entries_csv(csv_text)
        assert rejected == [], plan.list_id
        assert len(specs) == plan.size
        assert sum(s.pattern is not None for s in specs) == plan.patterns
        assert sample and {p.list_id for p in sample} == {plan.list_id}


def _index(seed: int) -> tuple[HotlistIndex, list[Probe]]:
    """The demo lists as the matcher would hold them, parsed by the API's CSV parser."""
    index = HotlistIndex()
    probes: list[Probe] = []
    for plan, csv_text, sample in build_lists(plan_lists(3000), seed=seed, now_ms=NOW):
        specs, _ = parse_entries_csv(csv_text)
        config = make_config(plan.list_id, match=MatchMode(plan.match))
        fields: list[dict[str, Any]] = [dataclasses.asdict(s) for s in specs]
        index.replace_list(config, [Entry(**f, list_id=plan.list_id, version=1) for f in fields])
        probes.extend(sample)
    return index, probes


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_owed_hit_is_a_real_hit(seed: int) -> None:
    index, probes = _index(seed)
    fleet = make_fleet(FleetConfig(cameras=50), seed=seed)
    traffic = Traffic(fleet, probes, seed=seed, hit_share=0.5)
    limits = ReadLimits(now_ms=NOW, retention_ms=30 * 86_400_000)
    owed = 0
    for n in range(1500):
        planned = traffic.read()
        camera = fleet[planned.camera]
        body = stamp(planned, camera, read_id=f"r-{n}", sent_ms=NOW)
        record = validate_read(body, integrator_id="sim", received_at_ms=NOW, limits=limits)
        assert isinstance(record, dict), record
        found = {(m.list_id, m.entry_id) for m in index.match(record, frozenset(camera.zones))}
        for expected in planned.expected:
            owed += 1
            assert expected in found, (body, expected)
    assert owed > 500


def test_traffic_without_probes_owes_nothing() -> None:
    fleet = make_fleet(FleetConfig(cameras=5), seed=1)
    reads = Traffic(fleet, [], seed=1, hit_share=1.0).reads(200)
    assert all(not r.expected for r in reads)
    assert all(not fleet[r.camera].silent for r in reads)


def test_traffic_plates_are_valid_reads() -> None:
    fleet = make_fleet(FleetConfig(cameras=20), seed=4)
    limits = ReadLimits(now_ms=NOW, retention_ms=30 * 86_400_000)
    for n, planned in enumerate(Traffic(fleet, [], seed=4).reads(2000)):
        body = stamp(planned, fleet[planned.camera], read_id=f"r-{n}", sent_ms=NOW)
        record = validate_read(body, integrator_id="sim", received_at_ms=NOW, limits=limits)
        assert isinstance(record, dict), (body, record)
        assert record["plate_norm"] == normalize_plate(str(body["plate"]))


def test_wall_clock_is_not_used_by_planning() -> None:
    fleet = make_fleet(FleetConfig(cameras=5), seed=9)
    first = Traffic(fleet, [], seed=9).reads(50)
    time.sleep(0.01)
    assert first == Traffic(fleet, [], seed=9).reads(50)
