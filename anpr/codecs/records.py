"""Record types of the topics that have no model module of their own.

Reads (`anpr.reads.ReadRecord`) and hits (`anpr.hits.HitRecord`) live with their models.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict


class HeartbeatRecord(TypedDict):
    """`anpr.heartbeats.v1`, key camera_id: a camera's heartbeat as the gateway took it."""

    v: int
    camera_id: str
    integrator_id: str
    sent_at: str
    sent_at_ms: int
    received_at: int
    status: NotRequired[dict[str, Any]]


class GatewayEventRecord(TypedDict):
    """`anpr.gateway-events.v1`, key camera_id: a gateway's counts of one camera's refused and
    duplicate reads since its previous record."""

    v: int
    camera_id: str
    at: int
    rejected: int
    rejected_by_reason: dict[str, int]
    duplicates: int


class MatcherStatusRecord(TypedDict):
    """`anpr.matcher-status.v1` (compacted), key matcher_id: the hotlist versions a matcher
    has applied; a tombstone when it stops."""

    v: int
    kind: str
    matcher_id: str
    applied: dict[str, int]
    ready: bool
    at: int


class DeadLetterRecord(TypedDict):
    """`anpr.deadletter.v1`, key `<topic>/<partition>/<offset>`: a record set aside as poison,
    with the error, so that it can be inspected and replayed once the cause is fixed. The
    original value stays as it was (base64), under the dead-letter topic's own retention."""

    v: int
    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key_b64: str | None
    value_b64: str | None
    error: str
    process: str
    at: int
