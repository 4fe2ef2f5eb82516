"""JSON bytes that are kept cost their length: the hotlist upload's records and the webhook
bodies waiting for delivery (orjson 3.12+ returns its 4-16 KiB working buffer as the bytes)."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import Any

import orjson

from anpr.heldjson import dumps_held
from notify.routing import payload
from tests.unit.api_fixtures import make_hit
from tests.unit.test_notify_routing import target


def held_bytes_per_item(make: Callable[[int], Any], n: int = 500) -> float:
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        held = [make(i) for i in range(n)]
        return (tracemalloc.get_traced_memory()[0] - before) / len(held)
    finally:
        tracemalloc.stop()


def test_dumps_held_is_orjson_to_the_byte() -> None:
    doc = {"a": [1, 2.5, None, True], "b": {"ü": "ÿ"}, "c": "x" * 5000}
    assert dumps_held(doc) == orjson.dumps(doc)
    assert type(dumps_held(doc)) is bytes


def test_a_held_document_costs_about_its_length() -> None:
    per_item = held_bytes_per_item(lambda i: dumps_held({"entry_id": f"E{i:08d}", "v": 1}))
    assert per_item < 200, per_item


def test_a_webhook_body_waiting_for_delivery_costs_about_its_length() -> None:
    hit = make_hit()
    size = len(payload(hit, target())[1])
    per_item = held_bytes_per_item(lambda i: payload(hit, target(f"t{i}"))[1])
    assert per_item < size + 200, (per_item, size)
