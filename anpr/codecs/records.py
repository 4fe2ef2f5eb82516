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
    """`anpr.gateway-events.v1`, key camera_id. Two kinds:
    - counts (no `kind`): a gateway's aggregate of one camera since its previous record, every
      count in the minute of `at` (`ingest.camerastats`): the reads it accepted (`reads`,
      `first_at`/`last_at` received_at, `with_confidence`, `low_confidence` below 0.5,
      `confidence_bins` in tenths, `with_images`, `own_read_ids`, `skews`: received_at -
      captured_at of the last reads, at most 64), and the reads it rejected, with the
      rejections by field (`rejected_by_reason`) and by bounded wording (`rejected_by_detail`,
      e.g. "captured_at without offset"), and dropped as `duplicates`. The API sums the records
      of every gateway for camera health;
    - `"kind": "contact"`: requests naming the camera from one caller since the previous
      record (`requests`, how many were `refused`), for the rollout report; never counted
      against the camera's health."""

    v: int
    camera_id: str
    at: int
    kind: NotRequired[str]
    rejected: NotRequired[int]
    rejected_by_reason: NotRequired[dict[str, int]]
    rejected_by_detail: NotRequired[dict[str, int]]
    duplicates: NotRequired[int]
    reads: NotRequired[int]
    first_at: NotRequired[int]
    last_at: NotRequired[int]
    with_confidence: NotRequired[int]
    low_confidence: NotRequired[int]
    confidence_bins: NotRequired[list[int]]
    with_images: NotRequired[int]
    own_read_ids: NotRequired[int]
    skews: NotRequired[list[int]]
    caller: NotRequired[str]
    requests: NotRequired[int]
    refused: NotRequired[int]


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


class DedupKeysRecord(TypedDict):
    """`anpr.dedup-keys.v1`: the `(camera_id, read_id)` keys of reads a gateway made durable,
    published once Kafka has them (`ingest/keys_outbox.py`), so the other gateways learn them
    without reading the reads topic (`ingest/peers.py`)."""

    v: int
    keys: list[tuple[str, str]]
