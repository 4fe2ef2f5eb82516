"""Factories for topic records other than reads and hits, encoded with the kernel's codecs:
`heartbeat(**overrides)` and `gateway_event(**overrides)` give valid records."""

from __future__ import annotations

from typing import Any

from anpr.clock import ms_to_rfc3339, now_ms
from anpr.codecs import GATEWAY_EVENTS, HEARTBEATS


def heartbeat(**overrides: Any) -> bytes:
    received_at = overrides.get("received_at", now_ms())
    record: dict[str, Any] = {
        "v": 1,
        "camera_id": "cam-1",
        "integrator_id": "int-1",
        "sent_at": ms_to_rfc3339(received_at),
        "sent_at_ms": received_at,
        "received_at": received_at,
    }
    return HEARTBEATS.encode({**record, **overrides})  # type: ignore[arg-type]


def gateway_event(**overrides: Any) -> bytes:
    record: dict[str, Any] = {
        "v": 1,
        "camera_id": "cam-1",
        "at": overrides.get("at", now_ms()),
        "rejected": 0,
        "rejected_by_reason": {},
        "duplicates": 0,
    }
    return GATEWAY_EVENTS.encode({**record, **overrides})  # type: ignore[arg-type]
