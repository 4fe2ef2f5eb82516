"""Factories for topic records other than reads and hits, encoded with the kernel's codecs:
`heartbeat(**overrides)` and `gateway_event(**overrides)` give valid records,
`read_aggregates(reads)` the gateway's per-camera aggregates of reads."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from anpr.clock import ms_to_rfc3339, now_ms
from anpr.codecs import GATEWAY_EVENTS, HEARTBEATS
from ingest.camerastats import CameraAggregates


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


def read_aggregates(reads: Iterable[Mapping[str, Any]]) -> list[tuple[str, bytes]]:
    """Reads folded as a gateway folds them (`ingest.camerastats`): one gateway-events counts
    record per camera and minute, as `(camera_id, value)`. A read needs camera_id, read_id,
    received_at and captured_at_ms; confidence and images are optional."""
    found = CameraAggregates()
    found.add_reads([dict(read) for read in reads])  # type: ignore[misc]
    return [
        (camera_id, GATEWAY_EVENTS.encode({"v": 1, "camera_id": camera_id, **counts.fields()}))  # type: ignore[typeddict-item]
        for (camera_id, _), counts in sorted(found.take().items())
    ]
