"""Verkada Command's LPR webhook."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from ingest.adapters import ADAPTERS
from tests.fixtures.vendor import ABSENT, assert_read, load, parse

ADAPTER = ADAPTERS["verkada"]
ORG = "01ec0956-b7cf-415d-bd78-43c8d373cd65"
CAMERA = "38718198-8a78-4718-a60f-68e1a8de30ac"


def webhook(**data: Any) -> dict[str, Any]:
    doc: dict[str, Any] = copy.deepcopy(orjson.loads(load("verkada_lpr_webhook.json")[0]))
    for key, value in data.items():
        if value is None:
            doc["data"].pop(key, None)
        else:
            doc["data"][key] = value
    return doc


def run(doc: object) -> Any:
    return ADAPTER.parse(orjson.dumps(doc), "application/json", camera_tz="Pacific/Auckland")


def test_the_documented_webhook() -> None:
    result = parse("verkada_lpr_webhook.json")
    assert result.problems == []
    (read,) = result.reads
    assert_read(
        read,
        plate="ABCD123",
        utc="2025-09-19T17:27:45.879Z",
        confidence=0.963,
        country="US",
        images={"overview_url"},
    )
    assert result.vendor_ids == [[f"verkada:{ORG}:{CAMERA}", f"verkada:{CAMERA}"]]


def test_the_answer_is_json() -> None:
    status, media, body = ADAPTER.success_response
    assert status == 200 and media == "application/json" and orjson.loads(body)


VARIANTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "no detected: created (seconds)": (webhook(detected=None), {"utc": "2025-09-19T17:27:44Z"}),
    "confidence as a percentage": (webhook(confidence=96.3), {"confidence": 0.963}),
    "confidence out of range": (webhook(confidence=1000), {"confidence": ABSENT}),
    "state of another country": (webhook(license_plate_state="ca-on"), {"country": "CA"}),
    "a plain country code": (webhook(license_plate_state="MX"), {"country": "MX"}),
    "no state": (webhook(license_plate_state=None), {"country": ABSENT}),
    "a placeholder image URL is no URL": (webhook(image_url="IMAGE_URL"), {"images": set()}),
}


@pytest.mark.parametrize("case", VARIANTS, ids=list(VARIANTS))
def test_variants(case: str) -> None:
    doc, want = VARIANTS[case]
    result = run(doc)
    assert result.problems == []
    assert_read(result.reads[0], **want)


def test_a_webhook_without_org_is_named_by_camera_only() -> None:
    doc = webhook()
    del doc["org_id"]
    assert run(doc).vendor_ids == [[f"verkada:{CAMERA}"]]


@pytest.mark.parametrize(
    ("doc", "kind", "field"),
    [
        (webhook(license_plate_number=""), "problem", "data.license_plate_number"),
        (webhook(detected=None, created=None), "problem", "data.detected"),
        ({**webhook(), "data": "x"}, "problem", "data"),
        ({**webhook(), "webhook_type": "notification"}, "notice", "webhook_type"),
    ],
    ids=["no plate", "no time", "data not an object", "another webhook type"],
)
def test_webhooks_without_a_read(doc: object, kind: str, field: str) -> None:
    result = run(doc)
    assert result.reads == []
    found = result.problems if kind == "problem" else result.notices
    assert field in [p["field"] for p in found]
