"""Validation of submitted reads: each rule as a named case, plus properties."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anpr.reads import ReadLimits, derive_read_id, validate_read
from tests.conftest import MakeRead

NOW = 1_795_247_470_000
LIMITS = ReadLimits(now_ms=NOW, retention_ms=30 * 86_400_000)
HOUR = 3_600_000


def check(raw: object) -> Any:
    return validate_read(raw, integrator_id="int-1", received_at_ms=NOW, limits=LIMITS)


def base(**over: Any) -> dict[str, Any]:
    read: dict[str, Any] = {"camera_id": "cam-1", "captured_at": NOW - 1000, "plate": "1-abc-123"}
    read.update(over)
    return read


REJECTED = [
    pytest.param("not an object", "read", id="not-an-object"),
    pytest.param({"captured_at": NOW, "plate": "X1"}, "camera_id", id="missing-camera"),
    pytest.param(base(camera_id="cam 1"), "camera_id", id="camera-id-bad-chars"),
    pytest.param(base(read_id=""), "read_id", id="read-id-empty"),
    pytest.param(base(read_id="a" * 129), "read_id", id="read-id-too-long"),
    pytest.param(base(read_id="a/b"), "read_id", id="read-id-bad-char"),
    pytest.param(base(captured_at=None), "captured_at", id="captured-at-missing"),
    pytest.param(base(captured_at="2026-11-21T07:51:10"), "captured_at", id="time-without-offset"),
    pytest.param(base(captured_at="yesterday"), "captured_at", id="time-garbage"),
    pytest.param(base(captured_at=True), "captured_at", id="time-bool"),
    pytest.param(base(captured_at=NOW + 25 * HOUR), "captured_at", id="more-than-24h-future"),
    pytest.param(base(captured_at=NOW - 31 * 24 * HOUR), "captured_at", id="older-than-retention"),
    pytest.param(base(plate=None), "plate", id="plate-missing"),
    pytest.param(base(plate=123), "plate", id="plate-not-string"),
    pytest.param(base(plate="--- ..."), "plate", id="plate-empty-after-normalization"),
    pytest.param(base(plate="A" * 17), "plate", id="plate-17-chars"),
    pytest.param(base(country="BEL"), "country", id="country-alpha3"),
    pytest.param(base(country="XX"), "country", id="country-unassigned"),
    pytest.param(base(confidence=1.5), "confidence", id="confidence-above-1"),
    pytest.param(base(confidence="0.9"), "confidence", id="confidence-string"),
    pytest.param(base(candidates={"plate": "X"}), "candidates", id="candidates-not-array"),
    pytest.param(base(candidates=[{"plate": "AB1"}] * 11), "candidates", id="candidates-11"),
    pytest.param(base(candidates=[{"confidence": 0.2}]), "candidates[0].plate",
                 id="candidate-without-plate"),
    pytest.param(base(direction="north"), "direction", id="direction-unknown-value"),
    pytest.param(base(direction=["approaching"]), "direction", id="direction-unhashable"),
    pytest.param(base(lane=33), "lane", id="lane-33"),
    pytest.param(base(lane=1.5), "lane", id="lane-float"),
    pytest.param(base(vehicle={"make": 3}), "vehicle.make", id="vehicle-make-number"),
    pytest.param(base(images={"plate_jpeg_b64": "A" * (512 * 1024 + 1)}), "images",
                 id="images-over-512k"),
    pytest.param(base(location={"lat": 91, "lon": 0}), "location.lat", id="lat-out-of-range"),
    pytest.param(base(location="here"), "location", id="location-not-object"),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "field"), REJECTED)
def test_rejected_reads_name_the_field(raw: object, field: str) -> None:
    result = check(raw)
    assert isinstance(result, list), result
    assert field in [e.field for e in result]
    assert all(e.message for e in result)


ACCEPTED = [
    pytest.param(base(), {"plate_norm": "1ABC123"}, id="minimal"),
    pytest.param(base(captured_at="2026-11-21T08:51:10.250+01:00"),
                 {"captured_at": "2026-11-21T07:51:10.250Z", "captured_at_ms": NOW + 250},
                 id="rfc3339-with-offset-to-utc"),
    pytest.param(base(captured_at=float(NOW - 5)), {"captured_at_ms": NOW - 5},
                 id="integral-float-epoch-ms"),
    pytest.param(base(country="be"), {"country": "BE"}, id="country-upper-cased"),
    pytest.param(base(captured_at=NOW + 23 * HOUR), {"captured_at_ms": NOW + 23 * HOUR},
                 id="23h-future-allowed"),
    pytest.param(base(candidates=[{"plate": "1abc128", "confidence": 0.4}]),
                 {"candidates": [{"plate": "1abc128", "plate_norm": "1ABC128",
                                  "confidence": 0.4}]}, id="candidates-normalized"),
    pytest.param(base(unknown_field=1, direction="receding", lane=0),
                 {"direction": "receding", "lane": 0}, id="unknown-fields-ignored"),
    pytest.param(base(plate="АВС-123"), {"plate_norm": "ABC123"}, id="cyrillic-plate"),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "expected"), ACCEPTED)
def test_accepted_reads_are_canonical(raw: dict[str, Any], expected: dict[str, Any]) -> None:
    result = check(raw)
    assert isinstance(result, dict), result
    for key, value in expected.items():
        assert result[key] == value
    assert result["integrator_id"] == "int-1"
    assert result["received_at"] == NOW
    assert result["v"] == 1
    assert "unknown_field" not in result


def test_read_id_is_derived_deterministically_when_absent() -> None:
    first = check(base(captured_at="2026-11-21T07:51:09Z", plate="1-abc-123"))
    again = check(base(captured_at="2026-11-21T08:51:09+01:00", plate="1ABC 123"))
    other = check(base(captured_at="2026-11-21T07:51:09Z", plate="1ABC124"))
    assert isinstance(first, dict) and isinstance(again, dict) and isinstance(other, dict)
    assert first["read_id"] == again["read_id"]
    assert first["read_id"] != other["read_id"]
    assert first["read_id"] == derive_read_id("cam-1", first["captured_at_ms"], "1ABC123")


def test_given_read_id_is_kept(make_read: MakeRead) -> None:
    result = check(base(read_id="vendor:42.a-b"))
    assert isinstance(result, dict)
    assert result["read_id"] == "vendor:42.a-b"


@given(
    st.dictionaries(
        st.text(max_size=12),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=5), inner, max_size=3)
            ),
            max_leaves=8,
        ),
    )
)
def test_any_json_object_gives_a_record_or_field_errors(raw: dict[str, Any]) -> None:
    result = check(raw)
    assert isinstance(result, dict | list)
    if isinstance(result, list):
        assert result and all(e.field and e.message for e in result)


@given(
    camera=st.sampled_from(["cam-1", "cam-2"]),
    captured=st.integers(NOW - 29 * 24 * HOUR, NOW + 23 * HOUR),
    plate=st.text(alphabet="ABCXYZ0123", min_size=1, max_size=12),
)
def test_derived_read_id_ignores_plate_formatting(camera: str, captured: int, plate: str) -> None:
    plain = check({"camera_id": camera, "captured_at": captured, "plate": plate})
    styled = check({"camera_id": camera, "captured_at": captured, "plate": "-".join(plate.lower())})
    assert isinstance(plain, dict) and isinstance(styled, dict)
    assert plain["read_id"] == styled["read_id"]
    assert plain["read_id"].startswith("d-")
