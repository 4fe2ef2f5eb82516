"""Issue 11, item 10: plates of other scripts through the matcher core and the gateway.

Contract section 6 (amended) keeps Thai, Arabic, Chinese... letters, so `กข 1234` is `กข1234`
and can never hit a `1234` entry. The matcher stores skeletons as UTF-8 bytes: exact, OCR and
pattern matching must hold for such plates too, fuzzy distances count characters, not bytes, and
the gateway counts non-Latin reads."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from prometheus_client import generate_latest

from anpr.normalize import normalize_pattern, normalize_plate
from matcher.hits import build_hit
from matcher.index import HotlistIndex
from tests.conftest import MakeRead
from tests.support.factories import T0, make_config, make_entry, make_read
from tests.support.gateway import GatewayHarness, gateway_on_local_bus


def _index() -> HotlistIndex:
    index = HotlistIndex()
    index.replace_list(
        make_config("thai", match="fuzzy"),
        [
            make_entry("t1", normalize_plate("กข 1234"), list_id="thai"),
            make_entry("t2", normalize_plate("กค 5678"), list_id="thai"),
            make_entry("t3", list_id="thai", plate=None, pattern=normalize_pattern("ขข-*")),
        ],
    )
    index.replace_list(
        make_config("latin", match="ocr"), [make_entry("l1", "1234", list_id="latin")]
    )
    return index


@pytest.mark.parametrize(
    ("read_plate", "expected"),
    [
        pytest.param("กข 1234", {("t1", "exact")}, id="thai-exact"),
        pytest.param("กข 1Z34", {("t1", "ocr")}, id="thai-ocr-on-a-digit"),
        pytest.param("กข 12345", {("t1", "fuzzy")}, id="thai-fuzzy-insertion"),
        pytest.param("กง 5678", {("t2", "fuzzy")}, id="thai-fuzzy-substitution-one-byte"),
        pytest.param("ขข 99", {("t3", "pattern")}, id="thai-pattern"),
        pytest.param("1234", {("l1", "exact")}, id="latin-read-never-hits-thai-entry"),
        pytest.param(
            "ก 1234",
            {("t1", "fuzzy")},
            id="thai-read-hits-no-latin-entry-but-a-thai-one-deletion-away",
        ),
        pytest.param("กع 1234", {("t1", "fuzzy")}, id="fuzzy-substitution-across-scripts"),
        pytest.param("ขก 1234", set(), id="order-matters"),
    ],
)
def test_thai_plates_through_the_matcher_core(
    read_plate: str, expected: set[tuple[str, str]]
) -> None:
    read = make_read(read_plate)
    matches = _index().match(read, frozenset())
    assert {(m.entry_id, m.kind) for m in matches} == expected
    for match in matches:
        hit = build_hit(read, match, matched_at_ms=T0 + 1)
        if match.kind != "pattern":
            assert normalize_plate(str(hit["match"]["entry_plate"])) == hit["match"]["entry_plate"]
        assert hit["read"]["plate_norm"] == normalize_plate(read_plate)


def test_entries_of_round_trips_thai_plates() -> None:
    assert _index().entries_of("thai")["t1"] == "กข1234"


@pytest.fixture
async def gw() -> AsyncIterator[GatewayHarness]:
    async with gateway_on_local_bus() as harness:
        yield harness


async def test_the_gateway_keeps_and_counts_non_latin_reads(
    gw: GatewayHarness, make_read: MakeRead
) -> None:
    batch = [make_read(plate="กข 1234"), make_read(plate="京A·12345"), make_read(plate="1-ABC-1")]
    response = await gw.client.post("/v1/reads", json=batch, headers=gw.auth())
    assert response.status_code == 202
    assert response.json()["accepted"] == 3
    text = generate_latest(gw.app.state.service.metrics.registry).decode()
    line = next(
        ln for ln in text.splitlines() if ln.startswith("anpr_gateway_reads_non_latin_total{")
    )
    assert 'camera_id="cam-1"' in line and line.endswith(" 2.0")
