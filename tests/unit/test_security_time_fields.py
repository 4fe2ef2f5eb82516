"""Issue 11, item 4: every time field a client sends is bounded; none ends in a 500.

One hypothesis property per time field: whatever is sent, the parser either names the field in
an error or returns epoch milliseconds within [MIN_MS, MAX_MS] that format as RFC 3339 and fit
a 64-bit integer (what the 500s failed on). Then the two reported 500s over HTTP."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anpr.auth import Principal, Role
from anpr.clock import MAX_MS, MIN_MS, ms_to_rfc3339, now_ms
from anpr.hotlists import parse_entries_csv, parse_entry_obj
from anpr.reads import FieldError, ReadLimits, validate_read
from anpr.registry import CameraSpec, RegistryView, camera_key
from api.errors import ApiError
from api.query import parse_time
from ingest.routes_heartbeats import validate_heartbeat
from tests.unit.api_fixtures import running_api

YEAR_MS = 365 * 24 * 3600 * 1000
EDGE_INTS = [MIN_MS - 1, MIN_MS, MAX_MS, MAX_MS + 1, 2**63 - 1, 2**63, 2**64, 10**30, -(2**63)]

time_values = st.one_of(
    st.integers(),
    st.sampled_from(EDGE_INTS),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()),
    st.from_regex(r"\A[0-9+-]{1,6}-[01][0-9]-[0-3][0-9]T[0-9:.]{8,15}(Z|[+-][0-9]{2}:[0-9]{2})\Z"),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_usable(ms: int) -> None:
    assert MIN_MS <= ms <= MAX_MS
    ms_to_rfc3339(ms)
    orjson.dumps(ms)


def assert_named(errors: list[FieldError] | tuple[FieldError, ...], field: str) -> None:
    assert errors and any(e.field == field for e in errors), errors


@FUZZ
@given(value=time_values)
def test_read_captured_at(value: object) -> None:
    now = now_ms()
    raw = {"camera_id": "cam-1", "plate": "AB123", "captured_at": value}
    checked = validate_read(
        raw,
        integrator_id="int-1",
        received_at_ms=now,
        limits=ReadLimits(now_ms=now, retention_ms=30 * YEAR_MS),
    )
    if isinstance(checked, list):
        assert_named(checked, "captured_at")
    else:
        assert_usable(checked["captured_at_ms"])


def _heartbeat_service() -> Any:
    registry = RegistryView()
    spec = CameraSpec(camera_id="cam-1", integrator_id="int-1", name="c")
    registry.apply(camera_key("cam-1").encode(), orjson.dumps(spec.model_dump(mode="json")))
    return SimpleNamespace(registry=registry)


HEARTBEAT_SERVICE = _heartbeat_service()
INTEGRATOR = Principal(Role.INTEGRATOR, "i", "h", integrator_id="int-1")


@FUZZ
@given(value=time_values)
def test_heartbeat_sent_at(value: object) -> None:
    record, errors, status = validate_heartbeat(
        HEARTBEAT_SERVICE, INTEGRATOR, {"camera_id": "cam-1", "sent_at": value}
    )
    if record is None:
        assert status == 422
        assert_named(errors, "sent_at")
    else:
        assert isinstance(record["sent_at_ms"], int)
        assert_usable(record["sent_at_ms"])
        orjson.dumps(record)


@FUZZ
@given(value=time_values, field=st.sampled_from(["valid_from", "valid_until"]))
def test_entry_validity_json(value: object, field: str) -> None:
    spec = parse_entry_obj({"entry_id": "e1", "plate": "AB123", field: value})
    if isinstance(spec, list):
        assert_named(spec, field)
    else:
        parsed = spec.valid_from_ms if field == "valid_from" else spec.valid_until_ms
        if parsed is not None:
            assert_usable(parsed)


csv_cells = st.one_of(
    st.sampled_from([str(v) for v in EDGE_INTS]),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()),
    st.text(alphabet="0123456789-+:TZ. ", min_size=1, max_size=30),
)


@FUZZ
@given(cell=csv_cells, field=st.sampled_from(["valid_from", "valid_until"]))
def test_entry_validity_csv(cell: str, field: str) -> None:
    header = "entry_id,plate,country,zones,valid_from,valid_until,reason,action"
    cells = {"valid_from": "", "valid_until": ""}
    cells[field] = cell.replace(",", "").replace('"', "").strip() or "x"
    line = f"e1,AB123,,,{cells['valid_from']},{cells['valid_until']},,"
    specs, rejected = parse_entries_csv(f"{header}\n{line}\n")
    if rejected:
        assert_named(rejected[0].errors, field)
    else:
        (spec,) = specs
        parsed = spec.valid_from_ms if field == "valid_from" else spec.valid_until_ms
        assert parsed is not None
        assert_usable(parsed)


query_values = st.one_of(
    st.sampled_from([str(v) for v in EDGE_INTS]),
    st.integers(min_value=0, max_value=10**20).map(str),
    st.text(max_size=40),
    st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()),
)


@FUZZ
@given(value=query_values, field=st.sampled_from(["since", "until"]))
def test_query_since_until(value: str, field: str) -> None:
    try:
        parsed = parse_time(field, value)
    except ApiError as exc:
        assert exc.status == 422
        assert exc.errors[0]["field"] == field
    else:
        assert parsed is not None
        assert_usable(parsed)


# --- the reported 500s, over HTTP ----------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [10**30, 2**63, 99999999999999999, -1, "0000-01-01T00:00:00Z"],
    ids=["1e30", "2^63", "1e17", "negative", "year-0"],
)
async def test_entry_times_out_of_range_are_rejected_naming_the_field(value: object) -> None:
    async with running_api() as api:
        await api.client.put(
            "/v1/hotlists/t",
            json={"name": "t", "category": "c", "priority": 1, "match": "exact", "covert": False},
            headers=api.auth("supervisor"),
        )
        response = await api.client.post(
            "/v1/hotlists/t/entries",
            content=json.dumps([{"entry_id": "e1", "plate": "AB123", "valid_from": value}]),
            headers={**api.auth("supervisor"), "Content-Type": "application/json"},
        )
        assert response.status_code == 422, response.text
        assert "valid_from" in {e["field"] for e in response.json()["errors"]}
        since = await api.client.get(
            "/v1/hits", params={"since": str(value)}, headers=api.auth("operator")
        )
        assert since.status_code == 422
        assert since.json()["errors"][0]["field"] == "since"


async def test_heartbeat_sent_at_far_future_is_a_422() -> None:
    from anpr.bus.local import LocalBus
    from anpr.settings import CommonSettings
    from anpr.topics import Topics
    from tests.support.gateway import running_gateway

    bus = LocalBus(None, Topics.from_prefix("anpr.").specs(CommonSettings()))
    await bus.start()
    try:
        async with running_gateway(bus) as gw:
            for sent_at in (99999999999999999, 10**30, 1e300, "9999-12-31T23:59:60Z"):
                response = await gw.client.post(
                    "/v1/heartbeats",
                    content=json.dumps({"camera_id": "cam-1", "sent_at": sent_at}),
                    headers={**gw.auth(), "Content-Type": "application/json"},
                )
                assert response.status_code == 422, (sent_at, response.text)
                assert response.json()["errors"][0]["field"] == "sent_at"
            ok = await gw.client.post(
                "/v1/heartbeats",
                json={"camera_id": "cam-1", "sent_at": datetime.now(UTC).isoformat()},
                headers=gw.auth(),
            )
            assert ok.status_code == 202
    finally:
        await bus.stop()
