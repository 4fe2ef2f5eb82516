"""The outcome of one webhook delivery, as `anpr notify` publishes it for the API's delivery log.

One record per (hit, target) when its delivery ends: delivered, failed (gave up after the retry
window, or refused by the receiver), or cancelled (the target was deleted or changed so that it
no longer takes the hit). Keyed by delivery id on `anpr.notify-deliveries.v1`; a hit delivered
again after a restart publishes again under the same key, and the log keeps the latest.
No plate, no list name beyond its id: the log is for admins.
"""

from __future__ import annotations

from enum import StrEnum

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from anpr.errors import InvalidRecord


class DeliveryOutcome(StrEnum):
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"


class DeliveryResult(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    v: int = 1
    delivery_id: str = Field(min_length=1, max_length=64)
    hit_id: str = Field(min_length=1, max_length=128)
    target_id: str = Field(min_length=1, max_length=128)
    list_id: str = Field(min_length=1, max_length=128)
    covert: bool
    outcome: DeliveryOutcome
    attempts: int = Field(ge=0)
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=500)
    first_attempt_at: int
    finished_at: int


def encode_result(result: DeliveryResult) -> bytes:
    return orjson.dumps(result.model_dump(mode="json"))


def decode_result(value: bytes | None) -> DeliveryResult:
    if value is None:
        raise InvalidRecord("tombstone on the deliveries topic")
    try:
        return DeliveryResult.model_validate_json(value)
    except ValidationError as exc:
        raise InvalidRecord(f"not a delivery result: {exc.error_count()} errors") from exc
